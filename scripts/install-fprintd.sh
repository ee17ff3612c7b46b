#!/usr/bin/env bash
# Installs the Debian packages that the Linux device's real-stack tests
# need: the fprintd daemon, libfprint (whose virtual drivers stand in for a
# fingerprint reader) and a D-Bus message bus daemon for native/fprintd
# (TestRealFprintd) and native/linux; swtpm and swtpm-tools, the software
# TPM 2.0 that native/tpm and native/linux seal with; gnome-keyring (the
# Secret Service of native/secretservice) and libsecret-tools
# (secret-tool, the independent client the tests compare with).
#
# Idempotent and quiet: when everything is there it prints nothing and
# exits 0. When something is missing it installs it with apt-get if it runs
# as root; otherwise it says what is missing and exits 1 (install by hand,
# or set CAPGUARD_FPRINTD=off / CAPGUARD_TPM=off / CAPGUARD_KEYRING=off
# to skip those tests).
set -euo pipefail

packages=(fprintd libfprint-2-2 dbus-daemon swtpm swtpm-tools gnome-keyring libsecret-tools)

if ! command -v dpkg-query >/dev/null 2>&1; then
  if [ -x /usr/libexec/fprintd ] && command -v dbus-daemon >/dev/null 2>&1 && command -v swtpm >/dev/null 2>&1 &&
    command -v gnome-keyring-daemon >/dev/null 2>&1 && command -v secret-tool >/dev/null 2>&1; then
    exit 0
  fi
  echo "install-fprintd: not a Debian system; install fprintd, libfprint, dbus-daemon, swtpm, gnome-keyring and secret-tool" \
    "with your package manager, or set CAPGUARD_FPRINTD=off, CAPGUARD_TPM=off and CAPGUARD_KEYRING=off" >&2
  exit 1
fi

missing=()
for p in "${packages[@]}"; do
  if [ "$(dpkg-query -W -f='${db:Status-Status}' "$p" 2>/dev/null || true)" != installed ]; then
    missing+=("$p")
  fi
done
[ ${#missing[@]} -eq 0 ] && exit 0

if [ "$(id -u)" -ne 0 ]; then
  echo "install-fprintd: missing ${missing[*]}; run as root" \
    "(apt-get install ${missing[*]}) or set CAPGUARD_FPRINTD=off / CAPGUARD_TPM=off / CAPGUARD_KEYRING=off" >&2
  exit 1
fi

echo "install-fprintd: installing ${missing[*]}"
log=$(mktemp)
trap 'rm -f "$log"' EXIT
export DEBIAN_FRONTEND=noninteractive
if ! { apt-get update -qq && apt-get install -y -qq --no-install-recommends "${missing[@]}"; } >"$log" 2>&1; then
  cat "$log" >&2
  echo "install-fprintd: apt-get failed" >&2
  exit 1
fi
