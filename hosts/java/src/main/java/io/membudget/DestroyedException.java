package io.membudget;

/** {@code ERR_DESTROYED}: the object was destroyed meanwhile (a local pool freed while a request waited, a runtime closed). */
public class DestroyedException extends MemBudgetException {
    private static final long serialVersionUID = 1L;

    /** With the library's {@code message}. */
    public DestroyedException(String message) {
        super(Status.ERR_DESTROYED, message);
    }
}
