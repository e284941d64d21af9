package io.membudget;

import java.nio.ByteBuffer;
import java.util.concurrent.atomic.AtomicIntegerFieldUpdater;

/**
 * One managed memory page lent to an owner: {@link #size()} bytes written and read in place
 * through {@link #byteBuffer()} (a direct {@link ByteBuffer}, zero copy) until released.
 *
 * <p>After release (by {@link #close()}, {@link #release()}, {@link ManagedMemory#releaseAll} of
 * its owner, or closing the runtime) the page is invalid: {@link #byteBuffer()} throws
 * {@link InvalidHandleException}, {@link #release()} throws it with the library's message, and
 * {@link #close()} does nothing. A {@code ByteBuffer} obtained earlier must not be used then.
 */
public final class ManagedPage implements AutoCloseable {
    private static final AtomicIntegerFieldUpdater<ManagedPage> RELEASED =
            AtomicIntegerFieldUpdater.newUpdater(ManagedPage.class, "released");

    private final ManagedMemory memory;
    private final long owner;
    private final long address;
    private final int size;
    private final long id;
    private volatile int released;
    private ByteBuffer view;

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
        if (released != 0) {
            throw new InvalidHandleException("invalid segment id 0x" + Long.toHexString(id)
                    + ": the managed page was already released");
        }
        ByteBuffer v = view;
        if (v == null) {
            v = memory.abi().view(address, size);
            view = v;
        }
        return v;
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
        RELEASED.set(this, 1);
        int rc = memory.release(this);
        if (rc != Status.OK) {
            throw Status.failure(memory.abi(), rc);
        }
    }

    /** Returns the page if it is still lent; a second call does nothing. */
    @Override
    public void close() {
        if (RELEASED.compareAndSet(this, 0, 1)) {
            int rc = memory.release(this);
            // Released meanwhile by releaseAll or the runtime's close on another thread: done.
            if (rc != Status.OK && rc != Status.ERR_INVALID_HANDLE) {
                throw Status.failure(memory.abi(), rc);
            }
        }
    }

    void markReleased() {
        RELEASED.set(this, 1);
    }

    @Override
    public String toString() {
        return "ManagedPage[id=0x" + Long.toHexString(id) + ", owner=" + owner + ", size=" + size
                + (isReleased() ? ", released]" : "]");
    }
}
