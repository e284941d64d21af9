#!/usr/bin/env bash
# Builds the membudget jar with the JDK (javac + jar; JNA from Debian's libjna-java), bundling
# libmembudget.so at META-INF/native/<os>-<arch>/. The jar is multi-release: base classes
# `javac --release 17`, the FFM backend (src/main/java22) `javac --release 22` into
# META-INF/versions/22. The Java 22+ JDK is
# $FFM_JAVA_HOME (`none`: build without it), else $JAVA_HOME if it is 22+, else the
# newest 22+ JDK in /usr/lib/jvm. Without one the jar has no FFM classes (and says so on stderr).
#
# Usage: hosts/java/build.sh LIB_DIR OUT_DIR
#   LIB_DIR  directory holding libmembudget.so (a release build)
#   OUT_DIR  build directory; the jar is OUT_DIR/membudget-<version>.jar, and
#            OUT_DIR/ffm-java-home names the Java 22+ JDK used (empty: none found)
set -euo pipefail
HERE="$(cd "$(dirname "$0")" && pwd)"
LIB_DIR="$1"
OUT="$2"
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
  if [ "${FFM_JAVA_HOME:-}" = none ]; then
    return # asked to build without the FFM backend (as on a machine without a JDK 22+)
  fi
  if [ -n "${FFM_JAVA_HOME:-}" ]; then
    f="$(jdk_feature "$FFM_JAVA_HOME")"
    if [ "$f" -lt "$FFM_FEATURE" ]; then
      echo "FFM_JAVA_HOME=$FFM_JAVA_HOME is not a JDK $FFM_FEATURE+" >&2
      return 1
    fi
    echo "$FFM_JAVA_HOME"
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
mkdir -p "$OUT"
echo "$FFM_JDK" >"$OUT/ffm-java-home"
if [ -z "$FFM_JDK" ]; then
  echo "hosts/java/build.sh: no JDK $FFM_FEATURE+ found (set FFM_JAVA_HOME): the jar has no" \
    "FFM backend, only JNA" >&2
fi

rm -rf "$OUT/classes" "$OUT/classes-$FFM_FEATURE" "$OUT/native"
mkdir -p "$OUT/classes"
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
