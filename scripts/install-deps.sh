#!/usr/bin/env bash
# Installs the Debian 12 packages Berth builds and runs with. Safe to run again.
set -euo pipefail
packages=(
  build-essential cmake ninja-build ccache pkg-config
  libboost1.81-dev libboost-json1.81-dev libboost-url1.81-dev
  nlohmann-json3-dev libspdlog-dev libfmt-dev libcli11-dev libyaml-cpp-dev
  libsqlite3-dev libssl-dev libgtest-dev libgmock-dev libbenchmark-dev
  libre2-dev libseccomp-dev libpq-dev postgresql
  bubblewrap procps curl ca-certificates
  chromium   # the dashboard's browser tests (tests/e2e/dashboard.test.mjs, playwright-core)
)
# The end-to-end MCP tests use Node.js (the image's node 20, or Debian's nodejs 18).
command -v node >/dev/null 2>&1 || packages+=(nodejs npm)
missing=()
for p in "${packages[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if ((${#missing[@]})); then
  sudo=""; [ "$(id -u)" -eq 0 ] || sudo="sudo"
  $sudo apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq --no-install-recommends "${missing[@]}"
fi

# The official MCP TypeScript SDK client, pinned in tests/e2e/package-lock.json.
if [ ! -d tests/e2e/node_modules ] || [ tests/e2e/package-lock.json -nt tests/e2e/node_modules ]; then
  (cd tests/e2e && npm ci --no-audit --no-fund --loglevel=error)
fi

# promtool, Prometheus's own checker of the /metrics text (tests/integration/metrics_test.cpp):
# unpacked from Debian's prometheus package into .cache/, not installed, so no Prometheus
# service starts on a developer's machine.
if [ ! -x .cache/promtool/usr/bin/promtool ]; then
  mkdir -p .cache/promtool
  (cd .cache/promtool && apt-get download prometheus >/dev/null 2>&1 || {
    sudo=""; [ "$(id -u)" -eq 0 ] || sudo="sudo"; $sudo apt-get update -qq; apt-get download prometheus; })
  dpkg-deb -x .cache/promtool/prometheus_*.deb .cache/promtool
  rm -f .cache/promtool/prometheus_*.deb .cache/promtool/usr/bin/prometheus
fi
