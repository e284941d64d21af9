package io.membudget;

/** {@code ERR_INVALID_ARGUMENT}: an argument is out of range (category code, size, count, min above max, UTF-8, ...). */
public class InvalidArgumentException extends MemBudgetException {
    private static final long serialVersionUID = 1L;

    /** With the library's {@code message}. */
    public InvalidArgumentException(String message) {
        super(Status.ERR_INVALID_ARGUMENT, message);
    }
}
