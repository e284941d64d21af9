using System;
using System.Runtime.InteropServices;
using System.Text;

namespace Membudget
{
    /// <summary>
    /// The C ABI of libmembudget (<c>membudget.h</c>). Handles and ids are passed as
    /// pointer-sized tokens (<see cref="IntPtr"/>, <see cref="ulong"/>): the library checks
    /// every one (generation-checked), so a stale token is refused with
    /// <c>MB_ERR_INVALID_HANDLE</c> and the library's message, never dereferenced.
    /// </summary>
    internal static class NativeMethods
    {
        /// <summary>
        /// Resolved by the runtime's native probing: <c>runtimes/&lt;rid&gt;/native/</c> of the
        /// NuGet package (.NET), the application directory, then the system loader
        /// (<c>LD_LIBRARY_PATH</c>, ldconfig paths); Mono maps it to <c>libmembudget.so</c>.
        /// </summary>
        internal const string Library = "membudget";

        [StructLayout(LayoutKind.Sequential)]
        internal struct RuntimeOptions
        {
            public uint StructSize;
            public uint Role;
            public IntPtr ConfigFile;
            public IntPtr Properties;
            public uint PropertiesLen;
            public uint IgnoreContainer;
            public uint UseEnvironment;
            public uint Flags;
            // ABI 1.1
            public IntPtr ConfigSection;
            public uint ConfigFormat;
            public uint FlinkVersion;
            public uint Deployment;
            public uint Host;
            public uint Strict;
            public uint VerboseErrors;
            public uint QuotaSource;
        }

        /// <summary><c>sizeof(mb_refusal)</c>: 40 bytes of fields, <c>key[64]</c>, <c>message[1024]</c>.</summary>
        internal const int RefusalSize = 1128;
        internal const int RefusalKey = 40;
        internal const int RefusalMessage = 104;

        [StructLayout(LayoutKind.Sequential)]
        internal struct CategoryUsage
        {
            public uint StructSize;
            public uint Category;
            public ulong Used, Peak, Quota, Available, Failures, HostReserved, HostAllocated;
            public uint Enforced;
            public uint Reserved;
        }

        [StructLayout(LayoutKind.Sequential)]
        internal struct RawBuffer
        {
            public IntPtr Ptr;
            public ulong Capacity;
            public ulong Id;
        }

        [StructLayout(LayoutKind.Sequential)]
        internal struct RawSegment
        {
            public IntPtr Ptr;
            public ulong Size;
            public ulong Id;
        }

        [UnmanagedFunctionPointer(CallingConvention.Cdecl)]
        internal delegate void BufferCallback(IntPtr ctx, int status, IntPtr buffer);

        [DllImport(Library, CallingConvention = CallingConvention.Cdecl)]
        internal static extern int mb_abi_version();

        [DllImport(Library, CallingConvention = CallingConvention.Cdecl)]
        internal static extern int mb_last_error_message(byte[] buf, UIntPtr len, out UIntPtr needed);

        [DllImport(Library, CallingConvention = CallingConvention.Cdecl)]
        internal static extern int mb_last_refusal(IntPtr refusal);

        [DllImport(Library, CallingConvention = CallingConvention.Cdecl)]
        internal static extern int mb_report_refusals(uint enabled);

        [DllImport(Library, CallingConvention = CallingConvention.Cdecl)]
        internal static extern int mb_runtime_new(ref RuntimeOptions options, out IntPtr rt);

        [DllImport(Library, CallingConvention = CallingConvention.Cdecl)]
        internal static extern int mb_runtime_free(IntPtr rt);

        [DllImport(Library, CallingConvention = CallingConvention.Cdecl)]
        internal static extern int mb_plan_json(IntPtr rt, byte[] buf, UIntPtr len, out UIntPtr needed);

        [DllImport(Library, CallingConvention = CallingConvention.Cdecl)]
        internal static extern int mb_jvm_args(IntPtr rt, byte[] buf, UIntPtr len, out UIntPtr needed);

        [DllImport(Library, CallingConvention = CallingConvention.Cdecl)]
        internal static extern int mb_reserve(IntPtr rt, uint category, ulong bytes);

        [DllImport(Library, CallingConvention = CallingConvention.Cdecl)]
        internal static extern int mb_release(IntPtr rt, uint category, ulong bytes);

        [DllImport(Library, CallingConvention = CallingConvention.Cdecl)]
        internal static extern int mb_usage(IntPtr rt, uint category, ref CategoryUsage usage);

        [DllImport(Library, CallingConvention = CallingConvention.Cdecl)]
        internal static extern int mb_local_pool_new(IntPtr rt, uint min, uint max, out IntPtr pool);

        [DllImport(Library, CallingConvention = CallingConvention.Cdecl)]
        internal static extern int mb_local_pool_free(IntPtr pool);

        [DllImport(Library, CallingConvention = CallingConvention.Cdecl)]
        internal static extern int mb_buffer_request(IntPtr pool, out RawBuffer buffer);

        [DllImport(Library, CallingConvention = CallingConvention.Cdecl)]
        internal static extern int mb_buffer_request_timeout(IntPtr pool, uint timeoutMs, out RawBuffer buffer);

        [DllImport(Library, CallingConvention = CallingConvention.Cdecl)]
        internal static extern int mb_local_pool_on_available(IntPtr pool, BufferCallback callback, IntPtr ctx);

        [DllImport(Library, CallingConvention = CallingConvention.Cdecl)]
        internal static extern int mb_buffer_recycle(ulong id);

        [DllImport(Library, CallingConvention = CallingConvention.Cdecl)]
        internal static extern int mb_managed_allocate_pages(IntPtr rt, ulong owner, uint n, [Out] RawSegment[] segments);

        [DllImport(Library, CallingConvention = CallingConvention.Cdecl)]
        internal static extern int mb_managed_release(IntPtr rt, ulong id);

        [DllImport(Library, CallingConvention = CallingConvention.Cdecl)]
        internal static extern int mb_managed_release_all(IntPtr rt, ulong owner);

        // ABI 1.2: child budgets.
        [UnmanagedFunctionPointer(CallingConvention.Cdecl)]
        internal delegate ulong ReclaimCallback(IntPtr ctx, uint category, ulong bytes);

        [DllImport(Library, CallingConvention = CallingConvention.Cdecl)]
        internal static extern int mb_budget_child_new(IntPtr rt, IntPtr parent, byte[] name, ulong[] limits, ulong[] reserved, out IntPtr child);

        [DllImport(Library, CallingConvention = CallingConvention.Cdecl)]
        internal static extern int mb_budget_child_free(IntPtr child);

        [DllImport(Library, CallingConvention = CallingConvention.Cdecl)]
        internal static extern int mb_budget_child_reserve(IntPtr child, uint category, ulong bytes);

        [DllImport(Library, CallingConvention = CallingConvention.Cdecl)]
        internal static extern int mb_budget_child_release(IntPtr child, uint category, ulong bytes);

        [DllImport(Library, CallingConvention = CallingConvention.Cdecl)]
        internal static extern int mb_budget_child_used(IntPtr child, uint category, out ulong used);

        [DllImport(Library, CallingConvention = CallingConvention.Cdecl)]
        internal static extern int mb_budget_on_reclaim(IntPtr child, ReclaimCallback callback, IntPtr ctx);

        [DllImport(Library, CallingConvention = CallingConvention.Cdecl)]
        internal static extern int mb_budget_set_reclaim_wait(IntPtr child, uint waitMs);

        [DllImport(Library, CallingConvention = CallingConvention.Cdecl)]
        internal static extern int mb_budget_report_json(IntPtr rt, IntPtr child, byte[] buf, UIntPtr len, out UIntPtr needed);

        [ThreadStatic] private static byte[] messageBuffer;

        /// <summary>The calling thread's last error message ("" if none).</summary>
        internal static string LastErrorMessage()
        {
            byte[] buf = messageBuffer ?? (messageBuffer = new byte[512]);
            UIntPtr needed;
            int rc = mb_last_error_message(buf, (UIntPtr)buf.Length, out needed);
            if (rc != Status.Ok && (ulong)needed > (ulong)buf.Length)
            {
                buf = new byte[(int)needed];
                mb_last_error_message(buf, (UIntPtr)buf.Length, out needed);
            }
            int len = (int)Math.Max(0, Math.Min((long)needed - 1, buf.Length - 1));
            return Encoding.UTF8.GetString(buf, 0, len);
        }

        /// <summary>
        /// The refusal behind the calling thread's last <c>MB_ERR_QUOTA_EXCEEDED</c>
        /// (<c>mb_last_refusal</c>) as an exception with <paramref name="message"/>, or null if the
        /// library has none.
        /// </summary>
        internal static QuotaExceededException LastRefusal(string message)
        {
            IntPtr r = Marshal.AllocHGlobal(RefusalSize);
            try
            {
                Marshal.WriteInt32(r, 0, RefusalSize);
                if (mb_last_refusal(r) != Status.Ok)
                {
                    return null;
                }
                string key = CString(r, RefusalKey, RefusalMessage - RefusalKey);
                return new QuotaExceededException(message, (Category)(uint)Marshal.ReadInt32(r, 4),
                    Saturate(Marshal.ReadInt64(r, 8)), Saturate(Marshal.ReadInt64(r, 16)),
                    Saturate(Marshal.ReadInt64(r, 24)), (Limit)(uint)Marshal.ReadInt32(r, 32),
                    (Role)(uint)Marshal.ReadInt32(r, 36), key.Length == 0 ? null : key);
            }
            finally
            {
                Marshal.FreeHGlobal(r);
            }
        }

        /// <summary>An unsigned 64-bit count as a long: <see cref="long.MaxValue"/> past it.</summary>
        private static long Saturate(long unsigned)
        {
            return unsigned < 0 ? long.MaxValue : unsigned;
        }

        /// <summary>The NUL-terminated UTF-8 text at <paramref name="offset"/>, at most <paramref name="capacity"/> bytes.</summary>
        private static string CString(IntPtr p, int offset, int capacity)
        {
            var bytes = new byte[capacity];
            Marshal.Copy(IntPtr.Add(p, offset), bytes, 0, capacity);
            int len = Array.IndexOf(bytes, (byte)0);
            return Encoding.UTF8.GetString(bytes, 0, len < 0 ? capacity : len);
        }

        internal delegate int TextCall(IntPtr rt, byte[] buf, UIntPtr len, out UIntPtr needed);

        /// <summary>The size-query-then-copy protocol of mb_plan_json and mb_jvm_args.</summary>
        internal static string Text(TextCall call, IntPtr rt)
        {
            UIntPtr needed;
            int rc = call(rt, null, UIntPtr.Zero, out needed);
            if (rc != Status.Ok && (ulong)needed == 0)
            {
                throw Status.Failure(rc);
            }
            var buf = new byte[(int)needed];
            Status.Check(call(rt, buf, (UIntPtr)buf.Length, out needed));
            return Encoding.UTF8.GetString(buf, 0, buf.Length - 1);
        }
    }
}
