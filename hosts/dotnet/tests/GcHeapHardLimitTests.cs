using System;
using System.Diagnostics;

namespace Membudget.Tests
{
    public class GcHeapHardLimitTests
    {
        [Test]
        public void TheLaunchedProcessSeesTheHeapQuotaInHex()
        {
            using (var budget = Runtimes.Open())
            {
                var psi = new ProcessStartInfo("/bin/sh", "-c 'printf %s \"$DOTNET_GCHeapHardLimit\"'")
                {
                    UseShellExecute = false,
                    RedirectStandardOutput = true,
                };
                ulong limit = GcHeapHardLimit.Apply(psi, budget);
                Assert.Equal(budget.Usage(Category.Heap).Quota, limit);
                Assert.Equal(161061270UL, limit); // the 1 GiB plan's -Xmx
                using (var p = Process.Start(psi))
                {
                    string seen = p.StandardOutput.ReadToEnd();
                    p.WaitForExit();
                    Assert.Equal("0x9999996", seen);
                }
            }
        }

        [Test]
        public void FormatIsWhatTheCliExports()
        {
            // `membudget plan --host dotnet --format env` for a 1280m Flink memory: DOTNET_GCHeapHardLimit=0x1FFFFFF6
            Assert.Equal("0x1FFFFFF6", GcHeapHardLimit.Format(536870902));
        }

        [Test]
        public void NullArgumentsAreArgumentNullExceptions()
        {
            // A null budget was a NullReferenceException from inside Apply.
            var psi = new ProcessStartInfo("/bin/true") { UseShellExecute = false };
            var e = Assert.Throws<ArgumentNullException>(() => GcHeapHardLimit.Apply(psi, null));
            Assert.Equal("budget", e.ParamName);
            using (var budget = Runtimes.Open())
            {
                Assert.Equal("startInfo", Assert.Throws<ArgumentNullException>(() => GcHeapHardLimit.Apply(null, budget)).ParamName);
            }
        }

        [Test]
        public void ShellExecuteIsRefused()
        {
            using (var budget = Runtimes.Open())
            {
                var psi = new ProcessStartInfo("true") { UseShellExecute = true };
                Assert.Throws<ArgumentException>(() => GcHeapHardLimit.Apply(psi, budget));
            }
        }
    }
}
