package io.membudget.bench;

import java.lang.invoke.MethodHandles;
import java.lang.invoke.VarHandle;

/**
 * A bounded single-producer single-consumer ring: the hand-off between the two threads, the
 * same for every pool. The producer's and consumer's cursors sit on separate cache lines, and
 * each side caches the other's cursor so a cache line crosses cores only when needed.
 */
public final class SpscRing<T> {
    private static final VarHandle CURSORS = MethodHandles.arrayElementVarHandle(long[].class);
    // Indices into `cursors`, 128 bytes apart (two cache lines, against adjacent-line prefetch).
    private static final int HEAD = 16; // next slot to take (consumer writes)
    private static final int TAIL = 32; // next slot to fill (producer writes)
    private static final int HEAD_SEEN = 48; // the producer's copy of HEAD
    private static final int TAIL_SEEN = 64; // the consumer's copy of TAIL

    private final Object[] items;
    private final int mask;
    private final long[] cursors = new long[80];

    /** A ring of {@code capacity} slots (a power of two). */
    public SpscRing(int capacity) {
        if (Integer.bitCount(capacity) != 1) {
            throw new IllegalArgumentException("capacity " + capacity + " is not a power of two");
        }
        items = new Object[capacity];
        mask = capacity - 1;
    }

    /** Producer side: adds {@code x} unless the ring is full. */
    public boolean offer(T x) {
        long tail = cursors[TAIL];
        if (tail - cursors[HEAD_SEEN] > mask) {
            cursors[HEAD_SEEN] = (long) CURSORS.getAcquire(cursors, HEAD);
            if (tail - cursors[HEAD_SEEN] > mask) {
                return false;
            }
        }
        items[(int) tail & mask] = x;
        CURSORS.setRelease(cursors, TAIL, tail + 1);
        return true;
    }

    /** Consumer side: the oldest item, or {@code null} if the ring is empty. */
    @SuppressWarnings("unchecked")
    public T poll() {
        long head = cursors[HEAD];
        if (head >= cursors[TAIL_SEEN]) {
            cursors[TAIL_SEEN] = (long) CURSORS.getAcquire(cursors, TAIL);
            if (head >= cursors[TAIL_SEEN]) {
                return null;
            }
        }
        int i = (int) head & mask;
        T x = (T) items[i];
        items[i] = null;
        CURSORS.setRelease(cursors, HEAD, head + 1);
        return x;
    }

    /**
     * Waits a little: spins first, then yields (the machine may have fewer free cores than
     * threads, and a spinning waiter would steal the other side's time slice). Returns the new
     * spin count.
     */
    public static int pause(int spins) {
        if (spins < 64) {
            Thread.onSpinWait();
            return spins + 1;
        }
        Thread.yield();
        return spins;
    }
}
