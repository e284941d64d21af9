// Java 17 host test of the membudget C ABI through JNA direct mapping: plan, reservations with
// quota errors as exceptions, buffers as direct ByteBuffers, multi-threaded request/recycle,
// the availability callback. Prints "N passed, N failed".

import com.sun.jna.Callback;
import com.sun.jna.Memory;
import com.sun.jna.Native;
import com.sun.jna.Pointer;
import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;

public final class TestMembudget {
    /** The C ABI, bound by JNA direct mapping. Handles are pointer-sized tokens (long). */
    static final class Mb {
        static { Native.register("membudget"); }

        static final int OK = 0, ERR_QUOTA_EXCEEDED = -1, ERR_INVALID_ARGUMENT = -2,
            ERR_NULL_POINTER = -3, ERR_INVALID_HANDLE = -4, ERR_DESTROYED = -5, ERR_TIMEOUT = -6,
            ERR_UNAVAILABLE = -7, ERR_CONFIG = -8, ERR_BUFFER_TOO_SMALL = -10;
        static final int HEAP = 0, DIRECT = 1, MANAGED = 2, NETWORK = 3;

        interface BufferCallback extends Callback {
            void invoke(Pointer ctx, int status, Pointer buffer);
        }

        static native int mb_abi_version();
        static native int mb_last_error_message(byte[] buf, long len, long[] needed);
        static native int mb_runtime_new(Pointer options, long[] out);
        static native int mb_runtime_free(long rt);
        static native int mb_plan_json(long rt, byte[] buf, long len, long[] needed);
        static native int mb_reserve(long rt, int category, long bytes);
        static native int mb_release(long rt, int category, long bytes);
        static native int mb_usage(long rt, int category, long[] usage);
        static native int mb_local_pool_new(long rt, int min, int max, long[] out);
        static native int mb_local_pool_free(long pool);
        static native int mb_buffer_request(long pool, long[] buffer);
        static native int mb_buffer_request_timeout(long pool, int timeoutMs, long[] buffer);
        static native int mb_buffer_recycle(long id);
        static native int mb_local_pool_on_available(long pool, BufferCallback cb, Pointer ctx);
    }

    /** A failed call: the status code and the library's message. */
    static final class MembudgetException extends RuntimeException {
        final int status;

        MembudgetException(int status) {
            super("[" + status + "] " + lastError());
            this.status = status;
        }
    }

    static String lastError() {
        long[] need = new long[1];
        Mb.mb_last_error_message(null, 0, need);
        byte[] buf = new byte[(int) need[0]];
        Mb.mb_last_error_message(buf, buf.length, need);
        return new String(buf, 0, buf.length - 1, StandardCharsets.UTF_8);
    }

    static void check(int rc) {
        if (rc != Mb.OK) throw new MembudgetException(rc);
    }

    /** A 1 GiB TaskManager runtime, container ignored. */
    static long runtime(String... extra) {
        List<String> props = new ArrayList<>(List.of("taskmanager.memory.process.size=1g"));
        props.addAll(List.of(extra));
        Memory strings = new Memory(8L * props.size());
        List<Memory> keep = new ArrayList<>();
        for (int i = 0; i < props.size(); i++) {
            byte[] b = (props.get(i) + "\0").getBytes(StandardCharsets.UTF_8);
            Memory m = new Memory(b.length);
            m.write(0, b, 0, b.length);
            keep.add(m);
            strings.setPointer(8L * i, m);
        }
        Memory opts = new Memory(40);
        opts.clear();
        opts.setInt(0, 40);                // struct_size
        opts.setInt(4, 0);                 // role: MB_ROLE_TASKMANAGER
        opts.setPointer(16, strings);      // properties
        opts.setInt(24, props.size());     // properties_len
        opts.setInt(28, 1);                // ignore_container
        long[] rt = new long[1];
        check(Mb.mb_runtime_new(opts, rt));
        return rt[0];
    }

    /** mb_category_usage as longs: [1]=used [3]=quota [5]=failures [6]=host_reserved. */
    static long[] usage(long rt, int category) {
        long[] u = new long[9];
        u[0] = 72; // struct_size (low half of the first 8 bytes), category written by the call
        check(Mb.mb_usage(rt, category, u));
        return u;
    }

    static final class Buf {
        final ByteBuffer bytes;
        final long id;

        Buf(long[] raw) {
            this.bytes = new Pointer(raw[0]).getByteBuffer(0, raw[1]);
            this.id = raw[2];
        }
    }

    static Buf request(long pool) {
        long[] raw = new long[3];
        check(Mb.mb_buffer_request(pool, raw));
        return new Buf(raw);
    }

    static Buf request(long pool, int timeoutMs) {
        long[] raw = new long[3];
        check(Mb.mb_buffer_request_timeout(pool, timeoutMs, raw));
        return new Buf(raw);
    }

    static int passed, failed;

    interface Body { void run() throws Exception; }

    static void test(String name, Body body) {
        try {
            body.run();
            passed++;
        } catch (Throwable t) {
            failed++;
            System.err.println("FAIL " + name + ": " + t);
        }
    }

    static void expect(boolean cond, String what) {
        if (!cond) throw new AssertionError(what);
    }

    static MembudgetException expectError(int status, Body body) throws Exception {
        try {
            body.run();
        } catch (MembudgetException e) {
            expect(e.status == status, "expected " + status + ", got " + e.getMessage());
            return e;
        }
        throw new AssertionError("expected status " + status + ", call succeeded");
    }

    public static void main(String[] args) throws Exception {
        test("version", () -> expect(Mb.mb_abi_version() == 1 << 16, "abi version"));

        test("plan", () -> {
            long rt = runtime();
            long[] need = new long[1];
            expect(Mb.mb_plan_json(rt, null, 0, need) == Mb.ERR_BUFFER_TOO_SMALL, "size query");
            byte[] json = new byte[(int) need[0]];
            check(Mb.mb_plan_json(rt, json, json.length, need));
            String s = new String(json, 0, json.length - 1, StandardCharsets.UTF_8);
            expect(s.contains("\"total_process_memory\": 1073741824"), s);
            check(Mb.mb_runtime_free(rt));
            MembudgetException e = expectError(Mb.ERR_INVALID_HANDLE, () -> check(Mb.mb_runtime_free(rt)));
            expect(e.getMessage().contains("already freed"), e.getMessage());
        });

        test("config error", () -> {
            MembudgetException e = expectError(Mb.ERR_CONFIG, () -> runtime("taskmanager.memory.process.size=64m"));
            expect(e.getMessage().contains("TaskManager memory configuration failed"), e.getMessage());
        });

        test("quota error is an exception with the message", () -> {
            long rt = runtime();
            long quota = usage(rt, Mb.DIRECT)[3];
            MembudgetException e = expectError(Mb.ERR_QUOTA_EXCEEDED,
                () -> check(Mb.mb_reserve(rt, Mb.DIRECT, quota + 1)));
            expect(e.getMessage().contains("Cannot reserve " + (quota + 1) + " bytes of direct memory (used: 0, quota: "
                + quota + "). Increase 'taskmanager.memory.task.off-heap.size'"), e.getMessage());
            check(Mb.mb_reserve(rt, Mb.DIRECT, 4096));
            expect(usage(rt, Mb.DIRECT)[1] == 4096, "used");
            expectError(Mb.ERR_INVALID_ARGUMENT, () -> check(Mb.mb_release(rt, Mb.DIRECT, 4097)));
            check(Mb.mb_release(rt, Mb.DIRECT, 4096));
            expect(usage(rt, Mb.DIRECT)[1] == 0, "balanced");
            check(Mb.mb_runtime_free(rt));
        });

        test("buffers as direct ByteBuffers", () -> {
            long rt = runtime();
            long[] pool = new long[1];
            check(Mb.mb_local_pool_new(rt, 1, 2, pool));
            Buf a = request(pool[0]);
            Buf b = request(pool[0]);
            expect(a.bytes.isDirect() && a.bytes.capacity() == 32768, "direct 32 KiB");
            a.bytes.putLong(0, 0x1122334455667788L);
            expect(new Pointer(Pointer.nativeValue(Native.getDirectBufferPointer(a.bytes))).getLong(0)
                == 0x1122334455667788L, "zero copy");
            expectError(Mb.ERR_UNAVAILABLE, () -> request(pool[0]));
            expectError(Mb.ERR_TIMEOUT, () -> request(pool[0], 10));
            check(Mb.mb_buffer_recycle(a.id));
            expectError(Mb.ERR_INVALID_HANDLE, () -> check(Mb.mb_buffer_recycle(a.id)));
            expectError(Mb.ERR_INVALID_HANDLE, () -> check(Mb.mb_buffer_recycle(12345)));
            check(Mb.mb_buffer_recycle(b.id));
            check(Mb.mb_local_pool_free(pool[0]));
            expectError(Mb.ERR_INVALID_HANDLE, () -> request(pool[0]));
            check(Mb.mb_runtime_free(rt));
        });

        test("multi-threaded request/recycle", () -> {
            long rt = runtime();
            long[] pool = new long[1];
            check(Mb.mb_local_pool_new(rt, 2, 2, pool));
            AtomicInteger errors = new AtomicInteger();
            List<Thread> threads = new ArrayList<>();
            for (int t = 0; t < 4; t++) {
                final int me = t;
                Thread th = new Thread(() -> {
                    try {
                        for (int i = 0; i < 5000; i++) {
                            Buf b = request(pool[0], 5000);
                            b.bytes.putInt(0, me);
                            if (b.bytes.getInt(0) != me) errors.incrementAndGet();
                            check(Mb.mb_buffer_recycle(b.id));
                            check(Mb.mb_reserve(rt, Mb.HEAP, 128));
                            check(Mb.mb_release(rt, Mb.HEAP, 128));
                        }
                    } catch (Throwable e) {
                        System.err.println(e);
                        errors.incrementAndGet();
                    }
                });
                threads.add(th);
                th.start();
            }
            for (Thread th : threads) th.join();
            expect(errors.get() == 0, "errors: " + errors.get());
            expect(usage(rt, Mb.HEAP)[1] == 0, "heap balanced");
            check(Mb.mb_local_pool_free(pool[0]));
            check(Mb.mb_runtime_free(rt));
        });

        test("availability callback completes a future", () -> {
            long rt = runtime();
            long[] pool = new long[1];
            check(Mb.mb_local_pool_new(rt, 1, 1, pool));
            Buf held = request(pool[0]);
            CompletableFuture<Long> next = new CompletableFuture<>();
            Mb.BufferCallback cb = (ctx, status, buffer) -> {
                if (status == Mb.OK) next.complete(buffer.getLong(16));
                else next.completeExceptionally(new MembudgetException(status));
            };
            check(Mb.mb_local_pool_on_available(pool[0], cb, null));
            expect(!next.isDone(), "registered, not yet called");
            Thread recycler = new Thread(() -> check(Mb.mb_buffer_recycle(held.id)));
            recycler.start();
            long id = next.get(5, TimeUnit.SECONDS);
            recycler.join();
            check(Mb.mb_buffer_recycle(id));
            check(Mb.mb_local_pool_free(pool[0]));
            check(Mb.mb_runtime_free(rt));
        });

        if (args.length > 0 && args[0].equals("--perf")) perf();
        System.out.println(passed + " passed, " + failed + " failed");
        System.exit(failed == 0 ? 0 : 1);
    }

    static void perf() {
        long rt = runtime();
        long[] pool = new long[1];
        check(Mb.mb_local_pool_new(rt, 1, 16, pool));
        long[] raw = new long[3];
        int n = 1_000_000;
        for (int i = 0; i < n / 10; i++) { // warm up the JIT
            Mb.mb_buffer_request(pool[0], raw);
            Mb.mb_buffer_recycle(raw[2]);
            Mb.mb_reserve(rt, Mb.DIRECT, 4096);
            Mb.mb_release(rt, Mb.DIRECT, 4096);
        }
        long t0 = System.nanoTime();
        for (int i = 0; i < n; i++) {
            Mb.mb_buffer_request(pool[0], raw);
            Mb.mb_buffer_recycle(raw[2]);
        }
        long t1 = System.nanoTime();
        for (int i = 0; i < n; i++) {
            Mb.mb_reserve(rt, Mb.DIRECT, 4096);
            Mb.mb_release(rt, Mb.DIRECT, 4096);
        }
        long t2 = System.nanoTime();
        System.out.printf("perf java buffer_request+recycle %.0f round trips/s%n", n / ((t1 - t0) / 1e9));
        System.out.printf("perf java reserve+release %.0f round trips/s%n", n / ((t2 - t1) / 1e9));
        Mb.mb_local_pool_free(pool[0]);
        Mb.mb_runtime_free(rt);
    }
}
