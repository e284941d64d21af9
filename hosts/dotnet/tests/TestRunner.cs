using System;
using System.Linq;
using System.Reflection;

namespace Membudget.Tests
{
    /// <summary>Marks a test method: public, parameterless, on a class with a default constructor.</summary>
    [AttributeUsage(AttributeTargets.Method)]
    internal sealed class TestAttribute : Attribute { }

    /// <summary>
    /// Runs every [Test] of this assembly, prints failures and "N passed, N failed", and exits
    /// non-zero on any failure or if no test ran. "--perf" also prints round-trip rates.
    /// </summary>
    internal static class TestRunner
    {
        private static int Main(string[] args)
        {
            int passed = 0, failed = 0;
            var tests = Assembly.GetExecutingAssembly().GetTypes()
                .SelectMany(t => t.GetMethods())
                .Where(m => m.GetCustomAttributes(typeof(TestAttribute), false).Length > 0)
                .OrderBy(m => m.DeclaringType.Name + "." + m.Name);
            foreach (var m in tests)
            {
                try
                {
                    m.Invoke(m.IsStatic ? null : Activator.CreateInstance(m.DeclaringType), null);
                    passed++;
                }
                catch (TargetInvocationException e)
                {
                    failed++;
                    Console.Error.WriteLine("FAIL " + m.DeclaringType.Name + "." + m.Name + ": " + e.InnerException);
                }
            }
            if (args.Contains("--perf"))
            {
                RoundTripRates.Run(2000000);
            }
            Console.WriteLine(passed + " passed, " + failed + " failed");
            return failed == 0 && passed > 0 ? 0 : 1;
        }
    }

    internal static class Assert
    {
        internal static void True(bool condition, string what)
        {
            if (!condition)
            {
                throw new Exception("expected true: " + what);
            }
        }

        internal static void Equal<T>(T expected, T actual, string what = "")
        {
            if (!Equals(expected, actual))
            {
                throw new Exception("expected " + expected + ", got " + actual + " " + what);
            }
        }

        internal static void Contains(string needle, string haystack)
        {
            if (haystack == null || !haystack.Contains(needle))
            {
                throw new Exception("expected '" + needle + "' in '" + haystack + "'");
            }
        }

        /// <summary>Runs <paramref name="body"/> and returns the exception of exactly type T it throws.</summary>
        internal static T Throws<T>(Action body) where T : Exception
        {
            try
            {
                body();
            }
            catch (Exception e)
            {
                if (e.GetType() == typeof(T))
                {
                    return (T)e;
                }
                throw new Exception("expected " + typeof(T).Name + ", got " + e.GetType().Name + ": " + e.Message, e);
            }
            throw new Exception("expected " + typeof(T).Name + ", nothing was thrown");
        }
    }

    internal static class Runtimes
    {
        /// <summary>A 1 GiB TaskManager, container ignored.</summary>
        internal static MemBudgetOptions OneGiB()
        {
            return new MemBudgetOptions { IgnoreContainer = true }.Set("taskmanager.memory.process.size", "1g");
        }

        internal static MemBudget Open()
        {
            return new MemBudget(OneGiB());
        }
    }
}
