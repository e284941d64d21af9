package io.membudget;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.membudget.internal.Backends;
import java.nio.ByteBuffer;
import java.nio.channels.Pipe;
import java.nio.charset.StandardCharsets;
import java.util.List;
import java.util.concurrent.atomic.AtomicReference;
import org.junit.jupiter.api.Test;

/**
 * A buffer's or page's {@code ByteBuffer} after the memory went back: refused on the FFM backend
 * where it revokes (pages always, buffers with -Dmembudget.revokeBufferViews=true), still
 * reachable on JNA (which cannot; the docs say not to use it).
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
    void aClosedBuffersByteBufferIsNotRevokedByDefault() {
        try (MemBudget budget = Runtimes.open(); LocalBufferPool pool = budget.createLocalBufferPool(1, 1)) {
            Buffer a = pool.requestBuffer();
            ByteBuffer view = a.byteBuffer();
            view.putInt(0, 7);
            a.close();
            assertEquals(7, view.getInt(0)); // allowed (and wrong to do): the pool owns the memory
        }
    }

    @Test
    void withRevokeBufferViewsAClosedBuffersByteBufferIsRefusedOnFfm() throws Exception {
        ProcessBuilder pb = new ProcessBuilder(
                ChildJvm.command(RevocationProbe.class, "-Dmembudget.revokeBufferViews=true"));
        pb.redirectErrorStream(true);
        Process p = pb.start();
        String out = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
        assertEquals(0, p.waitFor(), out);
        String access = REVOKES ? "refused" : "allowed";
        for (String what : List.of("get", "put", "duplicate", "slice")) {
            assertTrue(out.contains(what + ": " + access + "\n"), out);
        }
        assertTrue(out.contains("next buffer: 8"), out);
        // JNA cannot revoke: the setting is not silently dropped.
        assertEquals(!REVOKES, out.contains("-Dmembudget.revokeBufferViews=true has no effect: the jna backend"
                + " cannot revoke a ByteBuffer"), out);
    }

    @Test
    void aBadRevokeBufferViewsValueIsAnError() {
        assertFalse(BufferViews.parse(null));
        assertFalse(BufferViews.parse("false"));
        assertTrue(BufferViews.parse("true"));
        InvalidArgumentException e = assertThrows(InvalidArgumentException.class, () -> BufferViews.parse("yes"));
        assertTrue(e.getMessage().startsWith("-Dmembudget.revokeBufferViews=yes is not a boolean"), e.getMessage());
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
    void aPageAnIoCallStillHoldsIsNotReleased() throws Exception {
        if (!REVOKES) {
            return; // JNA views are not tracked: nothing can notice the I/O call (documented)
        }
        try (MemBudget budget = Runtimes.open()) {
            ManagedPage page = budget.managedMemory().allocatePages(3, 1).get(0);
            Pipe pipe = Pipe.open();
            // Fill the pipe so the next write blocks, holding the page's memory.
            pipe.sink().configureBlocking(false);
            ByteBuffer filler = ByteBuffer.allocateDirect(1 << 16);
            while (pipe.sink().write(filler.clear()) > 0) {
                // until the pipe is full
            }
            pipe.sink().configureBlocking(true);
            AtomicReference<Throwable> writeFailure = new AtomicReference<>();
            ByteBuffer view = page.byteBuffer();
            Thread writer = new Thread(() -> {
                try {
                    pipe.sink().write(view);
                } catch (Throwable t) {
                    writeFailure.set(t);
                }
            });
            writer.start();
            Thread.sleep(200); // the writer is inside the blocking write
            IllegalStateException busy = assertThrows(IllegalStateException.class, page::close);
            assertTrue(busy.getMessage().contains("still in use by an operation on another thread"),
                    busy.getMessage());
            assertFalse(page.isReleased(), "the page stays lent while the write holds it");
            assertThrows(IllegalStateException.class, () -> budget.managedMemory().releaseAll(3));
            assertFalse(page.isReleased(), "releaseAll is all or nothing");
            assertEquals(32768, budget.usage(Category.MANAGED).used());
            pipe.source().configureBlocking(false);
            ByteBuffer drain = ByteBuffer.allocateDirect(1 << 16);
            while (writer.isAlive()) {
                pipe.source().read(drain.clear()); // room for the writer, which then finishes
            }
            writer.join();
            assertEquals(null, writeFailure.get());
            page.close(); // the write finished: now it goes back
            assertTrue(page.isReleased());
            assertEquals(0, budget.usage(Category.MANAGED).used());
            pipe.sink().close();
            pipe.source().close();
        }
    }
}
