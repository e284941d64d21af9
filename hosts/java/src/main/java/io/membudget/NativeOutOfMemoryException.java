package io.membudget;

/** {@code ERR_OUT_OF_MEMORY}: the operating system refused memory although the quota allowed it. */
public class NativeOutOfMemoryException extends MemBudgetException {
    private static final long serialVersionUID = 1L;

    /** With the library's {@code message}. */
    public NativeOutOfMemoryException(String message) {
        super(Status.ERR_OUT_OF_MEMORY, message);
    }
}
