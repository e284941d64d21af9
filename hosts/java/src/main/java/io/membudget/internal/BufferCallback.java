package io.membudget.internal;

/**
 * What {@code mb_local_pool_on_available} calls once: with {@code MB_OK} and the buffer the
 * callee now owns, or with a failure status (the pool was destroyed) and zeros. Runs on the
 * thread that recycled a buffer or freed the pool; it must not block.
 */
@FunctionalInterface
public interface BufferCallback {
    /** Delivers the outcome: {@code status} and, for {@code MB_OK}, the lent buffer. */
    void onBuffer(int status, long address, long capacity, long id);
}
