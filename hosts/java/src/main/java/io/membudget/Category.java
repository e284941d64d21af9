package io.membudget;

/** The five quota categories of a membudget runtime ({@code MB_CATEGORY_*}). */
public enum Category {
    /** Framework + task heap: a host reports its GC heap growth here. */
    HEAP(0),
    /** Framework + task off-heap: the host's direct buffers. */
    DIRECT(1),
    /** Managed memory ({@link ManagedMemory} pages). */
    MANAGED(2),
    /** Network memory ({@link LocalBufferPool} buffers). */
    NETWORK(3),
    /** JVM metaspace + JVM overhead. */
    OVERHEAD(4);

    private final int code;

    Category(int code) {
        this.code = code;
    }

    /** The C code ({@code MB_CATEGORY_*}). */
    public int code() {
        return code;
    }

    /** The category with C code {@code code}. */
    static Category of(int code) {
        return values()[code];
    }
}
