package io.membudget.bench;

/**
 * One buffer pool under test, with the benchmark's loops compiled against it (each
 * implementation has its own copy of the loops, so every call site in them sees one pool type
 * and the JIT treats all pools alike).
 */
public interface Loops extends AutoCloseable {
    /** Segments in the local pool (its minimum and maximum), as in the Rust benches. */
    int POOL = 256;

    /** Segment size: Flink's default, 32 KiB. */
    int SEGMENT = 32 * 1024;

    /** Segments in the network pool: what a 1 GiB TaskManager plan gives (64 MiB). */
    int NETWORK = 2048;

    /** Capacity of the hand-off ring between the two threads, as in the Rust benches. */
    int HANDOFF = 64;

    /** What the table calls this pool. */
    String name();

    /** {@code n} request then recycle round trips on this thread; returns elapsed nanoseconds. */
    long sameThread(int n);

    /** As {@link #sameThread} with an 8-byte write into each buffer through its normal API. */
    long sameThreadWrite(int n);

    /**
     * {@code n} buffers requested on this thread and handed through a {@link SpscRing} to a
     * second thread that recycles them; returns elapsed nanoseconds (both threads' work).
     */
    long twoThreads(int n) throws InterruptedException;

    /** How often a request found the pool empty and was retried (expected: 0). */
    long emptyRetries();

    /**
     * Checks that no buffer was lost or duplicated: every one of the pool's {@link #POOL}
     * segments can be requested, all distinct, and none more.
     *
     * @throws IllegalStateException if not
     */
    void checkBalanced();

    @Override
    void close();
}
