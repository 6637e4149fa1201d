#!/usr/bin/env bash
# Runs clang-tidy (checks in .clang-tidy) over the given files, or every .cpp under src/.
# Needs a configured build for compile_commands.json (default build-asan/; BUILD_DIR=...).
set -euo pipefail
cd "$(dirname "$0")/.."
build="${BUILD_DIR:-build-asan}"
[ -f "$build/compile_commands.json" ] || { echo "configure a build first: cmake --preset asan" >&2; exit 2; }
if [ $# -eq 0 ]; then set -- $(git ls-files 'src/*.cpp'); fi
clang-tidy -p "$build" --quiet "$@" 2>&1 | grep -E "^/.*(warning|error):" | grep "/src/berth/" | sort -u || true
