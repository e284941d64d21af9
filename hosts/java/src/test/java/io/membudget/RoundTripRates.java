package io.membudget;

/**
 * Round trips per second through the library (not the raw ABI): {@code requestBuffer} +
 * {@code close}, and {@code reserve} + {@code release}. Every call's status is checked by the
 * library (a failure throws and ends the run). A quick rate for comparison with the other hosts,
 * not a benchmark: run it on an idle machine for numbers worth quoting.
 */
public final class RoundTripRates {
    private RoundTripRates() {}

    public static void main(String[] args) {
        int n = args.length > 0 ? Integer.parseInt(args[0]) : 2_000_000;
        try (MemBudget budget = Runtimes.open(); LocalBufferPool pool = budget.createLocalBufferPool(1, 16)) {
            buffers(pool, n / 10); // warm up the JIT
            reservations(budget, n / 10);
            long t0 = System.nanoTime();
            buffers(pool, n);
            long t1 = System.nanoTime();
            reservations(budget, n);
            long t2 = System.nanoTime();
            print("buffer_request+recycle", n, t1 - t0);
            print("reserve+release", n, t2 - t1);
            if (budget.usage(Category.DIRECT).used() != 0) {
                throw new AssertionError("direct memory not balanced after the run");
            }
        }
    }

    private static void buffers(LocalBufferPool pool, int n) {
        for (int i = 0; i < n; i++) {
            pool.requestBuffer().close();
        }
    }

    private static void reservations(MemBudget budget, int n) {
        for (int i = 0; i < n; i++) {
            budget.reserve(Category.DIRECT, 4096);
            budget.release(Category.DIRECT, 4096);
        }
    }

    private static void print(String what, int n, long nanos) {
        System.out.printf("perf java %s %.0f round trips/s (%.1f ns each)%n",
                what, n / (nanos / 1e9), (double) nanos / n);
    }
}
