#!/usr/bin/env bash
# The host suites (part of scripts/test): builds libmembudget (release profile, so the rates mean
# something), then runs
#   - the C ABI test (C has no host library): dynamic and static linking, then under valgrind;
#   - the Java, .NET and Python libraries' own tests (hosts/<lang>/test.sh); Java's run on
#     Java 17 with JNA, and on Java 22+ with the Foreign Function & Memory backend and with JNA;
#   - the README's host programs, compiled and run exactly as printed (hosts/readme_snippets.py).
# Each prints "N passed, N failed". A suite that fails, or cannot build or run (a missing
# toolchain, a missing file), fails the run. The one thing skipped, with a line saying so, is
# the Java 22+ runs on a machine without a JDK 22+ (none is in Debian 12; see hosts/java).
# `--perf` also prints round trips per second (buffer request+recycle, reserve+release) per host,
# through each library and through the raw ABI from C.
# Works from a fresh clone (scripts/install-deps installs the toolchains); the library is found
# through `cargo metadata`, which honours CARGO_TARGET_DIR.
set -euo pipefail
ROOT="$(cd "$(dirname "$0")/.." && pwd)"
cd "$ROOT"
PERF=""
case "${1:-}" in
  "") ;;
  --perf) PERF="--perf" ;;
  *) echo "usage: hosts/run.sh [--perf]" >&2; exit 2 ;;
esac

scripts/install-deps

cargo build --release -p membudget-ffi --quiet
TARGET_DIR="$(cargo metadata --format-version 1 --no-deps |
  python3 -c 'import json, sys; print(json.load(sys.stdin)["target_directory"])')"
LIB_DIR="$TARGET_DIR/release"
OUT="$TARGET_DIR/hosts"
mkdir -p "$OUT/c"
INC="$ROOT/ffi/include"

failed=()
run() {
  local name="$1"
  shift
  echo "-- $name"
  if ! "$@"; then
    failed+=("$name")
  fi
}

CFLAGS=(-std=c11 -O2 -g -Wall -Wextra -Werror -pthread -I"$INC")
build_c() {
  gcc "${CFLAGS[@]}" hosts/c/test_membudget.c -o "$OUT/c/dynamic" \
    -L"$LIB_DIR" -lmembudget -Wl,-rpath,"$LIB_DIR" &&
    gcc "${CFLAGS[@]}" hosts/c/test_membudget.c -o "$OUT/c/static" \
      "$LIB_DIR/libmembudget.a" -lpthread -ldl -lm
}
run "C (build)" build_c
run "C (dynamic)" "$OUT/c/dynamic" $PERF
run "C (static)" "$OUT/c/static"
run "C (valgrind)" valgrind -q --error-exitcode=1 --leak-check=full "$OUT/c/dynamic" --quick
run "Java" hosts/java/test.sh "$LIB_DIR" "$OUT/java" $PERF
run ".NET" hosts/dotnet/test.sh "$LIB_DIR" "$OUT/dotnet" $PERF
run "Python" hosts/python/test.sh "$LIB_DIR" "$OUT/python" $PERF
run "README extractor" python3 -m pytest -q -p no:cacheprovider hosts/readme_snippets_test.py
JAVA_VERSION="$(sed -n 's:^  <version>\(.*\)</version>:\1:p' hosts/java/pom.xml | head -1)"
run "README programs" python3 hosts/readme_snippets.py README.md --out "$OUT/readme" \
  --lib-dir "$LIB_DIR" --include "$INC" --java-jar "$OUT/java/membudget-$JAVA_VERSION.jar" \
  --dotnet-dll "$OUT/dotnet/Membudget.dll" --python "$OUT/python/venv/bin/python"

if [ ${#failed[@]} -gt 0 ]; then
  echo "host tests FAILED: ${failed[*]}"
  exit 1
fi
echo "host tests: all passed"
