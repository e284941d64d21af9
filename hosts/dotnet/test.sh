#!/usr/bin/env bash
# Builds the membudget .NET library (Membudget.dll) with Mono's mcs from the same sources as
# Membudget.csproj, then builds and runs its tests against that assembly (they print
# "N passed, N failed"). libmembudget is found through LD_LIBRARY_PATH, as the system loader
# would for an installed copy.
#
# Usage: hosts/dotnet/test.sh LIB_DIR OUT_DIR [--perf]
set -euo pipefail
HERE="$(cd "$(dirname "$0")" && pwd)"
LIB_DIR="$1"
OUT="$2"
PERF="${3:-}"
mkdir -p "$OUT"
mcs -target:library -unsafe -nologo -warnaserror -langversion:7.2 \
  -doc:"$OUT/Membudget.xml" -out:"$OUT/Membudget.dll" "$HERE"/src/*.cs
mcs -target:exe -unsafe -nologo -warnaserror -langversion:7.2 -r:"$OUT/Membudget.dll" \
  -out:"$OUT/Membudget.Tests.exe" "$HERE"/tests/*.cs
cd "$OUT"
LD_LIBRARY_PATH="$LIB_DIR${LD_LIBRARY_PATH:+:$LD_LIBRARY_PATH}" mono Membudget.Tests.exe $PERF
