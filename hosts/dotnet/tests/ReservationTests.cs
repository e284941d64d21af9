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
                Assert.Equal(null, e.Category);
                Assert.Throws<InvalidArgumentException>(() => budget.CreateLocalBufferPool(3, 1));
            }
        }
    }
}
