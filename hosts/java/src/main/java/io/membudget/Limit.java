package io.membudget;

/** Which limit refused a request ({@code MB_LIMIT_*}; see {@link QuotaExceededException#limit()}). */
public enum Limit {
    /** The category's quota. */
    CATEGORY(0),
    /** The process total (all categories together). */
    PROCESS(1),
    /** None: a failure injected for testing ({@code MEMBUDGET_FAULT_PROBABILITY}). */
    INJECTED(2),
    /** The runtime's pool of the category is used up (its network buffers or managed memory). */
    POOL(3),
    /** A child budget's limit ({@link ChildBudget}); the message names the budget. */
    BUDGET(4);

    private final int code;

    Limit(int code) {
        this.code = code;
    }

    /** The C code ({@code MB_LIMIT_*}). */
    public int code() {
        return code;
    }

    /** The limit with C code {@code code}, or {@code null} for one this binding does not know. */
    static Limit of(long code) {
        for (Limit l : values()) {
            if (l.code == code) {
                return l;
            }
        }
        return null;
    }
}
