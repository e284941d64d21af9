#!/usr/bin/env python3
"""Prints issue 15's (and the child-budget) performance targets as ratios, from the criterion
results of the last `cargo bench -p membudget-benches` runs (medians, each ratio's two sides from
the same group, so from the same binary and session).

Usage: benches/ratios.py [criterion-dir]   (default: $CARGO_TARGET_DIR/criterion or
target/criterion). A target whose benchmarks have not been run is listed as "not run", never
guessed; a missed target is marked MISSED and makes the exit status 1.
"""

import json
import os
import sys
from pathlib import Path


def medians(root: Path) -> dict:
    """(group, function, parameter) -> median ns of the newest run."""
    found = {}
    for bench in root.rglob("new/benchmark.json"):
        estimates = bench.with_name("estimates.json")
        if not estimates.exists():
            continue
        meta = json.loads(bench.read_text())
        est = json.loads(estimates.read_text())
        key = (meta["group_id"], meta["function_id"], meta["value_str"])
        found[key] = est["median"]["point_estimate"]
    return found


# (what, group, measured, baseline, parameter, relation, bound)
#  relation "le": measured / baseline <= bound (slower-or-equal by at most `bound`);
#  "ge_speedup": baseline / measured >= bound (measured is `bound` times faster).
TARGETS = [
    ("pool 1 thread vs Mutex<VecDeque> pool", "bufferpool/roundtrip_1thread",
     "LocalBufferPool", "Mutex<VecDeque>", None, "le", 1.0),
    ("pool 1 thread vs bare ArrayQueue floor", "bufferpool/roundtrip_1thread",
     "LocalBufferPool", "ArrayQueue (floor)", None, "le", 1.3),
    ("pool 2 threads (producer -> recycler) vs Mutex<VecDeque> pool",
     "bufferpool/roundtrip_2threads", "LocalBufferPool", "Mutex<VecDeque>", None,
     "ge_speedup", 1.5),
    ("C ABI buffer round trip vs Rust", "ffi_buffer_round_trip", "c_abi", "rust", None,
     "le", 1.5),
    ("C ABI buffer round trip, batches of 16, vs Rust", "ffi_buffer_round_trip_batch16",
     "c_abi", "rust", None, "le", 1.5),
    ("C ABI reserve+release vs Rust", "ffi_reserve_round_trip", "c_abi", "rust", None,
     "le", 1.5),
    ("managed page allocate+release vs Vec<u8>", "segments/allocate_release/one_32KiB_page",
     "MemoryManager::allocate_page", "Vec<u8>", None, "le", 1.0),
    ("64 B pair on the 600th live thread vs the 1st", "alloc_free_64B_nth_live_thread",
     "quota_mimalloc", "quota_mimalloc", ("600", "1"), "le", 1.15),
    ("64 B pair on the 2000th live thread vs the 1st", "alloc_free_64B_nth_live_thread",
     "quota_mimalloc", "quota_mimalloc", ("2000", "1"), "le", 1.15),
    ("64 B pair on the 2000th live thread, QuotaAllocator vs mimalloc",
     "alloc_free_64B_nth_live_thread", "quota_mimalloc", "mimalloc", ("2000", "2000"), "le",
     1.15),
    ("reserve+release 4 KiB, 3-level child budget vs flat", "reserve_release_4KiB",
     "child_3_levels", "flat", None, "le", 1.2),
    ("64 B allocator pair with a child budget entered vs without", "alloc_free_64B",
     "child_entered", "quota", None, "le", 1.05),
]

# (what, group, measured, baseline): ratios that explain a target, printed without a goal.
CONTEXT = [
    ("floor of any C ABI buffer round trip (Rust + the lease CAS) vs Rust",
     "ffi_buffer_round_trip", "rust_plus_one_cas", "rust"),
    ("C ABI buffer round trip vs its floor", "ffi_buffer_round_trip", "c_abi",
     "rust_plus_one_cas"),
    ("floor of any C ABI reserve+release (Rust + host account) vs Rust",
     "ffi_reserve_round_trip", "rust_plus_host_account", "rust"),
    ("managed page vs Vec<u8>, in a process that has started a thread",
     "segments/allocate_release/one_32KiB_page_threaded_process",
     "MemoryManager::allocate_page", "Vec<u8>"),
]


def main() -> int:
    default = Path(os.environ.get("CARGO_TARGET_DIR", "target")) / "criterion"
    root = Path(sys.argv[1]) if len(sys.argv) > 1 else default
    found = medians(root) if root.exists() else {}
    missed = 0
    print(f"{'target':<66} {'measured':>10} {'baseline':>10} {'ratio':>8}  goal")
    for what, group, meas, base, params, relation, bound in TARGETS:
        pm, pb = params if params else (None, None)
        m, b = found.get((group, meas, pm)), found.get((group, base, pb))
        if m is None or b is None:
            print(f"{what:<66} {'not run':>10}")
            continue
        if relation == "le":
            ratio, ok, goal = m / b, m / b <= bound, f"<= {bound}x"
            shown = f"{ratio:.2f}x"
        else:
            ratio, ok, goal = b / m, b / m >= bound, f">= {bound}x faster"
            shown = f"{ratio:.2f}x faster"
        missed += not ok
        mark = "" if ok else "  MISSED"
        print(f"{what:<66} {m:>8.1f}ns {b:>8.1f}ns {shown:>8}  {goal}{mark}")
    print()
    for what, group, meas, base in CONTEXT:
        m, b = found.get((group, meas, None)), found.get((group, base, None))
        if m is None or b is None:
            print(f"{what:<66} {'not run':>10}")
            continue
        print(f"{what:<66} {m:>8.1f}ns {b:>8.1f}ns {m / b:>7.2f}x")
    return 1 if missed else 0


if __name__ == "__main__":
    sys.exit(main())
