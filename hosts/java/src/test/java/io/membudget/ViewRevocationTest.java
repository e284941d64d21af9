package io.membudget;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.membudget.internal.Backends;
import java.nio.ByteBuffer;
import java.nio.channels.Pipe;
import java.util.List;
import java.util.concurrent.atomic.AtomicReference;
import org.junit.jupiter.api.Test;

/**
 * A buffer's or page's {@code ByteBuffer} after the memory went back: refused on the FFM backend
 * (it revokes the view first), still reachable on JNA (which cannot; the docs say not to).
 */
class ViewRevocationTest {
    private static final boolean REVOKES = Backends.abi().name().equals("ffm");

    /** Asserts what each backend does with a view whose memory went back. */
    private static void assertWithdrawn(ByteBuffer view) {
        if (REVOKES) {
            assertThrows(IllegalStateException.class, () -> view.get(0));
            assertThrows(IllegalStateException.class, () -> view.putLong(8, 1L));
            assertThrows(IllegalStateException.class, () -> view.duplicate().get(0));
        } else {
            view.get(0); // JNA: nothing stops it, the memory is still mapped (pool-owned)
        }
    }

    @Test
    void aClosedBuffersByteBufferIsWithdrawn() {
        try (MemBudget budget = Runtimes.open(); LocalBufferPool pool = budget.createLocalBufferPool(1, 1)) {
            Buffer a = pool.requestBuffer();
            ByteBuffer view = a.byteBuffer();
            ByteBuffer slice = view.slice(16, 16);
            view.putInt(0, 7);
            a.close();
            assertWithdrawn(view);
            if (REVOKES) {
                assertThrows(IllegalStateException.class, () -> slice.get(0));
            }
            // The next buffer is the same segment, with a fresh, working view.
            try (Buffer b = pool.requestBuffer()) {
                b.byteBuffer().putInt(0, 8);
                assertEquals(8, b.byteBuffer().getInt(0));
            }
        }
    }

    @Test
    void aStrictlyRecycledBufferIsWithdrawnToo() {
        try (MemBudget budget = Runtimes.open(); LocalBufferPool pool = budget.createLocalBufferPool(1, 1)) {
            Buffer a = pool.requestBuffer();
            ByteBuffer view = a.byteBuffer();
            a.recycle();
            assertWithdrawn(view);
            assertThrows(InvalidHandleException.class, a::recycle);
        }
    }

    @Test
    void pagesAreWithdrawnHoweverTheyAreReleased() {
        MemBudget budget = Runtimes.open();
        ManagedMemory mm = budget.managedMemory();
        List<ManagedPage> one = mm.allocatePages(1, 2);
        List<ManagedPage> two = mm.allocatePages(2, 1);
        ByteBuffer released = one.get(0).byteBuffer();
        ByteBuffer byOwner = one.get(1).byteBuffer();
        ByteBuffer byRuntime = two.get(0).byteBuffer();
        one.get(0).release();
        assertWithdrawn(released);
        mm.releaseAll(1);
        assertWithdrawn(byOwner);
        if (REVOKES) {
            budget.close(); // the page is unmapped with the runtime: only FFM may touch it after
            assertWithdrawn(byRuntime);
        } else {
            byRuntime.get(0);
            budget.close();
        }
        assertTrue(two.get(0).isReleased());
    }

    @Test
    void aBufferAnIoCallStillHoldsIsNotRecycled() throws Exception {
        if (!REVOKES) {
            return; // JNA views are not tracked: nothing can notice the I/O call (documented)
        }
        try (MemBudget budget = Runtimes.open(); LocalBufferPool pool = budget.createLocalBufferPool(1, 1)) {
            Buffer a = pool.requestBuffer();
            Pipe pipe = Pipe.open();
            // Fill the pipe so the next write blocks, holding the buffer's memory.
            pipe.sink().configureBlocking(false);
            ByteBuffer filler = ByteBuffer.allocateDirect(1 << 16);
            while (pipe.sink().write(filler.clear()) > 0) {
                // until the pipe is full
            }
            pipe.sink().configureBlocking(true);
            AtomicReference<Throwable> writeFailure = new AtomicReference<>();
            Thread writer = new Thread(() -> {
                try {
                    pipe.sink().write(a.byteBuffer());
                } catch (Throwable t) {
                    writeFailure.set(t);
                }
            });
            writer.start();
            Thread.sleep(200); // the writer is inside the blocking write
            IllegalStateException busy = assertThrows(IllegalStateException.class, a::close);
            assertTrue(busy.getMessage().contains("still in use by an operation on another thread"),
                    busy.getMessage());
            assertFalse(a.isRecycled(), "the buffer stays lent while the write holds it");
            pipe.source().configureBlocking(false);
            ByteBuffer drain = ByteBuffer.allocateDirect(1 << 16);
            while (writer.isAlive()) {
                pipe.source().read(drain.clear()); // room for the writer, which then finishes
            }
            writer.join();
            assertEquals(null, writeFailure.get());
            a.close(); // the write finished: now it goes back
            assertTrue(a.isRecycled());
            pipe.sink().close();
            pipe.source().close();
        }
    }
}
