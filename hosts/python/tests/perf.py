"""Round trips per second through the package: request_buffer + close, and reserve + release,
each beside the same ctypes calls without wrapper objects in the same run, so the ratio is the
package's cost. Every status is checked (a failure raises). A quick rate for comparison with the
other hosts, not a benchmark."""
import ctypes
import sys
import time

import membudget as mb
from membudget import _abi


def main(n: int = 200_000) -> None:
    lib = _abi.lib()
    with mb.MemBudget({"taskmanager.memory.process.size": "1g"}, ignore_container=True) as budget:
        with budget.create_local_buffer_pool(1, 16) as pool:
            request, direct = pool.request_buffer, mb.Category.DIRECT
            raw, req, rec, res, rel = _abi.RawBuffer(), lib.mb_buffer_request, lib.mb_buffer_recycle, lib.mb_reserve, lib.mb_release
            ref, lp, rt = ctypes.byref(raw), pool._handle, budget._handle
            t = [time.perf_counter()]
            for _ in range(n):
                request().close()
            t.append(time.perf_counter())
            for _ in range(n):
                if req(lp, ref) or rec(raw.id):
                    raise AssertionError(_abi.last_error_message())
            t.append(time.perf_counter())
            for _ in range(n):
                budget.reserve(direct, 4096)
                budget.release(direct, 4096)
            t.append(time.perf_counter())
            for _ in range(n):
                if res(rt, 1, 4096) or rel(rt, 1, 4096):
                    raise AssertionError(_abi.last_error_message())
            t.append(time.perf_counter())
        assert budget.usage(direct).used == 0
    d = [b - a for a, b in zip(t, t[1:])]
    for what, seconds, raw_seconds in (("buffer_request+recycle", d[0], d[1]), ("reserve+release", d[2], d[3])):
        print(
            f"perf python {what} {n / seconds:.0f} round trips/s ({seconds / n * 1e9:.1f} ns each; "
            f"ctypes alone {raw_seconds / n * 1e9:.1f} ns, {seconds / raw_seconds:.2f}x)"
        )


if __name__ == "__main__":
    main(int(sys.argv[1]) if len(sys.argv) > 1 else 200_000)
