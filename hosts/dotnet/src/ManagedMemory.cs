using System;
using System.Collections.Generic;

namespace Membudget
{
    /// <summary>
    /// A runtime's managed memory, lent as pages of the plan's segment size to owners (any number
    /// the host uses to group pages, e.g. an operator id), after Flink's <c>MemoryManager</c>:
    /// allocation is all or nothing, and <see cref="ReleaseAll"/> returns everything an owner holds.
    /// </summary>
    /// <remarks>
    /// Thread-safe. Tracks the pages it lent, so pages released by <see cref="ReleaseAll"/> or by
    /// disposing the runtime become invalid here too.
    /// </remarks>
    public sealed class ManagedMemory
    {
        /// <summary>Most pages one <see cref="AllocatePages"/> call may ask for (the library's per-call limit).</summary>
        public const uint MaxPagesPerCall = 1u << 24;

        private readonly MemBudget budget; // keeps the runtime reachable while pages are in use
        private readonly IntPtr runtime;
        private readonly Dictionary<ulong, HashSet<ManagedPage>> lent = new Dictionary<ulong, HashSet<ManagedPage>>();

        internal ManagedMemory(MemBudget budget, IntPtr runtime)
        {
            this.budget = budget;
            this.runtime = runtime;
        }

        /// <summary>The runtime this memory belongs to.</summary>
        public MemBudget Budget { get { return budget; } }

        /// <summary><paramref name="count"/> pages for <paramref name="owner"/>, all or nothing.</summary>
        /// <exception cref="QuotaExceededException">Too few free pages (the message names the key to increase).</exception>
        public IList<ManagedPage> AllocatePages(ulong owner, uint count)
        {
            if (count > MaxPagesPerCall)
            {
                throw new InvalidArgumentException("AllocatePages: count is " + count + "; at most "
                    + MaxPagesPerCall + " pages per call");
            }
            var raw = new NativeMethods.RawSegment[count];
            int rc = NativeMethods.mb_managed_allocate_pages(runtime, owner, count, raw);
            if (rc != Status.Ok)
            {
                throw Status.Failure(rc, Category.Managed);
            }
            var pages = new List<ManagedPage>((int)count);
            lock (lent)
            {
                HashSet<ManagedPage> mine;
                if (!lent.TryGetValue(owner, out mine))
                {
                    lent[owner] = mine = new HashSet<ManagedPage>();
                }
                foreach (var s in raw)
                {
                    var p = new ManagedPage(this, owner, s);
                    mine.Add(p);
                    pages.Add(p);
                }
            }
            return pages.AsReadOnly();
        }

        /// <summary>
        /// Returns every page <paramref name="owner"/> holds (Flink's <c>MemoryManager.releaseAll</c>);
        /// they become invalid. An owner with no pages is fine.
        /// </summary>
        public void ReleaseAll(ulong owner)
        {
            Status.Check(NativeMethods.mb_managed_release_all(runtime, owner));
            HashSet<ManagedPage> pages;
            lock (lent)
            {
                if (!lent.TryGetValue(owner, out pages))
                {
                    return;
                }
                lent.Remove(owner);
            }
            foreach (var p in pages)
            {
                p.MarkReleased();
            }
        }

        internal IntPtr Runtime { get { return runtime; } }

        internal void Forget(ManagedPage page)
        {
            lock (lent)
            {
                HashSet<ManagedPage> mine;
                if (lent.TryGetValue(page.Owner, out mine))
                {
                    mine.Remove(page);
                }
            }
        }

        /// <summary>The runtime is being disposed: every page it lent becomes invalid.</summary>
        internal void ShutDown()
        {
            var all = new List<ManagedPage>();
            lock (lent)
            {
                foreach (var set in lent.Values)
                {
                    all.AddRange(set);
                }
                lent.Clear();
            }
            foreach (var p in all)
            {
                p.MarkReleased();
            }
        }
    }
}
