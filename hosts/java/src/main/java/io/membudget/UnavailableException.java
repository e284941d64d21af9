package io.membudget;

/** {@code ERR_UNAVAILABLE}: nothing is available right now: the pool is at its size (backpressure), or the plan has no network memory. */
public class UnavailableException extends MemBudgetException {
    private static final long serialVersionUID = 1L;

    /** With the library's {@code message}. */
    public UnavailableException(String message) {
        super(Status.ERR_UNAVAILABLE, message);
    }
}
