package io.membudget;

/** {@code ERR_CONFIG}: the memory configuration is invalid; the message is Flink's, naming the keys to change. */
public class IllegalConfigurationException extends MemBudgetException {
    private static final long serialVersionUID = 1L;

    /** With the library's {@code message}. */
    public IllegalConfigurationException(String message) {
        super(Status.ERR_CONFIG, message);
    }
}
