#!/usr/bin/env bash
# Builds the membudget jar with the JDK (javac + jar; JNA from Debian's libjna-java), bundling
# libmembudget.so at META-INF/native/<os>-<arch>/, then runs its JUnit 5 tests (Debian's junit5)
# through the JUnit Platform launcher, which prints "N passed, N failed".
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

rm -rf "$OUT/classes" "$OUT/test-classes" "$OUT/native"
mkdir -p "$OUT/classes" "$OUT/test-classes"
javac --release 17 -Xlint:all -Werror -d "$OUT/classes" -cp "$J/jna.jar" \
  $(find "$HERE/src/main/java" -name '*.java')

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
jar --create --file "$JAR" --manifest "$OUT/MANIFEST.MF" -C "$OUT/classes" . -C "$OUT/native" .

TEST_CP="$JAR:$J/jna.jar:$J/junit-jupiter-api.jar:$J/junit-platform-commons.jar"
TEST_CP="$TEST_CP:$J/junit-platform-launcher.jar:$J/junit-platform-engine.jar:$J/opentest4j.jar"
TEST_CP="$TEST_CP:$J/apiguardian-api.jar"
javac --release 17 -Xlint:all -Werror -d "$OUT/test-classes" -cp "$TEST_CP" \
  $(find "$HERE/src/test/java" -name '*.java')
RUN_CP="$OUT/test-classes:$TEST_CP:$J/junit-jupiter-engine.jar"
java -cp "$RUN_CP" -Dmembudget.library.path="$LIB_DIR" io.membudget.TestMain
if [ "$PERF" = "--perf" ]; then
  java -cp "$RUN_CP" -Dmembudget.library.path="$LIB_DIR" io.membudget.RoundTripRates
fi
