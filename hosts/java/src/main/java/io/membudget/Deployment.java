package io.membudget;

/** How Flink is deployed ({@code MB_DEPLOYMENT_*}): decides how legacy heap keys are mapped. */
public enum Deployment {
    /** Flink's standalone scripts (the default): legacy heap keys size the Flink or heap memory. */
    STANDALONE(0),
    /** Native Kubernetes (and the Kubernetes operator): legacy heap keys size the process. */
    KUBERNETES(1),
    /** YARN: legacy heap keys size the process. */
    YARN(2);

    private final int code;

    Deployment(int code) {
        this.code = code;
    }

    /** The C code ({@code MB_DEPLOYMENT_*}). */
    public int code() {
        return code;
    }
}
