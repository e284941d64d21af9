using System;

namespace Membudget
{
    /// <summary>
    /// One managed memory page lent to an owner: <see cref="Size"/> bytes written and read in
    /// place through <see cref="Span"/> (zero copy) until released.
    /// </summary>
    /// <remarks>
    /// After release (by <see cref="Dispose"/>, <see cref="Release"/>, <see cref="ManagedMemory.ReleaseAll"/>
    /// of its owner, or disposing the runtime) the page is invalid: <see cref="Span"/> throws
    /// <see cref="InvalidHandleException"/>, <see cref="Release"/> throws it with the library's
    /// message, and <see cref="Dispose"/> does nothing.
    /// </remarks>
    public sealed unsafe class ManagedPage : IDisposable
    {
        private readonly ManagedMemory memory;
        private readonly ManagedPageHandle handle;
        private readonly ulong owner;
        private readonly byte* ptr;
        private readonly int size;

        internal ManagedPage(ManagedMemory memory, ulong owner, NativeMethods.RawSegment raw)
        {
            this.memory = memory;
            this.owner = owner;
            handle = new ManagedPageHandle(memory.Runtime, raw.Id);
            ptr = (byte*)raw.Ptr;
            size = checked((int)raw.Size);
        }

        /// <summary>The page's bytes, in place.</summary>
        /// <exception cref="InvalidHandleException">The page was released.</exception>
        public Span<byte> Span
        {
            get
            {
                if (handle.IsClosed)
                {
                    throw new InvalidHandleException("invalid segment id 0x" + handle.Id.ToString("x")
                        + ": the managed page was already released");
                }
                return new Span<byte>(ptr, size);
            }
        }

        /// <summary>Bytes in the page (the plan's segment size).</summary>
        public int Size { get { return size; } }

        /// <summary>The owner it was allocated for.</summary>
        public ulong Owner { get { return owner; } }

        /// <summary>The page's handle (its generation-checked segment id).</summary>
        public ManagedPageHandle Handle { get { return handle; } }

        /// <summary>Whether the page was released (any of the ways in the remarks).</summary>
        public bool IsReleased { get { return handle.IsClosed; } }

        /// <summary>Returns the page; strict, unlike <see cref="Dispose"/>.</summary>
        /// <exception cref="InvalidHandleException">With the library's message, if it was already released.</exception>
        public void Release()
        {
            if (handle.IsClosed)
            {
                Status.Check(NativeMethods.mb_managed_release(handle.Runtime, handle.Id));
            }
            Dispose();
        }

        /// <summary>Returns the page if it is still lent; a second call does nothing.</summary>
        public void Dispose()
        {
            memory.Forget(this);
            handle.DisposeChecked();
        }

        /// <summary>Released by ReleaseAll or the runtime's disposal: no call to make.</summary>
        internal void MarkReleased()
        {
            handle.SetHandleAsInvalid();
        }

        /// <inheritdoc/>
        public override string ToString()
        {
            return "ManagedPage[id=0x" + handle.Id.ToString("x") + ", owner=" + owner + ", size=" + size
                + (IsReleased ? ", released]" : "]");
        }
    }
}
