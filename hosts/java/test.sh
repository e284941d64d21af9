#!/usr/bin/env bash
# Builds the membudget jar (hosts/java/build.sh), then runs its JUnit 5 tests (Debian's junit5)
# through the JUnit Platform launcher, which prints "N passed, N failed", once per backend:
#   - Java 17 (the default `java`) with JNA;
#   - Java 22+ with the Foreign Function & Memory backend (the jar's default there), and with
#     JNA forced (-Dmembudget.backend=jna).
# Without a Java 22+ JDK (see build.sh) the FFM runs are skipped with a message saying so; the
# JNA run always happens. `--perf` also prints round trips per second per run.
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

"$HERE/build.sh" "$LIB_DIR" "$OUT"
FFM_JDK="$(cat "$OUT/ffm-java-home")"
rm -rf "$OUT/test-classes"
mkdir -p "$OUT/test-classes"

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
  V="$(sed -n 's/^JAVA_VERSION="\([0-9]*\).*/\1/p' "$FFM_JDK/release")"
  NATIVE_ACCESS=(--enable-native-access=ALL-UNNAMED)
  run "Java $V, FFM" "$FFM_JAVA" ffm "${NATIVE_ACCESS[@]}"
  run "Java $V, JNA forced" "$FFM_JAVA" jna "${NATIVE_ACCESS[@]}" -Dmembudget.backend=jna
else
  echo "-- Java: SKIPPED the Java $FFM_FEATURE+ runs (FFM backend): no JDK $FFM_FEATURE+ was found (or" \
    "FFM_JAVA_HOME=none), so the jar has no META-INF/versions/$FFM_FEATURE; set FFM_JAVA_HOME to one"
fi
exit $failed
