using System;
using System.Diagnostics;
using System.Globalization;

namespace Membudget
{
    /// <summary>
    /// Applies a plan's heap quota to a .NET process it launches as <c>DOTNET_GCHeapHardLimit</c>,
    /// so the child's GC heap is capped at what the budget gives the heap category (the same value
    /// <c>membudget plan --host dotnet --format env</c> exports; make the budget with
    /// <see cref="MemBudgetOptions.Host"/> = <see cref="HostProfile.Dotnet"/>).
    /// </summary>
    /// <remarks>
    /// The .NET runtime reads GC settings from the environment at start-up, in hexadecimal; a
    /// running process cannot change its own limit, hence a helper for the process it launches.
    /// </remarks>
    public static class GcHeapHardLimit
    {
        /// <summary>The environment variable the .NET GC reads.</summary>
        public const string Variable = "DOTNET_GCHeapHardLimit";

        /// <summary>
        /// Sets <see cref="Variable"/> in <paramref name="startInfo"/>'s environment to the heap
        /// quota of <paramref name="budget"/>, and returns the value set.
        /// </summary>
        /// <exception cref="ArgumentNullException"><paramref name="startInfo"/> or <paramref name="budget"/> is null.</exception>
        /// <exception cref="ArgumentException"><c>UseShellExecute</c> is true (the environment would not reach the process).</exception>
        /// <exception cref="InvalidOperationException">The plan has no heap quota.</exception>
        public static ulong Apply(ProcessStartInfo startInfo, MemBudget budget)
        {
            if (startInfo == null)
            {
                throw new ArgumentNullException("startInfo");
            }
            if (budget == null)
            {
                throw new ArgumentNullException("budget");
            }
            if (startInfo.UseShellExecute)
            {
                throw new ArgumentException("UseShellExecute is true: the environment, and with it "
                    + Variable + ", would not reach the process; set it to false", "startInfo");
            }
            CategoryUsage heap = budget.Usage(Category.Heap);
            if (!heap.HasQuota)
            {
                throw new InvalidOperationException("the plan has no heap quota to apply as " + Variable);
            }
            startInfo.EnvironmentVariables[Variable] = Format(heap.Quota);
            return heap.Quota;
        }

        /// <summary>The value as the GC reads it: <c>0x</c> and upper-case hexadecimal.</summary>
        public static string Format(ulong bytes)
        {
            return "0x" + bytes.ToString("X", CultureInfo.InvariantCulture);
        }
    }
}
