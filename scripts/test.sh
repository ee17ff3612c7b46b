#!/usr/bin/env bash
# Runs capguard's whole test suite: the README's test command.
#
# It first installs what the suites need that is not already there (Go
# modules, Debian packages as root, npm packages, Maven artifacts), then
# runs every suite and reports each one; it exits non-zero if any failed.
#
#   go test -race ./...      every Go package of the root module (but the
#                            differential tests), incl. real fprintd and
#                            Chromium; extra arguments go to this go test
#   conformance (Rust)       the Tauri oracle built from the real crates,
#                            then go test ./conformance/ against it
#   android (Maven)          the Kotlin shim's Robolectric tests
#   npm                      the npm packages and the GitHub Action
#   wails (cgo, WebKitGTK)   the Wails v3 integration in a real window
#
# One variable turns a suite into a printed skip, for users without its
# toolchain (CI sets none): CAPGUARD_TAURI=off, CAPGUARD_ANDROID=off,
# CAPGUARD_NPM=off, CAPGUARD_WAILS=off; CAPGUARD_E2E=off and
# CAPGUARD_FPRINTD=off skip the browser and fprintd tests inside go test,
# CAPGUARD_TPM=off the swtpm ones (native/tpm, native/linux),
# CAPGUARD_KEYRING=off the gnome-keyring ones (native/secretservice).
set -euo pipefail
cd "$(dirname "$0")/.."

logs=$(mktemp -d)
failed=()

# suite NAME CMD...: runs one suite, its output prefixed, and records it.
suite() {
  local name=$1
  shift
  printf '\n== %s (%s)\n' "$name" "$(date -u +%H:%M:%S)"
  local start=$SECONDS
  if "$@"; then
    printf -- '-- %s: ok in %d s\n' "$name" $((SECONDS - start))
  else
    printf -- '-- %s: FAILED in %d s\n' "$name" $((SECONDS - start))
    failed+=("$name")
  fi
}

go mod download
# The Linux biometric shim is tested against the real fprintd on a private
# D-Bus, the real swtpm and gnome-keyring: Debian's fprintd, libfprint-2-2,
# dbus-daemon, swtpm, swtpm-tools, gnome-keyring, libsecret-tools.
bash scripts/install-fprintd.sh
# The browser test runs the real @tauri-apps JavaScript in Debian's
# Chromium: chromium, node and the npm packages pinned in e2e/.
bash scripts/install-e2e.sh
bash scripts/install-android.sh
bash scripts/install-npm.sh
[ -f scripts/install-wails.sh ] && bash scripts/install-wails.sh

# The oracle's Rust build is the longest step: it runs in the background
# while the Go tests run (they wait on fprintd, Chromium and timers).
(bash scripts/build-oracle.sh >"$logs/oracle-build.log" 2>&1; echo $? >"$logs/oracle-build.rc") &
oracle_build=$!

packages=$(go list ./... | grep -v '/conformance$')
# shellcheck disable=SC2086
suite "go test -race (root module)" go test -race -count=1 "$@" $packages

# The other toolchains' suites run while the oracle's last builds finish
# (they use little of what cargo leaves free).
suite "android: Kotlin shim under Robolectric" bash scripts/test-android.sh
suite "npm packages and GitHub Action" bash scripts/test-npm.sh
[ -f scripts/test-wails.sh ] && suite "wails: integration in a real window" bash scripts/test-wails.sh

wait "$oracle_build" || true
cat "$logs/oracle-build.log"
if [ "$(cat "$logs/oracle-build.rc")" != 0 ]; then
  echo "-- the Tauri oracle did not build (set CAPGUARD_TAURI=off to skip the differential tests)"
  failed+=("oracle build")
else
  # No -race: the differential tests are sequential, and drive the oracle.
  suite "conformance: differential tests against Tauri" go test -count=1 -v -run 'MatchTauri|MatchesTauri|ByVersion' ./conformance/
fi

rm -rf "$logs"
if [ ${#failed[@]} -gt 0 ]; then
  printf '\nFAILED suites: %s\n' "${failed[*]}"
  exit 1
fi
printf '\nall suites passed\n'
