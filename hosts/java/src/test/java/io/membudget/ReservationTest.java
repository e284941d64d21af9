package io.membudget;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import org.junit.jupiter.api.Test;

class ReservationTest {
    @Test
    void overQuotaIsQuotaExceededWithTheMessageAndFields() {
        try (MemBudget budget = Runtimes.open()) {
            long quota = budget.usage(Category.DIRECT).quota();
            QuotaExceededException e = assertThrows(QuotaExceededException.class,
                    () -> budget.reserve(Category.DIRECT, quota + 1));
            assertTrue(e.getMessage().contains("Cannot reserve " + (quota + 1)
                    + " bytes of direct memory (used: 0, quota: " + quota
                    + "). Increase 'taskmanager.memory.task.off-heap.size'"), e.getMessage());
            assertEquals(-1, e.status());
            assertEquals(Category.DIRECT, e.category());
            assertEquals(quota + 1, e.requestedBytes());
            // The refusal's own facts, from the library.
            assertEquals(0, e.usedBytes());
            assertEquals(quota, e.quotaBytes());
            assertEquals(Limit.CATEGORY, e.limit());
            assertEquals(Role.TASKMANAGER, e.role());
            assertEquals("taskmanager.memory.task.off-heap.size", e.key());
            assertEquals(1, budget.usage(Category.DIRECT).failures());
            assertEquals(0, budget.usage(Category.DIRECT).used());
        }
    }

    @Test
    void reserveAndReleaseBalance() {
        try (MemBudget budget = Runtimes.open()) {
            budget.reserve(Category.DIRECT, 4096);
            CategoryUsage u = budget.usage(Category.DIRECT);
            assertEquals(4096, u.used());
            assertEquals(4096, u.hostReserved());
            InvalidArgumentException e = assertThrows(InvalidArgumentException.class,
                    () -> budget.release(Category.DIRECT, 4097));
            assertTrue(e.getMessage().contains("holds only 4096 bytes"), e.getMessage());
            budget.release(Category.DIRECT, 4096);
            assertEquals(0, budget.usage(Category.DIRECT).used());
            assertEquals(4096, budget.usage(Category.DIRECT).peak());
            assertThrows(InvalidArgumentException.class, () -> budget.release(Category.DIRECT, 1));
        }
    }

    @Test
    void negativeSizesAreRefusedNotWrappedToHugeOnes() {
        try (MemBudget budget = Runtimes.open()) {
            InvalidArgumentException e = assertThrows(InvalidArgumentException.class,
                    () -> budget.reserve(Category.HEAP, -1));
            assertEquals("reserve: bytes is -1; must be >= 0", e.getMessage());
            assertThrows(InvalidArgumentException.class, () -> budget.release(Category.HEAP, -5));
        }
    }

    @Test
    void poolMinimumsBeyondTheNetworkAreQuotaExceeded() {
        try (MemBudget budget = Runtimes.open()) {
            QuotaExceededException e = assertThrows(QuotaExceededException.class,
                    () -> budget.createLocalBufferPool(5000, 6000));
            assertTrue(e.getMessage().contains("Insufficient number of network buffers"), e.getMessage());
            // The plan's network buffers are a pool of 2048: the library says so.
            assertEquals(Category.NETWORK, e.category());
            assertEquals(5000L * 32768, e.requestedBytes());
            assertEquals(2048L * 32768, e.quotaBytes());
            assertEquals(Limit.POOL, e.limit());
            assertEquals("taskmanager.memory.network.fraction", e.key());
            assertThrows(InvalidArgumentException.class, () -> budget.createLocalBufferPool(3, 1));
            assertThrows(InvalidArgumentException.class, () -> budget.createLocalBufferPool(-1, 1));
        }
    }

    @Test
    void jobManagerRefusalsNameJobManagerKeys() {
        try (MemBudget jm = MemBudget.builder().role(Role.JOBMANAGER).ignoreContainer(true)
                .property("jobmanager.memory.process.size", "1600m").build()) {
            QuotaExceededException e = assertThrows(QuotaExceededException.class,
                    () -> jm.reserve(Category.NETWORK, 1));
            assertEquals(Role.JOBMANAGER, e.role());
            assertEquals(0, e.quotaBytes());
            assertEquals("jobmanager.memory.off-heap.size", e.key());
            assertTrue(e.getMessage().contains("A JobManager has no network memory"), e.getMessage());
        }
    }

    @Test
    void callSiteDataIsKeptWhenTheLibraryHasNoDetails() {
        QuotaExceededException e = new QuotaExceededException("m", Category.HEAP, 5);
        assertEquals(Category.HEAP, e.category());
        assertEquals(5, e.requestedBytes());
        assertEquals(-1, e.usedBytes());
        assertNull(e.limit());
        assertNull(e.key());
    }

    @Test
    void everyStatusHasItsException() {
        assertTrue(Status.exception(-1, "m") instanceof QuotaExceededException);
        assertTrue(Status.exception(-2, "m") instanceof InvalidArgumentException);
        assertTrue(Status.exception(-3, "m") instanceof NullArgumentException);
        assertTrue(Status.exception(-4, "m") instanceof InvalidHandleException);
        assertTrue(Status.exception(-5, "m") instanceof DestroyedException);
        assertTrue(Status.exception(-6, "m") instanceof RequestTimeoutException);
        assertTrue(Status.exception(-7, "m") instanceof UnavailableException);
        assertTrue(Status.exception(-8, "m") instanceof IllegalConfigurationException);
        assertTrue(Status.exception(-9, "m") instanceof NativePanicException);
        assertTrue(Status.exception(-10, "m") instanceof BufferTooSmallException);
        assertTrue(Status.exception(-11, "m") instanceof NativeOutOfMemoryException);
        MemBudgetException unknown = Status.exception(-99, "from a newer library");
        assertEquals(MemBudgetException.class, unknown.getClass());
        assertEquals(-99, unknown.status());
        assertEquals("from a newer library", unknown.getMessage());
        for (int s = -11; s <= -1; s++) {
            assertEquals(s, Status.exception(s, "m").status());
        }
    }
}
