#!/usr/bin/env bash
# The README's "First steps", run verbatim: the server started as scripts/run.sh starts it
# (its data in ./.berth of a fresh directory, `build/` the build being tested), then the
# first ```sh block under "## First steps" run with bash -e, only its port changed from 7080
# to one the kernel picked (so a server a developer runs on 7080 is never touched).
#   tests/readme/first_steps.sh BERTH_BINARY SOURCE_DIR
set -euo pipefail
binary=$1
source_dir=$2
work=$(mktemp -d /tmp/berth-readme-XXXXXX)
server_pid=
cleanup() {
  if [ -n "$server_pid" ]; then kill "$server_pid" 2>/dev/null || true; wait "$server_pid" 2>/dev/null || true; fi
  pkill -f "berth-agent.*$work" 2>/dev/null || true
  rm -rf "$work"
}
trap cleanup EXIT

steps=$(awk '/^## First steps/{s=1} s&&/^```sh$/{b=1;next} b&&/^```$/{exit} b{print}' \
  "$source_dir/README.md")
if [ -z "$steps" ]; then
  echo "README.md has no \`\`\`sh block under \"## First steps\"" >&2
  exit 1
fi
ln -s "$(dirname "$binary")" "$work/build"
cd "$work"
# scripts/run.sh's last line, with its defaults but a port of the kernel's choosing.
build/berth server --data-dir .berth --listen 127.0.0.1:0 >server.log 2>&1 &
server_pid=$!
for _ in $(seq 1 300); do
  [ -s .berth/server.url ] && [ -s .berth/admin.token ] && break
  if ! kill -0 "$server_pid" 2>/dev/null; then cat server.log >&2; exit 1; fi
  sleep 0.1
done
url=$(cat .berth/server.url)
port=${url##*:}
echo "--- README first steps (port $port) ---"
echo "${steps//127.0.0.1:7080/127.0.0.1:$port}"
echo "---"
if ! bash -euo pipefail -x -c "${steps//127.0.0.1:7080/127.0.0.1:$port}"; then
  echo "--- the README's first steps failed; server log: ---" >&2
  tail -50 server.log >&2
  exit 1
fi
echo "README first steps: all passed"
