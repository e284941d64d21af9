using System;
using System.IO;

namespace Membudget.Tests
{
    /// <summary>The plan options of <c>membudget plan</c> reach the library's plan; quotas from the environment.</summary>
    public class PlanOptionsTests
    {
        [Test]
        public void HostProfilesDrawTheQuotasForTheirRuntime()
        {
            using (var jvm = Runtimes.Open())
            using (var net = new MemBudget(WithHost(HostProfile.Dotnet)))
            using (var nat = new MemBudget(WithHost(HostProfile.Native)))
            {
                ulong metaspace = 256UL << 20;
                Assert.Equal(jvm.Usage(Category.Heap).Quota, net.Usage(Category.Heap).Quota);
                Assert.Equal(jvm.Usage(Category.Heap).Quota + metaspace, nat.Usage(Category.Heap).Quota);
                Assert.Equal(jvm.Usage(Category.Overhead).Quota - metaspace, nat.Usage(Category.Overhead).Quota);
                Assert.Contains("\"host\": \"dotnet\"", net.PlanJson());
            }
        }

        private static MemBudgetOptions WithHost(HostProfile host)
        {
            var o = Runtimes.OneGiB();
            o.Host = host;
            return o;
        }

        [Test]
        public void Flink2IgnoresTheRemovedLegacyKeysAndStrictRefusesThem()
        {
            Func<MemBudgetOptions> legacy = () => new MemBudgetOptions { IgnoreContainer = true }
                .Set("taskmanager.memory.process.size", "4g")
                .Set("taskmanager.network.numberOfBuffers", "4096");
            using (var v1 = new MemBudget(legacy()))
            {
                Assert.Equal(4096UL * 32768, v1.Usage(Category.Network).Quota);
            }
            var o = legacy();
            o.FlinkVersion = FlinkVersion.V2;
            using (var v2 = new MemBudget(o))
            {
                Assert.True(v2.Usage(Category.Network).Quota != 4096UL * 32768, "2.x ignores numberOfBuffers");
                Assert.Contains("taskmanager.network.numberOfBuffers", v2.PlanJson());
            }
            o.Strict = true;
            var e = Assert.Throws<IllegalConfigurationException>(() => new MemBudget(o));
            Assert.Contains("'taskmanager.network.numberOfBuffers' is not read by Flink 2.x", e.Message);
        }

        [Test]
        public void KubernetesMapsTheLegacyHeapToTheProcess()
        {
            var o = new MemBudgetOptions { IgnoreContainer = true, Deployment = Deployment.Kubernetes }
                .Set("taskmanager.heap.size", "2g");
            using (var k8s = new MemBudget(o))
            {
                Assert.Contains("\"total_process_memory\": 2147483648", k8s.PlanJson());
            }
        }

        [Test]
        public void ConfigFormatAndSection()
        {
            string file = Path.Combine(Path.GetTempPath(), "membudget-test-" + Guid.NewGuid() + ".conf");
            File.WriteAllText(file, "{\"Custom\": {\"taskmanager.memory.process.size\": \"2g\"}}");
            try
            {
                var o = new MemBudgetOptions
                {
                    IgnoreContainer = true,
                    ConfigFile = file,
                    ConfigFormat = ConfigFormat.Json,
                    ConfigSection = "Custom",
                };
                using (var b = new MemBudget(o))
                {
                    Assert.Contains("\"total_process_memory\": 2147483648", b.PlanJson());
                }
                o.ConfigSection = "Other";
                var e = Assert.Throws<IllegalConfigurationException>(() => new MemBudget(o));
                Assert.Contains("there is no section 'Other'", e.Message);
                var noFile = Runtimes.OneGiB();
                noFile.ConfigSection = "Custom";
                var e2 = Assert.Throws<InvalidArgumentException>(() => new MemBudget(noFile));
                Assert.Contains("options->config_section is set but options->config_file is NULL", e2.Message);
            }
            finally
            {
                File.Delete(file);
            }
        }

        [Test]
        public void VerboseErrorsUseFlinksLayout()
        {
            var o = Runtimes.OneGiB().Set("taskmanager.memory.managed.fraction", "1.5");
            string oneLine = Assert.Throws<IllegalConfigurationException>(() => new MemBudget(o)).Message;
            o.VerboseErrors = true;
            string verbose = Assert.Throws<IllegalConfigurationException>(() => new MemBudget(o)).Message;
            Assert.True(!oneLine.Contains("\n"), oneLine);
            Assert.Contains("\nCaused by: fraction must be in range [0, 1)\n", verbose);
        }

        [Test]
        public void OutOfRangeOptionsAreTheLibrarysInvalidArgument()
        {
            var o = Runtimes.OneGiB();
            o.Host = (HostProfile)9;
            var e = Assert.Throws<InvalidArgumentException>(() => new MemBudget(o));
            Assert.Contains("options->host is 9; use 0 (MB_HOST_JVM)", e.Message);
            o = Runtimes.OneGiB();
            o.FlinkVersion = (FlinkVersion)7;
            Assert.Throws<InvalidArgumentException>(() => new MemBudget(o));
        }

        private static readonly string[] QuotaVariables =
        {
            "MEMBUDGET_QUOTA_ROLE", "MEMBUDGET_QUOTA_HEAP", "MEMBUDGET_QUOTA_DIRECT",
            "MEMBUDGET_QUOTA_MANAGED", "MEMBUDGET_QUOTA_NETWORK", "MEMBUDGET_QUOTA_OVERHEAD",
            "MEMBUDGET_QUOTA_TOTAL", "MEMBUDGET_QUOTA_NETWROK",
        };

        [Test]
        public void QuotasComeFromTheEnvironmentWhenAsked()
        {
            // What `membudget plan --host dotnet --format env` exports for a 1 GiB TaskManager.
            string[] exported =
            {
                "taskmanager", "161061270", "134217728", "241591914", "67108864", "469762048", "1073741824",
            };
            try
            {
                for (int i = 0; i < exported.Length; i++)
                {
                    Environment.SetEnvironmentVariable(QuotaVariables[i], exported[i]);
                }
                using (var b = MemBudget.FromEnvironment())
                {
                    Assert.Equal(161061270UL, b.Usage(Category.Heap).Quota);
                    Assert.Equal(67108864UL, b.Usage(Category.Network).Quota);
                    using (b.CreateLocalBufferPool(2048, 2048))
                    {
                    }
                    var e = Assert.Throws<UnavailableException>(() => b.PlanJson());
                    Assert.Contains("the runtime's quotas come from the environment", e.Message);
                }
                var jm = Assert.Throws<InvalidArgumentException>(() => MemBudget.FromEnvironment(Role.JobManager));
                Assert.Contains("options->role is jobmanager but MEMBUDGET_QUOTA_ROLE is taskmanager", jm.Message);
                var withPlanOption = Runtimes.OneGiB();
                withPlanOption.QuotasFromEnvironment = true;
                var p = Assert.Throws<InvalidArgumentException>(() => new MemBudget(withPlanOption));
                Assert.Contains("would not be applied", p.Message);
                Environment.SetEnvironmentVariable("MEMBUDGET_QUOTA_NETWROK", "1g");
                var typo = Assert.Throws<IllegalConfigurationException>(() => MemBudget.FromEnvironment());
                Assert.Contains("Unknown quota variable MEMBUDGET_QUOTA_NETWROK", typo.Message);
            }
            finally
            {
                foreach (var v in QuotaVariables)
                {
                    Environment.SetEnvironmentVariable(v, null);
                }
            }
            var missing = Assert.Throws<IllegalConfigurationException>(() => MemBudget.FromEnvironment());
            Assert.Contains("MEMBUDGET_QUOTA_MANAGED is not set", missing.Message);
        }
    }
}
