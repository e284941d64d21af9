using System;
using System.Collections.Generic;
using System.Runtime.InteropServices;
using System.Text;

namespace Membudget
{
    /// <summary>
    /// A membudget runtime: Flink's memory plan for this process, enforced as five quotas
    /// (<see cref="Category"/>), with the plan's network buffers (<see cref="CreateLocalBufferPool"/>)
    /// and managed memory (<see cref="ManagedMemory"/>). One <c>mb_runtime</c> of libmembudget,
    /// shared with Rust, JVM, Python or C code in the process.
    /// </summary>
    /// <remarks>
    /// Thread-safe. <see cref="Dispose"/> shuts the runtime down at once: reservations are
    /// released, managed pages returned, local pools stop lending; buffers still lent out stay
    /// valid until disposed. Using a disposed runtime throws <see cref="InvalidHandleException"/>
    /// with the library's message; disposing twice does nothing.
    /// </remarks>
    public sealed class MemBudget : IDisposable
    {
        private readonly RuntimeHandle handle;
        private readonly ManagedMemory managed;

        /// <summary>
        /// Raised for every handle whose release the library refused, including releases on the
        /// finalizer thread (of objects never disposed), where nothing else could report it.
        /// </summary>
        public static event EventHandler<MemBudgetException> ReleaseFailed;

        /// <summary>Derives the plan from <paramref name="options"/> and creates the runtime.</summary>
        /// <exception cref="IllegalConfigurationException">The configuration is invalid (Flink's message);
        /// when strict, also a value that would not be applied; with quotas from the environment, a
        /// malformed or missing <c>MEMBUDGET_QUOTA_*</c> variable.</exception>
        /// <exception cref="InvalidArgumentException">The library refused an option (e.g. a plan
        /// option together with quotas from the environment).</exception>
        /// <exception cref="DllNotFoundException">libmembudget cannot be found (see the README).</exception>
        public MemBudget(MemBudgetOptions options)
        {
            if (options == null)
            {
                throw new ArgumentNullException("options");
            }
            var strings = new IntPtr[options.Properties.Count];
            IntPtr array = IntPtr.Zero, config = IntPtr.Zero, section = IntPtr.Zero;
            try
            {
                for (int i = 0; i < strings.Length; i++)
                {
                    strings[i] = Utf8(options.Properties[i]);
                }
                if (strings.Length > 0)
                {
                    array = Marshal.AllocHGlobal(IntPtr.Size * strings.Length);
                    Marshal.Copy(strings, 0, array, strings.Length);
                }
                if (options.ConfigFile != null)
                {
                    MemBudgetOptions.RequireText("ConfigFile", options.ConfigFile);
                    config = Utf8(options.ConfigFile);
                }
                if (options.ConfigSection != null)
                {
                    MemBudgetOptions.RequireText("ConfigSection", options.ConfigSection);
                    section = Utf8(options.ConfigSection);
                }
                var o = new NativeMethods.RuntimeOptions
                {
                    StructSize = (uint)Marshal.SizeOf(typeof(NativeMethods.RuntimeOptions)),
                    Role = (uint)options.Role,
                    ConfigFile = config,
                    Properties = array,
                    PropertiesLen = (uint)strings.Length,
                    IgnoreContainer = options.IgnoreContainer ? 1u : 0u,
                    UseEnvironment = options.UseEnvironment ? 1u : 0u,
                    Flags = options.GlobalBudget ? 1u : 0u,
                    ConfigSection = section,
                    ConfigFormat = (uint)options.ConfigFormat,
                    FlinkVersion = (uint)options.FlinkVersion,
                    Deployment = (uint)options.Deployment,
                    Host = (uint)options.Host,
                    Strict = options.Strict ? 1u : 0u,
                    VerboseErrors = options.VerboseErrors ? 1u : 0u,
                    QuotaSource = options.QuotasFromEnvironment ? 1u : 0u,
                };
                IntPtr rt;
                Status.Check(NativeMethods.mb_runtime_new(ref o, out rt));
                handle = new RuntimeHandle(rt);
                managed = new ManagedMemory(this, rt);
            }
            finally
            {
                foreach (var s in strings)
                {
                    Marshal.FreeHGlobal(s); // FreeHGlobal(Zero) does nothing
                }
                Marshal.FreeHGlobal(array);
                Marshal.FreeHGlobal(config);
                Marshal.FreeHGlobal(section);
            }
        }

        /// <summary>A runtime from <c>key=value</c> options, exactly as given to <c>-D</c>; other options at their defaults.</summary>
        /// <exception cref="ArgumentNullException"><paramref name="keyValues"/> is null.</exception>
        public static MemBudget Create(params string[] keyValues)
        {
            if (keyValues == null)
            {
                throw new ArgumentNullException("keyValues");
            }
            var options = new MemBudgetOptions();
            foreach (var kv in keyValues)
            {
                options.SetDynamic(kv);
            }
            return new MemBudget(options);
        }

        /// <summary>
        /// A runtime enforcing the quotas <c>membudget plan --format env</c> exported
        /// (<c>MEMBUDGET_QUOTA_*</c>) for <paramref name="role"/>; see
        /// <see cref="MemBudgetOptions.QuotasFromEnvironment"/>.
        /// </summary>
        public static MemBudget FromEnvironment(Role role = Role.TaskManager)
        {
            return new MemBudget(new MemBudgetOptions { Role = role, QuotasFromEnvironment = true });
        }

        /// <summary>
        /// Writes one line to stderr at each refused request from now on (true), or stops, for
        /// every budget in the process, overriding <c>MEMBUDGET_REPORT_REFUSALS</c>: a process
        /// that dies of a refusal has said which quota refused (<c>mb_report_refusals</c>).
        /// </summary>
        public static void ReportRefusals(bool enabled)
        {
            Status.Check(NativeMethods.mb_report_refusals(enabled ? 1u : 0u));
        }

        /// <summary>The loaded library's ABI version, <c>major &lt;&lt; 16 | minor</c> (<c>mb_abi_version</c>).</summary>
        public static int AbiVersion { get { return NativeMethods.mb_abi_version(); } }

        /// <summary>The runtime's handle.</summary>
        public RuntimeHandle Handle { get { return handle; } }

        /// <summary>The plan's managed memory, lent as pages per owner.</summary>
        public ManagedMemory ManagedMemory { get { return managed; } }

        /// <summary>Whether <see cref="Dispose"/> was called.</summary>
        public bool IsDisposed { get { return handle.IsClosed; } }

        /// <summary>The plan exactly as <c>membudget plan --format json</c> prints it.</summary>
        /// <exception cref="UnavailableException">The quotas come from the environment: there is no plan.</exception>
        public string PlanJson() { return NativeMethods.Text(NativeMethods.mb_plan_json, handle.Token); }

        /// <summary>The plan's JVM arguments (<c>-Xmx… -Xms… -XX:MaxDirectMemorySize=… -XX:MaxMetaspaceSize=…</c>).</summary>
        public string JvmArgs() { return NativeMethods.Text(NativeMethods.mb_jvm_args, handle.Token); }

        /// <summary>
        /// A child budget of this runtime's budget with its own per-category
        /// <paramref name="limits"/> (and <paramref name="reserved"/> minimums); see <see cref="ChildBudget"/>.
        /// </summary>
        /// <exception cref="QuotaExceededException">A reserved minimum does not fit.</exception>
        public ChildBudget CreateChildBudget(string name, IDictionary<Category, ulong> limits = null,
            IDictionary<Category, ulong> reserved = null)
        {
            return new ChildBudget(this, null, name, limits, reserved);
        }

        /// <summary>The budget tree as JSON: this runtime's budget with every child budget and consumer.</summary>
        public string BudgetReportJson()
        {
            return NativeMethods.Text((IntPtr rt, byte[] buf, UIntPtr len, out UIntPtr needed) =>
                NativeMethods.mb_budget_report_json(rt, IntPtr.Zero, buf, len, out needed), handle.Token);
        }

        internal IntPtr Token { get { return handle.Token; } }

        /// <summary>The counters of <paramref name="category"/>.</summary>
        public CategoryUsage Usage(Category category)
        {
            var u = new NativeMethods.CategoryUsage { StructSize = (uint)Marshal.SizeOf(typeof(NativeMethods.CategoryUsage)) };
            Status.Check(NativeMethods.mb_usage(handle.Token, (uint)category, ref u));
            return new CategoryUsage(category, u);
        }

        /// <summary>
        /// Charges <paramref name="bytes"/> of <paramref name="category"/> for memory the host
        /// manages itself (e.g. GC heap growth). Give them back with <see cref="Release"/>.
        /// </summary>
        /// <exception cref="QuotaExceededException">The quota (or process total) would be exceeded; nothing is charged.</exception>
        public void Reserve(Category category, ulong bytes)
        {
            int rc = NativeMethods.mb_reserve(handle.Token, (uint)category, bytes);
            if (rc != Status.Ok)
            {
                throw Status.Failure(rc, category, bytes > long.MaxValue ? -1 : (long)bytes);
            }
        }

        /// <summary>Gives back bytes reserved with <see cref="Reserve"/>.</summary>
        /// <exception cref="InvalidArgumentException">More than the host holds reserved; nothing is released.</exception>
        public void Release(Category category, ulong bytes)
        {
            Status.Check(NativeMethods.mb_release(handle.Token, (uint)category, bytes));
        }

        /// <summary>
        /// A local buffer pool on the plan's network buffers, guaranteed <paramref name="minBuffers"/>
        /// and holding at most <paramref name="maxBuffers"/> (<see cref="LocalBufferPool.Unbounded"/>
        /// for no bound), like Flink's <c>NetworkBufferPool.createBufferPool</c>.
        /// </summary>
        /// <exception cref="QuotaExceededException">The minimums of all pools exceed the network buffers.</exception>
        /// <exception cref="UnavailableException">The plan has no network memory (a JobManager).</exception>
        public LocalBufferPool CreateLocalBufferPool(uint minBuffers, uint maxBuffers)
        {
            IntPtr pool;
            Status.Check(NativeMethods.mb_local_pool_new(handle.Token, minBuffers, maxBuffers, out pool));
            return new LocalBufferPool(this, pool);
        }

        /// <summary>Shuts the runtime down at once (see the remarks); a second call does nothing.</summary>
        /// <exception cref="MemBudgetException">The library refused the free (it never should).</exception>
        public void Dispose()
        {
            if (handle.IsClosed)
            {
                return;
            }
            managed.ShutDown();
            handle.DisposeChecked();
        }

        /// <inheritdoc/>
        public override string ToString()
        {
            return "MemBudget[0x" + handle.Token.ToInt64().ToString("x") + (IsDisposed ? ", disposed]" : "]");
        }

        internal static void RaiseReleaseFailed(MemBudgetHandle source, MemBudgetException e)
        {
            var h = ReleaseFailed;
            if (h == null)
            {
                return;
            }
            try
            {
                h(source, e);
            }
            catch (Exception handlerFailure)
            {
                // May run on the finalizer thread, where an exception would end the process.
                Console.Error.WriteLine("membudget: a ReleaseFailed handler threw: " + handlerFailure);
            }
        }

        private static IntPtr Utf8(string s)
        {
            MemBudgetOptions.RequireText("option", s);
            byte[] bytes = Encoding.UTF8.GetBytes(s);
            IntPtr p = Marshal.AllocHGlobal(bytes.Length + 1);
            Marshal.Copy(bytes, 0, p, bytes.Length);
            Marshal.WriteByte(p, bytes.Length, 0);
            return p;
        }
    }
}
