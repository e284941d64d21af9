package io.membudget;

import io.membudget.internal.Backends;
import io.membudget.internal.NativeAbi;
import io.membudget.internal.RuntimeOptions;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;

/**
 * A membudget runtime: Flink's memory plan for this process, enforced as five quotas
 * ({@link Category}), with the plan's network buffers ({@link #createLocalBufferPool}) and
 * managed memory ({@link #managedMemory()}). Backed by one {@code mb_runtime} of libmembudget,
 * shared with any Rust, .NET, Python or C code in the process.
 *
 * <pre>{@code
 * try (MemBudget budget = MemBudget.builder()
 *         .property("taskmanager.memory.process.size", "1g")
 *         .build()) {
 *     budget.reserve(Category.DIRECT, 4096);   // QuotaExceededException when over quota
 *     budget.release(Category.DIRECT, 4096);
 * }
 * }</pre>
 *
 * <p>Thread-safe. {@link #close()} shuts the runtime down at once: reservations are released,
 * managed pages returned, local pools answer {@link DestroyedException}; buffers still lent out
 * stay valid until closed. Using a closed runtime throws {@link InvalidHandleException} with the
 * library's message; closing twice does nothing. A runtime that becomes unreachable unclosed is
 * freed by a cleaner, which logs the leak, once it has no managed page lent (an unreleased
 * page keeps its runtime, and the memory its {@code ByteBuffer} points into, alive).
 */
public final class MemBudget implements AutoCloseable {
    private final NativeAbi abi;
    private final OwnedHandle handle;
    private final ManagedMemory managed;
    private final SegmentViews segmentViews;

    private MemBudget(NativeAbi abi, long token) {
        this.abi = abi;
        this.segmentViews = new SegmentViews(abi);
        this.managed = new ManagedMemory(this, abi, token);
        // The lent pages stay reachable from the cleaner: a runtime with a page still lent is
        // never freed by it (the page's ByteBuffer may still be used), only by close().
        this.handle = new OwnedHandle(this, abi, token, abi::runtimeFree, "runtime", managed.lentPages());
    }

    /** Options for a runtime; see {@link Builder}. */
    public static Builder builder() {
        return new Builder();
    }

    /**
     * The plan exactly as {@code membudget plan --format json} prints it (bytes as integers).
     *
     * @throws UnavailableException if the quotas come from the environment (there is no plan)
     */
    public String planJson() {
        String[] out = new String[1];
        check(abi.planJson(handle.token(), out));
        return out[0];
    }

    /** The plan's JVM arguments: {@code -Xmx… -Xms… -XX:MaxDirectMemorySize=… -XX:MaxMetaspaceSize=…}. */
    public String jvmArgs() {
        String[] out = new String[1];
        check(abi.jvmArgs(handle.token(), out));
        return out[0];
    }

    /** The counters of {@code category}. */
    public CategoryUsage usage(Category category) {
        long[] u = new long[8];
        check(abi.usage(handle.token(), category.code(), u));
        return new CategoryUsage(category, u[0], u[1], CategoryUsage.saturate(u[2]),
                CategoryUsage.saturate(u[3]), u[4], u[5], u[6], u[7] != 0);
    }

    /**
     * Charges {@code bytes} of {@code category} for memory the host manages itself (a JVM's direct
     * buffers, a GC heap's growth). Give them back with {@link #release}. Never blocks.
     *
     * @throws QuotaExceededException if the quota (or the process total) would be exceeded;
     *     nothing is charged then
     * @throws InvalidArgumentException if {@code bytes} is negative
     */
    public void reserve(Category category, long bytes) {
        requireBytes("reserve", bytes);
        int rc = abi.reserve(handle.token(), category.code(), bytes);
        if (rc != Status.OK) {
            throw Status.failure(abi, rc, category, bytes);
        }
    }

    /**
     * Gives back {@code bytes} of {@code category} reserved with {@link #reserve}.
     *
     * @throws InvalidArgumentException if more than the host holds reserved (nothing is released
     *     then) or {@code bytes} is negative
     */
    public void release(Category category, long bytes) {
        requireBytes("release", bytes);
        check(abi.release(handle.token(), category.code(), bytes));
    }

    /**
     * A local buffer pool on the plan's network buffers, guaranteed {@code minBuffers} and
     * holding at most {@code maxBuffers} ({@link LocalBufferPool#UNBOUNDED} for no bound), like
     * Flink's {@code NetworkBufferPool.createBufferPool}.
     *
     * @throws QuotaExceededException if the minimums of all pools exceed the network buffers
     * @throws UnavailableException if the plan has no network memory (a JobManager)
     * @throws InvalidArgumentException if {@code minBuffers > maxBuffers} or negative
     */
    public LocalBufferPool createLocalBufferPool(int minBuffers, int maxBuffers) {
        if (minBuffers < 0 || (maxBuffers < 0 && maxBuffers != LocalBufferPool.UNBOUNDED)) {
            throw new InvalidArgumentException("createLocalBufferPool: minBuffers " + minBuffers
                    + " and maxBuffers " + maxBuffers + " must be >= 0 (or maxBuffers UNBOUNDED)");
        }
        long[] out = new long[1];
        check(abi.localPoolNew(handle.token(), minBuffers, maxBuffers, out));
        return new LocalBufferPool(this, abi, segmentViews, out[0]);
    }

    /**
     * A child budget of this runtime's budget with its own per-category {@code limits} (and
     * {@code reserved} minimums; either may be {@code null}); see {@link ChildBudget}.
     *
     * @throws QuotaExceededException if a reserved minimum does not fit
     */
    public ChildBudget createChildBudget(String name, Map<Category, Long> limits, Map<Category, Long> reserved) {
        return new ChildBudget(this, abi, 0, name, limits, reserved);
    }

    /** The budget tree as JSON: this runtime's budget with every child budget and consumer. */
    public String budgetReportJson() {
        String[] out = new String[1];
        check(abi.budgetReportJson(handle.token(), 0, out));
        return out[0];
    }

    /** The plan's managed memory, lent as pages per owner. */
    public ManagedMemory managedMemory() {
        return managed;
    }

    /** The C handle (for same-package measurements against the raw ABI). */
    long token() {
        return handle.token();
    }

    /** Whether {@link #close()} was called. */
    public boolean isClosed() {
        return handle.isFreed();
    }

    /**
     * Shuts the runtime down at once (see the class docs). A second call does nothing.
     *
     * @throws MemBudgetException if the library refuses (it never should for a handle this
     *     object owns)
     */
    @Override
    public void close() {
        if (handle.isFreed()) {
            return;
        }
        managed.shutDown();
        handle.close();
    }

    /** The loaded library's ABI version, {@code major << 16 | minor} ({@code mb_abi_version}). */
    public static int abiVersion() {
        return Backends.abi().abiVersion();
    }

    /**
     * Writes one line to stderr at each refused request from now on ({@code true}), or stops,
     * for every budget in the process, overriding {@code MEMBUDGET_REPORT_REFUSALS}: a process
     * that dies of a refusal has said which quota refused ({@code mb_report_refusals}).
     */
    public static void reportRefusals(boolean enabled) {
        NativeAbi abi = Backends.abi();
        int rc = abi.reportRefusals(enabled ? 1 : 0);
        if (rc != Status.OK) {
            throw Status.failure(abi, rc);
        }
    }

    /** Where libmembudget was loaded from (for diagnostics). */
    public static String librarySource() {
        return Backends.abi().librarySource();
    }

    @Override
    public String toString() {
        return "MemBudget[0x" + Long.toHexString(handle.token()) + (isClosed() ? ", closed]" : "]");
    }

    private void check(int rc) {
        if (rc != Status.OK) {
            throw Status.failure(abi, rc);
        }
    }

    static void requireBytes(String call, long bytes) {
        if (bytes < 0) {
            throw new InvalidArgumentException(call + ": bytes is " + bytes + "; must be >= 0");
        }
    }

    /**
     * How to make a runtime: sources merge like {@code membudget plan}'s — Flink's defaults
     * &lt; config file &lt; environment (if enabled) &lt; properties.
     */
    public static final class Builder {
        private Role role = Role.TASKMANAGER;
        private Path configFile;
        private final List<String> properties = new ArrayList<>();
        private boolean useEnvironment;
        private boolean ignoreContainer;
        private boolean globalBudget;
        private String configSection;
        private ConfigFormat configFormat = ConfigFormat.AUTO;
        private FlinkVersion flinkVersion = FlinkVersion.V1_20;
        private Deployment deployment = Deployment.STANDALONE;
        private HostProfile host = HostProfile.JVM;
        private boolean strict;
        private boolean verboseErrors;
        private boolean quotasFromEnvironment;

        private Builder() {}

        /** TaskManager (default) or JobManager plan. */
        public Builder role(Role role) {
            this.role = role;
            return this;
        }

        /** A {@code flink-conf.yaml}, {@code config.yaml} or {@code appsettings.json}. */
        public Builder configFile(Path file) {
            requireText("configFile", file.toString());
            this.configFile = file;
            return this;
        }

        /**
         * One option, like {@code -D key=value} ({@code taskmanager.memory.process.size}, ...).
         *
         * @throws InvalidArgumentException if the key is empty or contains '=', or either holds NUL
         */
        public Builder property(String key, String value) {
            requireText("property key", key);
            requireText("property value of '" + key + "'", value);
            if (key.isBlank() || key.indexOf('=') >= 0) {
                throw new InvalidArgumentException("property key '" + key
                        + "' is empty or contains '='; keys are option names such as"
                        + " taskmanager.memory.process.size");
            }
            properties.add(key + "=" + value);
            return this;
        }

        /** Every entry of {@code options} as {@link #property(String, String)}. */
        public Builder properties(Map<String, String> options) {
            options.forEach(this::property);
            return this;
        }

        /**
         * A {@code key=value} pair exactly as given to {@code -D} (the library rejects one
         * without '=').
         */
        public Builder dynamicProperty(String keyValue) {
            requireText("dynamic property", keyValue);
            properties.add(keyValue);
            return this;
        }

        /**
         * Also read the process environment like the CLI does: {@code MEMBUDGET_*} options,
         * {@code FLINK_PROPERTIES}, {@code FLINK_TM_HEAP}/{@code FLINK_JM_HEAP}. Off by default.
         */
        public Builder useEnvironment(boolean use) {
            this.useEnvironment = use;
            return this;
        }

        /**
         * Ignore the container (cgroup) memory limit, and Flink's distribution default with it,
         * planning exactly as Flink would ({@code --no-container}). Off by default.
         */
        public Builder ignoreContainer(boolean ignore) {
            this.ignoreContainer = ignore;
            return this;
        }

        /**
         * Reads this section of an {@code appsettings.json} ({@code Outer:Inner} for a nested
         * one; case is ignored) instead of its top-level {@code "Flink"} section. Needs
         * {@link #configFile}: without one the library refuses it (it would not be applied).
         */
        public Builder configSection(String section) {
            requireText("configSection", section);
            this.configSection = section;
            return this;
        }

        /** Reads the config file in this format whatever its name ({@link ConfigFormat#AUTO} by default). */
        public Builder configFormat(ConfigFormat format) {
            this.configFormat = java.util.Objects.requireNonNull(format, "format");
            return this;
        }

        /** Plans with this Flink's semantics ({@link FlinkVersion#V1_20} by default). */
        public Builder flinkVersion(FlinkVersion version) {
            this.flinkVersion = java.util.Objects.requireNonNull(version, "version");
            return this;
        }

        /** Plans for this deployment's legacy heap-key mapping ({@link Deployment#STANDALONE} by default). */
        public Builder deployment(Deployment deployment) {
            this.deployment = java.util.Objects.requireNonNull(deployment, "deployment");
            return this;
        }

        /** Draws the quotas for this runtime ({@link HostProfile#JVM} by default). */
        public Builder host(HostProfile host) {
            this.host = java.util.Objects.requireNonNull(host, "host");
            return this;
        }

        /**
         * Makes a value that would not be applied (a file without memory options, a skipped
         * line, an unknown memory key, a key Flink 2.x ignores) an
         * {@link IllegalConfigurationException} instead of a plan warning. Off by default.
         */
        public Builder strict(boolean strict) {
            this.strict = strict;
            return this;
        }

        /**
         * Configuration errors in Flink's layout: the message, {@code Caused by:} lines and the
         * keys to change (one line by default).
         */
        public Builder verboseErrors(boolean verbose) {
            this.verboseErrors = verbose;
            return this;
        }

        /**
         * Enforce the quotas in the process environment, the {@code MEMBUDGET_QUOTA_*} variables
         * {@code membudget plan --format env} exports, instead of deriving a plan: managed memory
         * and network buffers (32 KiB each) are sized by them, {@link MemBudget#planJson()} and
         * {@link MemBudget#jvmArgs()} are then unavailable. Every plan option must keep its default and
         * {@link #role} must match {@code MEMBUDGET_QUOTA_ROLE} (else the library refuses).
         * Off by default.
         */
        public Builder quotasFromEnvironment(boolean fromEnvironment) {
            this.quotasFromEnvironment = fromEnvironment;
            return this;
        }

        /**
         * Install the quotas into the process-wide budget (the one Rust code in the process and
         * its global allocator charge) instead of a budget of this runtime's own. Off by default.
         */
        public Builder globalBudget(boolean global) {
            this.globalBudget = global;
            return this;
        }

        /**
         * Derives the plan and creates the runtime.
         *
         * @throws IllegalConfigurationException with Flink's message if the configuration is
         *     invalid (when strict, also if a value would not be applied; with quotas from the
         *     environment, if a {@code MEMBUDGET_QUOTA_*} variable is malformed or missing)
         * @throws InvalidArgumentException if an option is refused by the library (e.g. a plan
         *     option with quotas from the environment)
         * @throws UnsatisfiedLinkError if libmembudget cannot be loaded
         */
        public MemBudget build() {
            NativeAbi abi = Backends.abi();
            RuntimeOptions options = new RuntimeOptions(role.code(),
                    configFile == null ? null : configFile.toString(), properties,
                    ignoreContainer, useEnvironment, globalBudget ? 1 : 0, configSection,
                    configFormat.code(), flinkVersion.code(), deployment.code(), host.code(),
                    strict, verboseErrors, quotasFromEnvironment ? 1 : 0);
            long[] out = new long[1];
            int rc = abi.runtimeNew(options, out);
            if (rc != Status.OK) {
                throw Status.failure(abi, rc);
            }
            return new MemBudget(abi, out[0]);
        }

        private static void requireText(String what, String s) {
            if (s.indexOf('\0') >= 0) {
                throw new InvalidArgumentException(what + " contains a NUL character: '"
                        + s.replace("\0", "\\0") + "'");
            }
        }
    }
}
