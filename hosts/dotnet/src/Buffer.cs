using System;

namespace Membudget
{
    /// <summary>
    /// A network buffer lent by a <see cref="LocalBufferPool"/>: <see cref="Capacity"/> bytes of a
    /// memory segment, written and read in place through <see cref="Span"/> (zero copy).
    /// Disposing it recycles the segment to its pool, like Flink's <c>Buffer.recycleBuffer()</c>.
    /// </summary>
    /// <remarks>
    /// After disposal the buffer is invalid: <see cref="Span"/> throws
    /// <see cref="InvalidHandleException"/>, <see cref="Recycle"/> throws it with the library's
    /// message, and a second <see cref="Dispose"/> does nothing. Keep the buffer in a
    /// <c>using</c> while a span over it is in use: a buffer that becomes unreachable is recycled
    /// by the finalizer (its <see cref="BufferHandle"/> is a SafeHandle). A buffer outlives its
    /// pool and runtime: it stays valid until disposed.
    /// </remarks>
    public sealed unsafe class Buffer : IDisposable
    {
        private readonly BufferHandle handle;
        private readonly byte* ptr;
        private readonly int capacity;

        internal Buffer(NativeMethods.RawBuffer raw)
        {
            handle = new BufferHandle(raw.Id);
            ptr = (byte*)raw.Ptr;
            capacity = checked((int)raw.Capacity);
        }

        /// <summary>The segment's bytes, in place.</summary>
        /// <exception cref="InvalidHandleException">The buffer was disposed.</exception>
        public Span<byte> Span
        {
            get
            {
                EnsureLent();
                return new Span<byte>(ptr, capacity);
            }
        }

        /// <summary>Bytes in the buffer (the plan's segment size).</summary>
        public int Capacity { get { return capacity; } }

        /// <summary>The buffer's handle (its generation-checked id).</summary>
        public BufferHandle Handle { get { return handle; } }

        /// <summary>The address of the first byte (for native code).</summary>
        /// <exception cref="InvalidHandleException">The buffer was disposed.</exception>
        public IntPtr Address
        {
            get
            {
                EnsureLent();
                return (IntPtr)ptr;
            }
        }

        /// <summary>Whether the buffer was disposed or recycled.</summary>
        public bool IsRecycled { get { return handle.IsClosed; } }

        /// <summary>Recycles the buffer; strict, unlike <see cref="Dispose"/>.</summary>
        /// <exception cref="InvalidHandleException">With the library's message, if it was already recycled.</exception>
        public void Recycle()
        {
            if (handle.IsClosed)
            {
                // The library refuses the stale id with its own message.
                Status.Check(NativeMethods.mb_buffer_recycle(handle.Id));
            }
            handle.DisposeChecked();
        }

        /// <summary>Recycles the buffer if it is still lent; a second call does nothing.</summary>
        public void Dispose()
        {
            handle.DisposeChecked();
        }

        private void EnsureLent()
        {
            if (handle.IsClosed)
            {
                throw new InvalidHandleException("invalid buffer id 0x" + handle.Id.ToString("x")
                    + ": it was already recycled (the buffer was disposed)");
            }
        }

        /// <inheritdoc/>
        public override string ToString()
        {
            return "Buffer[id=0x" + handle.Id.ToString("x") + ", capacity=" + capacity + (IsRecycled ? ", recycled]" : "]");
        }
    }
}
