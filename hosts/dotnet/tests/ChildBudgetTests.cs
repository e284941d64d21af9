using System;
using System.Collections.Generic;
using System.Runtime.CompilerServices;
using System.Threading;

namespace Membudget.Tests
{
    public class ChildBudgetTests
    {
        private static MemBudget Runtime()
        {
            return Runtimes.Open();
        }

        [Test]
        public void LimitsAtEveryLevelAndRefusalsNamingConsumers()
        {
            using (var rt = Runtime())
            using (var job = rt.CreateChildBudget("job", new Dictionary<Category, ulong> { { Category.Managed, 1 << 20 } }))
            using (var slot = job.CreateChild("slot", new Dictionary<Category, ulong> { { Category.Managed, 900 << 10 } }))
            {
                slot.Reserve(Category.Managed, 512 << 10);
                job.Reserve(Category.Managed, 256 << 10);
                Assert.Equal((ulong)(768 << 10), job.Used(Category.Managed));
                var e = Assert.Throws<QuotaExceededException>(() => slot.Reserve(Category.Managed, 400 << 10));
                Assert.Equal((Limit?)Limit.Budget, e.Limit);
                Assert.Contains("in budget 'job/slot'", e.Message);
                Assert.Contains("top consumers: 'job/slot/host' 524288", e.Message);
                Assert.Contains("\"name\":\"job\"", rt.BudgetReportJson());
                Assert.Throws<InvalidArgumentException>(() => slot.Release(Category.Managed, 1 << 30));
            }
        }

        [Test]
        public void AReclaimerSpillsSoARequestFits()
        {
            using (var rt = Runtime())
            using (var slot = rt.CreateChildBudget("slot", new Dictionary<Category, ulong> { { Category.Managed, 1 << 20 } }))
            using (var cache = slot.CreateChild("cache"))
            using (var op = slot.CreateChild("op"))
            {
                cache.Reserve(Category.Managed, 900 << 10);
                int asked = 0;
                cache.OnReclaim((c, n) => { asked++; cache.Release(c, 900 << 10); return 900 << 10; });
                op.Reserve(Category.Managed, 512 << 10);
                Assert.Equal(1, asked);
                cache.Reserve(Category.Managed, 400 << 10);
                cache.OnReclaim((c, n) => { throw new InvalidOperationException("reclaimer bug"); });
                op.SetReclaimWait(TimeSpan.FromMilliseconds(20));
                var e = Assert.Throws<QuotaExceededException>(() => op.Reserve(Category.Managed, 200 << 10));
                Assert.Contains("Reclaim freed 0 bytes", e.Message);
                cache.OnReclaim(null);
            }
        }

        [Test]
        public void ADisposedChildIsRefused()
        {
            using (var rt = Runtime())
            {
                var c = rt.CreateChildBudget("c");
                c.Dispose();
                c.Dispose();
                Assert.Throws<InvalidHandleException>(() => c.Reserve(Category.Managed, 1));
                Assert.Throws<InvalidArgumentException>(() => rt.CreateChildBudget("a/b"));
            }
        }

        // The usual reclaimer releases from its own budget, so it reaches it: a GCHandle held
        // each registered reclaimer strongly, so such a budget left undisposed was never
        // finalized and what it reserved stayed charged for good.
        [Test]
        public void AnUndisposedChildWhoseReclaimerReachesItIsFreedByTheFinalizer()
        {
            using (var rt = Runtime())
            {
                for (int i = 0; i < 20; i++)
                {
                    DropWithASelfReclaimer(rt, "dropped" + i);
                }
                for (int i = 0; i < 50 && rt.Usage(Category.Heap).Used != 0; i++)
                {
                    GC.Collect();
                    GC.WaitForPendingFinalizers();
                    Thread.Sleep(10);
                }
                Assert.Equal(0UL, rt.Usage(Category.Heap).Used);
            }
        }

        [MethodImpl(MethodImplOptions.NoInlining)]
        private static void DropWithASelfReclaimer(MemBudget rt, string name)
        {
            var c = rt.CreateChildBudget(name);
            c.Reserve(Category.Heap, 1000);
            c.OnReclaim((category, bytes) => { c.Release(category, 1000); return 1000; });
        }

        // Held weakly by the registry, a reclaimer must still be called while its budget lives.
        [Test]
        public void AReclaimerStaysRegisteredAcrossCollections()
        {
            const Category M = Category.Managed;
            using (var rt = Runtime())
            using (var slot = rt.CreateChildBudget("slot", new Dictionary<Category, ulong> { { M, 1UL << 20 } }))
            using (var cache = slot.CreateChild("cache"))
            using (var op = slot.CreateChild("op"))
            {
                cache.Reserve(M, 900 << 10);
                int asked = 0;
                cache.OnReclaim((category, bytes) => { asked++; cache.Release(category, 900 << 10); return 900 << 10; });
                GC.Collect();
                GC.WaitForPendingFinalizers();
                op.Reserve(M, 512 << 10);
                Assert.Equal(1, asked);
            }
        }
    }
}
