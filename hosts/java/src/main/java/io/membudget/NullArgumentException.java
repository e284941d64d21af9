package io.membudget;

/** {@code ERR_NULL_POINTER}: a required pointer was NULL (a bug in a binding: this library never passes one). */
public class NullArgumentException extends MemBudgetException {
    private static final long serialVersionUID = 1L;

    /** With the library's {@code message}. */
    public NullArgumentException(String message) {
        super(Status.ERR_NULL_POINTER, message);
    }
}
