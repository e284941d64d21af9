package io.membudget;

/** Whose semantics the plan follows ({@code MB_FLINK_*}): {@code membudget plan --flink-version}. */
public enum FlinkVersion {
    /** Flink 1.20 (the default): the 1.x legacy memory keys still apply. */
    V1_20(0),
    /** Flink 2.0 to 2.3: the removed legacy keys are not applied (a plan warning, or an error when strict). */
    V2(1);

    private final int code;

    FlinkVersion(int code) {
        this.code = code;
    }

    /** The C code ({@code MB_FLINK_*}). */
    public int code() {
        return code;
    }
}
