#!/usr/bin/env bash
# Load test of capguard's HTTP bridge (issue 14): builds
# ipc/internal/loadtest and runs it: the bridge serves the example app on
# loopback, and a second process makes CALLS mixed calls (allowed, denied,
# malformed, refused: a wrong token, key or origin) at CONCURRENCY, each
# checked against the answer it must get. Prints throughput, latency
# percentiles, wrong answers, 5xx and the server's resident size; exits 1
# on any wrong answer or 5xx. Not part of the test suite (it takes about a
# minute and both cores).
#
#   scripts/load-bridge.sh            # 1,000,000 calls at concurrency 64
#   CALLS=200000 CONCURRENCY=128 scripts/load-bridge.sh
set -euo pipefail
cd "$(dirname "$0")/.."
bin=$(mktemp -d)
trap 'rm -rf "$bin"' EXIT
go build -o "$bin/loadtest" ./ipc/internal/loadtest
"$bin/loadtest" -calls "${CALLS:-1000000}" -concurrency "${CONCURRENCY:-64}"
