#!/usr/bin/env bash
# Installs what the Wails integration (integrations/wails) and its example
# app's real-window test (examples/wails-vault) need: Debian's WebKitGTK
# and GTK headers for the cgo build (libwebkit2gtk-4.1-dev, libgtk-3-dev),
# a virtual display (xvfb, xauth), ImageMagick's `import` for the
# screenshot, Node.js with npm, the npm packages pinned in
# examples/wails-vault/frontend/package-lock.json (@tauri-apps/api,
# @tauri-apps/plugin-biometric, and xhook, a library that wraps fetch),
# and the Go modules of both modules
# (github.com/wailsapp/wails/v3 v3.0.0-alpha.38 and its requirements).
#
# Idempotent and quiet: when everything is there it prints nothing and
# exits 0. Missing Debian packages are installed with apt-get when running
# as root; otherwise it says what is missing and exits 1 (install them, or
# set CAPGUARD_WAILS=off to skip the Wails tests).
set -euo pipefail
cd "$(dirname "$0")/.."

log=$(mktemp)
trap 'rm -f "$log"' EXIT

missing=()
for pkg in libwebkit2gtk-4.1-dev libgtk-3-dev xvfb xauth imagemagick nodejs npm; do
  if ! dpkg-query -W -f='${Status}' "$pkg" 2>/dev/null | grep -q 'install ok installed'; then
    # node and npm may come from elsewhere than Debian.
    case $pkg in
    nodejs) command -v node >/dev/null 2>&1 && continue ;;
    npm) command -v npm >/dev/null 2>&1 && continue ;;
    esac
    missing+=("$pkg")
  fi
done

if [ ${#missing[@]} -gt 0 ]; then
  if ! command -v apt-get >/dev/null 2>&1; then
    echo "install-wails: missing ${missing[*]}, and there is no apt-get here;" \
      "install them by hand or set CAPGUARD_WAILS=off" >&2
    exit 1
  fi
  if [ "$(id -u)" -ne 0 ]; then
    echo "install-wails: missing ${missing[*]}; run as root:" \
      "apt-get install ${missing[*]} (or set CAPGUARD_WAILS=off)" >&2
    exit 1
  fi
  echo "install-wails: installing ${missing[*]}"
  export DEBIAN_FRONTEND=noninteractive
  if ! { apt-get update -qq &&
    apt-get install -y -qq --no-install-recommends -o DPkg::Lock::Timeout=600 "${missing[@]}"; } >"$log" 2>&1; then
    cat "$log" >&2
    echo "install-wails: apt-get failed" >&2
    exit 1
  fi
fi

# The Go modules of the integration and of the example (each its own
# module; the root module never requires Wails).
for mod in integrations/wails examples/wails-vault; do
  if ! (cd "$mod" && go mod download) >"$log" 2>&1; then
    cat "$log" >&2
    echo "install-wails: go mod download failed in $mod" >&2
    exit 1
  fi
done

# The npm packages: reinstalled when the lock file changed since the last
# `npm ci` (its hash is kept in node_modules).
front=examples/wails-vault/frontend
stamp=$front/node_modules/.capguard-lock.sha256
want=$(sha256sum "$front/package-lock.json" | cut -d' ' -f1)
if [ -f "$stamp" ] && [ "$(cat "$stamp")" = "$want" ] &&
  [ -f "$front/node_modules/@tauri-apps/api/package.json" ] &&
  [ -f "$front/node_modules/@tauri-apps/plugin-biometric/package.json" ] &&
  [ -f "$front/node_modules/xhook/package.json" ]; then
  exit 0
fi
echo "install-wails: npm ci in $front/"
if ! (cd "$front" && npm ci --no-audit --no-fund --loglevel=error) >"$log" 2>&1; then
  cat "$log" >&2
  echo "install-wails: npm ci failed" >&2
  exit 1
fi
echo "$want" >"$stamp"
