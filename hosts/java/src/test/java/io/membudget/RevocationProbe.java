package io.membudget;

import java.nio.ByteBuffer;

/**
 * Run in a child JVM with {@code -Dmembudget.revokeBufferViews=true} (read once per JVM): prints
 * what each access through a closed buffer's {@code ByteBuffer} does.
 */
public final class RevocationProbe {
    private RevocationProbe() {}

    public static void main(String[] args) {
        try (MemBudget budget = Runtimes.open(); LocalBufferPool pool = budget.createLocalBufferPool(1, 1)) {
            Buffer a = pool.requestBuffer();
            ByteBuffer view = a.byteBuffer();
            ByteBuffer slice = view.slice(16, 16);
            view.putInt(0, 7);
            a.close();
            System.out.println("get: " + attempt(() -> view.get(0)));
            System.out.println("put: " + attempt(() -> view.putLong(8, 1L)));
            System.out.println("duplicate: " + attempt(() -> view.duplicate().get(0)));
            System.out.println("slice: " + attempt(() -> slice.get(0)));
            try (Buffer b = pool.requestBuffer()) { // the same segment, a fresh working view
                b.byteBuffer().putInt(0, 8);
                System.out.println("next buffer: " + b.byteBuffer().getInt(0));
            }
        }
    }

    private static String attempt(Runnable access) {
        try {
            access.run();
            return "allowed";
        } catch (IllegalStateException e) {
            return "refused";
        }
    }
}
