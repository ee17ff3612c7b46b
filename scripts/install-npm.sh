#!/usr/bin/env bash
# Installs what the npm package and GitHub Action tests (npm/test) need:
# Node.js with npm and git (Debian packages, when missing and running as
# root), and the Go modules of the npm/test module (its YAML reader).
#
# Idempotent and quiet: when everything is there it prints nothing and
# exits 0. Without apt-get or root it says what is missing and exits 1
# (install it, or set CAPGUARD_NPM=off to skip those tests).
set -euo pipefail
cd "$(dirname "$0")/.."

if [ "${CAPGUARD_NPM:-}" = off ]; then
  exit 0
fi
missing=()
command -v node >/dev/null 2>&1 || missing+=(nodejs)
command -v npm >/dev/null 2>&1 || missing+=(npm)
command -v git >/dev/null 2>&1 || missing+=(git)
if [ ${#missing[@]} -gt 0 ]; then
  if ! command -v apt-get >/dev/null 2>&1 || [ "$(id -u)" -ne 0 ]; then
    echo "install-npm: missing ${missing[*]}; install them (as root: apt-get install ${missing[*]}) or set CAPGUARD_NPM=off" >&2
    exit 1
  fi
  log=$(mktemp)
  trap 'rm -f "$log"' EXIT
  if ! { apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${missing[@]}"; } >"$log" 2>&1; then
    cat "$log" >&2
    exit 1
  fi
fi
(cd npm/test && go mod download)
