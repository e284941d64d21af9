package io.membudget;

import io.membudget.internal.NativeAbi;
import java.lang.System.Logger.Level;
import java.lang.ref.Cleaner;
import java.util.concurrent.atomic.AtomicBoolean;

/**
 * A native handle (runtime or local pool) freed exactly once: by {@link #close()} on the caller's
 * thread, where a failure becomes an exception, or, if its owner became unreachable unclosed, by
 * a {@link Cleaner} thread, where the leak and any failure are logged ({@code io.membudget}
 * logger) because there is nobody to throw to.
 */
final class OwnedHandle implements Runnable {
    private static final Cleaner CLEANER = Cleaner.create();
    private static final System.Logger LOG = System.getLogger("io.membudget");

    /** The C function that frees the handle. */
    interface Free {
        int free(long token);
    }

    private final NativeAbi abi;
    private final long token;
    private final Free free;
    private final String what;
    private final AtomicBoolean freed = new AtomicBoolean();
    private final Cleaner.Cleanable cleanable;
    /**
     * Held by the cleaner's action, so whatever it reaches keeps the owner from being cleaned:
     * a runtime passes its lent managed pages, whose {@code ByteBuffer}s point into memory that
     * freeing the runtime would unmap (a page reaches its runtime, so while one is lent the
     * runtime is never unreachable, and an access through its view cannot crash the JVM).
     */
    private final Object keepAlive;

    OwnedHandle(Object owner, NativeAbi abi, long token, Free free, String what) {
        this(owner, abi, token, free, what, null);
    }

    OwnedHandle(Object owner, NativeAbi abi, long token, Free free, String what, Object keepAlive) {
        this.abi = abi;
        this.token = token;
        this.free = free;
        this.what = what;
        this.keepAlive = keepAlive;
        this.cleanable = CLEANER.register(owner, this);
    }

    /** The token, also after close (the library then refuses it with its own message). */
    long token() {
        return token;
    }

    boolean isFreed() {
        return freed.get();
    }

    /**
     * Frees the handle now; a second call does nothing.
     *
     * @throws MemBudgetException if the library refuses the free
     */
    void close() {
        if (!freed.compareAndSet(false, true)) {
            return;
        }
        int rc = free.free(token);
        String message = rc == Status.OK ? null : abi.lastErrorMessage();
        cleanable.clean(); // deregisters; run() sees `freed` and does nothing
        if (rc != Status.OK) {
            throw Status.exception(rc, message);
        }
    }

    /** The cleaner's action: the owner was never closed. */
    @Override
    public void run() {
        if (!freed.compareAndSet(false, true)) {
            return;
        }
        int rc = free.free(token);
        if (rc == Status.OK) {
            LOG.log(Level.WARNING, "membudget: " + what + " 0x" + Long.toHexString(token)
                    + " was not closed; freed when it became unreachable");
        } else {
            LOG.log(Level.ERROR, "membudget: freeing unclosed " + what + " 0x"
                    + Long.toHexString(token) + " failed: " + abi.lastErrorMessage());
        }
    }
}
