#!/usr/bin/env bash
# Installs dependencies, builds Berth and runs every test (unit and integration).
#   scripts/test.sh                    Debug build in build-debug/
#   BERTH_SANITIZE=1 scripts/test.sh   the same tests on an ASan+UBSan build in build-asan/ (CI)
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/install-deps.sh
preset=debug
if [ "${BERTH_SANITIZE:-0}" = 1 ]; then
  preset=asan
  export ASAN_OPTIONS=detect_leaks=1:abort_on_error=1 UBSAN_OPTIONS=print_stacktrace=1
fi
jobs=$(nproc)
cmake --preset "$preset" -DBERTH_BUILD_BENCH=OFF >/dev/null
cmake --build --preset "$preset" -j "$jobs"
ctest --preset "$preset" -j "$jobs"
