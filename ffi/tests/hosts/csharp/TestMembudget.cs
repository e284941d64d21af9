// C# (Mono, mcs -unsafe) host test of the membudget C ABI: a SafeHandle per handle type
// (runtime, local pool, buffer), errors as exceptions, buffers as Span<byte>, threads.
// Prints "N passed, N failed".
using System;
using System.Collections.Generic;
using System.Diagnostics;
using System.Runtime.InteropServices;
using System.Text;
using System.Threading;

static class Mb
{
    const string Lib = "membudget";
    public const int OK = 0, ERR_QUOTA_EXCEEDED = -1, ERR_INVALID_ARGUMENT = -2, ERR_NULL_POINTER = -3,
        ERR_INVALID_HANDLE = -4, ERR_DESTROYED = -5, ERR_TIMEOUT = -6, ERR_UNAVAILABLE = -7,
        ERR_CONFIG = -8, ERR_BUFFER_TOO_SMALL = -10;
    public const uint HEAP = 0, DIRECT = 1, MANAGED = 2, NETWORK = 3;

    [StructLayout(LayoutKind.Sequential)]
    public struct Options
    {
        public uint struct_size, role;
        public IntPtr config_file, properties;
        public uint properties_len, ignore_container, use_environment, flags;
    }

    [StructLayout(LayoutKind.Sequential)]
    public struct Usage
    {
        public uint struct_size, category;
        public ulong used, peak, quota, available, failures, host_reserved, host_allocated;
        public uint enforced, reserved;
    }

    [StructLayout(LayoutKind.Sequential)]
    public struct RawBuffer
    {
        public IntPtr ptr;
        public ulong capacity, id;
    }

    [DllImport(Lib)] public static extern int mb_abi_version();
    [DllImport(Lib)] public static extern int mb_last_error_message(byte[] buf, UIntPtr len, out UIntPtr needed);
    [DllImport(Lib)] public static extern int mb_runtime_new(ref Options options, out RuntimeHandle rt);
    [DllImport(Lib)] public static extern int mb_runtime_free(IntPtr rt);
    [DllImport(Lib)] public static extern int mb_plan_json(RuntimeHandle rt, byte[] buf, UIntPtr len, out UIntPtr needed);
    [DllImport(Lib)] public static extern int mb_reserve(RuntimeHandle rt, uint category, ulong bytes);
    [DllImport(Lib)] public static extern int mb_release(RuntimeHandle rt, uint category, ulong bytes);
    [DllImport(Lib)] public static extern int mb_usage(RuntimeHandle rt, uint category, ref Usage usage);
    [DllImport(Lib)] public static extern int mb_local_pool_new(RuntimeHandle rt, uint min, uint max, out PoolHandle pool);
    [DllImport(Lib)] public static extern int mb_local_pool_free(IntPtr pool);
    [DllImport(Lib)] public static extern int mb_buffer_request(PoolHandle pool, out RawBuffer buffer);
    [DllImport(Lib)] public static extern int mb_buffer_request_timeout(PoolHandle pool, uint timeoutMs, out RawBuffer buffer);
    [DllImport(Lib)] public static extern int mb_buffer_recycle(ulong id);

    public static string LastError()
    {
        UIntPtr need;
        mb_last_error_message(null, UIntPtr.Zero, out need);
        var buf = new byte[(int)need];
        mb_last_error_message(buf, (UIntPtr)buf.Length, out need);
        return Encoding.UTF8.GetString(buf, 0, buf.Length - 1);
    }

    public static void Check(int rc)
    {
        if (rc != OK) throw new MembudgetException(rc, LastError());
    }
}

/// A failed call: the status code and the library's message.
class MembudgetException : Exception
{
    public readonly int Status;
    public MembudgetException(int status, string message) : base("[" + status + "] " + message) { Status = status; }
}

/// mb_runtime *: freed by mb_runtime_free when disposed or finalized.
class RuntimeHandle : SafeHandle
{
    public RuntimeHandle() : base(IntPtr.Zero, true) { }
    public override bool IsInvalid { get { return handle == IntPtr.Zero; } }
    protected override bool ReleaseHandle() { return Mb.mb_runtime_free(handle) == Mb.OK; }
}

/// mb_local_pool *: freed by mb_local_pool_free.
class PoolHandle : SafeHandle
{
    public PoolHandle() : base(IntPtr.Zero, true) { }
    public override bool IsInvalid { get { return handle == IntPtr.Zero; } }
    protected override bool ReleaseHandle() { return Mb.mb_local_pool_free(handle) == Mb.OK; }
}

/// A lent buffer (its id is the handle): recycled when disposed.
unsafe class BufferHandle : SafeHandle
{
    readonly byte* ptr;
    readonly int capacity;
    public BufferHandle(Mb.RawBuffer raw) : base(IntPtr.Zero, true)
    {
        SetHandle((IntPtr)(long)raw.id);
        ptr = (byte*)raw.ptr;
        capacity = (int)raw.capacity;
    }
    public ulong Id { get { return (ulong)(long)handle; } }
    public Span<byte> Span { get { return new Span<byte>(ptr, capacity); } }
    public IntPtr Address { get { return (IntPtr)ptr; } }
    public override bool IsInvalid { get { return handle == IntPtr.Zero; } }
    protected override bool ReleaseHandle() { return Mb.mb_buffer_recycle(Id) == Mb.OK; }

    public static BufferHandle Request(PoolHandle pool)
    {
        Mb.RawBuffer raw;
        Mb.Check(Mb.mb_buffer_request(pool, out raw));
        return new BufferHandle(raw);
    }

    public static BufferHandle Request(PoolHandle pool, uint timeoutMs)
    {
        Mb.RawBuffer raw;
        Mb.Check(Mb.mb_buffer_request_timeout(pool, timeoutMs, out raw));
        return new BufferHandle(raw);
    }
}

static class TestMembudget
{
    static int passed, failed;

    static RuntimeHandle NewRuntime(params string[] extra)
    {
        var props = new List<string> { "taskmanager.memory.process.size=1g" };
        props.AddRange(extra);
        var strings = new IntPtr[props.Count];
        for (int i = 0; i < props.Count; i++) strings[i] = Marshal.StringToHGlobalAnsi(props[i]);
        IntPtr array = Marshal.AllocHGlobal(IntPtr.Size * props.Count);
        Marshal.Copy(strings, 0, array, props.Count);
        try
        {
            var o = new Mb.Options
            {
                struct_size = (uint)Marshal.SizeOf(typeof(Mb.Options)),
                properties = array,
                properties_len = (uint)props.Count,
                ignore_container = 1,
            };
            RuntimeHandle rt;
            Mb.Check(Mb.mb_runtime_new(ref o, out rt));
            return rt;
        }
        finally
        {
            foreach (var s in strings) Marshal.FreeHGlobal(s);
            Marshal.FreeHGlobal(array);
        }
    }

    static Mb.Usage Usage(RuntimeHandle rt, uint category)
    {
        var u = new Mb.Usage { struct_size = (uint)Marshal.SizeOf(typeof(Mb.Usage)) };
        Mb.Check(Mb.mb_usage(rt, category, ref u));
        return u;
    }

    static PoolHandle NewPool(RuntimeHandle rt, uint min, uint max)
    {
        PoolHandle pool;
        Mb.Check(Mb.mb_local_pool_new(rt, min, max, out pool));
        return pool;
    }

    static void Test(string name, Action body)
    {
        try { body(); passed++; }
        catch (Exception e) { failed++; Console.Error.WriteLine("FAIL " + name + ": " + e); }
    }

    static void Expect(bool cond, string what) { if (!cond) throw new Exception("expectation failed: " + what); }

    static MembudgetException ExpectError(int status, Action body)
    {
        try { body(); }
        catch (MembudgetException e)
        {
            Expect(e.Status == status, "expected " + status + ", got " + e.Message);
            return e;
        }
        throw new Exception("expected status " + status + ", call succeeded");
    }

    static int Main(string[] args)
    {
        Test("version", () => Expect(Mb.mb_abi_version() == 1 << 16, "abi version"));

        Test("plan", () =>
        {
            using (var rt = NewRuntime())
            {
                UIntPtr need;
                Expect(Mb.mb_plan_json(rt, null, UIntPtr.Zero, out need) == Mb.ERR_BUFFER_TOO_SMALL, "size query");
                var buf = new byte[(int)need];
                Mb.Check(Mb.mb_plan_json(rt, buf, (UIntPtr)buf.Length, out need));
                string json = Encoding.UTF8.GetString(buf, 0, buf.Length - 1);
                Expect(json.Contains("\"network_buffers\": 2048"), json);
            }
        });

        Test("config error", () =>
        {
            var e = ExpectError(Mb.ERR_CONFIG, () => NewRuntime("taskmanager.memory.process.size=64m"));
            Expect(e.Message.Contains("TaskManager memory configuration failed"), e.Message);
        });

        Test("reserve/release and the quota exception", () =>
        {
            using (var rt = NewRuntime())
            {
                ulong quota = Usage(rt, Mb.DIRECT).quota;
                var e = ExpectError(Mb.ERR_QUOTA_EXCEEDED, () => Mb.Check(Mb.mb_reserve(rt, Mb.DIRECT, quota + 1)));
                Expect(e.Message.Contains("Cannot reserve " + (quota + 1) + " bytes of direct memory"), e.Message);
                Mb.Check(Mb.mb_reserve(rt, Mb.HEAP, 1 << 20)); // a .NET host reporting GC heap growth
                Expect(Usage(rt, Mb.HEAP).host_reserved == 1 << 20, "reserved");
                ExpectError(Mb.ERR_INVALID_ARGUMENT, () => Mb.Check(Mb.mb_release(rt, Mb.HEAP, (1 << 20) + 1)));
                ExpectError(Mb.ERR_INVALID_ARGUMENT, () => Mb.Check(Mb.mb_reserve(rt, 42, 1)));
                Mb.Check(Mb.mb_release(rt, Mb.HEAP, 1 << 20));
                Expect(Usage(rt, Mb.HEAP).used == 0, "balanced");
            }
        });

        Test("freed handles are refused", () =>
        {
            var rt = NewRuntime();
            IntPtr raw = rt.DangerousGetHandle();
            rt.Dispose();
            ExpectError(Mb.ERR_INVALID_HANDLE, () => Mb.Check(Mb.mb_runtime_free(raw)));
            ExpectError(Mb.ERR_INVALID_HANDLE, () => Mb.Check(Mb.mb_local_pool_free((IntPtr)0x1234)));
        });

        Test("buffers as Span<byte>", () =>
        {
            using (var rt = NewRuntime())
            using (var pool = NewPool(rt, 1, 2))
            {
                var a = BufferHandle.Request(pool);
                var b = BufferHandle.Request(pool);
                Span<byte> s = a.Span;
                Expect(s.Length == 32768, "capacity");
                s.Fill(0x42);
                s[0] = 7;
                Expect(Marshal.ReadByte(a.Address, 0) == 7 && Marshal.ReadByte(a.Address, 32767) == 0x42, "zero copy");
                ExpectError(Mb.ERR_UNAVAILABLE, () => BufferHandle.Request(pool));
                ExpectError(Mb.ERR_TIMEOUT, () => BufferHandle.Request(pool, 10));
                ulong id = a.Id;
                a.Dispose(); // recycles
                ExpectError(Mb.ERR_INVALID_HANDLE, () => Mb.Check(Mb.mb_buffer_recycle(id)));
                using (var c = BufferHandle.Request(pool, 100)) Expect(c.Span.Length == 32768, "again");
                b.Dispose();
            }
        });

        Test("threads", () =>
        {
            using (var rt = NewRuntime())
            using (var pool = NewPool(rt, 2, 2))
            {
                int errors = 0;
                var threads = new List<Thread>();
                for (int t = 0; t < 4; t++)
                {
                    byte me = (byte)t;
                    var th = new Thread(() =>
                    {
                        try
                        {
                            for (int i = 0; i < 5000; i++)
                            {
                                using (var buf = BufferHandle.Request(pool, 5000))
                                {
                                    Span<byte> bytes = buf.Span;
                                    bytes[0] = me;
                                    if (bytes[0] != me) Interlocked.Increment(ref errors);
                                }
                                Mb.Check(Mb.mb_reserve(rt, Mb.HEAP, 64));
                                Mb.Check(Mb.mb_release(rt, Mb.HEAP, 64));
                            }
                        }
                        catch (Exception e) { Console.Error.WriteLine(e); Interlocked.Increment(ref errors); }
                    });
                    threads.Add(th);
                    th.Start();
                }
                foreach (var th in threads) th.Join();
                Expect(errors == 0, "errors: " + errors);
                Expect(Usage(rt, Mb.HEAP).used == 0, "balanced");
            }
        });

        if (args.Length > 0 && args[0] == "--perf") Perf();
        Console.WriteLine(passed + " passed, " + failed + " failed");
        return failed == 0 ? 0 : 1;
    }

    static void Perf()
    {
        using (var rt = NewRuntime())
        using (var pool = NewPool(rt, 1, 16))
        {
            const int n = 1000000;
            Mb.RawBuffer raw;
            for (int i = 0; i < n / 10; i++) { Mb.mb_buffer_request(pool, out raw); Mb.mb_buffer_recycle(raw.id); }
            var sw = Stopwatch.StartNew();
            for (int i = 0; i < n; i++) { Mb.mb_buffer_request(pool, out raw); Mb.mb_buffer_recycle(raw.id); }
            double t1 = sw.Elapsed.TotalSeconds;
            sw.Restart();
            for (int i = 0; i < n; i++) { Mb.mb_reserve(rt, Mb.DIRECT, 4096); Mb.mb_release(rt, Mb.DIRECT, 4096); }
            double t2 = sw.Elapsed.TotalSeconds;
            Console.WriteLine("perf csharp buffer_request+recycle {0:F0} round trips/s", n / t1);
            Console.WriteLine("perf csharp reserve+release {0:F0} round trips/s", n / t2);
        }
    }
}
