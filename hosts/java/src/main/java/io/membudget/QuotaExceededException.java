package io.membudget;

/**
 * {@code ERR_QUOTA_EXCEEDED}: a quota (a category's, or the process total) or one of the
 * runtime's pools would be exceeded; nothing was charged. The message names used, quota and the
 * configuration key to increase, e.g. {@code Cannot reserve 134217729 bytes of direct memory
 * (used: 0, quota: 134217728). Increase 'taskmanager.memory.task.off-heap.size' ...}; the fields
 * carry the same facts as the library reported them ({@code mb_last_refusal}).
 */
public class QuotaExceededException extends MemBudgetException {
    private static final long serialVersionUID = 1L;

    private final Category category;
    private final long requestedBytes;
    private final long usedBytes;
    private final long quotaBytes;
    private final Limit limit;
    private final Role role;
    private final String key;

    /**
     * With the library's {@code message}, the {@code category} charged and the bytes asked for
     * ({@code null} and {@code -1} where they are not known); the other facts are unknown.
     */
    public QuotaExceededException(String message, Category category, long requestedBytes) {
        this(message, category, requestedBytes, -1, -1, null, null, null);
    }

    /**
     * With every fact of the refusal: the library's {@code message}, the {@code category}, the
     * bytes requested, in use and the limit ({@code -1} where unknown, {@link Long#MAX_VALUE} for
     * none), which {@code limit} refused, whose keys the message names ({@code role}) and the
     * configuration {@code key} to raise ({@code null} where unknown or for an injected failure).
     */
    public QuotaExceededException(String message, Category category, long requestedBytes,
            long usedBytes, long quotaBytes, Limit limit, Role role, String key) {
        super(Status.ERR_QUOTA_EXCEEDED, message);
        this.category = category;
        this.requestedBytes = requestedBytes;
        this.usedBytes = usedBytes;
        this.quotaBytes = quotaBytes;
        this.limit = limit;
        this.role = role;
        this.key = key;
    }

    /** The category of the refused request, or {@code null} if not known. */
    public Category category() {
        return category;
    }

    /** The bytes the refused request asked for, or {@code -1} if not known. */
    public long requestedBytes() {
        return requestedBytes;
    }

    /** Bytes in use under the limit that refused, when it refused; {@code -1} if not known. */
    public long usedBytes() {
        return usedBytes;
    }

    /** That limit in bytes ({@link Long#MAX_VALUE}: none), or {@code -1} if not known. */
    public long quotaBytes() {
        return quotaBytes;
    }

    /** Which limit refused, or {@code null} if not known. */
    public Limit limit() {
        return limit;
    }

    /** Whose configuration keys the message names, or {@code null} if not known. */
    public Role role() {
        return role;
    }

    /**
     * The configuration key to raise so that such a request fits (e.g.
     * {@code taskmanager.memory.network.fraction}), or {@code null} if not known or the failure
     * was injected for testing.
     */
    public String key() {
        return key;
    }
}
