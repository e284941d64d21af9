package io.membudget;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.lang.ref.WeakReference;
import java.nio.ByteBuffer;
import java.util.List;
import org.junit.jupiter.api.Test;

class ManagedMemoryTest {
    @Test
    void pagesAreWritableDirectBuffersChargedToManaged() {
        try (MemBudget budget = Runtimes.open()) {
            ManagedMemory mm = budget.managedMemory();
            List<ManagedPage> pages = mm.allocatePages(11, 3);
            assertEquals(3, pages.size());
            for (int i = 0; i < 3; i++) {
                ByteBuffer b = pages.get(i).byteBuffer();
                assertTrue(b.isDirect());
                assertEquals(32768, b.capacity());
                b.put(32767, (byte) i);
                assertEquals(11, pages.get(i).owner());
            }
            assertEquals(3 * 32768, budget.usage(Category.MANAGED).used());
            pages.get(0).close();
            pages.get(0).close(); // idempotent
            assertEquals(2 * 32768, budget.usage(Category.MANAGED).used());
            mm.releaseAll(11);
            assertEquals(0, budget.usage(Category.MANAGED).used());
            mm.releaseAll(12345); // an owner with no pages is fine
        }
    }

    @Test
    void releasedPagesAreInvalidWhicheverWayTheyWereReleased() {
        try (MemBudget budget = Runtimes.open()) {
            ManagedMemory mm = budget.managedMemory();
            List<ManagedPage> pages = mm.allocatePages(1, 2);
            pages.get(0).release();
            InvalidHandleException twice = assertThrows(InvalidHandleException.class, pages.get(0)::release);
            assertTrue(twice.getMessage().startsWith("invalid segment id 0x"), twice.getMessage());
            assertThrows(InvalidHandleException.class, pages.get(0)::byteBuffer);
            mm.releaseAll(1);
            assertTrue(pages.get(1).isReleased());
            InvalidHandleException use = assertThrows(InvalidHandleException.class, pages.get(1)::byteBuffer);
            assertTrue(use.getMessage().contains("already released"), use.getMessage());
            pages.get(1).close(); // already released by releaseAll: nothing to do
            assertThrows(InvalidHandleException.class, pages.get(1)::release);
        }
    }

    @Test
    void closingTheRuntimeReleasesAndInvalidatesItsPages() {
        MemBudget budget = Runtimes.open();
        List<ManagedPage> pages = budget.managedMemory().allocatePages(2, 2);
        budget.close();
        assertTrue(pages.get(0).isReleased());
        assertThrows(InvalidHandleException.class, pages.get(0)::byteBuffer);
        pages.get(1).close();
        assertThrows(InvalidHandleException.class, pages.get(1)::release);
    }

    @Test
    void overTheManagedQuotaIsQuotaExceeded() {
        try (MemBudget budget = Runtimes.open()) {
            QuotaExceededException e = assertThrows(QuotaExceededException.class,
                    () -> budget.managedMemory().allocatePages(1, 100000));
            assertEquals(Category.MANAGED, e.category());
            assertTrue(e.getMessage().contains("taskmanager.memory.managed"), e.getMessage());
            assertEquals(100000L * 32768, e.requestedBytes());
            assertEquals(budget.usage(Category.MANAGED).quota(), e.quotaBytes());
            assertEquals(Limit.POOL, e.limit());
            assertEquals("taskmanager.memory.managed.fraction", e.key());
            assertEquals(0, budget.usage(Category.MANAGED).used());
            assertEquals(List.of(), budget.managedMemory().allocatePages(1, 0));
            assertThrows(InvalidArgumentException.class, () -> budget.managedMemory().allocatePages(1, -1));
            InvalidArgumentException e2 = assertThrows(InvalidArgumentException.class,
                    () -> budget.managedMemory().allocatePages(1, Integer.MAX_VALUE));
            assertTrue(e2.getMessage().contains("at most 16777216 pages per call"), e2.getMessage());
        }
    }

    /**
     * A runtime dropped unclosed while one of its pages is lent: the cleaner must not free it
     * (the page's ByteBuffer points into its managed memory; freeing it made this write a
     * SIGSEGV on both backends). Once the page is released the runtime is collected and freed.
     */
    @Test
    void anUnreachableRuntimeWithALentPageIsNotFreedBehindItsByteBuffer() throws InterruptedException {
        MemBudget budget = Runtimes.open();
        WeakReference<MemBudget> weak = new WeakReference<>(budget);
        ManagedPage page = budget.managedMemory().allocatePages(5, 1).get(0);
        ByteBuffer view = page.byteBuffer();
        budget = null;
        page = null; // only the ByteBuffer is left
        collect();
        for (int i = 0; i < 8; i++) {
            Runtimes.open().close(); // reuse what a freed runtime would have given back
        }
        view.putLong(0, 42L);
        assertEquals(42L, view.getLong(0));
        assertNotNull(weak.get(), "a runtime with a lent page must stay reachable");

        MemBudget kept = weak.get();
        kept.managedMemory().releaseAll(5);
        kept = null;
        for (int i = 0; i < 50 && weak.get() != null; i++) {
            collect();
        }
        assertEquals(null, weak.get(), "with no page lent the runtime is collected (and its cleaner frees it)");
    }

    private static void collect() throws InterruptedException {
        for (int i = 0; i < 3; i++) {
            System.gc();
            Thread.sleep(20);
        }
    }
}
