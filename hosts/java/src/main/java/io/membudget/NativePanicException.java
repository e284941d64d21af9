package io.membudget;

/** {@code ERR_PANIC}: the library caught a panic at its boundary; the runtime stays usable and the message says where. */
public class NativePanicException extends MemBudgetException {
    private static final long serialVersionUID = 1L;

    /** With the library's {@code message}. */
    public NativePanicException(String message) {
        super(Status.ERR_PANIC, message);
    }
}
