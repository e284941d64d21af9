package io.membudget;

/** {@code ERR_TIMEOUT}: no buffer was recycled within the timeout of a blocking request. */
public class RequestTimeoutException extends MemBudgetException {
    private static final long serialVersionUID = 1L;

    /** With the library's {@code message}. */
    public RequestTimeoutException(String message) {
        super(Status.ERR_TIMEOUT, message);
    }
}
