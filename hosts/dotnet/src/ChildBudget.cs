using System;
using System.Collections.Generic;
using System.Runtime.InteropServices;
using System.Text;

namespace Membudget
{
    /// <summary>
    /// A child budget: its own per-category limits (and reserved minimums) below a runtime's
    /// budget or another child (job, slot, operator); everything it charges counts against every
    /// ancestor. Made by <see cref="MemBudget.CreateChildBudget"/> or <see cref="CreateChild"/>.
    /// </summary>
    /// <remarks>
    /// <see cref="Reserve"/> charges it (as its consumer <c>host</c>). When a limit refuses, other
    /// children's reclaimers under that limit (<see cref="OnReclaim"/>) are asked to free memory
    /// before <see cref="QuotaExceededException"/> is thrown; its message names the budget and its
    /// top consumers. Thread-safe. <see cref="Dispose"/> releases what it holds; children made
    /// under it stay usable.
    /// </remarks>
    public sealed class ChildBudget : IDisposable
    {
        // One delegate for every registration, alive for the process.
        private static readonly NativeMethods.ReclaimCallback Trampoline = Reclaim;

        private readonly MemBudget runtime; // keeps the runtime reachable while in use
        private readonly ChildBudgetHandle handle;
        private readonly object gate = new object();
        private GCHandle reclaimer;

        internal ChildBudget(MemBudget runtime, ChildBudget parent, string name,
            IDictionary<Category, ulong> limits, IDictionary<Category, ulong> reserved)
        {
            if (name == null || name.IndexOf('\0') >= 0)
            {
                throw new InvalidArgumentException("child budget name must be a string without NUL");
            }
            this.runtime = runtime;
            Name = name;
            IntPtr token;
            int rc = NativeMethods.mb_budget_child_new(runtime.Token, parent == null ? IntPtr.Zero : parent.handle.Token,
                Nul(name), PerCategory(limits, ulong.MaxValue), PerCategory(reserved, 0), out token);
            if (rc != Status.Ok)
            {
                throw Status.Failure(rc);
            }
            handle = new ChildBudgetHandle(token);
        }

        /// <summary>The budget's name.</summary>
        public string Name { get; }

        /// <summary>The budget's handle.</summary>
        public ChildBudgetHandle Handle { get { return handle; } }

        /// <summary>A child of this budget.</summary>
        public ChildBudget CreateChild(string name, IDictionary<Category, ulong> limits = null,
            IDictionary<Category, ulong> reserved = null)
        {
            return new ChildBudget(runtime, this, name, limits, reserved);
        }

        /// <summary>Charges <paramref name="bytes"/> of <paramref name="category"/>; may ask reclaimers and wait.</summary>
        /// <exception cref="QuotaExceededException">A limit refused; nothing is charged.</exception>
        public void Reserve(Category category, ulong bytes)
        {
            int rc = NativeMethods.mb_budget_child_reserve(handle.Token, (uint)category, bytes);
            if (rc != Status.Ok)
            {
                throw Status.Failure(rc, category, bytes > long.MaxValue ? -1 : (long)bytes);
            }
        }

        /// <summary>Gives back bytes reserved here.</summary>
        /// <exception cref="InvalidArgumentException">More than the budget holds; nothing is released.</exception>
        public void Release(Category category, ulong bytes)
        {
            Status.Check(NativeMethods.mb_budget_child_release(handle.Token, (uint)category, bytes));
        }

        /// <summary>Bytes of <paramref name="category"/> used by this budget and everything under it.</summary>
        public ulong Used(Category category)
        {
            ulong used;
            Status.Check(NativeMethods.mb_budget_child_used(handle.Token, (uint)category, out used));
            return used;
        }

        /// <summary>
        /// Registers <paramref name="reclaim"/>(category, bytes) → bytes freed (null removes it): called
        /// on the thread whose request did not fit; it should <see cref="Release"/> what it can and
        /// return how much. Exceptions count as 0 freed and never reach the library.
        /// </summary>
        public void OnReclaim(Func<Category, ulong, ulong> reclaim)
        {
            lock (gate)
            {
                GCHandle next = reclaim == null ? default(GCHandle) : GCHandle.Alloc(reclaim);
                int rc = reclaim == null
                    ? NativeMethods.mb_budget_on_reclaim(handle.Token, null, IntPtr.Zero)
                    : NativeMethods.mb_budget_on_reclaim(handle.Token, Trampoline, GCHandle.ToIntPtr(next));
                if (rc != Status.Ok)
                {
                    if (next.IsAllocated) { next.Free(); }
                    throw Status.Failure(rc);
                }
                if (reclaimer.IsAllocated) { reclaimer.Free(); }
                reclaimer = next;
            }
        }

        /// <summary>How long a request here waits for reclaimers before it is refused (default 100 ms).</summary>
        public void SetReclaimWait(TimeSpan wait)
        {
            if (wait < TimeSpan.Zero || wait.TotalMilliseconds > uint.MaxValue)
            {
                throw new InvalidArgumentException("SetReclaimWait: " + wait + " is negative or above 2^32-1 ms");
            }
            Status.Check(NativeMethods.mb_budget_set_reclaim_wait(handle.Token, (uint)wait.TotalMilliseconds));
        }

        /// <summary>This budget's subtree as JSON (<c>name</c>, <c>categories</c>, <c>consumers</c>, <c>children</c>).</summary>
        public string ReportJson()
        {
            IntPtr child = handle.Token;
            return NativeMethods.Text((IntPtr rt, byte[] buf, UIntPtr len, out UIntPtr needed) =>
                NativeMethods.mb_budget_report_json(rt, child, buf, len, out needed), runtime.Token);
        }

        /// <summary>Whether <see cref="Dispose"/> was called.</summary>
        public bool IsDisposed { get { return handle.IsClosed; } }

        /// <summary>Frees the handle (see the class remarks); a second call does nothing.</summary>
        public void Dispose()
        {
            handle.DisposeChecked();
            lock (gate)
            {
                if (reclaimer.IsAllocated) { reclaimer.Free(); }
            }
        }

        private static ulong Reclaim(IntPtr ctx, uint category, ulong bytes)
        {
            // Never let an exception unwind into native code.
            try
            {
                var f = (Func<Category, ulong, ulong>)GCHandle.FromIntPtr(ctx).Target;
                return f((Category)category, bytes);
            }
            catch (Exception e)
            {
                Console.Error.WriteLine("membudget: a reclaim callback failed: " + e);
                return 0;
            }
        }

        private static byte[] Nul(string s)
        {
            var bytes = Encoding.UTF8.GetBytes(s);
            Array.Resize(ref bytes, bytes.Length + 1);
            return bytes;
        }

        private static ulong[] PerCategory(IDictionary<Category, ulong> values, ulong fallback)
        {
            if (values == null)
            {
                return null;
            }
            var arr = new ulong[] { fallback, fallback, fallback, fallback, fallback };
            foreach (var kv in values)
            {
                if ((uint)kv.Key >= 5)
                {
                    throw new InvalidArgumentException("category " + (uint)kv.Key + " is not one of 0..4");
                }
                arr[(uint)kv.Key] = kv.Value;
            }
            return arr;
        }
    }
}
