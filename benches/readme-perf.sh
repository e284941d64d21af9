#!/usr/bin/env bash
# Re-measures every row of README's Performance section, in the order the table lists them, on an
# idle machine: the criterion benches (two-thread groups, the C ABI and the threaded-process page
# twice, as the table shows both runs), the allocator's instruction counts through the real
# #[global_allocator] shim, the host libraries' rates, and the ratios against the targets. Logs go to $OUT (default
# target/readme-perf/); the last lines of each are what README quotes.
#
# Usage: benches/readme-perf.sh            (about 25 minutes on 2 cores)
# Flink's own Java pool beside membudget's Java host: hosts/java/bench.sh (needs a JDK 22+ and
# PyPI's apache-flink-libraries; see hosts/java/README.md). plan-vs-flink.py needs java and GNU time.
set -euo pipefail
cd "$(dirname "$0")/.."
target="${CARGO_TARGET_DIR:-target}"
out="${OUT:-$target/readme-perf}"
mkdir -p "$out"
quick=(--warm-up-time 1 --measurement-time 3)

echo "machine: $(lscpu | sed -n 's/^Model name: *//p' | head -n1), $(nproc) cores; $(date -u)" |
  tee "$out/machine.txt"

bench() { # bench <name> <log> [criterion filter]
  local name=$1 log=$2
  shift 2
  echo "== cargo bench --bench $name $* (log: $out/$log)"
  cargo bench -q -p membudget-benches --bench "$name" -- "${quick[@]}" "$@" >"$out/$log" 2>&1
}

bench allocator allocator.log
bench segments segments.log
bench pages_threaded_process pages-threaded-process.log
bench pages_threaded_process pages-threaded-process-second-run.log
bench bufferpool bufferpool.log
bench bufferpool bufferpool-2threads-second-run.log roundtrip_2threads
bench ffi ffi.log
bench ffi ffi-second-run.log
bench child_budgets child_budgets.log

echo "== benches/callgrind-alloc.sh (log: $out/callgrind-alloc.log)"
benches/callgrind-alloc.sh >"$out/callgrind-alloc.log" 2>&1

echo "== benches/callgrind-ffi.sh (log: $out/callgrind-ffi.log)"
benches/callgrind-ffi.sh >"$out/callgrind-ffi.log" 2>&1

echo "== benches/callgrind-pages.sh (log: $out/callgrind-pages.log)"
benches/callgrind-pages.sh >"$out/callgrind-pages.log" 2>&1

echo "== hosts/run.sh --perf (log: $out/hosts-perf.log)"
hosts/run.sh --perf >"$out/hosts-perf.log" 2>&1 || echo "hosts/run.sh --perf failed: see the log"

echo "== benches/plan-vs-flink.py (log: $out/plan-vs-flink.log)"
benches/plan-vs-flink.py >"$out/plan-vs-flink.log" 2>&1 || echo "plan-vs-flink failed: see the log"

echo "== benches/ratios.py"
benches/ratios.py "$target/criterion" | tee "$out/ratios.txt"
