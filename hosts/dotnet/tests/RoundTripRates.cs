using System;
using System.Diagnostics;

namespace Membudget.Tests
{
    /// <summary>
    /// Round trips per second through the library: RequestBuffer + Dispose, and Reserve +
    /// Release, each beside the same P/Invokes without wrapper objects in the same run, so the
    /// ratio is the library's cost. Every status is checked (a failure throws).
    /// </summary>
    internal static class RoundTripRates
    {
        internal static void Run(int n)
        {
            using (var budget = Runtimes.Open())
            using (var pool = budget.CreateLocalBufferPool(1, 16))
            {
                IntPtr rt = budget.Handle.Token, lp = pool.Handle.Token;
                Buffers(pool, n / 10); // warm up
                RawBuffers(lp, n / 10);
                Reservations(budget, n / 10);
                RawReservations(rt, n / 10);
                var sw = Stopwatch.StartNew();
                Buffers(pool, n);
                double t1 = sw.Elapsed.TotalSeconds;
                sw.Restart();
                RawBuffers(lp, n);
                double r1 = sw.Elapsed.TotalSeconds;
                sw.Restart();
                Reservations(budget, n);
                double t2 = sw.Elapsed.TotalSeconds;
                sw.Restart();
                RawReservations(rt, n);
                double r2 = sw.Elapsed.TotalSeconds;
                Print("buffer_request+recycle", n, t1, r1);
                Print("reserve+release", n, t2, r2);
                if (budget.Usage(Category.Direct).Used != 0)
                {
                    throw new Exception("direct memory not balanced after the run");
                }
            }
        }

        private static void RawBuffers(IntPtr pool, int n)
        {
            NativeMethods.RawBuffer raw;
            for (int i = 0; i < n; i++)
            {
                if (NativeMethods.mb_buffer_request(pool, out raw) != 0 || NativeMethods.mb_buffer_recycle(raw.Id) != 0)
                {
                    throw new Exception("raw round trip failed: " + NativeMethods.LastErrorMessage());
                }
            }
        }

        private static void RawReservations(IntPtr rt, int n)
        {
            for (int i = 0; i < n; i++)
            {
                if (NativeMethods.mb_reserve(rt, 1, 4096) != 0 || NativeMethods.mb_release(rt, 1, 4096) != 0)
                {
                    throw new Exception("raw round trip failed: " + NativeMethods.LastErrorMessage());
                }
            }
        }

        private static void Buffers(LocalBufferPool pool, int n)
        {
            for (int i = 0; i < n; i++)
            {
                pool.RequestBuffer().Dispose();
            }
        }

        private static void Reservations(MemBudget budget, int n)
        {
            for (int i = 0; i < n; i++)
            {
                budget.Reserve(Category.Direct, 4096);
                budget.Release(Category.Direct, 4096);
            }
        }

        private static void Print(string what, int n, double seconds, double rawSeconds)
        {
            Console.WriteLine("perf csharp {0} {1:F0} round trips/s ({2:F1} ns each; P/Invoke alone {3:F1} ns, {4:F2}x)",
                what, n / seconds, seconds / n * 1e9, rawSeconds / n * 1e9, seconds / rawSeconds);
        }
    }
}
