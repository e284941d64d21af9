package io.membudget.internal;

import java.nio.ByteBuffer;

/**
 * A {@link ByteBuffer} over native memory lent by the library (a buffer's segment, a managed
 * page), with a way to withdraw it when the memory goes back.
 *
 * <p>The Foreign Function &amp; Memory backend revokes: after {@link #revoke()} every access
 * through the {@code ByteBuffer} (and its slices and duplicates) throws
 * {@link IllegalStateException}, so Java code cannot touch memory that now belongs to another
 * buffer. JNA cannot: its views stay usable, and the class docs of {@code Buffer} and
 * {@code ManagedPage} say so.
 */
public interface MemoryView {
    /**
     * The view: a direct {@code ByteBuffer} in the platform's byte order (on both backends),
     * position 0, limit = capacity = the length.
     */
    ByteBuffer byteBuffer();

    /** Whether {@link #revoke()} really withdraws access (FFM), or only forgets the view (JNA). */
    boolean revocable();

    /**
     * Withdraws the view; a second call does nothing. Call before the memory goes back to the
     * library.
     *
     * @throws IllegalStateException if an operation still holds the memory (an I/O call on the
     *     {@code ByteBuffer} running on another thread): nothing is withdrawn, try again after it
     */
    void revoke();
}
