#!/usr/bin/env bash
# Runs capguard's whole test suite: the README's test command.
#
# It first installs what the tests need that is not already there (Go
# modules now; later suites add their own steps below), then runs every
# package's tests with the race detector. Extra arguments go to `go test`.
set -euo pipefail
cd "$(dirname "$0")/.."

go mod download
# The Linux biometric shim is tested against the real fprintd on a private
# D-Bus: Debian's fprintd, libfprint-2-2 and dbus-daemon.
bash scripts/install-fprintd.sh

exec go test -race -count=1 "$@" ./...
