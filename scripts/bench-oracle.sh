#!/usr/bin/env bash
# Decides the same requests on the same app (the corpus app with the most
# entries) with Tauri's runtime check, RuntimeAuthority::resolve_access (the
# oracle's bench command, a release build), and with capguard's native
# engine (go test -bench), in one run, and prints both and the ratio
# (tauri/capguard > 1: capguard is faster). Builds the oracle's main build
# first when needed. Extra arguments go to go test (e.g. -count 5).
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/build-oracle.sh --main
go test -run '^$' -bench 'BenchmarkDecideVsTauri$' -benchmem "$@" ./conformance/
