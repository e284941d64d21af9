package io.membudget.internal;

/**
 * The C ABI of libmembudget ({@code membudget.h}) as seen from Java: one method per C function,
 * handles and ids as {@code long} tokens, every method returning the C status code.
 *
 * <p>Not API: the public classes in {@code io.membudget} turn statuses into exceptions and
 * tokens into objects. This interface exists so that the binding technology can change without
 * touching them: {@code FfmAbi} (the Foreign Function &amp; Memory API, Java 22+, in the jar's
 * {@code META-INF/versions/22}) and {@link JnaAbi} (JNA direct mapping, Java 17+).
 * {@link Backends#abi()} picks the implementation.
 *
 * <p>Out-parameters are small arrays the caller allocates; their layout is documented per method.
 * Implementations must be thread-safe and must not throw for a non-zero status: the status is
 * the result, and {@link #lastErrorMessage()} (read on the same thread, right after) its text.
 */
public interface NativeAbi {
    /** {@code MB_OK}. */
    int OK = 0;

    /** {@code mb_abi_version()}: {@code major << 16 | minor}. */
    int abiVersion();

    /** {@code mb_last_error_message}: the calling thread's last error text ("" if none). */
    String lastErrorMessage();

    /**
     * {@code mb_last_refusal}: the refusal behind the calling thread's last
     * {@code MB_ERR_QUOTA_EXCEEDED}. {@code out} (6 entries) receives category, requested, used,
     * quota (unsigned 64-bit values), limit and role; {@code text} (2 entries) the key to raise
     * ("" if none) and the message.
     */
    int lastRefusal(long[] out, String[] text);

    /** {@code mb_report_refusals}: {@code enabled} 1 writes each refusal to stderr, 0 stops. */
    int reportRefusals(int enabled);

    /** {@code mb_runtime_new}; {@code runtimeOut[0]} receives the handle. */
    int runtimeNew(RuntimeOptions options, long[] runtimeOut);

    /** {@code mb_runtime_free}. */
    int runtimeFree(long runtime);

    /** {@code mb_plan_json}; {@code out[0]} receives the JSON text. */
    int planJson(long runtime, String[] out);

    /** {@code mb_jvm_args}; {@code out[0]} receives the arguments. */
    int jvmArgs(long runtime, String[] out);

    /** {@code mb_reserve}. */
    int reserve(long runtime, int category, long bytes);

    /** {@code mb_release}. */
    int release(long runtime, int category, long bytes);

    /**
     * {@code mb_usage}; {@code out} (8 entries) receives used, peak, quota, available, failures,
     * host_reserved, host_allocated (unsigned 64-bit values) and enforced (0 or 1).
     */
    int usage(long runtime, int category, long[] out);

    /** {@code mb_local_pool_new}; {@code poolOut[0]} receives the handle. */
    int localPoolNew(long runtime, int minBuffers, int maxBuffers, long[] poolOut);

    /** {@code mb_local_pool_free}. */
    int localPoolFree(long pool);

    /** {@code mb_buffer_request}; {@code bufferOut} (3 entries) receives address, capacity, id. */
    int bufferRequest(long pool, long[] bufferOut);

    /** {@code mb_buffer_request_timeout}; {@code timeoutMs} is unsigned; out as above. */
    int bufferRequestTimeout(long pool, int timeoutMs, long[] bufferOut);

    /**
     * {@code mb_local_pool_on_available}. The implementation keeps {@code callback} reachable
     * until it has run, and never lets it throw into native code.
     */
    int localPoolOnAvailable(long pool, BufferCallback callback);

    /** {@code mb_buffer_recycle}. */
    int bufferRecycle(long bufferId);

    /**
     * {@code mb_managed_allocate_pages}; {@code pagesOut} (3 × count entries) receives address,
     * size, id per page.
     */
    int managedAllocatePages(long runtime, long owner, int count, long[] pagesOut);

    /** {@code mb_managed_release}. */
    int managedRelease(long runtime, long pageId);

    /** {@code mb_managed_release_all}. */
    int managedReleaseAll(long runtime, long owner);

    /**
     * A view over {@code length} bytes at {@code address} (no copy). With {@code revocable} and a
     * backend that can ({@link MemoryView#revocable()}), {@link MemoryView#revoke()} withdraws it;
     * otherwise it stays usable.
     */
    MemoryView view(long address, long length, boolean revocable);

    /** The backend's name: {@code "ffm"} or {@code "jna"} (the values of {@link Backends#PROPERTY}). */
    String name();

    /** Where the backend loaded libmembudget from, for messages. */
    String librarySource();

    // ABI 1.2: child budgets.

    /**
     * {@code mb_budget_child_new}: {@code parent} 0 for the runtime's budget; {@code limits} and
     * {@code reserved} 5 unsigned values each or {@code null}; {@code childOut[0]} receives the
     * handle.
     */
    int childNew(long runtime, long parent, String name, long[] limits, long[] reserved, long[] childOut);

    /** {@code mb_budget_child_free}. */
    int childFree(long child);

    /** {@code mb_budget_child_reserve}. */
    int childReserve(long child, int category, long bytes);

    /** {@code mb_budget_child_release}. */
    int childRelease(long child, int category, long bytes);

    /** {@code mb_budget_child_used}; {@code out[0]} receives the bytes (unsigned). */
    int childUsed(long child, int category, long[] out);

    /**
     * {@code mb_budget_on_reclaim}; {@code null} removes the callback. The callback is held
     * weakly: the caller keeps it reachable for as long as it wants it called (a child budget
     * holds its reclaimer), and a collected one counts as nothing freed.
     */
    int childOnReclaim(long child, ReclaimCallback callback);

    /** {@code mb_budget_set_reclaim_wait}; {@code waitMs} is unsigned. */
    int childSetReclaimWait(long child, int waitMs);

    /** {@code mb_budget_report_json}: {@code child} 0 for the whole tree; {@code out[0]} receives the JSON. */
    int budgetReportJson(long runtime, long child, String[] out);
}
