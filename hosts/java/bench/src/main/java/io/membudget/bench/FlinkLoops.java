package io.membudget.bench;

import java.io.IOException;
import java.util.ArrayList;
import java.util.IdentityHashMap;
import java.util.List;
import org.apache.flink.runtime.io.network.buffer.Buffer;
import org.apache.flink.runtime.io.network.buffer.BufferPool;
import org.apache.flink.runtime.io.network.buffer.NetworkBufferPool;

/**
 * Flink's own pools: a {@code NetworkBufferPool} of {@link #NETWORK} off-heap segments and a
 * {@code LocalBufferPool} of {@link #POOL} from {@code createBufferPool}; request with
 * {@code requestBuffer()} (null when empty), recycle with {@code Buffer.recycleBuffer()}.
 */
public final class FlinkLoops implements Loops {
    private final NetworkBufferPool network;
    private final BufferPool pool;
    private long emptyRetries;
    private long sink;

    public FlinkLoops() throws IOException {
        network = new NetworkBufferPool(NETWORK, SEGMENT);
        pool = network.createBufferPool(POOL, POOL);
    }

    @Override
    public String name() {
        return "Flink " + org.apache.flink.runtime.util.EnvironmentInformation.getVersion()
                + " LocalBufferPool";
    }

    private Buffer request() {
        Buffer b;
        int spins = 0;
        while ((b = pool.requestBuffer()) == null) {
            emptyRetries++;
            spins = SpscRing.pause(spins);
        }
        return b;
    }

    @Override
    public long sameThread(int n) {
        long s = 0;
        long t0 = System.nanoTime();
        for (int i = 0; i < n; i++) {
            Buffer b = request();
            s += b.getMaxCapacity();
            b.recycleBuffer();
        }
        long elapsed = System.nanoTime() - t0;
        sink += s;
        return elapsed;
    }

    @Override
    @SuppressWarnings("deprecation") // the segment is Flink's fastest way in (BufferBuilder's)
    public long sameThreadWrite(int n) {
        long t0 = System.nanoTime();
        for (int i = 0; i < n; i++) {
            Buffer b = request();
            b.getMemorySegment().putLong(0, i);
            b.recycleBuffer();
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
                    b.recycleBuffer();
                    done++;
                    spins = 0;
                } else {
                    spins = SpscRing.pause(spins);
                }
            }
        }, "flink-recycler");
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
    @SuppressWarnings("deprecation") // identifies the segment
    public void checkBalanced() {
        List<Buffer> all = new ArrayList<>();
        IdentityHashMap<Object, Boolean> segments = new IdentityHashMap<>();
        Buffer b;
        while ((b = pool.requestBuffer()) != null) {
            all.add(b);
            segments.put(b.getMemorySegment(), true);
        }
        all.forEach(Buffer::recycleBuffer);
        if (all.size() != POOL || segments.size() != POOL) {
            throw new IllegalStateException(name() + ": " + all.size() + " buffers (" + segments.size()
                    + " distinct segments) available after the run, expected " + POOL);
        }
    }

    @Override
    public void close() {
        pool.lazyDestroy();
        network.destroyAllBufferPools();
        network.destroy();
    }
}
