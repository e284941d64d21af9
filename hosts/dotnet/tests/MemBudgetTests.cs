using System;
using System.IO;
using System.Threading;

namespace Membudget.Tests
{
    public class MemBudgetTests
    {
        [Test]
        public void AbiVersionIsOneDotTwo()
        {
            Assert.Equal((1 << 16) | 2, MemBudget.AbiVersion);
        }

        [Test]
        public void PlanJsonAndJvmArgsAreTheCliOutputs()
        {
            using (var budget = Runtimes.Open())
            {
                string json = budget.PlanJson();
                Assert.Contains("\"total_process_memory\": 1073741824", json);
                Assert.Contains("\"network_buffers\": 2048", json);
                Assert.Contains("\"direct\": " + budget.Usage(Category.Direct).Quota, json);
                Assert.True(budget.JvmArgs().StartsWith("-Xmx161061270 -Xms161061270 "), budget.JvmArgs());
            }
        }

        [Test]
        public void ConfigErrorIsIllegalConfigurationWithFlinksMessage()
        {
            var e = Assert.Throws<IllegalConfigurationException>(
                () => new MemBudget(Runtimes.OneGiB().Set("taskmanager.memory.process.size", "64m")));
            Assert.True(e.Message.StartsWith("TaskManager memory configuration failed"), e.Message);
            Assert.Equal(-8, e.Status);
        }

        [Test]
        public void MalformedAndMisleadingPropertiesAreRefused()
        {
            // A null array was a NullReferenceException from inside Create.
            Assert.Equal("keyValues", Assert.Throws<ArgumentNullException>(() => MemBudget.Create((string[])null)).ParamName);
            Assert.Throws<InvalidArgumentException>(() => MemBudget.Create((string)null));
            var e = Assert.Throws<InvalidArgumentException>(() => MemBudget.Create("no-equals-sign"));
            Assert.Contains("expected 'key=value'", e.Message);
            Assert.Throws<InvalidArgumentException>(() => new MemBudgetOptions().Set("a=b", "c"));
            Assert.Throws<InvalidArgumentException>(() => new MemBudgetOptions().Set("k", "1g\0junk"));
            Assert.Throws<InvalidArgumentException>(
                () => new MemBudget(new MemBudgetOptions { ConfigFile = "conf\0.yaml" }));
        }

        [Test]
        public void ConfigFileAndDynamicPropertiesAreRead()
        {
            string file = Path.Combine(Path.GetTempPath(), "membudget-test-" + Guid.NewGuid() + ".yaml");
            File.WriteAllText(file, "taskmanager.memory.process.size: 1536m\n");
            try
            {
                using (var budget = new MemBudget(new MemBudgetOptions { ConfigFile = file, IgnoreContainer = true }))
                {
                    Assert.Contains("\"total_process_memory\": 1610612736", budget.PlanJson());
                }
            }
            finally
            {
                File.Delete(file);
            }
            using (var budget = MemBudget.Create("taskmanager.memory.process.size=2g"))
            {
                Assert.Contains("\"total_process_memory\": 2147483648", budget.PlanJson());
            }
        }

        [Test]
        public void TheEnvironmentIsReadOnlyWhenAsked()
        {
            Environment.SetEnvironmentVariable("MEMBUDGET_TASKMANAGER_MEMORY_PROCESS_SIZE", "3g");
            try
            {
                using (var b = new MemBudget(new MemBudgetOptions { UseEnvironment = true, IgnoreContainer = true }))
                {
                    Assert.Contains("\"total_process_memory\": 3221225472", b.PlanJson());
                }
                using (var b = Runtimes.Open())
                {
                    Assert.Contains("\"total_process_memory\": 1073741824", b.PlanJson());
                }
            }
            finally
            {
                Environment.SetEnvironmentVariable("MEMBUDGET_TASKMANAGER_MEMORY_PROCESS_SIZE", null);
            }
        }

        [Test]
        public void JobManagerHasNoNetworkBuffers()
        {
            var options = new MemBudgetOptions { Role = Role.JobManager, IgnoreContainer = true }
                .Set("jobmanager.memory.process.size", "1g");
            using (var jm = new MemBudget(options))
            {
                var e = Assert.Throws<UnavailableException>(() => jm.CreateLocalBufferPool(1, 2));
                Assert.Contains("no network buffers", e.Message);
                Assert.Equal(0UL, jm.Usage(Category.Managed).Quota);
            }
        }

        [Test]
        public void ADisposedRuntimeIsRefusedWithTheLibrarysMessage()
        {
            var budget = Runtimes.Open();
            budget.Dispose();
            budget.Dispose(); // idempotent
            Assert.True(budget.IsDisposed, "disposed");
            var e = Assert.Throws<InvalidHandleException>(() => budget.Reserve(Category.Heap, 1));
            Assert.True(e.Message.StartsWith("invalid runtime handle 0x"), e.Message);
            Assert.Contains("already freed", e.Message);
            Assert.Throws<InvalidHandleException>(() => budget.PlanJson());
            Assert.Throws<InvalidHandleException>(() => budget.Usage(Category.Heap));
            Assert.Throws<InvalidHandleException>(() => budget.CreateLocalBufferPool(1, 1));
            Assert.Throws<InvalidHandleException>(() => budget.ManagedMemory.AllocatePages(1, 1));
        }

        [Test]
        public void ARuntimeDisposedOnAnotherThreadIsRefusedOnThisOne()
        {
            var budget = Runtimes.Open();
            budget.Reserve(Category.Heap, 1 << 20);
            var t = new Thread(budget.Dispose);
            t.Start();
            t.Join();
            Assert.Throws<InvalidHandleException>(() => budget.Release(Category.Heap, 1 << 20));
        }

        [Test]
        public void EveryStatusHasItsException()
        {
            Assert.Equal(typeof(QuotaExceededException), Status.Exception(-1, "m").GetType());
            Assert.Equal(typeof(InvalidArgumentException), Status.Exception(-2, "m").GetType());
            Assert.Equal(typeof(NullArgumentException), Status.Exception(-3, "m").GetType());
            Assert.Equal(typeof(InvalidHandleException), Status.Exception(-4, "m").GetType());
            Assert.Equal(typeof(DestroyedException), Status.Exception(-5, "m").GetType());
            Assert.Equal(typeof(RequestTimeoutException), Status.Exception(-6, "m").GetType());
            Assert.Equal(typeof(UnavailableException), Status.Exception(-7, "m").GetType());
            Assert.Equal(typeof(IllegalConfigurationException), Status.Exception(-8, "m").GetType());
            Assert.Equal(typeof(NativePanicException), Status.Exception(-9, "m").GetType());
            Assert.Equal(typeof(BufferTooSmallException), Status.Exception(-10, "m").GetType());
            Assert.Equal(typeof(NativeOutOfMemoryException), Status.Exception(-11, "m").GetType());
            var unknown = Status.Exception(-99, "from a newer library");
            Assert.Equal(typeof(MemBudgetException), unknown.GetType());
            Assert.Equal(-99, unknown.Status);
            for (int s = -11; s <= -1; s++)
            {
                Assert.Equal(s, Status.Exception(s, "m").Status);
            }
        }
    }
}
