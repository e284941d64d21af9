package io.membudget;

import io.membudget.internal.Backends;
import io.membudget.internal.NativeAbi;

/**
 * Round trips per second through the library: {@code requestBuffer} + {@code close}, and
 * {@code reserve} + {@code release}, each beside the same calls straight through the backend
 * ({@link NativeAbi}, no wrapper objects) in the same run, so the ratio is the library's cost.
 * Each is the median of {@value #ROUNDS} rounds that alternate the loops. Every call's status
 * is checked (a failure throws and ends the run). A quick rate for
 * comparison with the other hosts, not a benchmark: run it on an idle machine for numbers worth
 * quoting.
 */
public final class RoundTripRates {
    private static final int ROUNDS = 5;

    private RoundTripRates() {}

    private static long median(long[] xs) {
        long[] s = xs.clone();
        java.util.Arrays.sort(s);
        return s[s.length / 2];
    }

    /** Arguments: a label for the lines (the JVM and backend), and optionally the round trips. */
    public static void main(String[] args) {
        String label = args.length > 0 ? args[0] : Backends.abi().name();
        int n = args.length > 1 ? Integer.parseInt(args[1]) : 2_000_000;
        try (MemBudget budget = Runtimes.open(); LocalBufferPool pool = budget.createLocalBufferPool(1, 16)) {
            NativeAbi abi = Backends.abi();
            long rt = budget.token();
            long lp = pool.token();
            // The JIT compiles every loop before timing: at least 3 warm-up rounds and 2 seconds
            // (C2 needs that long for the library's call tree on a loaded 2-core machine).
            long warmUntil = System.nanoTime() + 2_000_000_000L;
            for (int warm = 0; warm < 3 || System.nanoTime() < warmUntil; warm++) {
                buffers(pool, n / 10);
                rawBuffers(abi, lp, n / 10);
                reservations(budget, n / 10);
                rawReservations(abi, rt, n / 10);
            }
            // Rounds alternate the loops, so load from other processes hits all alike; medians.
            int per = n / ROUNDS;
            long[][] t = new long[4][ROUNDS];
            for (int r = 0; r < ROUNDS; r++) {
                long t0 = System.nanoTime();
                buffers(pool, per);
                long t1 = System.nanoTime();
                rawBuffers(abi, lp, per);
                long t2 = System.nanoTime();
                reservations(budget, per);
                long t3 = System.nanoTime();
                rawReservations(abi, rt, per);
                long t4 = System.nanoTime();
                t[0][r] = t1 - t0;
                t[1][r] = t2 - t1;
                t[2][r] = t3 - t2;
                t[3][r] = t4 - t3;
            }
            print(label, "buffer_request+recycle", per, median(t[0]), median(t[1]));
            print(label, "reserve+release", per, median(t[2]), median(t[3]));
            if (budget.usage(Category.DIRECT).used() != 0) {
                throw new AssertionError("direct memory not balanced after the run");
            }
        }
    }

    private static void rawBuffers(NativeAbi abi, long pool, int n) {
        long[] out = new long[3];
        for (int i = 0; i < n; i++) {
            if (abi.bufferRequest(pool, out) != 0 || abi.bufferRecycle(out[2]) != 0) {
                throw new AssertionError("raw round trip failed: " + abi.lastErrorMessage());
            }
        }
    }

    private static void rawReservations(NativeAbi abi, long rt, int n) {
        for (int i = 0; i < n; i++) {
            if (abi.reserve(rt, 1, 4096) != 0 || abi.release(rt, 1, 4096) != 0) {
                throw new AssertionError("raw round trip failed: " + abi.lastErrorMessage());
            }
        }
    }

    private static void buffers(LocalBufferPool pool, int n) {
        for (int i = 0; i < n; i++) {
            pool.requestBuffer().close();
        }
    }

    private static void reservations(MemBudget budget, int n) {
        for (int i = 0; i < n; i++) {
            budget.reserve(Category.DIRECT, 4096);
            budget.release(Category.DIRECT, 4096);
        }
    }

    private static void print(String label, String what, int n, long nanos, long rawNanos) {
        System.out.printf("perf java (%s) %s %.0f round trips/s (%.1f ns each; backend alone %.1f ns,"
                + " %.2fx)%n", label, what, n / (nanos / 1e9), (double) nanos / n, (double) rawNanos / n,
                (double) nanos / rawNanos);
    }
}
