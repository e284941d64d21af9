using System.Collections.Generic;

namespace Membudget
{
    /// <summary>
    /// How to make a <see cref="MemBudget"/>. Sources merge like <c>membudget plan</c>'s:
    /// Flink's defaults &lt; <see cref="ConfigFile"/> &lt; environment (if
    /// <see cref="UseEnvironment"/>) &lt; <see cref="Properties"/>.
    /// </summary>
    public sealed class MemBudgetOptions
    {
        private readonly List<string> properties = new List<string>();

        /// <summary>TaskManager (default) or JobManager plan.</summary>
        public Role Role { get; set; }

        /// <summary>A <c>flink-conf.yaml</c>, <c>config.yaml</c> or <c>appsettings.json</c>, or null.</summary>
        public string ConfigFile { get; set; }

        /// <summary>Also read the environment like the CLI: <c>MEMBUDGET_*</c>, <c>FLINK_PROPERTIES</c>, ...</summary>
        public bool UseEnvironment { get; set; }

        /// <summary>Ignore the container (cgroup) limit and Flink's distribution default (<c>--no-container</c>).</summary>
        public bool IgnoreContainer { get; set; }

        /// <summary>Install the quotas into the process-wide budget Rust code in the process charges.</summary>
        public bool GlobalBudget { get; set; }

        /// <summary>
        /// The section of an <c>appsettings.json</c> to read (<c>Outer:Inner</c> for a nested one;
        /// case is ignored) instead of its top-level <c>"Flink"</c> section, or null. Needs
        /// <see cref="ConfigFile"/>: without one the library refuses it (it would not be applied).
        /// </summary>
        public string ConfigSection { get; set; }

        /// <summary>How to read <see cref="ConfigFile"/> (<see cref="Membudget.ConfigFormat.Auto"/> by default).</summary>
        public ConfigFormat ConfigFormat { get; set; }

        /// <summary>Whose semantics the plan follows (<see cref="Membudget.FlinkVersion.V1_20"/> by default).</summary>
        public FlinkVersion FlinkVersion { get; set; }

        /// <summary>The deployment's legacy heap-key mapping (<see cref="Membudget.Deployment.Standalone"/> by default).</summary>
        public Deployment Deployment { get; set; }

        /// <summary>
        /// The runtime the quotas are drawn for (<see cref="HostProfile.Jvm"/> by default; a .NET
        /// process enforcing its own budget sets <see cref="HostProfile.Dotnet"/>).
        /// </summary>
        public HostProfile Host { get; set; }

        /// <summary>
        /// A value that would not be applied (a file without memory options, a skipped line, an
        /// unknown memory key, a key Flink 2.x ignores) is an <see cref="IllegalConfigurationException"/>
        /// instead of a plan warning. Off by default.
        /// </summary>
        public bool Strict { get; set; }

        /// <summary>Configuration errors in Flink's layout (the message, <c>Caused by:</c> lines, the keys to change); one line by default.</summary>
        public bool VerboseErrors { get; set; }

        /// <summary>
        /// Enforce the <c>MEMBUDGET_QUOTA_*</c> variables of the process environment (what
        /// <c>membudget plan --format env</c> exports) instead of deriving a plan: managed memory
        /// and network buffers (32 KiB each) are sized by them; <see cref="MemBudget.PlanJson"/>
        /// and <see cref="MemBudget.JvmArgs"/> are then unavailable. Every plan option must keep
        /// its default and <see cref="Role"/> must match <c>MEMBUDGET_QUOTA_ROLE</c>.
        /// </summary>
        public bool QuotasFromEnvironment { get; set; }

        /// <summary>The options as <c>key=value</c> strings, in the order given.</summary>
        public IList<string> Properties { get { return properties.AsReadOnly(); } }

        /// <summary>
        /// One option, like <c>-D key=value</c>. Throws <see cref="InvalidArgumentException"/> if the
        /// key is empty or contains '=' (the library would split it elsewhere), or either holds NUL.
        /// </summary>
        public MemBudgetOptions Set(string key, string value)
        {
            RequireText("property key", key);
            RequireText("property value of '" + key + "'", value);
            if (key.Trim().Length == 0 || key.IndexOf('=') >= 0)
            {
                throw new InvalidArgumentException("property key '" + key
                    + "' is empty or contains '='; keys are option names such as taskmanager.memory.process.size");
            }
            properties.Add(key + "=" + value);
            return this;
        }

        /// <summary>A <c>key=value</c> pair exactly as given to <c>-D</c> (the library rejects one without '=').</summary>
        public MemBudgetOptions SetDynamic(string keyValue)
        {
            RequireText("dynamic property", keyValue);
            properties.Add(keyValue);
            return this;
        }

        internal static void RequireText(string what, string s)
        {
            if (s == null)
            {
                throw new InvalidArgumentException(what + " is null");
            }
            if (s.IndexOf('\0') >= 0)
            {
                throw new InvalidArgumentException(what + " contains a NUL character: '" + s.Replace("\0", "\\0") + "'");
            }
        }
    }
}
