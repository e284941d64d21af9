package io.membudget;

/**
 * A call into libmembudget failed. The message is the library's own text (it names the thing,
 * the value, the limit and the key to change); {@link #status()} is the C status code. Each
 * status has its own subclass, so callers catch what they can act on.
 */
public class MemBudgetException extends RuntimeException {
    private static final long serialVersionUID = 1L;

    private final int status;

    /** An exception for C status {@code status} with the library's {@code message}. */
    public MemBudgetException(int status, String message) {
        super(message);
        this.status = status;
    }

    /** The C status code ({@code MB_ERR_*}, negative). */
    public int status() {
        return status;
    }
}
