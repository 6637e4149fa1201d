#!/usr/bin/env bash
# Installs dependencies, builds Berth (Release) and starts `berth server` with its embedded
# defaults: SQLite in ./.berth, the in-process provisioner, and the example templates.
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/install-deps.sh
cmake --preset release -DBERTH_BUILD_TESTS=OFF -DBERTH_BUILD_BENCH=OFF >/dev/null
cmake --build --preset release --target berth
exec build/berth server --data-dir "${BERTH_DATA_DIR:-.berth}" --listen "${BERTH_LISTEN:-127.0.0.1:7080}" "$@"
