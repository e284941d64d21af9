package io.membudget;

import io.membudget.internal.MemoryView;
import io.membudget.internal.NativeAbi;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;

/**
 * The plain (unrevocable) {@code ByteBuffer}s over a runtime's network segments, kept for the
 * next lease of the same segment: making a direct {@code ByteBuffer} costs an object graph per
 * buffer (a JNI call on JNA), while segments are few and lent again and again. A view handed out
 * again is reset first: position 0, limit = capacity, no mark, the platform's byte order.
 *
 * <p>Direct-mapped by address: a slot holds one segment's view, and a segment that maps to a slot
 * taken by another replaces it (a new view, as without the table). Thread-safe without locks:
 * slots hold immutable entries (final fields publish the view), so a racing reader sees an old
 * entry, a new one or none, each of them valid; two leases of one segment never overlap, so a
 * view is used by one holder at a time (unless a holder keeps using it after close, which
 * {@link Buffer} forbids).
 */
final class SegmentViews {
    /** Slots (a power of two): 1024 views of 32 KiB segments cover 32 MiB of network memory. */
    private static final int SLOTS = 1024;

    private final NativeAbi abi;
    private final Entry[] slots = new Entry[SLOTS];

    private record Entry(long address, int capacity, MemoryView view) {}

    SegmentViews(NativeAbi abi) {
        this.abi = abi;
    }

    /** The segment's plain view, reset; made (and kept) if the slot holds another segment's. */
    MemoryView view(long address, int capacity) {
        int slot = (int) ((address * 0x9E37_79B9_7F4A_7C15L) >>> (64 - Integer.numberOfTrailingZeros(SLOTS)));
        Entry e = slots[slot];
        if (e != null && e.address == address && e.capacity == capacity) {
            ByteBuffer bytes = e.view.byteBuffer();
            bytes.clear();
            bytes.order(ByteOrder.nativeOrder());
            return e.view;
        }
        MemoryView fresh = abi.view(address, capacity, false);
        slots[slot] = new Entry(address, capacity, fresh);
        return fresh;
    }
}
