package io.membudget;

import io.membudget.internal.NativeAbi;
import java.time.Duration;
import java.util.concurrent.CompletableFuture;

/**
 * A local buffer pool on a runtime's network buffers, after Flink's {@code LocalBufferPool}: it
 * is guaranteed its minimum, grows up to its maximum while the network pool has buffers to spare,
 * and applies backpressure (no buffer) when at its size.
 *
 * <p>Thread-safe. {@link #close()} destroys the pool: threads waiting in a request wake with
 * {@link DestroyedException}, pending {@link #requestBufferAsync()} futures fail with it, and
 * buffers still lent out stay valid until closed. Using a closed pool throws
 * {@link InvalidHandleException} with the library's message; closing twice does nothing.
 */
public final class LocalBufferPool implements AutoCloseable {
    /** {@code maxBuffers} for a pool with no upper bound ({@code MB_UNBOUNDED}). */
    public static final int UNBOUNDED = -1;

    /** The longest finite timeout: {@code MB_WAIT_FOREVER - 1} milliseconds (about 49 days). */
    public static final Duration MAX_TIMEOUT = Duration.ofMillis(0xFFFF_FFFEL);

    private final MemBudget budget; // keeps the runtime reachable while the pool is in use
    private final NativeAbi abi;
    private final OwnedHandle handle;
    private final SegmentViews views;

    /**
     * The out-parameter of {@link #requestBuffer()} for the thread that called it last, which
     * reuses it while no other thread calls in between (no allocation per request on a thread
     * that keeps requesting from this pool). A plain field, racy by design: a scratch is only
     * ever used by the thread it names (thread ids are never reused), and its final fields
     * publish it.
     */
    private Scratch scratch = new Scratch(-1, new long[3]);

    private record Scratch(long thread, long[] out) {}

    LocalBufferPool(MemBudget budget, NativeAbi abi, SegmentViews views, long token) {
        this.budget = budget;
        this.abi = abi;
        this.views = views;
        this.handle = new OwnedHandle(this, abi, token, abi::localPoolFree, "local buffer pool");
    }

    /**
     * A buffer if the pool has one now; never blocks.
     *
     * @throws UnavailableException if the pool is at its size (backpressure): wait with
     *     {@link #requestBuffer(Duration)} or {@link #requestBufferAsync()}
     * @throws DestroyedException if the pool's runtime was closed
     */
    public Buffer requestBuffer() {
        long thread = Thread.currentThread().getId();
        Scratch s = scratch;
        if (s.thread != thread) {
            s = new Scratch(thread, new long[3]);
            scratch = s;
        }
        long[] out = s.out;
        int rc = abi.bufferRequest(handle.token(), out);
        if (rc != Status.OK) {
            throw Status.failure(abi, rc);
        }
        return new Buffer(abi, views, out[0], out[1], out[2]);
    }

    /**
     * A buffer, waiting up to {@code timeout} for one to be recycled. Blocks (parked).
     *
     * @throws RequestTimeoutException if none came back in time
     * @throws DestroyedException if the pool was closed meanwhile
     * @throws InvalidArgumentException if {@code timeout} is negative or above {@link #MAX_TIMEOUT}
     */
    public Buffer requestBuffer(Duration timeout) {
        if (timeout.isNegative() || timeout.compareTo(MAX_TIMEOUT) > 0) {
            throw new InvalidArgumentException("requestBuffer: timeout " + timeout
                    + " is negative or above " + MAX_TIMEOUT + "; use requestBufferBlocking()"
                    + " to wait without a limit");
        }
        return requestWithin((int) timeout.toMillis());
    }

    /**
     * A buffer, waiting as long as it takes. Blocks (parked).
     *
     * @throws DestroyedException if the pool was closed meanwhile
     */
    public Buffer requestBufferBlocking() {
        return requestWithin(-1); // MB_WAIT_FOREVER
    }

    private Buffer requestWithin(int timeoutMs) {
        long[] out = new long[3];
        int rc = abi.bufferRequestTimeout(handle.token(), timeoutMs, out);
        if (rc != Status.OK) {
            throw Status.failure(abi, rc);
        }
        return new Buffer(abi, views, out[0], out[1], out[2]);
    }

    /**
     * A buffer as soon as one is available, without blocking: completed at once if the pool has
     * one, else by the thread that recycles one. Dependent stages added without {@code *Async}
     * run on that thread, inside the library's callback: they must not block. Cancelling the
     * future gives a buffer delivered later straight back.
     *
     * @return a future completed with the buffer, or exceptionally with
     *     {@link DestroyedException} if the pool is closed first
     */
    public CompletableFuture<Buffer> requestBufferAsync() {
        CompletableFuture<Buffer> future = new CompletableFuture<>();
        int rc = abi.localPoolOnAvailable(handle.token(), (status, address, capacity, id) -> {
            if (status == Status.OK) {
                Buffer b = new Buffer(abi, views, address, capacity, id);
                if (!future.complete(b)) {
                    b.close(); // cancelled meanwhile: the buffer goes back
                }
            } else {
                future.completeExceptionally(Status.exception(status, "local buffer pool 0x"
                        + Long.toHexString(handle.token()) + " was destroyed before a buffer"
                        + " became available (" + this + ")"));
            }
        });
        if (rc != Status.OK) {
            throw Status.failure(abi, rc);
        }
        return future;
    }

    /** The runtime this pool draws from. */
    public MemBudget budget() {
        return budget;
    }

    /** The C handle (for same-package measurements against the raw ABI). */
    long token() {
        return handle.token();
    }

    /** Whether {@link #close()} was called. */
    public boolean isClosed() {
        return handle.isFreed();
    }

    /** Destroys the pool (see the class docs); a second call does nothing. */
    @Override
    public void close() {
        handle.close();
    }

    @Override
    public String toString() {
        return "LocalBufferPool[0x" + Long.toHexString(handle.token())
                + (isClosed() ? ", closed]" : "]");
    }
}
