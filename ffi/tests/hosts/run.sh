#!/usr/bin/env bash
# Builds libmembudget (release profile, so the round-trip rates mean something) and runs the
# C ABI host tests: C (dynamic and static linking, then under valgrind), Python 3 (ctypes),
# Java 17 (JNA direct mapping) and C# (Mono). Each prints "N passed, N failed" and exits
# non-zero on failure. `--perf` also prints calls/second of the buffer and reservation round
# trips from each host. Works from a fresh clone: the library is found through
# `cargo metadata` (which honours CARGO_TARGET_DIR).
set -euo pipefail
ROOT="$(cd "$(dirname "$0")/../../.." && pwd)"
cd "$ROOT"
PERF=""
if [ "${1:-}" = "--perf" ]; then PERF="--perf"; fi

scripts/install-deps # quiet and idempotent: mono-mcs, mono-runtime, libjna-java, valgrind

cargo build --release -p membudget-ffi --quiet
TARGET_DIR="$(cargo metadata --format-version 1 --no-deps |
  python3 -c 'import json, sys; print(json.load(sys.stdin)["target_directory"])')"
LIB_DIR="$TARGET_DIR/release"
OUT="$TARGET_DIR/ffi-hosts"
mkdir -p "$OUT/java"
export MEMBUDGET_LIB="$LIB_DIR/libmembudget.so"
INC="$ROOT/ffi/include"
HOSTS="$ROOT/ffi/tests/hosts"

failed_hosts=()
run() {
  local name="$1"
  shift
  echo "-- $name"
  if ! "$@"; then
    failed_hosts+=("$name")
  fi
}

CFLAGS=(-std=c11 -O2 -g -Wall -Wextra -Werror -pthread -I"$INC")
gcc "${CFLAGS[@]}" "$HOSTS/c/test_membudget.c" -o "$OUT/c_dynamic" \
  -L"$LIB_DIR" -lmembudget -Wl,-rpath,"$LIB_DIR"
gcc "${CFLAGS[@]}" "$HOSTS/c/test_membudget.c" -o "$OUT/c_static" \
  "$LIB_DIR/libmembudget.a" -lpthread -ldl -lm
run "C (dynamic)" "$OUT/c_dynamic" $PERF
run "C (static)" "$OUT/c_static"
run "C (valgrind)" valgrind -q --error-exitcode=1 --leak-check=full "$OUT/c_dynamic" --quick

run "Python" python3 "$HOSTS/python/test_membudget.py" $PERF

JNA=/usr/share/java/jna.jar
javac -nowarn -d "$OUT/java" -cp "$JNA" "$HOSTS/java/TestMembudget.java"
run "Java" java -cp "$OUT/java:$JNA" -Djna.library.path="$LIB_DIR" TestMembudget $PERF

mcs -unsafe -nologo -out:"$OUT/TestMembudget.exe" "$HOSTS/csharp/TestMembudget.cs"
run "C#" env LD_LIBRARY_PATH="$LIB_DIR" mono "$OUT/TestMembudget.exe" $PERF

if [ ${#failed_hosts[@]} -gt 0 ]; then
  echo "host tests FAILED: ${failed_hosts[*]}"
  exit 1
fi
echo "host tests: all passed"
