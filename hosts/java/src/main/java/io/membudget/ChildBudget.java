package io.membudget;

import io.membudget.internal.NativeAbi;
import io.membudget.internal.ReclaimCallback;
import java.time.Duration;
import java.util.Locale;
import java.util.Map;
import java.util.function.ToLongBiFunction;

/**
 * A child budget: its own per-category limits (and reserved minimums) below a runtime's budget
 * or another child (job, slot, operator); everything it charges counts against every ancestor.
 * Made by {@link MemBudget#createChildBudget} or {@link #createChild}.
 *
 * <p>{@link #reserve} charges it (as its consumer {@code host}). When a limit refuses, the
 * reclaimers ({@link #onReclaim}) of other children under that limit are asked to free memory
 * before {@link QuotaExceededException} is thrown; its message names the budget and its top
 * consumers. Thread-safe. {@link #close()} releases what it holds; children made under it stay
 * usable.
 */
public final class ChildBudget implements AutoCloseable {
    private final MemBudget runtime; // keeps the runtime reachable while in use
    private final NativeAbi abi;
    private final OwnedHandle handle;
    private final String name;
    /**
     * The registered reclaimer, held here only: the library's registry holds it weakly, so a
     * reclaimer that reaches this budget (the usual one releases from it) does not keep it from
     * becoming unreachable and being freed by its cleaner.
     */
    private volatile ReclaimCallback reclaimer;

    ChildBudget(MemBudget runtime, NativeAbi abi, long parent, String name, Map<Category, Long> limits,
            Map<Category, Long> reserved) {
        if (name == null || name.indexOf('\0') >= 0) {
            throw new InvalidArgumentException("child budget name must be a string without NUL");
        }
        this.runtime = runtime;
        this.abi = abi;
        this.name = name;
        long[] out = new long[1];
        int rc = abi.childNew(runtime.token(), parent, name, perCategory(name, "limit", limits, -1L),
                perCategory(name, "reserved minimum", reserved, 0L), out);
        if (rc != Status.OK) {
            throw Status.failure(abi, rc);
        }
        this.handle = new OwnedHandle(this, abi, out[0], abi::childFree, "child budget");
    }

    /**
     * The C array for {@code values}; {@code fallback} (no limit, no minimum) where a category is
     * left out. A negative value is refused: C reads these as unsigned, so -5 would silently be
     * a limit of about 2^64 bytes.
     */
    private static long[] perCategory(String name, String what, Map<Category, Long> values, long fallback) {
        if (values == null) {
            return null;
        }
        long[] arr = new long[] {fallback, fallback, fallback, fallback, fallback};
        values.forEach((c, v) -> {
            if (c == null || v == null || v < 0) {
                throw new InvalidArgumentException("child budget '" + name + "': " + what + " of "
                        + (c == null ? "category null" : c.toString().toLowerCase(Locale.ROOT))
                        + " is " + v + "; must be bytes >= 0 (leave the category out for "
                        + (fallback < 0 ? "no limit)" : "no minimum)"));
            }
            arr[c.code()] = v;
        });
        return arr;
    }

    /** The budget's name. */
    public String name() {
        return name;
    }

    /** A child of this budget ({@code limits}/{@code reserved} may be {@code null}). */
    public ChildBudget createChild(String name, Map<Category, Long> limits, Map<Category, Long> reserved) {
        return new ChildBudget(runtime, abi, handle.token(), name, limits, reserved);
    }

    /**
     * Charges {@code bytes} of {@code category}; may ask reclaimers and wait.
     *
     * @throws QuotaExceededException if a limit refuses (nothing is charged)
     * @throws InvalidArgumentException if {@code bytes} is negative
     */
    public void reserve(Category category, long bytes) {
        MemBudget.requireBytes("reserve", bytes);
        int rc = abi.childReserve(handle.token(), category.code(), bytes);
        if (rc != Status.OK) {
            throw Status.failure(abi, rc, category, bytes);
        }
    }

    /**
     * Gives back {@code bytes} reserved here.
     *
     * @throws InvalidArgumentException if more than the budget holds (nothing is released), or
     *     {@code bytes} is negative
     */
    public void release(Category category, long bytes) {
        MemBudget.requireBytes("release", bytes);
        check(abi.childRelease(handle.token(), category.code(), bytes));
    }

    /** Bytes (unsigned) of {@code category} used by this budget and everything under it. */
    public long used(Category category) {
        long[] out = new long[1];
        check(abi.childUsed(handle.token(), category.code(), out));
        return out[0];
    }

    /**
     * Registers {@code reclaimer.applyAsLong(category, bytes)} returning the bytes freed
     * ({@code null} removes it): called on the thread whose request did not fit; it should
     * {@link #release} what it can. Exceptions are logged and count as nothing freed.
     */
    public void onReclaim(ToLongBiFunction<Category, Long> reclaimer) {
        ReclaimCallback callback = reclaimer == null ? null
                : (category, bytes) -> reclaimer.applyAsLong(Category.of(category), bytes);
        synchronized (this) {
            ReclaimCallback old = this.reclaimer;
            this.reclaimer = callback; // before the library can call it: the ABI holds it weakly
            int rc = abi.childOnReclaim(handle.token(), callback);
            if (rc != Status.OK) {
                this.reclaimer = old;
                throw Status.failure(abi, rc);
            }
        }
    }

    /** How long a request here waits for reclaimers before it is refused (default 100 ms). */
    public void setReclaimWait(Duration wait) {
        long ms;
        try {
            ms = wait.toMillis();
        } catch (ArithmeticException tooLong) {
            ms = Long.MAX_VALUE;
        }
        if (ms < 0 || ms > 0xFFFF_FFFFL) {
            throw new InvalidArgumentException("setReclaimWait: " + wait + " is negative or above 2^32-1 ms");
        }
        check(abi.childSetReclaimWait(handle.token(), (int) ms));
    }

    /** This budget's subtree as JSON ({@code name}, {@code categories}, {@code consumers}, {@code children}). */
    public String reportJson() {
        String[] out = new String[1];
        check(abi.budgetReportJson(runtime.token(), handle.token(), out));
        return out[0];
    }

    /** Whether {@link #close()} was called. */
    public boolean isClosed() {
        return handle.isFreed();
    }

    /** Frees the handle (see the class docs); a second call does nothing. */
    @Override
    public void close() {
        handle.close();
    }

    private void check(int rc) {
        if (rc != Status.OK) {
            throw Status.failure(abi, rc);
        }
    }

    @Override
    public String toString() {
        return "ChildBudget(" + name + (isClosed() ? ", closed)" : ")");
    }
}
