package io.membudget.bench;

import io.membudget.Buffer;
import io.membudget.LocalBufferPool;
import io.membudget.MemBudget;
import io.membudget.UnavailableException;
import io.membudget.internal.Backends;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.List;
import java.util.Set;

/**
 * membudget's Java library: a 1 GiB TaskManager runtime ({@link #NETWORK} network segments of
 * 32 KiB) and a local pool of {@link #POOL}; request with {@code requestBuffer()} (throws
 * {@code UnavailableException} when empty), recycle with {@code Buffer.close()}.
 *
 * <p>Loaded in a class loader of its own per backend (the backend is chosen once per loader),
 * so the FFM and JNA backends run side by side in one JVM.
 */
public final class MembudgetLoops implements Loops {
    private final MemBudget budget;
    private final LocalBufferPool pool;
    private final String backend;
    private long emptyRetries;
    private long sink;

    /**
     * Opens the runtime with {@code backend} ({@code ffm} or {@code jna}).
     *
     * @throws IllegalStateException if another backend was loaded (never measure the wrong one)
     */
    public MembudgetLoops(String backend) {
        String previous = System.setProperty(Backends.PROPERTY, backend);
        try {
            budget = MemBudget.builder()
                    .property("taskmanager.memory.process.size", "1g")
                    .ignoreContainer(true)
                    .build();
        } finally {
            if (previous == null) {
                System.clearProperty(Backends.PROPERTY);
            } else {
                System.setProperty(Backends.PROPERTY, previous);
            }
        }
        if (!Backends.abi().name().equals(backend)) {
            throw new IllegalStateException("asked for the " + backend + " backend, got "
                    + MemBudget.librarySource());
        }
        this.backend = backend;
        pool = budget.createLocalBufferPool(POOL, POOL);
    }

    @Override
    public String name() {
        return "membudget " + backend.toUpperCase(java.util.Locale.ROOT);
    }

    private Buffer request() {
        int spins = 0;
        while (true) {
            try {
                return pool.requestBuffer();
            } catch (UnavailableException e) {
                emptyRetries++;
                spins = SpscRing.pause(spins);
            }
        }
    }

    @Override
    public long sameThread(int n) {
        long s = 0;
        long t0 = System.nanoTime();
        for (int i = 0; i < n; i++) {
            Buffer b = request();
            s += b.capacity();
            b.close();
        }
        long elapsed = System.nanoTime() - t0;
        sink += s;
        return elapsed;
    }

    @Override
    public long sameThreadWrite(int n) {
        long t0 = System.nanoTime();
        for (int i = 0; i < n; i++) {
            Buffer b = request();
            b.byteBuffer().putLong(0, i);
            b.close();
        }
        return System.nanoTime() - t0;
    }

    @Override
    public long twoThreads(int n) throws InterruptedException {
        SpscRing<Buffer> ring = new SpscRing<>(HANDOFF);
        Thread recycler = new Thread(() -> {
            int spins = 0;
            for (int done = 0; done < n; ) {
                Buffer b = ring.poll();
                if (b != null) {
                    b.close();
                    done++;
                    spins = 0;
                } else {
                    spins = SpscRing.pause(spins);
                }
            }
        }, "membudget-recycler");
        long t0 = System.nanoTime();
        recycler.start();
        for (int i = 0; i < n; i++) {
            Buffer b = request();
            int spins = 0;
            while (!ring.offer(b)) {
                spins = SpscRing.pause(spins);
            }
        }
        recycler.join();
        return System.nanoTime() - t0;
    }

    @Override
    public long emptyRetries() {
        return emptyRetries;
    }

    @Override
    public void checkBalanced() {
        List<Buffer> all = new ArrayList<>();
        Set<Long> addresses = new HashSet<>();
        try {
            while (true) {
                Buffer b = pool.requestBuffer();
                all.add(b);
                addresses.add(b.address());
            }
        } catch (UnavailableException expected) {
            // the pool is empty
        }
        all.forEach(Buffer::close);
        if (all.size() != POOL || addresses.size() != POOL) {
            throw new IllegalStateException(name() + ": " + all.size() + " buffers (" + addresses.size()
                    + " distinct segments) available after the run, expected " + POOL);
        }
    }

    @Override
    public void close() {
        pool.close();
        budget.close();
    }
}
