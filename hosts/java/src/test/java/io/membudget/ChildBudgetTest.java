package io.membudget;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.time.Duration;
import java.util.HashMap;
import java.util.Map;
import java.util.concurrent.atomic.AtomicInteger;
import org.junit.jupiter.api.Test;

class ChildBudgetTest {
    private static final Category M = Category.MANAGED;

    @Test
    void limitsAtEveryLevelAndRefusalsNamingConsumers() {
        try (MemBudget rt = Runtimes.open();
                ChildBudget job = rt.createChildBudget("job", Map.of(M, 1L << 20), null);
                ChildBudget slot = job.createChild("slot", Map.of(M, 900L << 10), null)) {
            slot.reserve(M, 512 << 10);
            job.reserve(M, 256 << 10);
            assertEquals(768 << 10, job.used(M));
            QuotaExceededException e = assertThrows(QuotaExceededException.class, () -> slot.reserve(M, 400 << 10));
            assertEquals(Limit.BUDGET, e.limit());
            assertTrue(e.getMessage().contains("in budget 'job/slot'"), e.getMessage());
            assertTrue(e.getMessage().contains("top consumers: 'job/slot/host' 524288"), e.getMessage());
            assertTrue(rt.budgetReportJson().contains("\"name\":\"job\""));
            assertTrue(slot.reportJson().contains("\"name\":\"slot\""));
            assertThrows(InvalidArgumentException.class, () -> slot.release(M, 1L << 30));
        }
    }

    @Test
    void aReclaimerSpillsSoARequestFits() {
        try (MemBudget rt = Runtimes.open();
                ChildBudget slot = rt.createChildBudget("slot", Map.of(M, 1L << 20), null);
                ChildBudget cache = slot.createChild("cache", null, null);
                ChildBudget op = slot.createChild("op", null, null)) {
            cache.reserve(M, 900 << 10);
            AtomicInteger asked = new AtomicInteger();
            cache.onReclaim((c, n) -> {
                asked.incrementAndGet();
                cache.release(c, 900 << 10);
                return 900 << 10;
            });
            op.reserve(M, 512 << 10);
            assertEquals(1, asked.get());
            cache.reserve(M, 400 << 10);
            cache.onReclaim((c, n) -> {
                throw new IllegalStateException("reclaimer bug");
            });
            op.setReclaimWait(Duration.ofMillis(20));
            QuotaExceededException e = assertThrows(QuotaExceededException.class, () -> op.reserve(M, 200 << 10));
            assertTrue(e.getMessage().contains("Reclaim freed 0 bytes"), e.getMessage());
            cache.onReclaim(null);
        }
    }

    @Test
    void aClosedChildIsRefused() {
        try (MemBudget rt = Runtimes.open()) {
            ChildBudget c = rt.createChildBudget("c", null, null);
            c.close();
            c.close();
            assertThrows(InvalidHandleException.class, () -> c.reserve(M, 1));
            assertThrows(InvalidArgumentException.class, () -> rt.createChildBudget("a/b", null, null));
        }
    }

    /**
     * Negative sizes are refused with a message naming them, as MemBudget.reserve does: they
     * were read as unsigned (a limit of -5 silently meant about 2^64 bytes, i.e. no limit; a
     * reserve of -1 failed as "Cannot reserve 18446744073709551615 bytes"), and a reclaim wait
     * too long for milliseconds was an ArithmeticException.
     */
    @Test
    void negativeSizesAndOverlongWaitsAreInvalidArguments() {
        try (MemBudget rt = Runtimes.open(); ChildBudget c = rt.createChildBudget("c", null, null)) {
            InvalidArgumentException e = assertThrows(InvalidArgumentException.class,
                    () -> rt.createChildBudget("n", Map.of(M, -5L), null));
            assertTrue(e.getMessage().contains("managed") && e.getMessage().contains("-5"), e.getMessage());
            assertThrows(InvalidArgumentException.class, () -> c.createChild("r", null, Map.of(M, -1L)));
            Map<Category, Long> nullValue = new HashMap<>();
            nullValue.put(M, null);
            e = assertThrows(InvalidArgumentException.class, () -> rt.createChildBudget("v", nullValue, null));
            assertTrue(e.getMessage().contains("managed"), e.getMessage());
            Map<Category, Long> nullKey = new HashMap<>();
            nullKey.put(null, 1L);
            assertThrows(InvalidArgumentException.class, () -> rt.createChildBudget("k", nullKey, null));
            e = assertThrows(InvalidArgumentException.class, () -> c.reserve(M, -1));
            assertTrue(e.getMessage().contains("-1"), e.getMessage());
            assertThrows(InvalidArgumentException.class, () -> c.release(M, -1));
            assertThrows(InvalidArgumentException.class, () -> c.setReclaimWait(Duration.ofSeconds(Long.MAX_VALUE)));
            assertEquals(0, c.used(M));
            assertTrue(!rt.budgetReportJson().contains("\"n\""), "no child was made");
        }
    }

    /**
     * The usual reclaimer releases from its own budget, so it reaches it: the library held
     * registered reclaimers strongly, so such a budget dropped unclosed never became unreachable,
     * its cleaner never ran, and what it reserved stayed charged for good.
     */
    @Test
    void anUnclosedChildWhoseReclaimerReachesItIsFreedWhenUnreachable() throws InterruptedException {
        try (MemBudget rt = Runtimes.open()) {
            for (int i = 0; i < 20; i++) {
                dropWithASelfReclaimer(rt, "dropped" + i);
            }
            for (int i = 0; i < 100 && rt.usage(Category.HEAP).used() != 0; i++) {
                System.gc();
                Thread.sleep(20);
            }
            assertEquals(0, rt.usage(Category.HEAP).used());
        }
    }

    private static void dropWithASelfReclaimer(MemBudget rt, String name) {
        ChildBudget c = rt.createChildBudget(name, null, null);
        c.reserve(Category.HEAP, 1000);
        c.onReclaim((category, bytes) -> {
            c.release(category, 1000);
            return 1000L;
        });
    }

    /** A registered reclaimer is still called while its budget is in use (held by the budget). */
    @Test
    void aReclaimerStaysRegisteredAcrossGarbageCollections() throws InterruptedException {
        try (MemBudget rt = Runtimes.open();
                ChildBudget slot = rt.createChildBudget("slot", Map.of(M, 1L << 20), null);
                ChildBudget cache = slot.createChild("cache", null, null);
                ChildBudget op = slot.createChild("op", null, null)) {
            cache.reserve(M, 900 << 10);
            AtomicInteger asked = new AtomicInteger();
            cache.onReclaim((category, bytes) -> {
                asked.incrementAndGet();
                cache.release(category, 900 << 10);
                return 900L << 10;
            });
            for (int i = 0; i < 3; i++) {
                System.gc();
                Thread.sleep(20);
            }
            op.reserve(M, 512 << 10);
            assertEquals(1, asked.get());
        }
    }
}
