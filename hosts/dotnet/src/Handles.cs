using System;
using System.Runtime.InteropServices;
using System.Threading;

namespace Membudget
{
    /// <summary>
    /// A libmembudget handle or id as a <see cref="SafeHandle"/>: released exactly once, by
    /// <c>Dispose</c> or, if its owner was never disposed, by the finalizer thread.
    /// </summary>
    /// <remarks>
    /// A failed release is never dropped: <see cref="ReleaseHandle"/> keeps the exception, which
    /// the owning object's <c>Dispose</c> rethrows, and raises
    /// <see cref="MemBudget.ReleaseFailed"/>, the only witness when the finalizer released it.
    /// The token stays known after release (<see cref="Token"/>): passing it again makes the
    /// library refuse it with its own message.
    /// </remarks>
    public abstract class MemBudgetHandle : SafeHandle
    {
        private readonly IntPtr token;
        private MemBudgetException failure;

        internal MemBudgetHandle(IntPtr token) : base(IntPtr.Zero, true)
        {
            this.token = token;
            SetHandle(token);
        }

        /// <inheritdoc/>
        public override bool IsInvalid { get { return handle == IntPtr.Zero; } }

        /// <summary>The token, also after release (the library then refuses it).</summary>
        internal IntPtr Token { get { return token; } }

        /// <summary>Calls the C function that frees <paramref name="value"/>.</summary>
        internal abstract int Free(IntPtr value);

        /// <inheritdoc/>
        protected override bool ReleaseHandle()
        {
            int rc = Free(handle);
            if (rc == Status.Ok)
            {
                return true;
            }
            // Same thread as the failed call: the last error is this call's.
            var e = Status.Exception(rc, NativeMethods.LastErrorMessage());
            Interlocked.Exchange(ref failure, e);
            MemBudget.RaiseReleaseFailed(this, e);
            return false;
        }

        /// <summary>Releases now; a second call does nothing. Throws if the library refused.</summary>
        internal void DisposeChecked()
        {
            Dispose();
            var e = Interlocked.Exchange(ref failure, null);
            if (e != null)
            {
                throw e;
            }
        }
    }

    /// <summary>An <c>mb_runtime *</c>, freed by <c>mb_runtime_free</c>.</summary>
    public sealed class RuntimeHandle : MemBudgetHandle
    {
        internal RuntimeHandle(IntPtr token) : base(token) { }

        internal override int Free(IntPtr value) { return NativeMethods.mb_runtime_free(value); }
    }

    /// <summary>An <c>mb_local_pool *</c>, freed by <c>mb_local_pool_free</c>.</summary>
    public sealed class LocalPoolHandle : MemBudgetHandle
    {
        internal LocalPoolHandle(IntPtr token) : base(token) { }

        internal override int Free(IntPtr value) { return NativeMethods.mb_local_pool_free(value); }
    }

    /// <summary>An <c>mb_budget_child *</c>, freed by <c>mb_budget_child_free</c>.</summary>
    public sealed class ChildBudgetHandle : MemBudgetHandle
    {
        private long reclaimKey;

        internal ChildBudgetHandle(IntPtr token) : base(token) { }

        /// <summary>Records the current reclaimer registration's key; returns the previous one.</summary>
        internal long SwapReclaimKey(long key) { return Interlocked.Exchange(ref reclaimKey, key); }

        internal override int Free(IntPtr value)
        {
            int rc = NativeMethods.mb_budget_child_free(value);
            if (rc == Status.Ok)
            {
                // The library no longer calls it (on Dispose or the finalizer thread alike).
                ChildBudget.Forget(Interlocked.Exchange(ref reclaimKey, 0));
            }
            return rc;
        }
    }

    /// <summary>A lent buffer's id, recycled by <c>mb_buffer_recycle</c>.</summary>
    public sealed class BufferHandle : MemBudgetHandle
    {
        internal BufferHandle(ulong id) : base(new IntPtr((long)id)) { }

        /// <summary>The library's generation-checked buffer id.</summary>
        public ulong Id { get { return (ulong)Token.ToInt64(); } }

        internal override int Free(IntPtr value) { return NativeMethods.mb_buffer_recycle((ulong)value.ToInt64()); }
    }

    /// <summary>A lent managed page's id, released by <c>mb_managed_release</c> on its runtime.</summary>
    public sealed class ManagedPageHandle : MemBudgetHandle
    {
        private readonly IntPtr runtime;

        internal ManagedPageHandle(IntPtr runtime, ulong id) : base(new IntPtr((long)id))
        {
            this.runtime = runtime;
        }

        /// <summary>The library's generation-checked segment id.</summary>
        public ulong Id { get { return (ulong)Token.ToInt64(); } }

        internal override int Free(IntPtr value)
        {
            int rc = NativeMethods.mb_managed_release(runtime, (ulong)value.ToInt64());
            // Released meanwhile by ReleaseAll or the runtime's Dispose on another thread: done.
            return rc == Status.InvalidHandle ? Status.Ok : rc;
        }

        internal IntPtr Runtime { get { return runtime; } }
    }
}
