package io.membudget;

/**
 * The runtime that enforces the quotas ({@code MB_HOST_*}): Flink's components stay the same,
 * only how the five quotas are drawn from them changes.
 */
public enum HostProfile {
    /** A JVM (the default): heap quota = JVM heap, overhead = metaspace + JVM overhead. */
    JVM(0),
    /** A .NET runtime: the heap quota is the GC heap's hard limit; the overhead keeps both shares. */
    DOTNET(1),
    /** A native process: no metaspace, so its share moves from the overhead to the heap quota. */
    NATIVE(2);

    private final int code;

    HostProfile(int code) {
        this.code = code;
    }

    /** The C code ({@code MB_HOST_*}). */
    public int code() {
        return code;
    }
}
