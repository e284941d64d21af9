#!/usr/bin/env bash
# One managed page allocated and released (issue 15, target 7), counted with callgrind on the
# pages_instructions example: instructions and locked (bus-locking) instructions per round trip
# of MemoryManager::allocate_page, PageSource::try_allocate and a Vec<u8> of the same 32 KiB
# (from the system allocator), and per page of 64-page lists. Only the example's op_* functions
# are counted, and the count of n + 1000 round trips (warm-up included) is divided by n + 1000.
#
# Why both columns: on this path the page code executes fewer instructions than glibc's malloc +
# free of 32 KiB, and its wall time is set by the locked read-modify-writes on shared counters
# (each ~5 ns on the 2-core EPYC these benches run on; see the criterion group
# segments/allocate_release/one_32KiB_page for wall time).
#
# Usage: benches/callgrind-pages.sh
set -euo pipefail
cd "$(dirname "$0")/.."
command -v valgrind >/dev/null || { echo "valgrind is required (apt-get install valgrind)" >&2; exit 1; }

cargo build --release -q -p membudget-benches --example pages_instructions
bin="${CARGO_TARGET_DIR:-target}/release/examples/pages_instructions"

# Prints "<instructions> <locked>" per unit: the counts of `mode n` divided by (n + 1000) × per.
count() {
  local mode=$1 n=$2 per=$3 out
  out=$(mktemp)
  valgrind --tool=callgrind --collect-bus=yes --callgrind-out-file="$out" \
    --toggle-collect='pages_instructions::op_*' "$bin" "$mode" "$n" >/dev/null 2>&1
  awk -v d="$(((n + 1000) * per))" '/^summary:/ { printf "%.0f %.2f\n", $2 / d, ($3 == "" ? 0 : $3) / d }' "$out"
  rm -f "$out"
}

printf '%-44s %14s %14s\n' "per page allocated and released" instructions "locked instr."
for row in "manager 100000 1 MemoryManager::allocate_page + drop" \
  "source 100000 1 PageSource::try_allocate + drop" \
  "vec 100000 1 Vec<u8> 32 KiB (system allocator)" \
  "manager64 5000 64 MemoryManager, 64-page lists"; do
  read -r mode n per name <<<"$row"
  read -r ir ge <<<"$(count "$mode" "$n" "$per")"
  printf '%-44s %14s %14s\n' "$name" "$ir" "$ge"
done
