package io.membudget.bench;

import java.net.URL;
import java.net.URLClassLoader;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;

/**
 * Flink's {@code LocalBufferPool} and membudget's Java library (FFM and JNA backends) on the same
 * loops in one JVM: request then recycle on one thread (bare, and with an 8-byte write), and
 * producer → recycler across two threads. JMH is not available offline, so this is a careful
 * harness instead: every pool is warmed up first (the JIT compiles each pool's own copy of the
 * loops), then measured in rounds that rotate the pools' order so load on a shared machine hits
 * all alike; it prints the median, min and max nanoseconds per buffer over the rounds, and the
 * ratio of Flink's median to each pool's (above 1: faster than Flink), and the heap bytes the
 * requesting thread allocated per buffer (exact, unlike the times on a shared machine: the JIT's
 * escape analysis shows there). Every round checks that no buffer was lost or duplicated.
 *
 * <p>Arguments: {@code --membudget-classpath <paths>} (the membudget jar, JNA and the
 * {@link Loops} implementation compiled against them; each backend gets its own class loader
 * over it), {@code --backends ffm,jna} ({@code none}: Flink alone), {@code --rounds N}, {@code --warmup N},
 * {@code --ops N} (round trips per round, one thread; two threads do half),
 * {@code --kinds same,write,two} (which loops).
 */
public final class PoolBench {
    private PoolBench() {}

    /** The loops, with the share of {@code --ops} each runs per round. */
    private enum Kind {
        SAME_THREAD("same", "1 thread: request -> recycle", 1),
        SAME_THREAD_WRITE("write", "1 thread: request -> write 8 bytes -> recycle", 1),
        TWO_THREADS("two", "2 threads: request -> hand-off -> recycle on the other thread", 2);

        final String option;
        final String title;
        final int divisor;

        Kind(String option, String title, int divisor) {
            this.option = option;
            this.title = title;
            this.divisor = divisor;
        }
    }

    public static void main(String[] args) throws Exception {
        Map<String, String> opts = new LinkedHashMap<>();
        for (int i = 0; i + 1 < args.length; i += 2) {
            if (!args[i].startsWith("--")) {
                throw new IllegalArgumentException("expected --option value pairs, got " + Arrays.toString(args));
            }
            opts.put(args[i].substring(2), args[i + 1]);
        }
        int rounds = Integer.parseInt(opts.getOrDefault("rounds", "7"));
        int warmup = Integer.parseInt(opts.getOrDefault("warmup", "3"));
        int ops = Integer.parseInt(opts.getOrDefault("ops", "2000000"));
        List<String> backends = List.of(opts.getOrDefault("backends", "ffm,jna").split(","));
        List<String> kinds = List.of(opts.getOrDefault("kinds", "same,write,two").split(","));
        String classpath = opts.get("membudget-classpath");
        if (classpath == null) {
            throw new IllegalArgumentException("--membudget-classpath is required");
        }

        System.out.printf(Locale.ROOT, "JVM: %s %s (%s), %d CPUs; %d warm-up + %d measured rounds,"
                + " %d round trips per round (two threads: %d)%n",
                System.getProperty("java.vm.name"), System.getProperty("java.runtime.version"),
                System.getProperty("java.vm.vendor"), Runtime.getRuntime().availableProcessors(),
                warmup, rounds, ops, ops / 2);
        List<Loops> pools = new ArrayList<>();
        pools.add(new FlinkLoops());
        for (String backend : backends) {
            if (!backend.equals("none")) { // Flink alone, for a profile of it
                pools.add(membudget(classpath, backend));
            }
        }
        try {
            for (Kind kind : Kind.values()) {
                if (kinds.contains(kind.option)) {
                    measure(kind, pools, warmup, rounds, ops / kind.divisor);
                }
            }
        } finally {
            for (Loops p : pools) {
                p.close();
            }
        }
    }

    /** The membudget loops in a class loader of their own, with {@code backend} loaded. */
    @SuppressWarnings("resource") // the loader lives as long as the JVM: its classes are in use
    private static Loops membudget(String classpath, String backend) throws Exception {
        String[] parts = classpath.split(java.io.File.pathSeparator);
        URL[] urls = new URL[parts.length];
        for (int i = 0; i < parts.length; i++) {
            urls[i] = Path.of(parts[i]).toUri().toURL();
        }
        URLClassLoader loader = new URLClassLoader("membudget-" + backend, urls, PoolBench.class.getClassLoader());
        Class<?> c = Class.forName("io.membudget.bench.MembudgetLoops", true, loader);
        if (c.getClassLoader() != loader) {
            throw new IllegalStateException("MembudgetLoops must not be on the application class path");
        }
        return (Loops) c.getConstructor(String.class).newInstance(backend);
    }

    /** Heap bytes the measuring thread allocated per buffer in each pool's last run. */
    private static final com.sun.management.ThreadMXBean THREADS =
            (com.sun.management.ThreadMXBean) java.lang.management.ManagementFactory.getThreadMXBean();

    private static long run(Loops pool, Kind kind, int n, double[] bytesPerOp, int slot)
            throws InterruptedException {
        long before = THREADS.getCurrentThreadAllocatedBytes();
        long nanos = switch (kind) {
            case SAME_THREAD -> pool.sameThread(n);
            case SAME_THREAD_WRITE -> pool.sameThreadWrite(n);
            case TWO_THREADS -> pool.twoThreads(n);
        };
        bytesPerOp[slot] = (double) (THREADS.getCurrentThreadAllocatedBytes() - before) / n;
        pool.checkBalanced();
        return nanos;
    }

    private static void measure(Kind kind, List<Loops> pools, int warmup, int rounds, int n)
            throws InterruptedException {
        double[] bytesPerOp = new double[pools.size()];
        for (int w = 0; w < warmup; w++) {
            for (int i = 0; i < pools.size(); i++) {
                run(pools.get(i), kind, n, bytesPerOp, i);
            }
        }
        double[][] nsPerOp = new double[pools.size()][rounds];
        for (int r = 0; r < rounds; r++) {
            for (int k = 0; k < pools.size(); k++) {
                int i = (r + k) % pools.size(); // rotate who goes first
                nsPerOp[i][r] = (double) run(pools.get(i), kind, n, bytesPerOp, i) / n;
            }
        }
        System.out.println();
        System.out.println("== " + kind.title + " (ns per buffer; ratio = Flink median / this median;"
                + " heap B/buffer allocated by the requesting thread in the last round)");
        System.out.printf(Locale.ROOT, "%-36s %9s %9s %9s %12s %8s %9s%n", "pool", "median", "min", "max",
                "buffers/s", "vs Flink", "B/buffer");
        double flink = median(nsPerOp[0]);
        for (int i = 0; i < pools.size(); i++) {
            double med = median(nsPerOp[i]);
            double[] sorted = nsPerOp[i].clone();
            Arrays.sort(sorted);
            System.out.printf(Locale.ROOT, "%-36s %9.1f %9.1f %9.1f %12.0f %7.2fx %9.1f%n", pools.get(i).name(),
                    med, sorted[0], sorted[sorted.length - 1], 1e9 / med, flink / med, bytesPerOp[i]);
        }
        for (Loops p : pools) {
            if (p.emptyRetries() != 0) {
                System.out.println("note: " + p.name() + " found its pool empty " + p.emptyRetries()
                        + " times (retried)");
            }
        }
    }

    private static double median(double[] xs) {
        double[] s = xs.clone();
        Arrays.sort(s);
        int m = s.length / 2;
        return s.length % 2 == 1 ? s[m] : (s[m - 1] + s[m]) / 2;
    }
}
