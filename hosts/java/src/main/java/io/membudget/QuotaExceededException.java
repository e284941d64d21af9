package io.membudget;

/**
 * {@code ERR_QUOTA_EXCEEDED}: a quota (a category's, or the process total) would be exceeded;
 * nothing was charged. The message names used, quota and the configuration key to increase,
 * e.g. {@code Cannot reserve 134217729 bytes of direct memory (used: 0, quota: 134217728).
 * Increase 'taskmanager.memory.task.off-heap.size' ...}.
 */
public class QuotaExceededException extends MemBudgetException {
    private static final long serialVersionUID = 1L;

    private final Category category;
    private final long requestedBytes;

    /**
     * With the library's {@code message}, the {@code category} charged and the bytes asked for
     * ({@code null} and {@code -1} where the request was not for one category's bytes, e.g. a
     * pool's minimum buffers or a number of pages).
     */
    public QuotaExceededException(String message, Category category, long requestedBytes) {
        super(Status.ERR_QUOTA_EXCEEDED, message);
        this.category = category;
        this.requestedBytes = requestedBytes;
    }

    /** The category whose quota refused, or {@code null} if the call was not for bytes of one. */
    public Category category() {
        return category;
    }

    /** The bytes the refused call asked for, or {@code -1} if it asked for buffers or pages. */
    public long requestedBytes() {
        return requestedBytes;
    }
}
