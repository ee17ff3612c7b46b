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
# The browser test runs the real @tauri-apps JavaScript in Debian's
# Chromium: chromium, node and the npm packages pinned in e2e/.
bash scripts/install-e2e.sh

exec go test -race -count=1 "$@" ./...
