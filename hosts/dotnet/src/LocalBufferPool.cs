using System;
using System.Runtime.InteropServices;
using System.Threading.Tasks;

namespace Membudget
{
    /// <summary>
    /// A local buffer pool on a runtime's network buffers, after Flink's <c>LocalBufferPool</c>:
    /// guaranteed its minimum, grows up to its maximum while the network pool has buffers to
    /// spare, and applies backpressure (no buffer) when at its size.
    /// </summary>
    /// <remarks>
    /// Thread-safe. <see cref="Dispose"/> destroys the pool: threads waiting in a request wake with
    /// <see cref="DestroyedException"/>, pending <see cref="RequestBufferAsync"/> tasks fault with
    /// it, and buffers still lent out stay valid until disposed. Using a disposed pool throws
    /// <see cref="InvalidHandleException"/> with the library's message; disposing twice does nothing.
    /// </remarks>
    public sealed class LocalBufferPool : IDisposable
    {
        /// <summary><c>maxBuffers</c> for a pool with no upper bound (<c>MB_UNBOUNDED</c>).</summary>
        public const uint Unbounded = uint.MaxValue;

        private const uint WaitForever = uint.MaxValue;

        // One delegate for every async request, alive for the process: the native side may call
        // it on any thread at any time until each registration has run.
        private static readonly NativeMethods.BufferCallback OnAvailable = Deliver;

        private readonly MemBudget budget; // keeps the runtime reachable while the pool is in use
        private readonly LocalPoolHandle handle;

        internal LocalBufferPool(MemBudget budget, IntPtr token)
        {
            this.budget = budget;
            handle = new LocalPoolHandle(token);
        }

        /// <summary>The runtime this pool draws from.</summary>
        public MemBudget Budget { get { return budget; } }

        /// <summary>The pool's handle.</summary>
        public LocalPoolHandle Handle { get { return handle; } }

        /// <summary>Whether <see cref="Dispose"/> was called.</summary>
        public bool IsDisposed { get { return handle.IsClosed; } }

        /// <summary>A buffer if the pool has one now; never blocks.</summary>
        /// <exception cref="UnavailableException">The pool is at its size (backpressure).</exception>
        public Buffer RequestBuffer()
        {
            NativeMethods.RawBuffer raw;
            Status.Check(NativeMethods.mb_buffer_request(handle.Token, out raw));
            return new Buffer(raw);
        }

        /// <summary>A buffer, waiting up to <paramref name="timeout"/> for one to be recycled. Blocks.</summary>
        /// <exception cref="RequestTimeoutException">None came back in time.</exception>
        /// <exception cref="DestroyedException">The pool was disposed meanwhile.</exception>
        /// <exception cref="InvalidArgumentException">The timeout is negative or above 2^32-2 ms.</exception>
        public Buffer RequestBuffer(TimeSpan timeout)
        {
            if (timeout < TimeSpan.Zero || timeout.TotalMilliseconds >= WaitForever)
            {
                throw new InvalidArgumentException("RequestBuffer: timeout " + timeout
                    + " is negative or above " + (WaitForever - 1) + " ms; use RequestBufferBlocking() to wait without a limit");
            }
            return RequestWithin((uint)timeout.TotalMilliseconds);
        }

        /// <summary>A buffer, waiting as long as it takes. Blocks.</summary>
        /// <exception cref="DestroyedException">The pool was disposed meanwhile.</exception>
        public Buffer RequestBufferBlocking()
        {
            return RequestWithin(WaitForever);
        }

        private Buffer RequestWithin(uint timeoutMs)
        {
            NativeMethods.RawBuffer raw;
            Status.Check(NativeMethods.mb_buffer_request_timeout(handle.Token, timeoutMs, out raw));
            return new Buffer(raw);
        }

        /// <summary>
        /// A buffer as soon as one is available, without blocking a thread: completed at once if
        /// the pool has one, else when another thread recycles one. Continuations run
        /// asynchronously, never inside the library's callback.
        /// </summary>
        /// <exception cref="InvalidHandleException">The pool was disposed.</exception>
        public Task<Buffer> RequestBufferAsync()
        {
            var pending = new Pending(this);
            GCHandle ctx = GCHandle.Alloc(pending);
            int rc = NativeMethods.mb_local_pool_on_available(handle.Token, OnAvailable, GCHandle.ToIntPtr(ctx));
            if (rc != Status.Ok)
            {
                ctx.Free(); // refused: the callback will never run
                throw Status.Failure(rc);
            }
            return pending.Completion.Task;
        }

        /// <summary>One async request: its task, and its pool kept reachable until it completes.</summary>
        private sealed class Pending
        {
            internal readonly TaskCompletionSource<Buffer> Completion =
                new TaskCompletionSource<Buffer>(TaskCreationOptions.RunContinuationsAsynchronously);
            internal readonly LocalBufferPool Pool;

            internal Pending(LocalBufferPool pool) { Pool = pool; }
        }

        private static void Deliver(IntPtr ctx, int status, IntPtr buffer)
        {
            // Never let an exception unwind into native code.
            try
            {
                GCHandle h = GCHandle.FromIntPtr(ctx);
                var pending = (Pending)h.Target;
                h.Free();
                if (status == Status.Ok)
                {
                    var raw = (NativeMethods.RawBuffer)Marshal.PtrToStructure(buffer, typeof(NativeMethods.RawBuffer));
                    pending.Completion.SetResult(new Buffer(raw));
                }
                else
                {
                    pending.Completion.SetException(Status.Exception(status, "local buffer pool 0x"
                        + pending.Pool.handle.Token.ToInt64().ToString("x")
                        + " was destroyed before a buffer became available"));
                }
            }
            catch (Exception e)
            {
                Console.Error.WriteLine("membudget: a buffer availability callback failed: " + e);
            }
        }

        /// <summary>Destroys the pool (see the remarks); a second call does nothing.</summary>
        public void Dispose()
        {
            handle.DisposeChecked();
        }

        /// <inheritdoc/>
        public override string ToString()
        {
            return "LocalBufferPool[0x" + handle.Token.ToInt64().ToString("x") + (IsDisposed ? ", disposed]" : "]");
        }
    }
}
