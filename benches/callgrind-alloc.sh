#!/usr/bin/env bash
# QuotaAllocator against bare mimalloc, each installed with #[global_allocator] in its own binary
# (the alloc_shim_quota / alloc_shim_mimalloc examples), so every allocation goes through the
# real __rust_alloc/__rust_dealloc shim as in an application:
#
#  1. instructions per alloc+free pair of 16, 64 and 256 B (valgrind --tool=callgrind; the
#     difference between runs of N and 2N pairs, so start-up cancels out) — target ≤ +25;
#  2. instructions of an allocation-heavy program: serde_json parse + serialize of a 1000-record
#     document, and a BTreeMap<String, Vec<u64>> churn (differences of 2 and 4 rounds) —
#     target ≤ +3%;
#  3. wall time per pair natively (best of 5 runs of 20M pairs, alternating the binaries),
#     printed twice — target ≤ 1.15×. Wall time on a shared machine is noisy; the instruction
#     counts are not.
#
# Usage: benches/callgrind-alloc.sh [--no-wall]
set -euo pipefail
cd "$(dirname "$0")/.."
command -v valgrind >/dev/null || { echo "valgrind is required (apt-get install valgrind)" >&2; exit 1; }

cargo build --release -q -p membudget-benches --example alloc_shim_quota --example alloc_shim_mimalloc
dir="${CARGO_TARGET_DIR:-target}/release/examples"

# Instructions of one run (callgrind's "Collected" total).
instructions() {
  valgrind --tool=callgrind --callgrind-out-file=/dev/null "$@" 2>&1 >/dev/null |
    awk '/Collected :/ { print $NF }'
}

# Instructions per unit of work: (I(2n) - I(n)) / n.
per_unit() {
  local bin=$1 n=$2 one two
  shift 2
  one=$(instructions "$dir/$bin" "$@" "$n")
  two=$(instructions "$dir/$bin" "$@" "$((2 * n))")
  echo $(((two - one) / n))
}

echo "== instructions per alloc+free pair (callgrind)"
printf '%-8s %10s %10s %8s %8s\n' size quota mimalloc extra target
for size in 16 64 256; do
  q=$(per_unit alloc_shim_quota 200000 pairs "$size")
  m=$(per_unit alloc_shim_mimalloc 200000 pairs "$size")
  printf '%-8s %10d %10d %+8d %8s\n' "$size B" "$q" "$m" "$((q - m))" "<= +25"
done

echo "== instructions of an allocation-heavy program (callgrind)"
printf '%-34s %14s %14s %8s %8s\n' workload quota mimalloc extra target
for w in "json 1000" "btree 20000"; do
  # shellcheck disable=SC2086
  q=$(per_unit alloc_shim_quota 2 $w)
  # shellcheck disable=SC2086
  m=$(per_unit alloc_shim_mimalloc 2 $w)
  pct=$(awk -v q="$q" -v m="$m" 'BEGIN { printf "%+.2f%%", (q - m) * 100 / m }')
  case $w in
    json*) name="serde_json parse+serialize, 1 round" ;;
    *) name="BTreeMap churn, 20k keys, 1 round" ;;
  esac
  printf '%-34s %14d %14d %8s %8s\n' "$name" "$q" "$m" "$pct" "<= +3%"
done

if [ "${1:-}" != "--no-wall" ]; then
  echo "== wall time per 16 B pair, best of 5 alternating runs of 20M pairs (twice)"
  for round in 1 2; do
    best_q=999999 best_m=999999
    for _ in 1 2 3 4 5; do
      q=$("$dir/alloc_shim_quota" pairs 16 20000000 | awk '{ print $2 }')
      m=$("$dir/alloc_shim_mimalloc" pairs 16 20000000 | awk '{ print $2 }')
      best_q=$(awk -v a="$best_q" -v b="$q" 'BEGIN { print (b < a ? b : a) }')
      best_m=$(awk -v a="$best_m" -v b="$m" 'BEGIN { print (b < a ? b : a) }')
    done
    awk -v q="$best_q" -v m="$best_m" -v r="$round" \
      'BEGIN { printf "run %d: quota %.2f ns, mimalloc %.2f ns, ratio %.3fx (target <= 1.15x)\n", r, q, m, q / m }'
  done
fi
