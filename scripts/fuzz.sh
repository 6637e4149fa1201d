#!/usr/bin/env bash
# Builds the libFuzzer targets in fuzz/ (clang, ASan+UBSan, build-fuzz/) and runs each one.
#   scripts/fuzz.sh                        every target for 10 minutes, two at a time
#   FUZZ_SECONDS=20 scripts/fuzz.sh        a short run (what CI does)
#   FUZZ_SECONDS=60 scripts/fuzz.sh mcp    one target
# Corpora grow in build-fuzz/corpus/<target> (seeded from fuzz/corpus/<target>); a crash
# leaves its input in build-fuzz/ and fails the script. A summary line per target goes to
# build-fuzz/fuzz-summary.txt.
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/install-deps.sh
missing=()
for p in clang libclang-rt-14-dev; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if ((${#missing[@]})); then
  sudo=""; [ "$(id -u)" -eq 0 ] || sudo="sudo"
  $sudo apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq --no-install-recommends "${missing[@]}"
fi

all=(json template agent_message mcp http_request egress provisioner_wire sse port_tunnel)
targets=("$@")
((${#targets[@]})) || targets=("${all[@]}")
seconds=${FUZZ_SECONDS:-600}
cmake --preset fuzz >/dev/null
cmake --build --preset fuzz -j "$(nproc)" --target "${targets[@]/#/fuzz_}"

run_one() {
  local t=$1 seconds=$2
  mkdir -p "build-fuzz/corpus/$t"
  # -timeout: one input taking 10 s is a hang; -rss_limit_mb: a 2 GB input is a bug too.
  if (cd build-fuzz && "./fuzz_$t" -max_total_time="$seconds" -timeout=10 -rss_limit_mb=2048 \
        -max_len=65536 -print_final_stats=1 "corpus/$t" "../fuzz/corpus/$t" \
        >"fuzz-$t.log" 2>&1); then
    local runs cov
    runs=$(grep -o 'stat::number_of_executed_units: *[0-9]*' "build-fuzz/fuzz-$t.log" | grep -o '[0-9]*$')
    cov=$(grep -o 'cov: [0-9]*' "build-fuzz/fuzz-$t.log" | tail -1 | grep -o '[0-9]*')
    echo "fuzz_$t: ${runs:-?} inputs in ${seconds} s, coverage ${cov:-?} edges, no crash"
  else
    echo "fuzz_$t: FAILED (see build-fuzz/fuzz-$t.log)"
    tail -40 "build-fuzz/fuzz-$t.log" >&2
    return 1
  fi
}
export -f run_one
printf '%s\n' "${targets[@]}" |
  xargs -P 2 -I{} bash -c "run_one {} $seconds" | tee build-fuzz/fuzz-summary.txt
! grep -q FAILED build-fuzz/fuzz-summary.txt
