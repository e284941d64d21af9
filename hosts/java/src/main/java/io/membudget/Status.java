package io.membudget;

import io.membudget.internal.NativeAbi;

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

    /**
     * The exception for {@code status}, just returned by a call through {@code abi} on this
     * thread: with the library's message, and for a quota refusal the refusal's facts
     * ({@code mb_last_refusal}).
     */
    static MemBudgetException failure(NativeAbi abi, int status) {
        return failure(abi, status, null, -1);
    }

    /**
     * As {@link #failure(NativeAbi, int)}, with the {@code category} and {@code bytes} the call
     * asked for in case the library has no refusal details.
     */
    static MemBudgetException failure(NativeAbi abi, int status, Category category, long bytes) {
        String message = abi.lastErrorMessage();
        if (status == ERR_QUOTA_EXCEEDED) {
            long[] r = new long[6];
            String[] text = new String[2];
            if (abi.lastRefusal(r, text) == OK) {
                return new QuotaExceededException(message, category((int) r[0]), r[1],
                        CategoryUsage.saturate(r[2]), CategoryUsage.saturate(r[3]),
                        Limit.of(r[4]), r[5] == Role.JOBMANAGER.code() ? Role.JOBMANAGER
                                : Role.TASKMANAGER,
                        text[0].isEmpty() ? null : text[0]);
            }
        }
        return exception(status, message, category, bytes);
    }

    private static Category category(int code) {
        for (Category c : Category.values()) {
            if (c.code() == code) {
                return c;
            }
        }
        return null;
    }
}
