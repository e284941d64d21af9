package io.membudget;

/** {@code ERR_BUFFER_TOO_SMALL}: an output buffer was too small (the binding retries with the size the library asks for). */
public class BufferTooSmallException extends MemBudgetException {
    private static final long serialVersionUID = 1L;

    /** With the library's {@code message}. */
    public BufferTooSmallException(String message) {
        super(Status.ERR_BUFFER_TOO_SMALL, message);
    }
}
