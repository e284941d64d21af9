package io.membudget;

import io.membudget.internal.NativeAbi;
import java.util.ArrayList;
import java.util.Collection;
import java.util.Collections;
import java.util.List;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;

/**
 * A runtime's managed memory, lent as pages of the plan's segment size to owners (any number the
 * host uses to group pages, e.g. an operator id), after Flink's {@code MemoryManager}:
 * allocation is all or nothing, and {@link #releaseAll(long)} returns everything an owner holds.
 *
 * <p>Thread-safe. This object tracks the pages it lent, so pages released by
 * {@link #releaseAll(long)} or by closing the runtime become invalid here too.
 */
public final class ManagedMemory {
    /**
     * Most pages one {@link #allocatePages} call may ask for: the library's per-call limit
     * ({@code mb_managed_allocate_pages}), checked here before sizing the out-array.
     */
    public static final int MAX_PAGES_PER_CALL = 1 << 24;

    private final MemBudget budget; // keeps the runtime reachable while pages are in use
    private final NativeAbi abi;
    private final long runtime;
    private final ConcurrentHashMap<Long, Set<ManagedPage>> lent = new ConcurrentHashMap<>();

    ManagedMemory(MemBudget budget, NativeAbi abi, long runtime) {
        this.budget = budget;
        this.abi = abi;
        this.runtime = runtime;
    }

    /**
     * {@code count} pages for {@code owner}, all or nothing.
     *
     * @throws QuotaExceededException if the managed memory has fewer free pages (the message
     *     names the key to increase)
     * @throws InvalidArgumentException if {@code count} is negative or too large
     */
    public List<ManagedPage> allocatePages(long owner, int count) {
        if (count < 0 || count > MAX_PAGES_PER_CALL) {
            throw new InvalidArgumentException("allocatePages: count is " + count + "; at most "
                    + MAX_PAGES_PER_CALL + " pages per call");
        }
        long[] out = new long[3 * count];
        List<ManagedPage> pages = new ArrayList<>(count);
        // Per owner, allocation and releaseAll run one at a time (the map's lock for the key), so
        // a page is never lent by the library without being tracked here, or the reverse.
        lent.compute(owner, (o, mine) -> {
            int rc = abi.managedAllocatePages(runtime, owner, count, out);
            if (rc != Status.OK) {
                throw Status.failure(abi, rc, Category.MANAGED, -1);
            }
            Set<ManagedPage> set = mine != null ? mine : ConcurrentHashMap.newKeySet();
            for (int i = 0; i < count; i++) {
                ManagedPage p = new ManagedPage(this, owner, out[3 * i], out[3 * i + 1], out[3 * i + 2]);
                set.add(p);
                pages.add(p);
            }
            return set.isEmpty() ? null : set;
        });
        return Collections.unmodifiableList(pages);
    }

    /**
     * Returns every page {@code owner} holds (Flink's {@code MemoryManager.releaseAll(owner)});
     * they become invalid. An owner with no pages is fine.
     */
    public void releaseAll(long owner) {
        lent.compute(owner, (o, pages) -> {
            if (pages != null) {
                withdrawAll(pages); // throws with every page still lent and tracked
            }
            int rc = abi.managedReleaseAll(runtime, owner);
            if (rc != Status.OK) {
                throw Status.failure(abi, rc);
            }
            return null;
        });
    }

    /**
     * Marks {@code pages} released and revokes their views before the library takes them back;
     * all or nothing.
     *
     * @throws IllegalStateException if an operation on another thread holds one page's view:
     *     every page then stays lent
     */
    private static void withdrawAll(Collection<ManagedPage> pages) {
        List<ManagedPage> done = new ArrayList<>(pages.size());
        try {
            for (ManagedPage p : pages) {
                if (p.withdraw() == 0) {
                    done.add(p);
                }
            }
        } catch (IllegalStateException e) {
            done.forEach(ManagedPage::restore);
            throw e;
        }
    }

    /** The runtime this memory belongs to. */
    public MemBudget budget() {
        return budget;
    }

    /** {@code mb_managed_release} for one page; the page already marked itself released. */
    int release(ManagedPage page) {
        Set<ManagedPage> mine = lent.get(page.owner());
        if (mine != null) {
            mine.remove(page);
        }
        return abi.managedRelease(runtime, page.id());
    }

    /**
     * The pages lent and not yet released, per owner: held by the runtime's cleaner so that a
     * runtime with a lent page is never freed behind its {@code ByteBuffer} (see {@link MemBudget}).
     */
    Object lentPages() {
        return lent;
    }

    NativeAbi abi() {
        return abi;
    }

    /**
     * The runtime is closing: every page it lent becomes invalid (views revoked first).
     *
     * @throws IllegalStateException if an operation on another thread holds a page's view:
     *     nothing is released then, and the runtime must stay open
     */
    void shutDown() {
        List<ManagedPage> all = new ArrayList<>();
        lent.values().forEach(all::addAll);
        withdrawAll(all);
        lent.clear();
    }
}
