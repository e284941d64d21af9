package io.membudget;

/** Which Flink process the plan is for ({@code MB_ROLE_*}). */
public enum Role {
    /** A TaskManager plan (the default): managed memory and network buffers. */
    TASKMANAGER(0),
    /** A JobManager plan: heap, off-heap and overhead only. */
    JOBMANAGER(1);

    private final int code;

    Role(int code) {
        this.code = code;
    }

    /** The C code ({@code MB_ROLE_*}). */
    public int code() {
        return code;
    }
}
