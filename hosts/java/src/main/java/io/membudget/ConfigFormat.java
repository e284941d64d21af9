package io.membudget;

/** How to read the config file ({@code MB_CONFIG_FORMAT_*}). */
public enum ConfigFormat {
    /** By its name ({@code flink-conf.yaml}, {@code config.yaml}, {@code *.json}), else guessed with a plan warning (the default). */
    AUTO(0),
    /** Flink's flat {@code flink-conf.yaml}. */
    FLINK_CONF(1),
    /** Flink 1.19+/2.x nested {@code config.yaml}. */
    CONFIG_YAML(2),
    /** .NET {@code appsettings.json}. */
    JSON(3);

    private final int code;

    ConfigFormat(int code) {
        this.code = code;
    }

    /** The C code ({@code MB_CONFIG_FORMAT_*}). */
    public int code() {
        return code;
    }
}
