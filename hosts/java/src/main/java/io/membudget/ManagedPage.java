package io.membudget;

import io.membudget.internal.MemoryView;
import java.nio.ByteBuffer;
import java.util.concurrent.atomic.AtomicIntegerFieldUpdater;
import java.util.concurrent.atomic.AtomicReferenceFieldUpdater;

/**
 * One managed memory page lent to an owner: {@link #size()} bytes written and read in place
 * through {@link #byteBuffer()} (a direct {@link ByteBuffer}, zero copy) until released.
 *
 * <p>After release (by {@link #close()}, {@link #release()}, {@link ManagedMemory#releaseAll} of
 * its owner, or closing the runtime) the page is invalid: {@link #byteBuffer()} throws
 * {@link InvalidHandleException}, {@link #release()} throws it with the library's message, and
 * {@link #close()} does nothing. A {@code ByteBuffer} obtained earlier is withdrawn before the page
 * goes back: on the Foreign Function &amp; Memory backend (Java 22+) every later access through it
 * throws {@link IllegalStateException}; JNA (Java 17-21) cannot revoke it, so there it must not be
 * used then. If an I/O operation on another thread still holds the {@code ByteBuffer}, releasing
 * throws {@link IllegalStateException} and the page stays lent.
 */
public final class ManagedPage implements AutoCloseable {
    private static final AtomicIntegerFieldUpdater<ManagedPage> RELEASED =
            AtomicIntegerFieldUpdater.newUpdater(ManagedPage.class, "released");
    private static final AtomicReferenceFieldUpdater<ManagedPage, MemoryView> VIEW =
            AtomicReferenceFieldUpdater.newUpdater(ManagedPage.class, MemoryView.class, "view");

    private final ManagedMemory memory;
    private final long owner;
    private final long address;
    private final int size;
    private final long id;
    private volatile int released;
    private volatile MemoryView view;

    ManagedPage(ManagedMemory memory, long owner, long address, long size, long id) {
        this.memory = memory;
        this.owner = owner;
        this.address = address;
        this.size = Math.toIntExact(size);
        this.id = id;
    }

    /**
     * The page as a direct {@link ByteBuffer} (position 0, limit = size), the same object on
     * every call.
     *
     * @throws InvalidHandleException if the page was released
     */
    public ByteBuffer byteBuffer() {
        ensureLent();
        MemoryView v = view;
        if (v == null) {
            MemoryView fresh = memory.abi().view(address, size, true); // rare: worth revoking
            if (VIEW.compareAndSet(this, null, fresh)) {
                v = fresh;
            } else {
                fresh.revoke(); // another thread's view won
                v = view;
            }
            if (released != 0) {
                // Released meanwhile: the releasing thread may have looked before it was published.
                v.revoke();
                ensureLent();
            }
        }
        return v.byteBuffer();
    }

    private void ensureLent() {
        if (released != 0) {
            throw new InvalidHandleException("invalid segment id 0x" + Long.toHexString(id)
                    + ": the managed page was already released");
        }
    }

    /** Bytes in the page (the plan's segment size). */
    public int size() {
        return size;
    }

    /** The owner it was allocated for. */
    public long owner() {
        return owner;
    }

    /** The library's generation-checked segment id. */
    public long id() {
        return id;
    }

    /** Whether the page was released (by any of the ways in the class docs). */
    public boolean isReleased() {
        return released != 0;
    }

    /**
     * Returns the page to managed memory; strict, unlike {@link #close()}.
     *
     * @throws InvalidHandleException with the library's message if it was already released
     */
    public void release() {
        withdraw();
        int rc = memory.release(this); // a second time the library refuses the stale id
        if (rc != Status.OK) {
            throw Status.failure(memory.abi(), rc);
        }
    }

    /** Returns the page if it is still lent; a second call does nothing. */
    @Override
    public void close() {
        if (withdraw() == 0) {
            int rc = memory.release(this);
            // Released meanwhile by releaseAll or the runtime's close on another thread: done.
            if (rc != Status.OK && rc != Status.ERR_INVALID_HANDLE) {
                throw Status.failure(memory.abi(), rc);
            }
        }
    }

    /**
     * Marks the page released and revokes its view, before the library takes the page back.
     * Returns the previous state (1: it was already released).
     *
     * @throws IllegalStateException if an operation on another thread holds the view; the page
     *     then stays lent
     */
    int withdraw() {
        int was = RELEASED.getAndSet(this, 1);
        MemoryView v = view;
        if (v != null) {
            try {
                v.revoke();
            } catch (IllegalStateException e) {
                released = was;
                throw e;
            }
        }
        return was;
    }

    /** Undoes {@link #withdraw()} when a bulk release is abandoned; the page stays lent. */
    void restore() {
        released = 0;
    }

    @Override
    public String toString() {
        return "ManagedPage[id=0x" + Long.toHexString(id) + ", owner=" + owner + ", size=" + size
                + (isReleased() ? ", released]" : "]");
    }
}
