#!/usr/bin/env bash
# Installs the membudget package the way a user does (pip install of this folder) into a
# virtual environment, with libmembudget bundled (MEMBUDGET_BUNDLE_LIBRARY), then runs its pytest
# suite against that installed copy. pytest comes from scripts/install-deps (the venv sees the
# system site-packages); the build runs offline (--no-build-isolation, setuptools + wheel present).
#
# Usage: hosts/python/test.sh LIB_DIR OUT_DIR [--perf]
set -euo pipefail
HERE="$(cd "$(dirname "$0")" && pwd)"
LIB_DIR="$1"
OUT="$2"
PERF="${3:-}"
VENV="$OUT/venv"
[ -x "$VENV/bin/python" ] || python3 -m venv --system-site-packages "$VENV"
MEMBUDGET_BUNDLE_LIBRARY="$LIB_DIR/libmembudget.so" "$VENV/bin/python" -m pip install \
  --quiet --disable-pip-version-check --no-deps --no-build-isolation --force-reinstall "$HERE"
cd "$OUT" # not the source folder: tests must import the installed package
env -u MEMBUDGET_LIBRARY "$VENV/bin/python" -m pytest -q -p no:cacheprovider \
  --rootdir "$HERE" -c "$HERE/pyproject.toml" "$HERE/tests"
if [ "$PERF" = "--perf" ]; then
  env -u MEMBUDGET_LIBRARY "$VENV/bin/python" "$HERE/tests/perf.py"
fi
