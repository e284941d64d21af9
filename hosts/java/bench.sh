#!/usr/bin/env bash
# Side-by-side buffer pool benchmark (not part of the tests): Flink's own NetworkBufferPool /
# LocalBufferPool and membudget's Java library, FFM and JNA backends, on the same loops in one
# JVM (bench/src/main/java/io/membudget/bench/PoolBench.java says how it measures).
#
# Flink comes from PyPI's apache-flink-libraries (its flink-dist jar), downloaded with pip into a
# cache directory on first use, never into the repository:
#   FLINK_VERSION          default 1.20.5
#   FLINK_LIBRARIES_CACHE  default ${XDG_CACHE_HOME:-~/.cache}/membudget/flink
# The JVM is the Java 22+ JDK that build.sh finds (FFM_JAVA_HOME, ...); without one it
# runs on the default java with JNA only, and says so.
#
# Usage: hosts/java/bench.sh [--rounds N] [--warmup N] [--ops N] [--kinds same,write,two]
#                            [--backends ffm,jna|none] [--jfr FILE]
#   --jfr FILE  also record a Java Flight Recorder profile (method samples) into FILE
set -euo pipefail
HERE="$(cd "$(dirname "$0")" && pwd)"
ROOT="$(cd "$HERE/../.." && pwd)"
cd "$ROOT"
FLINK_VERSION="${FLINK_VERSION:-1.20.5}"
CACHE="${FLINK_LIBRARIES_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/membudget/flink}"
JFR=""
ARGS=()
while [ $# -gt 0 ]; do
  case "$1" in
    --jfr) JFR="$2"; shift 2 ;;
    --rounds | --warmup | --ops | --backends | --kinds) ARGS+=("$1" "$2"); shift 2 ;;
    *) echo "usage: hosts/java/bench.sh [--rounds N] [--warmup N] [--ops N] [--kinds same,write,two]" \
         "[--backends ffm,jna|none] [--jfr FILE]" >&2
       exit 2 ;;
  esac
done

cargo build --release -p membudget-ffi --quiet
TARGET_DIR="$(cargo metadata --format-version 1 --no-deps |
  python3 -c 'import json, sys; print(json.load(sys.stdin)["target_directory"])')"
LIB_DIR="$TARGET_DIR/release"
OUT="$TARGET_DIR/hosts/java-bench"
"$HERE/build.sh" "$LIB_DIR" "$OUT/lib"
FFM_JDK="$(cat "$OUT/lib/ffm-java-home")"
VERSION="$(sed -n 's:^  <version>\(.*\)</version>:\1:p' "$HERE/pom.xml" | head -1)"
JAR="$OUT/lib/membudget-$VERSION.jar"

# Flink's flink-dist jar, from the cached PyPI package.
FLINK_JAR="$CACHE/flink-dist-$FLINK_VERSION.jar"
if [ ! -f "$FLINK_JAR" ]; then
  mkdir -p "$CACHE/download"
  echo "== downloading apache-flink-libraries==$FLINK_VERSION (PyPI) into $CACHE"
  python3 -m pip download --quiet --no-deps --disable-pip-version-check -d "$CACHE/download" \
    "apache-flink-libraries==$FLINK_VERSION"
  PKG="$(ls "$CACHE"/download/apache[-_]flink[-_]libraries-"$FLINK_VERSION"[.-]* | head -1)"
  case "$PKG" in
    *.whl) unzip -q -o -j "$PKG" "*/flink-dist-$FLINK_VERSION.jar" -d "$CACHE/download/x" ;;
    *.tar.gz) mkdir -p "$CACHE/download/x"
      tar -xzf "$PKG" -C "$CACHE/download/x" --wildcards "*/deps/lib/flink-dist-$FLINK_VERSION.jar" ;;
    *) echo "unexpected package file $PKG" >&2; exit 1 ;;
  esac
  mv "$(find "$CACHE/download/x" -name "flink-dist-$FLINK_VERSION.jar" | head -1)" "$FLINK_JAR"
  rm -rf "$CACHE/download"
fi

if [ -n "$FFM_JDK" ]; then
  JAVA="$FFM_JDK/bin/java"
  JAVAC="$FFM_JDK/bin/javac"
  # FFM and JNA both need native access; Flink 1.20's MemorySegment uses sun.misc.Unsafe.
  JVM_OPTS=(--enable-native-access=ALL-UNNAMED --sun-misc-unsafe-memory-access=allow)
else
  echo "== no JDK 22+ found: the benchmark runs on $(java -version 2>&1 | head -1) with JNA only" \
    "(set FFM_JAVA_HOME for the FFM backend)"
  JAVA=java
  JAVAC=javac
  JVM_OPTS=()
  ARGS+=(--backends jna)
fi
rm -rf "$OUT/app" "$OUT/loops"
mkdir -p "$OUT/app" "$OUT/loops"
"$JAVAC" --release 17 -Xlint:all,-options -Werror -d "$OUT/app" -cp "$FLINK_JAR" \
  $(find "$HERE/bench/src/main/java" -name '*.java')
"$JAVAC" --release 17 -Xlint:all,-options -Werror -d "$OUT/loops" -cp "$OUT/app:$JAR" \
  $(find "$HERE/bench/src/membudget/java" -name '*.java')
if [ -n "$JFR" ]; then
  JVM_OPTS+=("-XX:StartFlightRecording=filename=$JFR,settings=profile")
fi
CMD=("$JAVA" "${JVM_OPTS[@]}" -Xms1g -Xmx1g -Dmembudget.library.path="$LIB_DIR"
  -cp "$OUT/app:$FLINK_JAR" io.membudget.bench.PoolBench
  --membudget-classpath "$OUT/loops:$JAR:/usr/share/java/jna.jar" "${ARGS[@]}")
echo "== ${CMD[*]}"
"${CMD[@]}"
