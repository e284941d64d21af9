namespace Membudget
{
    /// <summary>One category's counters (<c>mb_usage</c>). "No quota" is <see cref="Unlimited"/>.</summary>
    public sealed class CategoryUsage
    {
        /// <summary><see cref="Quota"/> and <see cref="Available"/> when there is no limit (<c>UINT64_MAX</c>).</summary>
        public const ulong Unlimited = ulong.MaxValue;

        internal CategoryUsage(Category category, NativeMethods.CategoryUsage u)
        {
            Category = category;
            Used = u.Used;
            Peak = u.Peak;
            Quota = u.Quota;
            Available = u.Available;
            Failures = u.Failures;
            HostReserved = u.HostReserved;
            HostAllocated = u.HostAllocated;
            Enforced = u.Enforced != 0;
        }

        /// <summary>The category.</summary>
        public Category Category { get; private set; }
        /// <summary>Bytes charged now.</summary>
        public ulong Used { get; private set; }
        /// <summary>The highest <see cref="Used"/> seen.</summary>
        public ulong Peak { get; private set; }
        /// <summary>The quota, or <see cref="Unlimited"/>.</summary>
        public ulong Quota { get; private set; }
        /// <summary>Bytes that may still be charged before the quota (or the process total) refuses.</summary>
        public ulong Available { get; private set; }
        /// <summary>Requests refused so far.</summary>
        public ulong Failures { get; private set; }
        /// <summary>Of <see cref="Used"/>: bytes the host holds through <see cref="MemBudget.Reserve"/>.</summary>
        public ulong HostReserved { get; private set; }
        /// <summary>Of <see cref="Used"/>: bytes the host holds through <c>mb_alloc</c>.</summary>
        public ulong HostAllocated { get; private set; }
        /// <summary>Whether the category enforces its quota (otherwise it only tracks).</summary>
        public bool Enforced { get; private set; }
        /// <summary>Whether the category has a quota.</summary>
        public bool HasQuota { get { return Quota != Unlimited; } }

        /// <inheritdoc/>
        public override string ToString()
        {
            return Category + ": used " + Used + ", peak " + Peak + ", quota "
                + (HasQuota ? Quota.ToString() : "none") + ", failures " + Failures;
        }
    }
}
