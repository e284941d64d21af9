#!/usr/bin/env bash
# Instructions per round trip through the C ABI beside the same work in Rust
# (benches/examples/ffi_instructions.rs under valgrind --tool=callgrind, counting only inside
# each mode's non-inlined loop; the difference between runs of 2N and N iterations, so set-up
# and warm-up cancel out). Machine noise cannot move these counts, unlike the wall-clock
# ratios of `--bench ffi`:
#
#   buffer round trip      mb_buffer_request + mb_buffer_recycle vs request_buffer + drop
#   batch of 16 (per 16)   mb_buffer_request_many + mb_buffer_recycle_many vs 16 + 16
#   reserve round trip     mb_reserve + mb_release of 4 KiB vs Budget::try_charge + release
#
# Usage: benches/callgrind-ffi.sh
set -euo pipefail
cd "$(dirname "$0")/.."
command -v valgrind >/dev/null || { echo "valgrind is required (apt-get install valgrind)" >&2; exit 1; }

cargo build --release -q -p membudget-benches --example ffi_instructions
bin="${CARGO_TARGET_DIR:-target}/release/examples/ffi_instructions"

# Instructions inside the loops of one run (callgrind's "Collected" total).
instructions() {
  valgrind --tool=callgrind --callgrind-out-file=/dev/null \
    --toggle-collect='ffi_instructions::loop_*' "$bin" "$@" 2>&1 >/dev/null |
    awk '/Collected :/ { print $NF }'
}

# Instructions per iteration of `mode`: (I(2n) - I(n)) / n.
per_iteration() {
  local mode=$1 n=$2 one two
  one=$(instructions "$mode" "$n")
  two=$(instructions "$mode" "$((2 * n))")
  echo $(((two - one) / n))
}

printf '%-22s %8s %8s %8s\n' "round trip" rust c_abi ratio
row() { # row <name> <rust mode> <c mode> <n>
  local r c
  r=$(per_iteration "$2" "$4")
  c=$(per_iteration "$3" "$4")
  printf '%-22s %8d %8d %7sx\n' "$1" "$r" "$c" "$(awk -v c="$c" -v r="$r" 'BEGIN { printf "%.2f", c / r }')"
}
row "buffer" rust c_abi 100000
row "batch of 16 (per 16)" rust_batch c_abi_batch 10000
row "reserve 4 KiB" rust_reserve c_abi_reserve 100000
