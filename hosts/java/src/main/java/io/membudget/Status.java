package io.membudget;

/** The C status codes of {@code membudget.h} and the exception each one becomes. */
final class Status {
    static final int OK = 0;
    static final int ERR_QUOTA_EXCEEDED = -1;
    static final int ERR_INVALID_ARGUMENT = -2;
    static final int ERR_NULL_POINTER = -3;
    static final int ERR_INVALID_HANDLE = -4;
    static final int ERR_DESTROYED = -5;
    static final int ERR_TIMEOUT = -6;
    static final int ERR_UNAVAILABLE = -7;
    static final int ERR_CONFIG = -8;
    static final int ERR_PANIC = -9;
    static final int ERR_BUFFER_TOO_SMALL = -10;
    static final int ERR_OUT_OF_MEMORY = -11;

    private Status() {}

    /** The exception for {@code status} with {@code message}; quota refusals name the request. */
    static MemBudgetException exception(int status, String message, Category category, long bytes) {
        return switch (status) {
            case ERR_QUOTA_EXCEEDED -> new QuotaExceededException(message, category, bytes);
            case ERR_INVALID_ARGUMENT -> new InvalidArgumentException(message);
            case ERR_NULL_POINTER -> new NullArgumentException(message);
            case ERR_INVALID_HANDLE -> new InvalidHandleException(message);
            case ERR_DESTROYED -> new DestroyedException(message);
            case ERR_TIMEOUT -> new RequestTimeoutException(message);
            case ERR_UNAVAILABLE -> new UnavailableException(message);
            case ERR_CONFIG -> new IllegalConfigurationException(message);
            case ERR_PANIC -> new NativePanicException(message);
            case ERR_BUFFER_TOO_SMALL -> new BufferTooSmallException(message);
            case ERR_OUT_OF_MEMORY -> new NativeOutOfMemoryException(message);
            // A newer library with a status this binding does not know: still an exception.
            default -> new MemBudgetException(status, message);
        };
    }

    static MemBudgetException exception(int status, String message) {
        return exception(status, message, null, -1);
    }
}
