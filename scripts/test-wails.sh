#!/usr/bin/env bash
# Runs the tests of the Wails v3 integration and of its example app, each
# a Go module of its own (the root's `go test ./...` does not enter them):
#
#   - integrations/wails: go vet and staticcheck, the unit tests, the
#     runnable example and the fuzz seeds with the race detector, then
#     10 s of fuzzing (CAPGUARD_WAILS_FUZZTIME);
#   - examples/wails-vault: go vet and staticcheck, then TestWindow, which builds the
#     example (cgo, WebKitGTK), runs it under Xvfb in two real windows,
#     lets each page run its scenario and report back (the untrusted
#     site's attacks included), checks every result, the app's Go-side
#     log and the audit log, and prints the paths of its screenshots
#     (kept in $CAPGUARD_ARTIFACTS, default $TMPDIR/capguard-wails-artifacts);
#     and TestWindowBare, the same attacks against bare Wails, where they
#     succeed.
#
# CAPGUARD_WAILS=off turns this into a printed skip; otherwise a missing
# display stack, toolchain or npm package FAILS (scripts/install-wails.sh
# installs them). Extra arguments go to both `go test` runs.
set -euo pipefail
cd "$(dirname "$0")/.."

if [ "${CAPGUARD_WAILS:-}" = off ]; then
  echo "test-wails: CAPGUARD_WAILS=off: the Wails integration and real-window tests did NOT run"
  exit 0
fi
for tool in go Xvfb import pkg-config; do
  if ! command -v "$tool" >/dev/null 2>&1; then
    echo "test-wails: $tool is not on the PATH (scripts/install-wails.sh installs it; CAPGUARD_WAILS=off skips these tests)" >&2
    exit 1
  fi
done
if ! pkg-config --exists webkit2gtk-4.1 gtk+-3.0; then
  echo "test-wails: the webkit2gtk-4.1 and gtk+-3.0 development files are missing (scripts/install-wails.sh; CAPGUARD_WAILS=off skips these tests)" >&2
  exit 1
fi

root=$PWD
staticcheck() {
  if [ -x "$root/.ci/bin/staticcheck" ]; then
    "$root/.ci/bin/staticcheck" "$@"
  else
    go run honnef.co/go/tools/cmd/staticcheck@v0.8.2 "$@"
  fi
}

(
  cd integrations/wails
  go vet ./...
  staticcheck ./...
  go test -race -count=1 "$@" ./...
  # The fuzz target, briefly (the root's fuzz step does not enter this
  # module).
  go test -run '^$' -fuzz '^FuzzRuntimeCall$' -fuzztime "${CAPGUARD_WAILS_FUZZTIME:-10s}" . | tail -n 2
)
(
  cd examples/wails-vault
  go vet ./...
  staticcheck ./...
  go test -race -count=1 -v "$@" ./...
)
