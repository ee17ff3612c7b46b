#!/usr/bin/env bash
# Runs capguard's whole test suite: the README's test command.
#
# It first installs what the tests need that is not already there (Go
# modules now; later suites add their own steps below), then runs every
# package's tests with the race detector. Extra arguments go to `go test`.
set -euo pipefail
cd "$(dirname "$0")/.."

go mod download

exec go test -race -count=1 "$@" ./...
