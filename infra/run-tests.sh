#!/usr/bin/env bash
# Runs the whole test suite: starts a fresh local stack, runs every test of the workspace (unit tests and the
# black-box tests in tests/) and the console's browser tests, fuzzes every route from the API contract, checks that no
# secret reached a log and that every answer of the run kept to the API contract, and always stops the stack.
set -euo pipefail
cd "$(dirname "$0")/.."
# The gateway checks every answer it relays against docs/openapi.yaml and logs each breach here.
export CONTRACT_LOG="$PWD/.local/contract-breaches.jsonl"
mkdir -p .local && rm -f "$CONTRACT_LOG"
# The tests invoke the scheduled functions themselves; a timer firing mid-test would race them.
LOCAL_SCHEDULE_SECONDS="${LOCAL_SCHEDULE_SECONDS:-86400}" .venv/bin/python infra/local/stack.py up
trap '.venv/bin/python infra/local/stack.py down' EXIT
cargo test --workspace --no-fail-fast "$@"
# The console in a browser: the seed story clicked through, a batch of ten, a merchant refused (Chromium, headless);
# screenshots of each main page are kept in console/test-results/screens.
(cd console && npx playwright test)
# Then every route, as every role, with inputs generated from the API contract (docs/openapi.yaml).
.venv/bin/python infra/fuzz_api.py
# The logs of everything above must hold none of the secrets the run handed to the platform.
.venv/bin/python infra/check_log_secrets.py
# And every answer of all of the above — the tests' and the fuzzer's — is one the contract documents.
.venv/bin/python infra/local/contract.py "$CONTRACT_LOG"
