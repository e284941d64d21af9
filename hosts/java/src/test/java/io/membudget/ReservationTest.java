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
            assertNull(e.category());
            assertEquals(-1, e.requestedBytes());
            assertThrows(InvalidArgumentException.class, () -> budget.createLocalBufferPool(3, 1));
            assertThrows(InvalidArgumentException.class, () -> budget.createLocalBufferPool(-1, 1));
        }
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
