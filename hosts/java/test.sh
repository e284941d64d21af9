#!/usr/bin/env bash
# Builds the membudget jar with the JDK (javac + jar; JNA from Debian's libjna-java), bundling
# libmembudget.so at META-INF/native/<os>-<arch>/, then runs its JUnit 5 tests (Debian's junit5)
# through the JUnit Platform launcher, which prints "N passed, N failed", once per backend:
#   - Java 17 (the default `java`) with JNA;
#   - Java 22+ with the Foreign Function & Memory backend (the jar's default there), and with
#     JNA forced (-Dmembudget.backend=jna).
# The jar is multi-release: base classes `javac --release 17`, the FFM backend
# (src/main/java22) `javac --release 22` into META-INF/versions/22. The Java 22+ JDK is
# $MEMBUDGET_FFM_JAVA_HOME, else $JAVA_HOME if it is 22+, else the newest 22+ JDK in
# /usr/lib/jvm. Without one the jar has no FFM classes and the FFM runs are skipped with a
# message saying so (the JNA run always happens).
#
# Usage: hosts/java/test.sh LIB_DIR OUT_DIR [--perf]
#   LIB_DIR  directory holding libmembudget.so (a release build)
#   OUT_DIR  build directory; the jar is OUT_DIR/membudget-<version>.jar
set -euo pipefail
HERE="$(cd "$(dirname "$0")" && pwd)"
LIB_DIR="$1"
OUT="$2"
PERF="${3:-}"
J=/usr/share/java
VERSION="$(sed -n 's:^  <version>\(.*\)</version>:\1:p' "$HERE/pom.xml" | head -1)"
JAR="$OUT/membudget-$VERSION.jar"
FFM_FEATURE=22

# The feature version of the JDK at $1 (0 if it is not a JDK with javac).
jdk_feature() {
  [ -x "$1/bin/javac" ] && [ -f "$1/release" ] || { echo 0; return; }
  sed -n 's/^JAVA_VERSION="\([0-9]*\).*/\1/p' "$1/release" | head -1
}
find_ffm_jdk() {
  local candidate best="" best_feature=0 f
  if [ -n "${MEMBUDGET_FFM_JAVA_HOME:-}" ]; then
    f="$(jdk_feature "$MEMBUDGET_FFM_JAVA_HOME")"
    if [ "$f" -lt "$FFM_FEATURE" ]; then
      echo "MEMBUDGET_FFM_JAVA_HOME=$MEMBUDGET_FFM_JAVA_HOME is not a JDK $FFM_FEATURE+" >&2
      return 1
    fi
    echo "$MEMBUDGET_FFM_JAVA_HOME"
    return
  fi
  for candidate in ${JAVA_HOME:-} /usr/lib/jvm/*; do
    f="$(jdk_feature "$candidate")"
    if [ "$f" -ge "$FFM_FEATURE" ] && [ "$f" -gt "$best_feature" ]; then
      best="$candidate"
      best_feature="$f"
    fi
  done
  echo "$best"
}
FFM_JDK="$(find_ffm_jdk)"

rm -rf "$OUT/classes" "$OUT/classes-$FFM_FEATURE" "$OUT/test-classes" "$OUT/native"
mkdir -p "$OUT/classes" "$OUT/test-classes"
javac --release 17 -Xlint:all -Werror -d "$OUT/classes" -cp "$J/jna.jar" \
  $(find "$HERE/src/main/java" -name '*.java')
VERSIONED=()
JAR_TOOL=jar
if [ -n "$FFM_JDK" ]; then
  # JDK 17's jar tool cannot validate a multi-release jar whose classes hold records.
  JAR_TOOL="$FFM_JDK/bin/jar"
  mkdir -p "$OUT/classes-$FFM_FEATURE"
  "$FFM_JDK/bin/javac" --release "$FFM_FEATURE" -Xlint:all -Werror -d "$OUT/classes-$FFM_FEATURE" \
    -cp "$OUT/classes" $(find "$HERE/src/main/java$FFM_FEATURE" -name '*.java')
  VERSIONED=(--release "$FFM_FEATURE" -C "$OUT/classes-$FFM_FEATURE" .)
fi

PLATFORM="$(java -XshowSettings:properties -version 2>&1 |
  awk '/os.arch =/ {a=$3} END {
    if (a == "amd64" || a == "x86_64") a = "x86-64";
    if (a == "arm64") a = "aarch64";
    print "linux-" a }')"
mkdir -p "$OUT/native/META-INF/native/$PLATFORM"
cp "$LIB_DIR/libmembudget.so" "$OUT/native/META-INF/native/$PLATFORM/"
cat >"$OUT/MANIFEST.MF" <<MF
Automatic-Module-Name: io.membudget
Implementation-Title: membudget
Implementation-Version: $VERSION
MF
rm -f "$JAR"
"$JAR_TOOL" --create --file "$JAR" --manifest "$OUT/MANIFEST.MF" -C "$OUT/classes" . -C "$OUT/native" . \
  "${VERSIONED[@]}"

TEST_CP="$JAR:$J/jna.jar:$J/junit-jupiter-api.jar:$J/junit-platform-commons.jar"
TEST_CP="$TEST_CP:$J/junit-platform-launcher.jar:$J/junit-platform-engine.jar:$J/opentest4j.jar"
TEST_CP="$TEST_CP:$J/apiguardian-api.jar"
javac --release 17 -Xlint:all -Werror -d "$OUT/test-classes" -cp "$TEST_CP" \
  $(find "$HERE/src/test/java" -name '*.java')
RUN_CP="$OUT/test-classes:$TEST_CP:$J/junit-jupiter-engine.jar"

failed=0
# run LABEL JAVA BACKEND [JVM options...]: the suite (and --perf rates) on one JVM and backend.
# BACKEND is what the tests must find loaded (membudget.test.backend); -Dmembudget.backend is
# passed only when given in the options, so the default choice is what is tested otherwise.
run() {
  local label="$1" java="$2" backend="$3"
  shift 3
  echo "-- Java: $label"
  local opts=(-cp "$RUN_CP" -Dmembudget.library.path="$LIB_DIR" -Dmembudget.test.backend="$backend" "$@")
  "$java" "${opts[@]}" io.membudget.TestMain || failed=1
  if [ "$PERF" = "--perf" ]; then
    "$java" "${opts[@]}" io.membudget.RoundTripRates "$label" || failed=1
  fi
}
run "Java $(java -XshowSettings:properties -version 2>&1 | sed -n 's/.*java.specification.version = //p'), JNA" \
  java jna
if [ -n "$FFM_JDK" ]; then
  FFM_JAVA="$FFM_JDK/bin/java"
  V="$(jdk_feature "$FFM_JDK")"
  NATIVE_ACCESS=(--enable-native-access=ALL-UNNAMED)
  run "Java $V, FFM" "$FFM_JAVA" ffm "${NATIVE_ACCESS[@]}"
  run "Java $V, JNA forced" "$FFM_JAVA" jna "${NATIVE_ACCESS[@]}" -Dmembudget.backend=jna
else
  echo "-- Java: SKIPPED the FFM backend runs: no JDK $FFM_FEATURE+ found (set MEMBUDGET_FFM_JAVA_HOME," \
    "or install one under /usr/lib/jvm); the jar was built without META-INF/versions/$FFM_FEATURE"
fi
exit $failed
