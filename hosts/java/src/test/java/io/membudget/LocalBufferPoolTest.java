package io.membudget;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertSame;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.sun.jna.Native;
import com.sun.jna.Pointer;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.AtomicReference;
import org.junit.jupiter.api.Test;

class LocalBufferPoolTest {
    @Test
    void buffersAreDirectByteBuffersOverTheSegment() {
        try (MemBudget budget = Runtimes.open(); LocalBufferPool pool = budget.createLocalBufferPool(1, 2)) {
            try (Buffer a = pool.requestBuffer(); Buffer b = pool.requestBuffer()) {
                ByteBuffer bytes = a.byteBuffer();
                assertTrue(bytes.isDirect());
                assertEquals(32768, bytes.capacity());
                assertEquals(32768, a.capacity());
                assertSame(bytes, a.byteBuffer());
                assertNotEquals(a.id(), b.id());
                bytes.putLong(0, 0x1122334455667788L);
                // Zero copy: the ByteBuffer's memory is the library's segment.
                assertEquals(a.address(), Pointer.nativeValue(Native.getDirectBufferPointer(bytes)));
                assertEquals(0x1122334455667788L, new Pointer(a.address()).getLong(0));
            }
        }
    }

    @Test
    void backpressureIsUnavailableThenTimeout() {
        try (MemBudget budget = Runtimes.open(); LocalBufferPool pool = budget.createLocalBufferPool(1, 2)) {
            Buffer a = pool.requestBuffer();
            Buffer b = pool.requestBuffer();
            UnavailableException u = assertThrows(UnavailableException.class, pool::requestBuffer);
            assertTrue(u.getMessage().contains("no buffer available (2 of 2 in use)"), u.getMessage());
            RequestTimeoutException t = assertThrows(RequestTimeoutException.class,
                    () -> pool.requestBuffer(Duration.ofMillis(10)));
            assertTrue(t.getMessage().contains("within 10 ms"), t.getMessage());
            assertThrows(InvalidArgumentException.class, () -> pool.requestBuffer(Duration.ofMillis(-1)));
            assertThrows(InvalidArgumentException.class, () -> pool.requestBuffer(Duration.ofDays(50)));
            a.close();
            try (Buffer c = pool.requestBuffer(Duration.ofMillis(100))) {
                assertEquals(32768, c.capacity());
            }
            b.close();
        }
    }

    @Test
    void aRecycledBufferIsInvalidAndARepeatedRecycleIsTheLibrarysError() {
        try (MemBudget budget = Runtimes.open(); LocalBufferPool pool = budget.createLocalBufferPool(1, 2)) {
            Buffer a = pool.requestBuffer();
            a.recycle();
            assertTrue(a.isRecycled());
            InvalidHandleException again = assertThrows(InvalidHandleException.class, a::recycle);
            assertTrue(again.getMessage().startsWith("invalid buffer id 0x"), again.getMessage());
            assertTrue(again.getMessage().contains("already freed or recycled"), again.getMessage());
            a.close(); // close after recycle: nothing to do
            InvalidHandleException use = assertThrows(InvalidHandleException.class, a::byteBuffer);
            assertTrue(use.getMessage().contains("already recycled"), use.getMessage());
            assertThrows(InvalidHandleException.class, a::address);

            Buffer b = pool.requestBuffer();
            b.close();
            b.close(); // idempotent
            assertThrows(InvalidHandleException.class, b::recycle);
            assertThrows(InvalidHandleException.class, b::byteBuffer);
        }
    }

    @Test
    void aClosedPoolIsRefusedAndItsLentBuffersSurviveIt() {
        try (MemBudget budget = Runtimes.open()) {
            long before = budget.usage(Category.NETWORK).used();
            LocalBufferPool pool = budget.createLocalBufferPool(1, 2);
            Buffer lent = pool.requestBuffer();
            pool.close();
            pool.close(); // idempotent
            assertTrue(pool.isClosed());
            InvalidHandleException e = assertThrows(InvalidHandleException.class, pool::requestBuffer);
            assertTrue(e.getMessage().startsWith("invalid local pool handle 0x"), e.getMessage());
            assertThrows(InvalidHandleException.class, () -> pool.requestBuffer(Duration.ofMillis(5)));
            assertThrows(InvalidHandleException.class, pool::requestBufferAsync);
            lent.byteBuffer().put(0, (byte) 1); // still valid
            lent.close();
            assertEquals(before, budget.usage(Category.NETWORK).used());
        }
    }

    @Test
    void aPoolClosedOnAnotherThreadIsRefusedOnThisOne() throws Exception {
        try (MemBudget budget = Runtimes.open()) {
            LocalBufferPool pool = budget.createLocalBufferPool(1, 2);
            pool.requestBuffer().close(); // this thread has used (and cached) the pool
            Thread closer = new Thread(pool::close);
            closer.start();
            closer.join();
            InvalidHandleException e = assertThrows(InvalidHandleException.class, pool::requestBuffer);
            assertTrue(e.getMessage().contains("already freed"), e.getMessage());
        }
    }

    @Test
    void closingThePoolWakesAWaiterOnAnotherThreadWithDestroyed() throws Exception {
        try (MemBudget budget = Runtimes.open()) {
            LocalBufferPool pool = budget.createLocalBufferPool(1, 1);
            Buffer held = pool.requestBuffer();
            AtomicReference<Throwable> outcome = new AtomicReference<>();
            CountDownLatch started = new CountDownLatch(1);
            Thread waiter = new Thread(() -> {
                started.countDown();
                try {
                    pool.requestBuffer(Duration.ofSeconds(10)).close();
                } catch (Throwable t) {
                    outcome.set(t);
                }
            });
            waiter.start();
            started.await();
            Thread.sleep(50);
            pool.close();
            waiter.join(5000);
            assertFalse(waiter.isAlive());
            assertTrue(outcome.get() instanceof DestroyedException, String.valueOf(outcome.get()));
            held.close();
        }
    }

    @Test
    void closingTheRuntimeOnAnotherThreadLeavesLentBuffersValid() throws Exception {
        MemBudget budget = Runtimes.open();
        LocalBufferPool pool = budget.createLocalBufferPool(1, 4);
        Buffer lent = pool.requestBuffer();
        Thread closer = new Thread(budget::close);
        closer.start();
        closer.join();
        // The pool handle stays valid, and every request through it answers Destroyed, even
        // with idle buffers it held.
        DestroyedException e = assertThrows(DestroyedException.class, pool::requestBuffer);
        assertTrue(e.getMessage().contains("destroyed"), e.getMessage());
        lent.byteBuffer().putInt(0, 42);
        Thread recycler = new Thread(lent::close);
        recycler.start();
        recycler.join();
        assertTrue(lent.isRecycled());
        pool.close(); // local pools of a closed runtime are freed as usual
    }

    @Test
    void multiThreadedRequestRecycleAndReserveRelease() throws Exception {
        try (MemBudget budget = Runtimes.open(); LocalBufferPool pool = budget.createLocalBufferPool(2, 2)) {
            AtomicInteger errors = new AtomicInteger();
            List<Thread> threads = new ArrayList<>();
            for (int t = 0; t < 4; t++) {
                final int me = t;
                Thread th = new Thread(() -> {
                    try {
                        for (int i = 0; i < 5000; i++) {
                            try (Buffer b = pool.requestBuffer(Duration.ofSeconds(5))) {
                                b.byteBuffer().putInt(0, me);
                                if (b.byteBuffer().getInt(0) != me) {
                                    errors.incrementAndGet();
                                }
                            }
                            budget.reserve(Category.HEAP, 128);
                            budget.release(Category.HEAP, 128);
                        }
                    } catch (Throwable e) {
                        e.printStackTrace();
                        errors.incrementAndGet();
                    }
                });
                threads.add(th);
                th.start();
            }
            for (Thread th : threads) {
                th.join();
            }
            assertEquals(0, errors.get());
            assertEquals(0, budget.usage(Category.HEAP).used());
        }
    }

    /**
     * Threads taking turns on one pool through the non-blocking request (whose out-parameter
     * belongs to the thread that requested last): each gets a buffer of its own, never another
     * thread's address or id.
     */
    @Test
    void nonBlockingRequestsOnManyThreadsNeverShareABuffer() throws Exception {
        try (MemBudget budget = Runtimes.open(); LocalBufferPool pool = budget.createLocalBufferPool(4, 4)) {
            AtomicInteger errors = new AtomicInteger();
            List<Thread> threads = new ArrayList<>();
            java.util.Set<Long> addresses = java.util.concurrent.ConcurrentHashMap.newKeySet();
            java.util.Set<Long> ids = java.util.concurrent.ConcurrentHashMap.newKeySet();
            for (int t = 0; t < 4; t++) {
                final long me = t;
                Thread th = new Thread(() -> {
                    try {
                        for (int i = 0; i < 20000; i++) {
                            Buffer b;
                            try {
                                b = pool.requestBuffer();
                            } catch (UnavailableException busy) {
                                Thread.yield();
                                continue;
                            }
                            try (b) {
                                if (!addresses.add(b.address()) || !ids.add(b.id())) {
                                    errors.incrementAndGet(); // lent twice at once
                                }
                                b.byteBuffer().putLong(0, me);
                                Thread.yield();
                                if (b.byteBuffer().getLong(0) != me) {
                                    errors.incrementAndGet();
                                }
                                addresses.remove(b.address());
                                ids.remove(b.id());
                            }
                        }
                    } catch (Throwable e) {
                        e.printStackTrace();
                        errors.incrementAndGet();
                    }
                });
                threads.add(th);
                th.start();
            }
            for (Thread th : threads) {
                th.join();
            }
            assertEquals(0, errors.get());
            List<Buffer> all = new ArrayList<>();
            for (int i = 0; i < 4; i++) {
                all.add(pool.requestBuffer());
            }
            assertThrows(UnavailableException.class, pool::requestBuffer);
            all.forEach(Buffer::close);
        }
    }

    /**
     * A segment's view is made once and handed to its next lease reset: position 0, limit =
     * capacity, no mark, the platform's byte order, whatever the last holder did to it.
     */
    @Test
    void aSegmentsViewComesBackResetOnItsNextLease() {
        try (MemBudget budget = Runtimes.open(); LocalBufferPool pool = budget.createLocalBufferPool(1, 1)) {
            ByteBuffer first;
            long address;
            try (Buffer a = pool.requestBuffer()) {
                address = a.address();
                first = a.byteBuffer();
                first.putInt(8, 42);
                first.position(100).limit(200).mark();
                first.order(ByteOrder.nativeOrder() == ByteOrder.BIG_ENDIAN ? ByteOrder.LITTLE_ENDIAN
                        : ByteOrder.BIG_ENDIAN);
            }
            try (Buffer b = pool.requestBuffer()) {
                assertEquals(address, b.address(), "a pool of one lends the same segment again");
                ByteBuffer again = b.byteBuffer();
                if (!Boolean.getBoolean(BufferViews.PROPERTY)) {
                    assertSame(first, again, "the segment's view is kept");
                }
                assertEquals(0, again.position());
                assertEquals(b.capacity(), again.limit());
                assertEquals(ByteOrder.nativeOrder(), again.order());
                assertThrows(java.nio.InvalidMarkException.class, again::reset);
                assertEquals(42, again.getInt(8), "the same memory");
            }
        }
    }

    /**
     * Threads racing to give back one buffer: every close() returns quietly, and of strict
     * recycle() calls exactly one succeeds (the library's id check decides, not a Java lock);
     * the pool then holds its two buffers, no more, no fewer.
     */
    @Test
    void racingClosesAndRecyclesGiveABufferBackOnce() throws Exception {
        try (MemBudget budget = Runtimes.open(); LocalBufferPool pool = budget.createLocalBufferPool(2, 2)) {
            for (int round = 0; round < 200; round++) {
                boolean strict = round % 2 == 1;
                Buffer b = pool.requestBuffer();
                CountDownLatch start = new CountDownLatch(1);
                AtomicInteger recycled = new AtomicInteger();
                AtomicInteger refused = new AtomicInteger();
                AtomicReference<Throwable> unexpected = new AtomicReference<>();
                List<Thread> threads = new ArrayList<>();
                for (int t = 0; t < 3; t++) {
                    Thread th = new Thread(() -> {
                        try {
                            start.await();
                            if (strict) {
                                b.recycle();
                            } else {
                                b.close();
                            }
                            recycled.incrementAndGet();
                        } catch (InvalidHandleException e) {
                            refused.incrementAndGet();
                        } catch (Throwable e) {
                            unexpected.set(e);
                        }
                    });
                    threads.add(th);
                    th.start();
                }
                start.countDown();
                for (Thread th : threads) {
                    th.join();
                }
                assertEquals(null, unexpected.get());
                assertTrue(b.isRecycled());
                if (strict) {
                    assertEquals(1, recycled.get(), "exactly one recycle() succeeds");
                    assertEquals(2, refused.get());
                } else {
                    assertEquals(3, recycled.get(), "close() never throws for a racing close");
                }
            }
            try (Buffer x = pool.requestBuffer(); Buffer y = pool.requestBuffer()) {
                assertNotEquals(x.address(), y.address());
                assertThrows(UnavailableException.class, pool::requestBuffer);
            }
        }
    }

    @Test
    void asyncRequestCompletesWhenAnotherThreadRecycles() throws Exception {
        try (MemBudget budget = Runtimes.open(); LocalBufferPool pool = budget.createLocalBufferPool(1, 1)) {
            Buffer held = pool.requestBuffer();
            CompletableFuture<Buffer> next = pool.requestBufferAsync();
            assertFalse(next.isDone(), "registered, not yet called");
            Thread recycler = new Thread(held::close);
            recycler.start();
            try (Buffer b = next.get(5, TimeUnit.SECONDS)) {
                recycler.join();
                assertEquals(32768, b.byteBuffer().capacity());
            }
            // Available at once: completed before the call returns.
            CompletableFuture<Buffer> now = pool.requestBufferAsync();
            assertTrue(now.isDone());
            now.get().close();
        }
    }

    @Test
    void asyncRequestFailsWithDestroyedWhenThePoolCloses() throws Exception {
        try (MemBudget budget = Runtimes.open()) {
            LocalBufferPool pool = budget.createLocalBufferPool(1, 1);
            Buffer held = pool.requestBuffer();
            CompletableFuture<Buffer> next = pool.requestBufferAsync();
            pool.close();
            ExecutionException e = assertThrows(ExecutionException.class, () -> next.get(5, TimeUnit.SECONDS));
            assertTrue(e.getCause() instanceof DestroyedException, e.getCause().toString());
            assertTrue(e.getCause().getMessage().contains("was destroyed"), e.getCause().getMessage());
            held.close();
        }
    }

    @Test
    void aCancelledAsyncRequestGivesItsBufferBack() throws Exception {
        try (MemBudget budget = Runtimes.open(); LocalBufferPool pool = budget.createLocalBufferPool(1, 1)) {
            Buffer held = pool.requestBuffer();
            CompletableFuture<Buffer> next = pool.requestBufferAsync();
            next.cancel(false);
            held.close(); // delivered to the cancelled future, which recycles it
            try (Buffer again = pool.requestBuffer()) {
                assertEquals(32768, again.capacity());
            }
        }
    }
}
