package io.membudget.internal;

import static java.lang.foreign.ValueLayout.ADDRESS;
import static java.lang.foreign.ValueLayout.JAVA_BYTE;
import static java.lang.foreign.ValueLayout.JAVA_INT;
import static java.lang.foreign.ValueLayout.JAVA_LONG;

import java.lang.System.Logger.Level;
import java.lang.foreign.Arena;
import java.lang.foreign.FunctionDescriptor;
import java.lang.foreign.Linker;
import java.lang.foreign.MemoryLayout;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.SymbolLookup;
import java.lang.invoke.MethodHandle;
import java.lang.invoke.MethodHandles;
import java.lang.invoke.MethodType;
import java.lang.ref.WeakReference;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.charset.StandardCharsets;
import java.util.List;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.atomic.AtomicLong;

/**
 * {@link NativeAbi} through the Foreign Function &amp; Memory API (Java 22+): one downcall
 * handle per C function, held in {@code static final} fields so the JIT inlines the call.
 *
 * <p>Handles and ids are passed as {@code long} ({@code JAVA_LONG} where C has a pointer to an
 * opaque type): on every 64-bit ABI the JDK supports, a pointer and a 64-bit integer travel in
 * the same register, and the library treats them as tokens, never dereferencing them unchecked.
 *
 * <p>Calls that never block, never call back into the host and only copy or count are linked
 * {@link Linker.Option#critical(boolean) critical} with heap access: the thread stays in Java
 * state (no transition, no safepoint poll on return) and out-parameters are the caller's
 * {@code long[]}/{@code byte[]} themselves, so the hot path allocates no native memory.
 * {@code mb_buffer_recycle} is not critical, because it may run another pool's
 * {@code on_available} callback, an upcall into Java, on the recycling thread; neither are
 * calls that may block, read files or map memory. A critical call may still wait briefly for a
 * pool's lock; that is safe because the library never runs a callback while holding one (the
 * buffer pools fire wakers and listeners after releasing their locks), so the holder never needs
 * a safepoint to let go. Changing that in the library would make these calls unsafe to link
 * critical.
 *
 * <p>A revocable {@link #view} is a segment of its own shared {@link Arena}: revoking it closes
 * the arena, after which the JDK refuses every access through its {@code ByteBuffer}. Closing a
 * shared arena makes the JVM handshake with every thread (measured at 16-25 microseconds here),
 * so callers ask for revocable views only where that cost is amortised (see {@code Buffer}).
 *
 * <p>To bind a new C function (say a batch call of a newer minor ABI version), add its handle
 * to {@link Handles} with its descriptor and options, and one method here.
 */
@SuppressWarnings("restricted") // binding a C library is what restricted methods are for
final class FfmAbi implements NativeAbi {
    private static final System.Logger LOG = System.getLogger("io.membudget");
    private static final int USAGE_STRUCT_SIZE = 72;
    private static final int RUNTIME_OPTIONS_SIZE = RuntimeOptions.STRUCT_SIZE;
    /** {@code mb_refusal}: its size and where its two strings start. */
    private static final int REFUSAL_STRUCT_SIZE = 1128;
    private static final int REFUSAL_KEY = 40;
    private static final int REFUSAL_MESSAGE = 104;
    private static final int BUFFER_LONGS = 3;

    /** The library {@link Handles} binds; set by {@link #load} before it initialises. */
    private static NativeLibraryLocator.Located library;

    /** Callbacks registered with {@code mb_local_pool_on_available}, by their {@code ctx}. */
    private static final ConcurrentHashMap<Long, BufferCallback> PENDING = new ConcurrentHashMap<>();

    private static final AtomicLong NEXT_CONTEXT = new AtomicLong(1);

    private static final ThreadLocal<byte[]> MESSAGE = ThreadLocal.withInitial(() -> new byte[512]);

    private final String source;

    private FfmAbi(String source) {
        this.source = source;
    }

    /** Binds the located library. Call once per JVM (class loader). */
    static synchronized FfmAbi load(NativeLibraryLocator.Located located) {
        if (ADDRESS.byteSize() != 8) {
            throw new UnsatisfiedLinkError("membudget's FFM backend needs a 64-bit JVM (pointer size "
                    + ADDRESS.byteSize() + ")");
        }
        library = located;
        try {
            Handles.bind();
        } catch (ExceptionInInitializerError | IllegalArgumentException | IllegalCallerException e) {
            Throwable why = e instanceof ExceptionInInitializerError x && x.getCause() != null ? x.getCause() : e;
            UnsatisfiedLinkError error = new UnsatisfiedLinkError("cannot bind libmembudget ("
                    + located.source() + ") through the Foreign Function & Memory API: " + why);
            error.initCause(why);
            throw error;
        }
        return new FfmAbi(located.source());
    }

    /** The downcall handles, created when {@link #load} first touches this class. */
    private static final class Handles {
        private static final Linker LINKER = Linker.nativeLinker();
        private static final SymbolLookup LOOKUP =
                SymbolLookup.libraryLookup(library.path(), Arena.global());

        /** Short, non-blocking, never calls back into Java: may stay in Java state, heap arrays allowed. */
        private static final Linker.Option[] CRITICAL = {Linker.Option.critical(true)};
        private static final Linker.Option[] PLAIN = {};

        static final MethodHandle MB_ABI_VERSION =
                downcall("mb_abi_version", FunctionDescriptor.of(JAVA_INT), CRITICAL);
        static final MethodHandle MB_LAST_ERROR_MESSAGE = downcall("mb_last_error_message",
                FunctionDescriptor.of(JAVA_INT, ADDRESS, JAVA_LONG, ADDRESS), CRITICAL);
        static final MethodHandle MB_LAST_REFUSAL = downcall("mb_last_refusal",
                FunctionDescriptor.of(JAVA_INT, ADDRESS), CRITICAL);
        static final MethodHandle MB_REPORT_REFUSALS = downcall("mb_report_refusals",
                FunctionDescriptor.of(JAVA_INT, JAVA_INT), CRITICAL);
        static final MethodHandle MB_RUNTIME_NEW = downcall("mb_runtime_new",
                FunctionDescriptor.of(JAVA_INT, ADDRESS, ADDRESS), PLAIN);
        static final MethodHandle MB_RUNTIME_FREE =
                downcall("mb_runtime_free", FunctionDescriptor.of(JAVA_INT, JAVA_LONG), PLAIN);
        static final MethodHandle MB_PLAN_JSON = downcall("mb_plan_json",
                FunctionDescriptor.of(JAVA_INT, JAVA_LONG, ADDRESS, JAVA_LONG, ADDRESS), PLAIN);
        static final MethodHandle MB_JVM_ARGS = downcall("mb_jvm_args",
                FunctionDescriptor.of(JAVA_INT, JAVA_LONG, ADDRESS, JAVA_LONG, ADDRESS), PLAIN);
        static final MethodHandle MB_RESERVE = downcall("mb_reserve",
                FunctionDescriptor.of(JAVA_INT, JAVA_LONG, JAVA_INT, JAVA_LONG), CRITICAL);
        static final MethodHandle MB_RELEASE = downcall("mb_release",
                FunctionDescriptor.of(JAVA_INT, JAVA_LONG, JAVA_INT, JAVA_LONG), CRITICAL);
        static final MethodHandle MB_USAGE = downcall("mb_usage",
                FunctionDescriptor.of(JAVA_INT, JAVA_LONG, JAVA_INT, ADDRESS), CRITICAL);
        static final MethodHandle MB_LOCAL_POOL_NEW = downcall("mb_local_pool_new",
                FunctionDescriptor.of(JAVA_INT, JAVA_LONG, JAVA_INT, JAVA_INT, ADDRESS), PLAIN);
        static final MethodHandle MB_LOCAL_POOL_FREE =
                downcall("mb_local_pool_free", FunctionDescriptor.of(JAVA_INT, JAVA_LONG), PLAIN);
        static final MethodHandle MB_BUFFER_REQUEST = downcall("mb_buffer_request",
                FunctionDescriptor.of(JAVA_INT, JAVA_LONG, ADDRESS), CRITICAL);
        static final MethodHandle MB_BUFFER_REQUEST_TIMEOUT = downcall("mb_buffer_request_timeout",
                FunctionDescriptor.of(JAVA_INT, JAVA_LONG, JAVA_INT, ADDRESS), PLAIN);
        static final MethodHandle MB_LOCAL_POOL_ON_AVAILABLE = downcall("mb_local_pool_on_available",
                FunctionDescriptor.of(JAVA_INT, JAVA_LONG, ADDRESS, ADDRESS), PLAIN);
        static final MethodHandle MB_BUFFER_RECYCLE =
                downcall("mb_buffer_recycle", FunctionDescriptor.of(JAVA_INT, JAVA_LONG), PLAIN);
        static final MethodHandle MB_MANAGED_ALLOCATE_PAGES = downcall("mb_managed_allocate_pages",
                FunctionDescriptor.of(JAVA_INT, JAVA_LONG, JAVA_LONG, JAVA_INT, ADDRESS), PLAIN);
        static final MethodHandle MB_MANAGED_RELEASE = downcall("mb_managed_release",
                FunctionDescriptor.of(JAVA_INT, JAVA_LONG, JAVA_LONG), PLAIN);
        static final MethodHandle MB_MANAGED_RELEASE_ALL = downcall("mb_managed_release_all",
                FunctionDescriptor.of(JAVA_INT, JAVA_LONG, JAVA_LONG), PLAIN);

        static final MethodHandle MB_BUDGET_CHILD_NEW = downcall("mb_budget_child_new",
                FunctionDescriptor.of(JAVA_INT, JAVA_LONG, JAVA_LONG, ADDRESS, ADDRESS, ADDRESS, ADDRESS), PLAIN);
        static final MethodHandle MB_BUDGET_CHILD_FREE =
                downcall("mb_budget_child_free", FunctionDescriptor.of(JAVA_INT, JAVA_LONG), PLAIN);
        /** May run reclaim callbacks (upcalls) and wait: not critical. */
        static final MethodHandle MB_BUDGET_CHILD_RESERVE = downcall("mb_budget_child_reserve",
                FunctionDescriptor.of(JAVA_INT, JAVA_LONG, JAVA_INT, JAVA_LONG), PLAIN);
        static final MethodHandle MB_BUDGET_CHILD_RELEASE = downcall("mb_budget_child_release",
                FunctionDescriptor.of(JAVA_INT, JAVA_LONG, JAVA_INT, JAVA_LONG), PLAIN);
        static final MethodHandle MB_BUDGET_CHILD_USED = downcall("mb_budget_child_used",
                FunctionDescriptor.of(JAVA_INT, JAVA_LONG, JAVA_INT, ADDRESS), PLAIN);
        static final MethodHandle MB_BUDGET_ON_RECLAIM = downcall("mb_budget_on_reclaim",
                FunctionDescriptor.of(JAVA_INT, JAVA_LONG, ADDRESS, ADDRESS), PLAIN);
        static final MethodHandle MB_BUDGET_SET_RECLAIM_WAIT = downcall("mb_budget_set_reclaim_wait",
                FunctionDescriptor.of(JAVA_INT, JAVA_LONG, JAVA_INT), PLAIN);
        static final MethodHandle MB_BUDGET_REPORT_JSON = downcall("mb_budget_report_json",
                FunctionDescriptor.of(JAVA_INT, JAVA_LONG, JAVA_LONG, ADDRESS, JAVA_LONG, ADDRESS), PLAIN);

        /** The one {@code mb_reclaim_callback} stub; {@code ctx} says which registration. */
        static final MemorySegment ON_RECLAIM_STUB = LINKER.upcallStub(
                onReclaimTarget(),
                FunctionDescriptor.of(JAVA_LONG, ADDRESS, JAVA_INT, JAVA_LONG),
                Arena.global());

        /** The one {@code mb_buffer_callback} stub; {@code ctx} says which registration. */
        static final MemorySegment ON_AVAILABLE_STUB = LINKER.upcallStub(
                onAvailableTarget(),
                FunctionDescriptor.ofVoid(ADDRESS, JAVA_INT,
                        ADDRESS.withTargetLayout(MemoryLayout.sequenceLayout(BUFFER_LONGS, JAVA_LONG))),
                Arena.global());

        private Handles() {}

        /** Does nothing; calling it runs the static initialiser once. */
        static void bind() {}

        private static MethodHandle downcall(String name, FunctionDescriptor fd, Linker.Option[] options) {
            MemorySegment symbol = LOOKUP.find(name).orElseThrow(() -> new UnsatisfiedLinkError(
                    "libmembudget (" + library.source() + ") has no symbol " + name));
            return LINKER.downcallHandle(symbol, fd, options);
        }

        private static MethodHandle onReclaimTarget() {
            try {
                return MethodHandles.lookup().findStatic(FfmAbi.class, "onReclaim", MethodType.methodType(
                        long.class, MemorySegment.class, int.class, long.class));
            } catch (ReflectiveOperationException e) {
                throw new AssertionError(e); // the method is below
            }
        }

        private static MethodHandle onAvailableTarget() {
            try {
                return MethodHandles.lookup().findStatic(FfmAbi.class, "onAvailable", MethodType.methodType(
                        void.class, MemorySegment.class, int.class, MemorySegment.class));
            } catch (ReflectiveOperationException e) {
                throw new AssertionError(e); // the method is right below
            }
        }
    }

    /** The upcall: delivers one registration's outcome. Never lets an exception reach C. */
    private static void onAvailable(MemorySegment ctx, int status, MemorySegment buffer) {
        try {
            BufferCallback target = PENDING.remove(ctx.address());
            if (target == null) {
                LOG.log(Level.ERROR, "membudget: a buffer callback arrived for unknown context "
                        + ctx.address() + " (" + status + ")");
                return;
            }
            if (buffer.address() == 0) {
                target.onBuffer(status, 0, 0, 0);
            } else {
                target.onBuffer(status, buffer.getAtIndex(JAVA_LONG, 0), buffer.getAtIndex(JAVA_LONG, 1),
                        buffer.getAtIndex(JAVA_LONG, 2));
            }
        } catch (Throwable t) {
            // An exception escaping an upcall ends the JVM; the library's state is fine either way.
            LOG.log(Level.ERROR, "membudget: a buffer availability callback threw", t);
        }
    }

    /**
     * Registered reclaimers by their {@code ctx}, and each child's current {@code ctx}. Weakly:
     * the caller holds the callback (see {@link NativeAbi#childOnReclaim}), so a reclaimer that
     * reaches its own budget does not keep that budget from being cleaned.
     */
    private static final ConcurrentHashMap<Long, WeakReference<ReclaimCallback>> RECLAIMERS = new ConcurrentHashMap<>();

    private static final ConcurrentHashMap<Long, Long> RECLAIM_CONTEXT = new ConcurrentHashMap<>();

    /** The reclaim upcall. Never lets an exception reach C: it counts as nothing freed. */
    private static long onReclaim(MemorySegment ctx, int category, long bytes) {
        try {
            WeakReference<ReclaimCallback> ref = RECLAIMERS.get(ctx.address());
            ReclaimCallback target = ref == null ? null : ref.get();
            return target == null ? 0 : target.reclaim(category, bytes);
        } catch (Throwable t) {
            LOG.log(Level.ERROR, "membudget: a reclaim callback threw", t);
            return 0;
        }
    }

    @Override
    public int childNew(long runtime, long parent, String name, long[] limits, long[] reserved, long[] childOut) {
        try (Arena arena = Arena.ofConfined()) {
            MemorySegment cName = arena.allocateFrom(name, StandardCharsets.UTF_8);
            MemorySegment l = limits == null ? MemorySegment.NULL : arena.allocateFrom(JAVA_LONG, limits);
            MemorySegment r = reserved == null ? MemorySegment.NULL : arena.allocateFrom(JAVA_LONG, reserved);
            MemorySegment out = arena.allocate(JAVA_LONG);
            int rc = (int) Handles.MB_BUDGET_CHILD_NEW.invokeExact(runtime, parent, cName, l, r, out);
            childOut[0] = out.get(JAVA_LONG, 0);
            return rc;
        } catch (Throwable t) {
            throw unexpected(t);
        }
    }

    @Override
    public int childFree(long child) {
        int rc;
        try {
            rc = (int) Handles.MB_BUDGET_CHILD_FREE.invokeExact(child);
        } catch (Throwable t) {
            throw unexpected(t);
        }
        if (rc == OK) {
            Long ctx = RECLAIM_CONTEXT.remove(child);
            if (ctx != null) {
                RECLAIMERS.remove(ctx);
            }
        }
        return rc;
    }

    @Override
    public int childReserve(long child, int category, long bytes) {
        try {
            return (int) Handles.MB_BUDGET_CHILD_RESERVE.invokeExact(child, category, bytes);
        } catch (Throwable t) {
            throw unexpected(t);
        }
    }

    @Override
    public int childRelease(long child, int category, long bytes) {
        try {
            return (int) Handles.MB_BUDGET_CHILD_RELEASE.invokeExact(child, category, bytes);
        } catch (Throwable t) {
            throw unexpected(t);
        }
    }

    @Override
    public int childUsed(long child, int category, long[] out) {
        try (Arena arena = Arena.ofConfined()) {
            MemorySegment used = arena.allocate(JAVA_LONG);
            int rc = (int) Handles.MB_BUDGET_CHILD_USED.invokeExact(child, category, used);
            out[0] = used.get(JAVA_LONG, 0);
            return rc;
        } catch (Throwable t) {
            throw unexpected(t);
        }
    }

    @Override
    public int childOnReclaim(long child, ReclaimCallback callback) {
        long ctx = callback == null ? 0 : NEXT_CONTEXT.getAndIncrement();
        if (callback != null) {
            RECLAIMERS.put(ctx, new WeakReference<>(callback));
        }
        // A local of the exact type: invokeExact sees a conditional expression as Object.
        MemorySegment stub = callback == null ? MemorySegment.NULL : Handles.ON_RECLAIM_STUB;
        int rc;
        try {
            rc = (int) Handles.MB_BUDGET_ON_RECLAIM.invokeExact(child, stub, MemorySegment.ofAddress(ctx));
        } catch (Throwable t) {
            RECLAIMERS.remove(ctx);
            throw unexpected(t);
        }
        if (rc != OK) {
            RECLAIMERS.remove(ctx);
            return rc;
        }
        Long old = callback == null ? RECLAIM_CONTEXT.remove(child) : RECLAIM_CONTEXT.put(child, ctx);
        if (old != null) {
            RECLAIMERS.remove(old);
        }
        return rc;
    }

    @Override
    public int childSetReclaimWait(long child, int waitMs) {
        try {
            return (int) Handles.MB_BUDGET_SET_RECLAIM_WAIT.invokeExact(child, waitMs);
        } catch (Throwable t) {
            throw unexpected(t);
        }
    }

    @Override
    public int budgetReportJson(long runtime, long child, String[] out) {
        try (Arena arena = Arena.ofConfined()) {
            MemorySegment needed = arena.allocate(JAVA_LONG);
            int rc = (int) Handles.MB_BUDGET_REPORT_JSON.invokeExact(runtime, child, MemorySegment.NULL, 0L, needed);
            long size = needed.get(JAVA_LONG, 0);
            if (rc != OK && size == 0) {
                return rc;
            }
            MemorySegment buf = arena.allocate(size);
            rc = (int) Handles.MB_BUDGET_REPORT_JSON.invokeExact(runtime, child, buf, size, needed);
            if (rc == OK) {
                out[0] = new String(buf.asSlice(0, size - 1).toArray(JAVA_BYTE), StandardCharsets.UTF_8);
            }
            return rc;
        } catch (Throwable t) {
            throw unexpected(t);
        }
    }

    /** Turns what {@code invokeExact} declares into an unchecked error (it never throws otherwise). */
    private static AssertionError unexpected(Throwable t) {
        if (t instanceof RuntimeException r) {
            throw r;
        }
        if (t instanceof Error e) {
            throw e;
        }
        return new AssertionError("a membudget downcall threw a checked exception", t);
    }

    @Override
    public int abiVersion() {
        try {
            return (int) Handles.MB_ABI_VERSION.invokeExact();
        } catch (Throwable t) {
            throw unexpected(t);
        }
    }

    @Override
    public String lastErrorMessage() {
        byte[] buf = MESSAGE.get();
        long[] needed = new long[1];
        int rc = lastError(buf, needed);
        if (rc != OK && needed[0] > buf.length) {
            buf = new byte[Math.toIntExact(needed[0])];
            lastError(buf, needed);
        }
        int len = (int) Math.max(0, Math.min(needed[0] - 1, buf.length - 1));
        return new String(buf, 0, len, StandardCharsets.UTF_8);
    }

    private static int lastError(byte[] buf, long[] needed) {
        try {
            return (int) Handles.MB_LAST_ERROR_MESSAGE.invokeExact(
                    MemorySegment.ofArray(buf), (long) buf.length, MemorySegment.ofArray(needed));
        } catch (Throwable t) {
            throw unexpected(t);
        }
    }

    @Override
    public int lastRefusal(long[] out, String[] text) {
        // mb_refusal: u32 struct_size, u32 category, u64 requested, u64 used, u64 quota,
        // u32 limit, u32 role, char key[64], char message[1024].
        try (Arena arena = Arena.ofConfined()) {
            MemorySegment r = arena.allocate(REFUSAL_STRUCT_SIZE, 8); // zeroed
            r.set(JAVA_INT, 0, REFUSAL_STRUCT_SIZE);
            int rc = (int) Handles.MB_LAST_REFUSAL.invokeExact(r);
            if (rc == OK) {
                out[0] = r.get(JAVA_INT, 4);
                out[1] = r.get(JAVA_LONG, 8);
                out[2] = r.get(JAVA_LONG, 16);
                out[3] = r.get(JAVA_LONG, 24);
                out[4] = r.get(JAVA_INT, 32);
                out[5] = r.get(JAVA_INT, 36);
                text[0] = r.getString(REFUSAL_KEY);
                text[1] = r.getString(REFUSAL_MESSAGE);
            }
            return rc;
        } catch (Throwable t) {
            throw unexpected(t);
        }
    }

    @Override
    public int reportRefusals(int enabled) {
        try {
            return (int) Handles.MB_REPORT_REFUSALS.invokeExact(enabled);
        } catch (Throwable t) {
            throw unexpected(t);
        }
    }

    @Override
    public int runtimeNew(RuntimeOptions options, long[] runtimeOut) {
        // mb_runtime_options: u32 struct_size, u32 role, char *config_file,
        // const char *const *properties, u32 properties_len, u32 ignore_container,
        // u32 use_environment, u32 flags, then (ABI 1.1) const char *config_section,
        // u32 config_format, flink_version, deployment, host, strict, verbose_errors,
        // quota_source.
        try (Arena arena = Arena.ofConfined()) {
            MemorySegment opts = arena.allocate(RUNTIME_OPTIONS_SIZE, 8); // zeroed
            opts.set(JAVA_INT, 0, RUNTIME_OPTIONS_SIZE);
            opts.set(JAVA_INT, 4, options.role());
            if (options.configFile() != null) {
                opts.set(ADDRESS, 8, arena.allocateFrom(options.configFile()));
            }
            List<String> props = options.properties();
            if (!props.isEmpty()) {
                MemorySegment array = arena.allocate(ADDRESS, props.size());
                for (int i = 0; i < props.size(); i++) {
                    array.setAtIndex(ADDRESS, i, arena.allocateFrom(props.get(i)));
                }
                opts.set(ADDRESS, 16, array);
            }
            opts.set(JAVA_INT, 24, props.size());
            opts.set(JAVA_INT, 28, options.ignoreContainer() ? 1 : 0);
            opts.set(JAVA_INT, 32, options.useEnvironment() ? 1 : 0);
            opts.set(JAVA_INT, 36, options.flags());
            if (options.configSection() != null) {
                opts.set(ADDRESS, 40, arena.allocateFrom(options.configSection()));
            }
            opts.set(JAVA_INT, 48, options.configFormat());
            opts.set(JAVA_INT, 52, options.flinkVersion());
            opts.set(JAVA_INT, 56, options.deployment());
            opts.set(JAVA_INT, 60, options.host());
            opts.set(JAVA_INT, 64, options.strict() ? 1 : 0);
            opts.set(JAVA_INT, 68, options.verboseErrors() ? 1 : 0);
            opts.set(JAVA_INT, 72, options.quotaSource());
            MemorySegment out = arena.allocate(JAVA_LONG);
            int rc = (int) Handles.MB_RUNTIME_NEW.invokeExact(opts, out);
            runtimeOut[0] = out.get(JAVA_LONG, 0);
            return rc;
        } catch (Throwable t) {
            throw unexpected(t);
        }
    }

    @Override
    public int runtimeFree(long runtime) {
        try {
            return (int) Handles.MB_RUNTIME_FREE.invokeExact(runtime);
        } catch (Throwable t) {
            throw unexpected(t);
        }
    }

    /** The size-query-then-copy protocol of {@code mb_plan_json} and {@code mb_jvm_args}. */
    private static int text(MethodHandle f, long runtime, String[] out) {
        try (Arena arena = Arena.ofConfined()) {
            MemorySegment needed = arena.allocate(JAVA_LONG);
            int rc = (int) f.invokeExact(runtime, MemorySegment.NULL, 0L, needed);
            long size = needed.get(JAVA_LONG, 0);
            if (rc != OK && size == 0) {
                return rc; // refused before sizing: a bad handle
            }
            MemorySegment buf = arena.allocate(size);
            rc = (int) f.invokeExact(runtime, buf, size, needed);
            if (rc == OK) {
                out[0] = new String(buf.asSlice(0, size - 1).toArray(JAVA_BYTE), StandardCharsets.UTF_8);
            }
            return rc;
        } catch (Throwable t) {
            throw unexpected(t);
        }
    }

    @Override
    public int planJson(long runtime, String[] out) {
        return text(Handles.MB_PLAN_JSON, runtime, out);
    }

    @Override
    public int jvmArgs(long runtime, String[] out) {
        return text(Handles.MB_JVM_ARGS, runtime, out);
    }

    @Override
    public int reserve(long runtime, int category, long bytes) {
        try {
            return (int) Handles.MB_RESERVE.invokeExact(runtime, category, bytes);
        } catch (Throwable t) {
            throw unexpected(t);
        }
    }

    @Override
    public int release(long runtime, int category, long bytes) {
        try {
            return (int) Handles.MB_RELEASE.invokeExact(runtime, category, bytes);
        } catch (Throwable t) {
            throw unexpected(t);
        }
    }

    @Override
    public int usage(long runtime, int category, long[] out) {
        // mb_category_usage: u32 struct_size, u32 category, 7 × u64, u32 enforced, u32 reserved.
        long[] raw = new long[USAGE_STRUCT_SIZE / 8];
        MemorySegment s = MemorySegment.ofArray(raw);
        s.set(JAVA_INT, 0, USAGE_STRUCT_SIZE);
        int rc;
        try {
            rc = (int) Handles.MB_USAGE.invokeExact(runtime, category, s);
        } catch (Throwable t) {
            throw unexpected(t);
        }
        if (rc == OK) {
            System.arraycopy(raw, 1, out, 0, 7);
            out[7] = Integer.toUnsignedLong(s.get(JAVA_INT, 64));
        }
        return rc;
    }

    @Override
    public int localPoolNew(long runtime, int minBuffers, int maxBuffers, long[] poolOut) {
        try (Arena arena = Arena.ofConfined()) {
            MemorySegment out = arena.allocate(JAVA_LONG);
            int rc = (int) Handles.MB_LOCAL_POOL_NEW.invokeExact(runtime, minBuffers, maxBuffers, out);
            poolOut[0] = out.get(JAVA_LONG, 0);
            return rc;
        } catch (Throwable t) {
            throw unexpected(t);
        }
    }

    @Override
    public int localPoolFree(long pool) {
        try {
            return (int) Handles.MB_LOCAL_POOL_FREE.invokeExact(pool);
        } catch (Throwable t) {
            throw unexpected(t);
        }
    }

    @Override
    public int bufferRequest(long pool, long[] bufferOut) {
        // mb_buffer is { ptr, capacity, id }: three 8-byte fields, written straight into the array.
        try {
            return (int) Handles.MB_BUFFER_REQUEST.invokeExact(pool, MemorySegment.ofArray(bufferOut));
        } catch (Throwable t) {
            throw unexpected(t);
        }
    }

    @Override
    public int bufferRequestTimeout(long pool, int timeoutMs, long[] bufferOut) {
        // Blocks: not critical, so the out-struct is native memory.
        try (Arena arena = Arena.ofConfined()) {
            MemorySegment out = arena.allocate(JAVA_LONG, BUFFER_LONGS);
            int rc = (int) Handles.MB_BUFFER_REQUEST_TIMEOUT.invokeExact(pool, timeoutMs, out);
            if (rc == OK) {
                MemorySegment.copy(out, JAVA_LONG, 0, bufferOut, 0, BUFFER_LONGS);
            }
            return rc;
        } catch (Throwable t) {
            throw unexpected(t);
        }
    }

    @Override
    public int localPoolOnAvailable(long pool, BufferCallback callback) {
        long ctx = NEXT_CONTEXT.getAndIncrement();
        PENDING.put(ctx, callback); // before the call: it may run the callback at once
        int rc;
        try {
            rc = (int) Handles.MB_LOCAL_POOL_ON_AVAILABLE.invokeExact(
                    pool, Handles.ON_AVAILABLE_STUB, MemorySegment.ofAddress(ctx));
        } catch (Throwable t) {
            PENDING.remove(ctx);
            throw unexpected(t);
        }
        if (rc != OK) {
            PENDING.remove(ctx); // refused: the library will never call it
        }
        return rc;
    }

    @Override
    public int bufferRecycle(long bufferId) {
        try {
            return (int) Handles.MB_BUFFER_RECYCLE.invokeExact(bufferId);
        } catch (Throwable t) {
            throw unexpected(t);
        }
    }

    @Override
    public int managedAllocatePages(long runtime, long owner, int count, long[] pagesOut) {
        try (Arena arena = Arena.ofConfined()) {
            MemorySegment out = arena.allocate(JAVA_LONG, Math.max(1, 3L * count));
            int rc = (int) Handles.MB_MANAGED_ALLOCATE_PAGES.invokeExact(runtime, owner, count, out);
            if (rc == OK) {
                MemorySegment.copy(out, JAVA_LONG, 0, pagesOut, 0, 3 * count);
            }
            return rc;
        } catch (Throwable t) {
            throw unexpected(t);
        }
    }

    @Override
    public int managedRelease(long runtime, long pageId) {
        try {
            return (int) Handles.MB_MANAGED_RELEASE.invokeExact(runtime, pageId);
        } catch (Throwable t) {
            throw unexpected(t);
        }
    }

    @Override
    public int managedReleaseAll(long runtime, long owner) {
        try {
            return (int) Handles.MB_MANAGED_RELEASE_ALL.invokeExact(runtime, owner);
        } catch (Throwable t) {
            throw unexpected(t);
        }
    }

    @Override
    public MemoryView view(long address, long length, boolean revocable) {
        return revocable ? new ScopedView(address, length) : new PlainView(address, length);
    }

    /** All of the address space, to slice views from (one restricted call, not one per view). */
    private static final MemorySegment EVERYTHING = MemorySegment.NULL.reinterpret(Long.MAX_VALUE);

    /** A slice of the global scope: as cheap as JNA's view, and as unrevocable. */
    private record PlainView(ByteBuffer byteBuffer) implements MemoryView {
        PlainView(long address, long length) {
            this(EVERYTHING.asSlice(address, length).asByteBuffer().order(ByteOrder.nativeOrder()));
        }

        @Override
        public boolean revocable() {
            return false;
        }

        @Override
        public void revoke() {
            // Nothing to do: a global-scope segment cannot be invalidated.
        }
    }

    /** A segment of its own shared arena: closing the arena revokes every access to it. */
    private static final class ScopedView implements MemoryView {
        private final Arena arena = Arena.ofShared();
        private final ByteBuffer bytes;
        private boolean revoked; // guarded by this

        ScopedView(long address, long length) {
            this.bytes = MemorySegment.ofAddress(address).reinterpret(length, arena, null).asByteBuffer()
                    .order(ByteOrder.nativeOrder()); // as JNA's views are
        }

        @Override
        public ByteBuffer byteBuffer() {
            return bytes;
        }

        @Override
        public boolean revocable() {
            return true;
        }

        @Override
        public synchronized void revoke() {
            if (revoked) {
                return;
            }
            try {
                arena.close();
            } catch (IllegalStateException e) {
                throw new IllegalStateException("the memory's ByteBuffer is still in use by an operation"
                        + " on another thread (e.g. an I/O call): it was not given back; retry when that"
                        + " operation has finished", e);
            }
            revoked = true;
        }
    }

    @Override
    public String name() {
        return "ffm";
    }

    @Override
    public String librarySource() {
        return "FFM, " + source;
    }
}
