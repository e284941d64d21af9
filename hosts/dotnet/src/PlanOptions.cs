namespace Membudget
{
    /// <summary>Whose semantics the plan follows (<c>MB_FLINK_*</c>; <c>membudget plan --flink-version</c>).</summary>
    public enum FlinkVersion : uint
    {
        /// <summary>Flink 1.20 (the default): the 1.x legacy memory keys still apply.</summary>
        V1_20 = 0,
        /// <summary>Flink 2.0 to 2.3: the removed legacy keys are not applied (a plan warning, or an error when strict).</summary>
        V2 = 1,
    }

    /// <summary>How Flink is deployed (<c>MB_DEPLOYMENT_*</c>): decides how legacy heap keys are mapped.</summary>
    public enum Deployment : uint
    {
        /// <summary>Flink's standalone scripts (the default): legacy heap keys size the Flink or heap memory.</summary>
        Standalone = 0,
        /// <summary>Native Kubernetes (and the Kubernetes operator): legacy heap keys size the process.</summary>
        Kubernetes = 1,
        /// <summary>YARN: legacy heap keys size the process.</summary>
        Yarn = 2,
    }

    /// <summary>
    /// The runtime that enforces the quotas (<c>MB_HOST_*</c>): Flink's components stay the same,
    /// only how the five quotas are drawn from them changes.
    /// </summary>
    public enum HostProfile : uint
    {
        /// <summary>A JVM (the default): heap quota = JVM heap, overhead = metaspace + JVM overhead.</summary>
        Jvm = 0,
        /// <summary>A .NET runtime: the heap quota is the GC heap's hard limit (<see cref="GcHeapHardLimit"/>).</summary>
        Dotnet = 1,
        /// <summary>A native process: no metaspace, so its share moves from the overhead to the heap quota.</summary>
        Native = 2,
    }

    /// <summary>How to read the config file (<c>MB_CONFIG_FORMAT_*</c>).</summary>
    public enum ConfigFormat : uint
    {
        /// <summary>By its name (<c>flink-conf.yaml</c>, <c>config.yaml</c>, <c>*.json</c>), else guessed with a plan warning (the default).</summary>
        Auto = 0,
        /// <summary>Flink's flat <c>flink-conf.yaml</c>.</summary>
        FlinkConf = 1,
        /// <summary>Flink 1.19+/2.x nested <c>config.yaml</c>.</summary>
        ConfigYaml = 2,
        /// <summary>.NET <c>appsettings.json</c>.</summary>
        Json = 3,
    }
}
