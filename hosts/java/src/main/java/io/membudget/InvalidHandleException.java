package io.membudget;

/** {@code ERR_INVALID_HANDLE}: a handle or id is invalid: already freed, closed or recycled, or of another runtime. */
public class InvalidHandleException extends MemBudgetException {
    private static final long serialVersionUID = 1L;

    /** With the library's {@code message}. */
    public InvalidHandleException(String message) {
        super(Status.ERR_INVALID_HANDLE, message);
    }
}
