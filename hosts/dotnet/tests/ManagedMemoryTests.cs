namespace Membudget.Tests
{
    public class ManagedMemoryTests
    {
        [Test]
        public void PagesAreSpansChargedToManaged()
        {
            using (var budget = Runtimes.Open())
            {
                var mm = budget.ManagedMemory;
                var pages = mm.AllocatePages(11, 3);
                Assert.Equal(3, pages.Count);
                for (int i = 0; i < 3; i++)
                {
                    Assert.Equal(32768, pages[i].Span.Length);
                    pages[i].Span.Fill((byte)i);
                    Assert.Equal(11UL, pages[i].Owner);
                }
                Assert.Equal(3UL * 32768, budget.Usage(Category.Managed).Used);
                pages[0].Dispose();
                pages[0].Dispose(); // idempotent
                Assert.Equal(2UL * 32768, budget.Usage(Category.Managed).Used);
                mm.ReleaseAll(11);
                Assert.Equal(0UL, budget.Usage(Category.Managed).Used);
                mm.ReleaseAll(12345);
            }
        }

        [Test]
        public void ReleasedPagesAreInvalidWhicheverWayTheyWereReleased()
        {
            using (var budget = Runtimes.Open())
            {
                var mm = budget.ManagedMemory;
                var pages = mm.AllocatePages(1, 2);
                pages[0].Release();
                var twice = Assert.Throws<InvalidHandleException>(pages[0].Release);
                Assert.True(twice.Message.StartsWith("invalid segment id 0x"), twice.Message);
                mm.ReleaseAll(1);
                Assert.True(pages[1].IsReleased, "released by ReleaseAll");
                var use = Assert.Throws<InvalidHandleException>(() => { var s = pages[1].Span; });
                Assert.Contains("already released", use.Message);
                pages[1].Dispose();
                Assert.Throws<InvalidHandleException>(pages[1].Release);
            }
        }

        [Test]
        public void DisposingTheRuntimeInvalidatesItsPages()
        {
            var budget = Runtimes.Open();
            var pages = budget.ManagedMemory.AllocatePages(2, 2);
            budget.Dispose();
            Assert.True(pages[0].IsReleased, "released with the runtime");
            Assert.Throws<InvalidHandleException>(() => { var s = pages[0].Span; });
            pages[1].Dispose();
            Assert.Throws<InvalidHandleException>(pages[1].Release);
        }

        [Test]
        public void OverTheManagedQuotaIsQuotaExceeded()
        {
            using (var budget = Runtimes.Open())
            {
                var e = Assert.Throws<QuotaExceededException>(() => budget.ManagedMemory.AllocatePages(1, 100000));
                Assert.Equal((Category?)Category.Managed, e.Category);
                Assert.Contains("taskmanager.memory.managed", e.Message);
                Assert.Equal(100000L * 32768, e.RequestedBytes);
                Assert.Equal((long)budget.Usage(Category.Managed).Quota, e.QuotaBytes);
                Assert.Equal((Limit?)Limit.Pool, e.Limit);
                Assert.Equal("taskmanager.memory.managed.fraction", e.Key);
                Assert.Equal(0, budget.ManagedMemory.AllocatePages(1, 0).Count);
                var big = Assert.Throws<InvalidArgumentException>(() => budget.ManagedMemory.AllocatePages(1, uint.MaxValue));
                Assert.Contains("at most 16777216 pages per call", big.Message);
            }
        }
    }
}
