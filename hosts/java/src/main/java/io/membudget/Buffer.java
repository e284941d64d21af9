package io.membudget;

import io.membudget.internal.MemoryView;
import io.membudget.internal.NativeAbi;
import java.nio.ByteBuffer;
import java.util.concurrent.atomic.AtomicReferenceFieldUpdater;

/**
 * A network buffer lent by a {@link LocalBufferPool}: {@link #capacity()} bytes of a memory
 * segment, written and read in place through {@link #byteBuffer()}, a direct {@link ByteBuffer}
 * over the segment (zero copy). Closing it recycles the segment to its pool, like Flink's
 * {@code Buffer.recycleBuffer()}.
 *
 * <p>After close the buffer is invalid: {@link #byteBuffer()} throws
 * {@link InvalidHandleException}, {@link #recycle()} throws it with the library's message, and a
 * second {@link #close()} does nothing. A {@code ByteBuffer} obtained earlier must not be used
 * after close: the memory then belongs to another buffer (or, once the runtime is closed too, may
 * be unmapped), and the {@code ByteBuffer} object itself is handed, reset, to the segment's next
 * lease. To have such use caught, run with {@code -Dmembudget.revokeBufferViews=true} on
 * Java 22+ (the Foreign Function &amp; Memory backend): closing then revokes the
 * {@code ByteBuffer}, and every later access through it, its slices and duplicates throws
 * {@link IllegalStateException}. That costs a JVM-wide thread handshake per closed buffer (tens
 * of microseconds), so it is off by default; JNA (Java 17-21) cannot revoke at all. With
 * revocation on, if an I/O operation on another thread still holds the {@code ByteBuffer},
 * closing throws {@link IllegalStateException} and the buffer stays lent (close it again after).
 *
 * <p>A buffer outlives its pool and runtime: it stays valid until closed. Not thread-safe except
 * {@link #close()}/{@link #recycle()}, which may race: exactly one recycles (the library's
 * generation-checked id decides; a racing {@code close()} returns quietly, a racing
 * {@code recycle()} throws). Unclosed buffers are
 * not reclaimed by the garbage collector; they stay lent until the process exits.
 */
public final class Buffer implements AutoCloseable {
    private static final AtomicReferenceFieldUpdater<Buffer, MemoryView> VIEW =
            AtomicReferenceFieldUpdater.newUpdater(Buffer.class, MemoryView.class, "view");

    private final NativeAbi abi;
    private final SegmentViews views;
    private final long address;
    private final int capacity;
    private final long id;
    /**
     * Set before the segment goes back. A plain volatile flag, not a compare-and-swap: when
     * {@link #close()} and {@link #recycle()} race, each may pass it, and the library's
     * generation-checked id decides (exactly one {@code mb_buffer_recycle} succeeds, the others
     * are refused, never a double free). Without an atomic read-modify-write the JIT can also
     * keep a buffer that does not escape its loop out of the heap altogether.
     */
    private volatile boolean recycled;
    private volatile MemoryView view;

    Buffer(NativeAbi abi, SegmentViews views, long address, long capacity, long id) {
        this.abi = abi;
        this.views = views;
        this.address = address;
        this.capacity = Math.toIntExact(capacity); // segments are at most 2 GiB in Flink
        this.id = id;
    }

    /**
     * The segment as a direct {@link ByteBuffer} (position 0, limit = capacity, the platform's
     * byte order), the same object on every call. Unless views are revoked (see the class docs),
     * it is also the object an earlier lease of the same segment returned, reset: the library
     * makes a segment's view once and keeps it for the segment's next lease.
     *
     * @throws InvalidHandleException if the buffer was closed
     */
    public ByteBuffer byteBuffer() {
        ensureLent();
        MemoryView v = view;
        if (v == null) {
            v = makeView();
        }
        return v.byteBuffer();
    }

    private MemoryView makeView() {
        boolean revocable = BufferViews.revoke();
        MemoryView fresh = revocable ? abi.view(address, capacity, true) : views.view(address, capacity);
        if (!fresh.revocable()) {
            if (revocable) {
                BufferViews.cannotRevoke(abi.name());
            }
            // Nothing to withdraw on close, so no race with it to guard against.
            VIEW.lazySet(this, fresh);
            return fresh;
        }
        MemoryView v;
        if (VIEW.compareAndSet(this, null, fresh)) {
            v = fresh;
        } else {
            fresh.revoke(); // another thread's view won
            v = view;
        }
        if (recycled) {
            // Closed meanwhile: close() may have looked before the view was published.
            v.revoke();
            ensureLent();
        }
        return v;
    }

    /** Bytes in the buffer (the plan's segment size). */
    public int capacity() {
        return capacity;
    }

    /** The library's generation-checked buffer id. */
    public long id() {
        return id;
    }

    /** The address of the first byte (for handing to native code). */
    public long address() {
        ensureLent();
        return address;
    }

    /** Whether the buffer was closed or recycled. */
    public boolean isRecycled() {
        return recycled;
    }

    /**
     * Recycles the buffer; strict, unlike {@link #close()}.
     *
     * @throws InvalidHandleException with the library's message if it was already recycled
     */
    public void recycle() {
        boolean was = recycled;
        recycled = true;
        withdrawView(was);
        int rc = abi.bufferRecycle(id); // a second time the library refuses the stale id
        if (rc != Status.OK) {
            throw Status.failure(abi, rc);
        }
    }

    /** Recycles the buffer if it is still lent; a second call does nothing. */
    @Override
    public void close() {
        if (recycled) {
            return;
        }
        // Volatile write, then the view's volatile read: ordered against makeView's publish
        // and re-check, so a view made meanwhile is withdrawn by one side or the other.
        recycled = true;
        withdrawView(false);
        int rc = abi.bufferRecycle(id);
        // Refused as invalid: a close or recycle racing on another thread gave it back first.
        if (rc != Status.OK && rc != Status.ERR_INVALID_HANDLE) {
            throw Status.failure(abi, rc);
        }
    }

    /** Revokes the view (if one was made) before the segment goes back; undoes the flag if it cannot. */
    private void withdrawView(boolean was) {
        MemoryView v = view;
        if (v != null) {
            try {
                v.revoke();
            } catch (IllegalStateException e) {
                recycled = was;
                throw e;
            }
        }
    }

    private void ensureLent() {
        if (recycled) {
            throw new InvalidHandleException("invalid buffer id 0x" + Long.toHexString(id)
                    + ": it was already recycled (the buffer was closed)");
        }
    }

    @Override
    public String toString() {
        return "Buffer[id=0x" + Long.toHexString(id) + ", capacity=" + capacity
                + (isRecycled() ? ", recycled]" : "]");
    }
}
