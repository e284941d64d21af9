package io.membudget.internal;

import java.util.List;

/**
 * The fields of {@code mb_runtime_options}, validated by the public builder.
 *
 * @param role {@code MB_ROLE_*}
 * @param configFile a config file path, or {@code null}
 * @param properties {@code key=value} strings, like {@code -D key=value}
 * @param ignoreContainer whether to ignore the container (cgroup) memory limit
 * @param useEnvironment whether to read {@code MEMBUDGET_*}, {@code FLINK_PROPERTIES}, ...
 * @param flags {@code MB_RUNTIME_*} bits
 */
public record RuntimeOptions(
        int role,
        String configFile,
        List<String> properties,
        boolean ignoreContainer,
        boolean useEnvironment,
        int flags) {
    /** Copies {@code properties} so later changes to the caller's list do not leak in. */
    public RuntimeOptions {
        properties = List.copyOf(properties);
    }
}
