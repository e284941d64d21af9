using System;
using System.Collections.Generic;

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
    }
}
