#!/usr/bin/env bash
# Installs what capguard's browser test (e2e/) needs: Debian's chromium,
# Node.js with npm, and the npm packages pinned in e2e/package-lock.json
# (@tauri-apps/api, @tauri-apps/plugin-biometric, playwright-core).
#
# Idempotent and quiet: when everything is there it prints nothing and
# exits 0. Missing Debian packages are installed with apt-get when running
# as root; otherwise it says what is missing and exits 1 (install them, or
# set CAPGUARD_E2E=off to skip the browser test). `npm ci` runs in e2e/
# when node_modules is missing or was installed from another lock file.
set -euo pipefail
cd "$(dirname "$0")/.."

log=$(mktemp)
trap 'rm -f "$log"' EXIT

missing=()
[ -x /usr/bin/chromium ] || missing+=(chromium)
command -v node >/dev/null 2>&1 || missing+=(nodejs)
command -v npm >/dev/null 2>&1 || missing+=(npm)

if [ ${#missing[@]} -gt 0 ]; then
  if ! command -v apt-get >/dev/null 2>&1; then
    echo "install-e2e: missing ${missing[*]}, and there is no apt-get here;" \
      "install them by hand or set CAPGUARD_E2E=off" >&2
    exit 1
  fi
  if [ "$(id -u)" -ne 0 ]; then
    echo "install-e2e: missing ${missing[*]}; run as root:" \
      "apt-get install ${missing[*]} (or set CAPGUARD_E2E=off)" >&2
    exit 1
  fi
  echo "install-e2e: installing ${missing[*]}"
  export DEBIAN_FRONTEND=noninteractive
  if ! { apt-get update -qq && apt-get install -y -qq --no-install-recommends "${missing[@]}"; } >"$log" 2>&1; then
    cat "$log" >&2
    echo "install-e2e: apt-get failed" >&2
    exit 1
  fi
fi

# The npm packages: reinstalled when the lock file changed since the last
# `npm ci` (its hash is kept in node_modules).
stamp=e2e/node_modules/.capguard-lock.sha256
want=$(sha256sum e2e/package-lock.json | cut -d' ' -f1)
if [ -f "$stamp" ] && [ "$(cat "$stamp")" = "$want" ] &&
  [ -f e2e/node_modules/playwright-core/package.json ] &&
  [ -f e2e/node_modules/@tauri-apps/api/package.json ] &&
  [ -f e2e/node_modules/@tauri-apps/plugin-biometric/package.json ]; then
  exit 0
fi
echo "install-e2e: npm ci in e2e/"
if ! (cd e2e && npm ci --no-audit --no-fund --loglevel=error) >"$log" 2>&1; then
  cat "$log" >&2
  echo "install-e2e: npm ci failed" >&2
  exit 1
fi
echo "$want" >"$stamp"
