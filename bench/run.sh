#!/usr/bin/env bash
# Benchmarks (release build): push handling throughput beside wechatpy, each function's cold start beside a
# hello-world lambda_http binary, warm requests on ten routes, a staff card viewed by 200 concurrent customers, and
# the fleet (a 1,000-target batch and the refresh of 10,000 tokens against the sandbox at 50 ms a WeChat call).
# Figures go to bench/out/ and are summarised in docs/performance.md.
set -euo pipefail
cd "$(dirname "$0")/.."
mkdir -p bench/out
cargo build --release -p functions -p wxtpl --bin every-function --examples
PY=.venv/bin/python
$PY bench/gen_pushes.py 2000 bench/out/pushes.json
echo "== push handling (verify + decrypt + parse), 2000 messages x 5 rounds"
target/release/examples/push_throughput bench/out/pushes.json 5 | tee bench/out/push_rust.json
$PY bench/push_throughput_wechatpy.py bench/out/pushes.json 5 | tee bench/out/push_wechatpy.json
echo "== cold start (exec -> ready), release binaries"
# The stack runs the release binaries; its schedules are pushed out of the way of the measured invocations.
FUNCTION_BIN_DIR=target/release LOCAL_SCHEDULE_SECONDS=86400 $PY infra/local/stack.py up >/dev/null
trap '$PY infra/local/stack.py down >/dev/null' EXIT
$PY bench/cold_start.py target/release 11 | tee bench/out/cold_start.json
echo "== warm requests: ten routes through the local gateway, p50/p99 and calls per request"
$PY bench/warm.py 100 | tee bench/out/warm.json
echo "== runtime API: a card viewed by 200 customers at once, 10 views each"
$PY bench/cards.py 200 10 | tee bench/out/cards.json
echo "== fleet: ${FLEET_BATCH:-1000}-target batch, ${FLEET_TOKENS:-10000} token refreshes, 50 ms per WeChat call"
$PY bench/fleet.py "${FLEET_BATCH:-1000}" "${FLEET_TOKENS:-10000}" | tee bench/out/fleet.json
uname -srm; nproc; grep -m1 'model name' /proc/cpuinfo || true
