package io.membudget.internal;

/**
 * What {@code mb_budget_on_reclaim} calls: asked to free about {@code bytes} of {@code category}
 * ({@code MB_CATEGORY_*}); returns the bytes freed now. Runs on the thread whose request did not
 * fit; it may call back into the library.
 */
@FunctionalInterface
public interface ReclaimCallback {
    /** Frees what it can; returns the bytes freed (unsigned). */
    long reclaim(int category, long bytes);
}
