#!/usr/bin/env bash
# Installs dependencies, builds Berth (Debug) and runs every test: unit and integration.
# With BERTH_SANITIZE=1 it also builds with ASan+UBSan (build-asan/) and runs the suite there.
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/install-deps.sh
jobs=$(nproc)
cmake --preset debug >/dev/null
cmake --build --preset debug -j "$jobs"
ctest --preset debug -j "$jobs"
if [ "${BERTH_SANITIZE:-0}" = 1 ]; then
  cmake --preset asan -DBERTH_BUILD_BENCH=OFF >/dev/null
  cmake --build --preset asan -j "$jobs"
  ASAN_OPTIONS=detect_leaks=1:abort_on_error=1 UBSAN_OPTIONS=print_stacktrace=1 \
    ctest --preset asan -j "$jobs"
fi
