namespace Membudget.Tests
{
    public class ReservationTests
    {
        [Test]
        public void OverQuotaIsQuotaExceededWithTheMessageAndFields()
        {
            using (var budget = Runtimes.Open())
            {
                ulong quota = budget.Usage(Category.Direct).Quota;
                Assert.Equal(134217728UL, quota);
                var e = Assert.Throws<QuotaExceededException>(() => budget.Reserve(Category.Direct, quota + 1));
                Assert.Contains("Cannot reserve " + (quota + 1) + " bytes of direct memory (used: 0, quota: "
                    + quota + "). Increase 'taskmanager.memory.task.off-heap.size'", e.Message);
                Assert.Equal(-1, e.Status);
                Assert.Equal((Category?)Category.Direct, e.Category);
                Assert.Equal((long)quota + 1, e.RequestedBytes);
                // The refusal's own facts, from the library.
                Assert.Equal(0L, e.UsedBytes);
                Assert.Equal((long)quota, e.QuotaBytes);
                Assert.Equal((Limit?)Limit.Category, e.Limit);
                Assert.Equal((Role?)Role.TaskManager, e.Role);
                Assert.Equal("taskmanager.memory.task.off-heap.size", e.Key);
                Assert.Equal(1UL, budget.Usage(Category.Direct).Failures);
            }
        }

        [Test]
        public void ReserveAndReleaseBalance()
        {
            using (var budget = Runtimes.Open())
            {
                budget.Reserve(Category.Heap, 1 << 20); // a .NET host reporting GC heap growth
                Assert.Equal(1UL << 20, budget.Usage(Category.Heap).HostReserved);
                var e = Assert.Throws<InvalidArgumentException>(() => budget.Release(Category.Heap, (1 << 20) + 1));
                Assert.Contains("holds only 1048576 bytes", e.Message);
                Assert.Throws<InvalidArgumentException>(() => budget.Reserve((Category)42, 1));
                budget.Release(Category.Heap, 1 << 20);
                Assert.Equal(0UL, budget.Usage(Category.Heap).Used);
                Assert.Throws<InvalidArgumentException>(() => budget.Release(Category.Heap, 1));
            }
        }

        [Test]
        public void PoolMinimumsBeyondTheNetworkAreQuotaExceeded()
        {
            using (var budget = Runtimes.Open())
            {
                var e = Assert.Throws<QuotaExceededException>(() => budget.CreateLocalBufferPool(5000, 6000));
                Assert.Contains("Insufficient number of network buffers", e.Message);
                // The plan's network buffers are a pool of 2048: the library says so.
                Assert.Equal((Category?)Category.Network, e.Category);
                Assert.Equal(5000L * 32768, e.RequestedBytes);
                Assert.Equal(2048L * 32768, e.QuotaBytes);
                Assert.Equal((Limit?)Limit.Pool, e.Limit);
                Assert.Equal("taskmanager.memory.network.fraction", e.Key);
                Assert.Throws<InvalidArgumentException>(() => budget.CreateLocalBufferPool(3, 1));
            }
        }

        [Test]
        public void JobManagerRefusalsNameJobManagerKeys()
        {
            var options = new MemBudgetOptions { Role = Role.JobManager, IgnoreContainer = true }
                .Set("jobmanager.memory.process.size", "1600m");
            using (var jm = new MemBudget(options))
            {
                var e = Assert.Throws<QuotaExceededException>(() => jm.Reserve(Category.Network, 1));
                Assert.Equal((Role?)Role.JobManager, e.Role);
                Assert.Equal(0L, e.QuotaBytes);
                Assert.Equal("jobmanager.memory.off-heap.size", e.Key);
                Assert.Contains("A JobManager has no network memory", e.Message);
            }
        }

        [Test]
        public void CallSiteDataIsKeptWhenTheLibraryHasNoDetails()
        {
            var e = new QuotaExceededException("m", Category.Heap, 5);
            Assert.Equal((Category?)Category.Heap, e.Category);
            Assert.Equal(5L, e.RequestedBytes);
            Assert.Equal(-1L, e.UsedBytes);
            Assert.Equal(null, e.Limit);
            Assert.Equal(null, e.Key);
        }

        [Test]
        public void RefusalReportsCanBeSwitched()
        {
            MemBudget.ReportRefusals(false);
        }
    }
}
