"""Round trips per second through the package (not the raw ABI): request_buffer + close, and
reserve + release. Every status is checked by the package (a failure raises). A quick rate for
comparison with the other hosts, not a benchmark."""
import sys
import time

import membudget as mb


def main(n: int = 200_000) -> None:
    with mb.MemBudget({"taskmanager.memory.process.size": "1g"}, ignore_container=True) as budget:
        with budget.create_local_buffer_pool(1, 16) as pool:
            request, direct = pool.request_buffer, mb.Category.DIRECT
            t0 = time.perf_counter()
            for _ in range(n):
                request().close()
            t1 = time.perf_counter()
            for _ in range(n):
                budget.reserve(direct, 4096)
                budget.release(direct, 4096)
            t2 = time.perf_counter()
        assert budget.usage(direct).used == 0
    for what, seconds in (("buffer_request+recycle", t1 - t0), ("reserve+release", t2 - t1)):
        print(f"perf python {what} {n / seconds:.0f} round trips/s ({seconds / n * 1e9:.1f} ns each)")


if __name__ == "__main__":
    main(int(sys.argv[1]) if len(sys.argv) > 1 else 200_000)
