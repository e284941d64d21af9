package io.membudget.internal;

import com.sun.jna.Callback;
import com.sun.jna.Memory;
import com.sun.jna.Native;
import com.sun.jna.NativeLibrary;
import com.sun.jna.Pointer;
import java.lang.System.Logger.Level;
import java.lang.ref.WeakReference;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.List;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;

/**
 * {@link NativeAbi} through JNA direct mapping (static native methods bound once per JVM), the
 * fastest JNA calling mode: primitive arguments, {@code long} tokens, primitive-array
 * out-parameters, no per-call reflection. Java 17+; 64-bit JVMs only (handles and
 * {@code size_t} are passed as {@code long}).
 */
public final class JnaAbi implements NativeAbi {
    private static final boolean LITTLE_ENDIAN = ByteOrder.nativeOrder() == ByteOrder.LITTLE_ENDIAN;
    private static final int USAGE_STRUCT_SIZE = 72;
    /** {@code sizeof(mb_refusal)}: 40 bytes of fields, key[64], message[1024]. */
    private static final int REFUSAL_STRUCT_SIZE = 1128;
    private static final int REFUSAL_KEY = 40;
    private static final int REFUSAL_MESSAGE = 104;
    private static final System.Logger LOG = System.getLogger("io.membudget");

    /** The C functions. Registered against one located library file by {@link #load}. */
    private static final class Lib {
        static native int mb_abi_version();

        static native int mb_last_error_message(byte[] buf, long len, long[] needed);

        static native int mb_last_refusal(Pointer refusal);

        static native int mb_report_refusals(int enabled);

        static native int mb_runtime_new(Pointer options, long[] out);

        static native int mb_runtime_free(long rt);

        static native int mb_plan_json(long rt, byte[] buf, long len, long[] needed);

        static native int mb_jvm_args(long rt, byte[] buf, long len, long[] needed);

        static native int mb_reserve(long rt, int category, long bytes);

        static native int mb_release(long rt, int category, long bytes);

        static native int mb_usage(long rt, int category, long[] usage);

        static native int mb_local_pool_new(long rt, int min, int max, long[] out);

        static native int mb_local_pool_free(long pool);

        static native int mb_buffer_request(long pool, long[] buffer);

        static native int mb_buffer_request_timeout(long pool, int timeoutMs, long[] buffer);

        static native int mb_local_pool_on_available(long pool, NativeCallback cb, Pointer ctx);

        static native int mb_buffer_recycle(long id);

        static native int mb_managed_allocate_pages(long rt, long owner, int n, long[] segments);

        static native int mb_managed_release(long rt, long id);

        static native int mb_managed_release_all(long rt, long owner);

        static native int mb_budget_child_new(long rt, long parent, byte[] name, long[] limits, long[] reserved,
                long[] out);

        static native int mb_budget_child_free(long child);

        static native int mb_budget_child_reserve(long child, int category, long bytes);

        static native int mb_budget_child_release(long child, int category, long bytes);

        static native int mb_budget_child_used(long child, int category, long[] used);

        static native int mb_budget_on_reclaim(long child, NativeReclaim cb, Pointer ctx);

        static native int mb_budget_set_reclaim_wait(long child, int waitMs);

        static native int mb_budget_report_json(long rt, long child, byte[] buf, long len, long[] needed);
    }

    /** {@code mb_reclaim_callback} as JNA sees it. */
    public interface NativeReclaim extends Callback {
        /** Called by the library when memory is short. */
        long invoke(Pointer ctx, int category, long bytes);
    }

    /**
     * A registered reclaimer, strongly held while registered (its native stub dies with it). It
     * holds the callback weakly: the caller holds it (see {@link NativeAbi#childOnReclaim}), so a
     * reclaimer that reaches its own budget does not keep that budget from being cleaned.
     */
    private static final class Reclaimer implements NativeReclaim {
        private final WeakReference<ReclaimCallback> target;

        Reclaimer(ReclaimCallback target) {
            this.target = new WeakReference<>(target);
        }

        @Override
        public long invoke(Pointer ctx, int category, long bytes) {
            try {
                ReclaimCallback t = target.get();
                return t == null ? 0 : t.reclaim(category, bytes);
            } catch (Throwable t) {
                // Never unwind into native code: counts as nothing freed.
                LOG.log(Level.ERROR, "membudget: a reclaim callback threw", t);
                return 0;
            }
        }
    }

    /** Registered reclaimers by child handle. */
    private static final ConcurrentHashMap<Long, Reclaimer> RECLAIMERS = new ConcurrentHashMap<>();

    /** {@code mb_buffer_callback} as JNA sees it. */
    public interface NativeCallback extends Callback {
        /** Called once by the library. */
        void invoke(Pointer ctx, int status, Pointer buffer);
    }

    /** A registered callback, strongly held until it has run (its native stub dies with it). */
    private static final class Pending implements NativeCallback {
        private final BufferCallback target;

        Pending(BufferCallback target) {
            this.target = target;
        }

        @Override
        public void invoke(Pointer ctx, int status, Pointer buffer) {
            PENDING.remove(this);
            try {
                if (buffer == null) {
                    target.onBuffer(status, 0, 0, 0);
                } else {
                    target.onBuffer(status, buffer.getLong(0), buffer.getLong(8), buffer.getLong(16));
                }
            } catch (Throwable t) {
                // Never unwind into native code; the library's state is fine either way.
                LOG.log(Level.ERROR, "membudget: a buffer availability callback threw", t);
            }
        }
    }

    private static final Set<Pending> PENDING = ConcurrentHashMap.newKeySet();

    private static final ThreadLocal<byte[]> MESSAGE = ThreadLocal.withInitial(() -> new byte[512]);

    private final String source;

    private JnaAbi(String source) {
        this.source = source;
    }

    /** Binds the library found by {@link NativeLibraryLocator#locate()}. Call once per JVM. */
    static JnaAbi load(NativeLibraryLocator.Located located) {
        if (Native.POINTER_SIZE != 8) {
            throw new UnsatisfiedLinkError("membudget's JNA backend needs a 64-bit JVM (pointer size "
                    + Native.POINTER_SIZE + ")");
        }
        Native.register(Lib.class, NativeLibrary.getInstance(located.path().toString()));
        return new JnaAbi(located.source());
    }

    @Override
    public int abiVersion() {
        return Lib.mb_abi_version();
    }

    @Override
    public String lastErrorMessage() {
        byte[] buf = MESSAGE.get();
        long[] needed = new long[1];
        int rc = Lib.mb_last_error_message(buf, buf.length, needed);
        if (rc != OK && needed[0] > buf.length) {
            buf = new byte[Math.toIntExact(needed[0])];
            Lib.mb_last_error_message(buf, buf.length, needed);
        }
        int len = (int) Math.max(0, Math.min(needed[0] - 1, buf.length - 1));
        return new String(buf, 0, len, StandardCharsets.UTF_8);
    }

    @Override
    public int lastRefusal(long[] out, String[] text) {
        // mb_refusal: u32 struct_size, u32 category, u64 requested, u64 used, u64 quota,
        // u32 limit, u32 role, char key[64], char message[1024].
        Memory r = new Memory(REFUSAL_STRUCT_SIZE);
        r.clear();
        r.setInt(0, REFUSAL_STRUCT_SIZE);
        int rc = Lib.mb_last_refusal(r);
        if (rc == OK) {
            out[0] = r.getInt(4);
            out[1] = r.getLong(8);
            out[2] = r.getLong(16);
            out[3] = r.getLong(24);
            out[4] = r.getInt(32);
            out[5] = r.getInt(36);
            text[0] = r.getString(REFUSAL_KEY, "UTF-8");
            text[1] = r.getString(REFUSAL_MESSAGE, "UTF-8");
        }
        return rc;
    }

    @Override
    public int reportRefusals(int enabled) {
        return Lib.mb_report_refusals(enabled);
    }

    @Override
    public int runtimeNew(RuntimeOptions options, long[] runtimeOut) {
        // mb_runtime_options: u32 struct_size, u32 role, char *config_file,
        // const char *const *properties, u32 properties_len, u32 ignore_container,
        // u32 use_environment, u32 flags, then (ABI 1.1) const char *config_section,
        // u32 config_format, flink_version, deployment, host, strict, verbose_errors,
        // quota_source.
        List<Memory> keepAlive = new ArrayList<>();
        Memory opts = new Memory(RuntimeOptions.STRUCT_SIZE);
        opts.clear();
        opts.setInt(0, RuntimeOptions.STRUCT_SIZE);
        opts.setInt(4, options.role());
        if (options.configFile() != null) {
            opts.setPointer(8, cString(options.configFile(), keepAlive));
        }
        List<String> props = options.properties();
        if (!props.isEmpty()) {
            Memory array = new Memory(8L * props.size());
            for (int i = 0; i < props.size(); i++) {
                array.setPointer(8L * i, cString(props.get(i), keepAlive));
            }
            opts.setPointer(16, array);
            keepAlive.add(array);
        }
        opts.setInt(24, props.size());
        opts.setInt(28, options.ignoreContainer() ? 1 : 0);
        opts.setInt(32, options.useEnvironment() ? 1 : 0);
        opts.setInt(36, options.flags());
        if (options.configSection() != null) {
            opts.setPointer(40, cString(options.configSection(), keepAlive));
        }
        opts.setInt(48, options.configFormat());
        opts.setInt(52, options.flinkVersion());
        opts.setInt(56, options.deployment());
        opts.setInt(60, options.host());
        opts.setInt(64, options.strict() ? 1 : 0);
        opts.setInt(68, options.verboseErrors() ? 1 : 0);
        opts.setInt(72, options.quotaSource());
        int rc = Lib.mb_runtime_new(opts, runtimeOut);
        // The strings must outlive the call: keep them reachable until here.
        java.lang.ref.Reference.reachabilityFence(keepAlive);
        return rc;
    }

    private static Memory cString(String s, List<Memory> keepAlive) {
        byte[] bytes = s.getBytes(StandardCharsets.UTF_8);
        Memory m = new Memory(bytes.length + 1L);
        m.write(0, bytes, 0, bytes.length);
        m.setByte(bytes.length, (byte) 0);
        keepAlive.add(m);
        return m;
    }

    @Override
    public int runtimeFree(long runtime) {
        return Lib.mb_runtime_free(runtime);
    }

    /** The size-query-then-copy protocol of {@code mb_plan_json} and {@code mb_jvm_args}. */
    private interface TextCall {
        int call(long rt, byte[] buf, long len, long[] needed);
    }

    private static int text(TextCall f, long runtime, String[] out) {
        long[] needed = new long[1];
        int rc = f.call(runtime, null, 0, needed);
        if (rc != OK && needed[0] == 0) {
            return rc; // refused before sizing: a bad handle
        }
        byte[] buf = new byte[Math.toIntExact(needed[0])];
        rc = f.call(runtime, buf, buf.length, needed);
        if (rc == OK) {
            out[0] = new String(buf, 0, buf.length - 1, StandardCharsets.UTF_8);
        }
        return rc;
    }

    @Override
    public int planJson(long runtime, String[] out) {
        return text(Lib::mb_plan_json, runtime, out);
    }

    @Override
    public int childNew(long runtime, long parent, String name, long[] limits, long[] reserved, long[] childOut) {
        byte[] utf8 = name.getBytes(StandardCharsets.UTF_8);
        byte[] cName = java.util.Arrays.copyOf(utf8, utf8.length + 1);
        return Lib.mb_budget_child_new(runtime, parent, cName, limits, reserved, childOut);
    }

    @Override
    public int childFree(long child) {
        int rc = Lib.mb_budget_child_free(child);
        if (rc == OK) {
            RECLAIMERS.remove(child);
        }
        return rc;
    }

    @Override
    public int childReserve(long child, int category, long bytes) {
        return Lib.mb_budget_child_reserve(child, category, bytes);
    }

    @Override
    public int childRelease(long child, int category, long bytes) {
        return Lib.mb_budget_child_release(child, category, bytes);
    }

    @Override
    public int childUsed(long child, int category, long[] out) {
        return Lib.mb_budget_child_used(child, category, out);
    }

    @Override
    public int childOnReclaim(long child, ReclaimCallback callback) {
        Reclaimer r = callback == null ? null : new Reclaimer(callback);
        int rc = Lib.mb_budget_on_reclaim(child, r, null);
        if (rc == OK) {
            if (r == null) {
                RECLAIMERS.remove(child);
            } else {
                RECLAIMERS.put(child, r);
            }
        }
        return rc;
    }

    @Override
    public int childSetReclaimWait(long child, int waitMs) {
        return Lib.mb_budget_set_reclaim_wait(child, waitMs);
    }

    @Override
    public int budgetReportJson(long runtime, long child, String[] out) {
        return text((rt, buf, len, needed) -> Lib.mb_budget_report_json(rt, child, buf, len, needed), runtime, out);
    }

    @Override
    public int jvmArgs(long runtime, String[] out) {
        return text(Lib::mb_jvm_args, runtime, out);
    }

    @Override
    public int reserve(long runtime, int category, long bytes) {
        return Lib.mb_reserve(runtime, category, bytes);
    }

    @Override
    public int release(long runtime, int category, long bytes) {
        return Lib.mb_release(runtime, category, bytes);
    }

    @Override
    public int usage(long runtime, int category, long[] out) {
        // mb_category_usage: u32 struct_size, u32 category, 7 × u64, u32 enforced, u32 reserved.
        long[] raw = new long[USAGE_STRUCT_SIZE / 8];
        raw[0] = LITTLE_ENDIAN ? USAGE_STRUCT_SIZE : (long) USAGE_STRUCT_SIZE << 32;
        int rc = Lib.mb_usage(runtime, category, raw);
        if (rc == OK) {
            System.arraycopy(raw, 1, out, 0, 7);
            out[7] = LITTLE_ENDIAN ? raw[8] & 0xFFFF_FFFFL : raw[8] >>> 32;
        }
        return rc;
    }

    @Override
    public int localPoolNew(long runtime, int minBuffers, int maxBuffers, long[] poolOut) {
        return Lib.mb_local_pool_new(runtime, minBuffers, maxBuffers, poolOut);
    }

    @Override
    public int localPoolFree(long pool) {
        return Lib.mb_local_pool_free(pool);
    }

    @Override
    public int bufferRequest(long pool, long[] bufferOut) {
        return Lib.mb_buffer_request(pool, bufferOut);
    }

    @Override
    public int bufferRequestTimeout(long pool, int timeoutMs, long[] bufferOut) {
        return Lib.mb_buffer_request_timeout(pool, timeoutMs, bufferOut);
    }

    @Override
    public int localPoolOnAvailable(long pool, BufferCallback callback) {
        Pending p = new Pending(callback);
        PENDING.add(p);
        int rc = Lib.mb_local_pool_on_available(pool, p, null);
        if (rc != OK) {
            PENDING.remove(p); // refused: the library will never call it
        }
        return rc;
    }

    @Override
    public int bufferRecycle(long bufferId) {
        return Lib.mb_buffer_recycle(bufferId);
    }

    @Override
    public int managedAllocatePages(long runtime, long owner, int count, long[] pagesOut) {
        return Lib.mb_managed_allocate_pages(runtime, owner, count, pagesOut);
    }

    @Override
    public int managedRelease(long runtime, long pageId) {
        return Lib.mb_managed_release(runtime, pageId);
    }

    @Override
    public int managedReleaseAll(long runtime, long owner) {
        return Lib.mb_managed_release_all(runtime, owner);
    }

    @Override
    public MemoryView view(long address, long length, boolean revocable) {
        return new Unrevocable(new Pointer(address).getByteBuffer(0, length));
    }

    /** JNA's views are plain JNI direct buffers: nothing can withdraw them. */
    private record Unrevocable(ByteBuffer byteBuffer) implements MemoryView {
        @Override
        public boolean revocable() {
            return false;
        }

        @Override
        public void revoke() {
            // Nothing to do: a JNI direct buffer cannot be invalidated.
        }
    }

    @Override
    public String name() {
        return "jna";
    }

    @Override
    public String librarySource() {
        return "JNA, " + source;
    }
}
