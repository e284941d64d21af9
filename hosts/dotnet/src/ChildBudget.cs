using System;
using System.Collections.Concurrent;
using System.Collections.Generic;
using System.Text;
using System.Threading;

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

        // Registered reclaimers by the key passed as the callback's ctx. Weakly: the budget holds
        // its reclaimer, so one that reaches the budget (the usual one releases from it) does not
        // keep an undisposed budget from being finalized and freed. A key is never reused, so a
        // call still running after its removal finds nothing (counts as 0 freed).
        private static readonly ConcurrentDictionary<long, WeakReference<Func<Category, ulong, ulong>>> Reclaimers =
            new ConcurrentDictionary<long, WeakReference<Func<Category, ulong, ulong>>>();
        private static long lastKey;

        private readonly MemBudget runtime; // keeps the runtime reachable while in use
        private readonly ChildBudgetHandle handle;
        private readonly object gate = new object();
        private Func<Category, ulong, ulong> reclaimer; // the only strong reference (see Reclaimers)

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
                long key = 0;
                if (reclaim != null)
                {
                    key = Interlocked.Increment(ref lastKey);
                    Reclaimers[key] = new WeakReference<Func<Category, ulong, ulong>>(reclaim);
                }
                var old = reclaimer;
                reclaimer = reclaim; // before the library can call it
                int rc = reclaim == null
                    ? NativeMethods.mb_budget_on_reclaim(handle.Token, null, IntPtr.Zero)
                    : NativeMethods.mb_budget_on_reclaim(handle.Token, Trampoline, new IntPtr(key));
                if (rc != Status.Ok)
                {
                    reclaimer = old;
                    Forget(key);
                    throw Status.Failure(rc);
                }
                Forget(handle.SwapReclaimKey(key));
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
            handle.DisposeChecked(); // forgets the reclaimer once the library dropped it
        }

        /// <summary>Drops a registration's entry (0: none).</summary>
        internal static void Forget(long key)
        {
            WeakReference<Func<Category, ulong, ulong>> gone;
            if (key != 0)
            {
                Reclaimers.TryRemove(key, out gone);
            }
        }

        private static ulong Reclaim(IntPtr ctx, uint category, ulong bytes)
        {
            // Never let an exception unwind into native code.
            try
            {
                WeakReference<Func<Category, ulong, ulong>> entry;
                Func<Category, ulong, ulong> f;
                if (!Reclaimers.TryGetValue(ctx.ToInt64(), out entry) || !entry.TryGetTarget(out f))
                {
                    return 0; // unregistered meanwhile, or its budget was collected
                }
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
