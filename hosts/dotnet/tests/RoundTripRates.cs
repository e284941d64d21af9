using System;
using System.Diagnostics;

namespace Membudget.Tests
{
    /// <summary>
    /// Round trips per second through the library (not the raw ABI): RequestBuffer + Dispose,
    /// and Reserve + Release. Every status is checked by the library (a failure throws).
    /// </summary>
    internal static class RoundTripRates
    {
        internal static void Run(int n)
        {
            using (var budget = Runtimes.Open())
            using (var pool = budget.CreateLocalBufferPool(1, 16))
            {
                Buffers(pool, n / 10); // warm up
                Reservations(budget, n / 10);
                var sw = Stopwatch.StartNew();
                Buffers(pool, n);
                double t1 = sw.Elapsed.TotalSeconds;
                sw.Restart();
                Reservations(budget, n);
                double t2 = sw.Elapsed.TotalSeconds;
                Print("buffer_request+recycle", n, t1);
                Print("reserve+release", n, t2);
                if (budget.Usage(Category.Direct).Used != 0)
                {
                    throw new Exception("direct memory not balanced after the run");
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

        private static void Print(string what, int n, double seconds)
        {
            Console.WriteLine("perf csharp {0} {1:F0} round trips/s ({2:F1} ns each)", what, n / seconds, seconds / n * 1e9);
        }
    }
}
