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
 * @param configSection the {@code appsettings.json} section to read, or {@code null}
 * @param configFormat {@code MB_CONFIG_FORMAT_*}
 * @param flinkVersion {@code MB_FLINK_*}
 * @param deployment {@code MB_DEPLOYMENT_*}
 * @param host {@code MB_HOST_*}
 * @param strict whether a value that would not be applied is an error
 * @param verboseErrors whether configuration errors use Flink's multi-line layout
 * @param quotaSource {@code MB_QUOTAS_*}
 */
public record RuntimeOptions(
        int role,
        String configFile,
        List<String> properties,
        boolean ignoreContainer,
        boolean useEnvironment,
        int flags,
        String configSection,
        int configFormat,
        int flinkVersion,
        int deployment,
        int host,
        boolean strict,
        boolean verboseErrors,
        int quotaSource) {
    /** {@code sizeof(mb_runtime_options)} of ABI 1.1. */
    public static final int STRUCT_SIZE = 80;

    /** Copies {@code properties} so later changes to the caller's list do not leak in. */
    public RuntimeOptions {
        properties = List.copyOf(properties);
    }
}
