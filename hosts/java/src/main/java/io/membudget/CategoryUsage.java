package io.membudget;

/**
 * One category's counters ({@code mb_usage}). Byte counts the C ABI gives as unsigned 64-bit
 * values; "no quota" ({@code UINT64_MAX}) is {@link #UNLIMITED}.
 *
 * @param category the category
 * @param used bytes charged now
 * @param peak the highest {@code used} seen
 * @param quota the quota, or {@link #UNLIMITED}
 * @param available bytes that may still be charged before the quota (or the process total)
 *     refuses, or {@link #UNLIMITED}
 * @param failures requests refused so far
 * @param hostReserved of {@code used}: bytes the host holds through {@link MemBudget#reserve}
 * @param hostAllocated of {@code used}: bytes the host holds through {@code mb_alloc}
 * @param enforced whether the category enforces its quota (otherwise it only tracks)
 */
public record CategoryUsage(
        Category category,
        long used,
        long peak,
        long quota,
        long available,
        long failures,
        long hostReserved,
        long hostAllocated,
        boolean enforced) {
    /** {@link #quota()} and {@link #available()} when there is no limit. */
    public static final long UNLIMITED = Long.MAX_VALUE;

    /** Whether the category has a quota. */
    public boolean hasQuota() {
        return quota != UNLIMITED;
    }

    /** An unsigned 64-bit count as a {@code long}, saturating at {@link #UNLIMITED}. */
    static long saturate(long unsigned) {
        return unsigned < 0 ? UNLIMITED : unsigned;
    }
}
