#!/usr/bin/env bash
# Builds the Tauri oracle (conformance/tauri-oracle): the main build (the
# newest tauri-utils with the tauri runtime, release profile) and one small
# build per older tauri-utils release listed in versions.txt (debug profile,
# one shared target folder so that common dependencies compile once).
#
#   scripts/build-oracle.sh            install the build dependencies, build all
#   scripts/build-oracle.sh 2.3.1 ...  build only these releases (and the main build)
#   scripts/build-oracle.sh --main     only the main build (newest tauri-utils, tauri runtime)
#   scripts/build-oracle.sh --new V    add release V: write versions/V/Cargo.toml
#                                      and its Cargo.lock, then build it
#
# CAPGUARD_TAURI=off turns it into a printed skip (for users without Rust).
set -euo pipefail
cd "$(dirname "$0")/.."
oracle=conformance/tauri-oracle

if [ "${CAPGUARD_TAURI:-}" = off ]; then
  echo "build-oracle: CAPGUARD_TAURI=off: the Tauri oracle is not built (differential tests skip)"
  exit 0
fi

manifest() { # version -> versions/V/Cargo.toml
  local v=$1 bin=${1//./_}
  mkdir -p "$oracle/versions/$v"
  cat >"$oracle/versions/$v/Cargo.toml" <<TOML
# Written by scripts/build-oracle.sh --new $v: the oracle on tauri-utils $v.
[package]
name = "tauri-oracle"
version = "$v"
edition = "2021"
publish = false

[dependencies]
tauri-utils = { version = "=$v", features = ["build", "config-json5", "config-toml"] }
serde = "1"
# as tauri-build, which writes the schemas: properties in declaration order
schemars = { version = "0.8", features = ["preserve_order"] }
# Real app builds keep JSON key order (their build graph turns serde_json's
# preserve_order on: the corpus's acl-manifests.json and schemas keep the
# plugins' scope schemas in declaration order), so the oracle does too.
serde_json = { version = "1", features = ["preserve_order"] }
glob = "0.3"
json-patch = "3"
url = "2"

[features]
runtime = []

[[bin]]
name = "tauri-oracle-$bin"
path = "../../src/main.rs"

[profile.dev]
debug = false

[workspace]
TOML
}

versions=()
if [ "${1:-}" = --new ]; then
  shift
  for v in "$@"; do
    manifest "$v"
    grep -qx "$v" "$oracle/versions.txt" || echo "$v" >>"$oracle/versions.txt"
    (cd "$oracle/versions/$v" && cargo generate-lockfile)
    versions+=("$v")
  done
elif [ "${1:-}" = --main ]; then
  versions=()
elif [ $# -gt 0 ]; then
  versions=("$@")
else
  mapfile -t versions < <(grep -v '^#' "$oracle/versions.txt" | grep .)
fi

# Tauri's Linux build dependencies, from Debian: the tauri runtime's -sys
# crates probe these pkg-config modules (gtk-sys, gdk-sys, webkit2gtk-sys,
# javascriptcore-rs-sys, soup3-sys and the GLib stack under them) and the
# binary links them; a C toolchain links the build scripts.
pc_modules=(gtk+-3.0 gdk-3.0 webkit2gtk-4.1 javascriptcoregtk-4.1 libsoup-3.0 glib-2.0 gio-2.0 gobject-2.0 pango cairo gdk-pixbuf-2.0 atk)
debs=(pkg-config build-essential libgtk-3-dev libwebkit2gtk-4.1-dev libjavascriptcoregtk-4.1-dev libsoup-3.0-dev)
missing() {
  command -v cc >/dev/null || return 0
  command -v pkg-config >/dev/null || return 0
  pkg-config --exists "${pc_modules[@]}" 2>/dev/null && return 1
  return 0
}
if missing; then
  if command -v apt-get >/dev/null && [ "$(id -u)" = 0 ]; then
    echo "build-oracle: installing ${debs[*]}"
    apt-get update -qq
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq -o DPkg::Lock::Timeout=600 "${debs[@]}" >/dev/null
  fi
  if missing; then
    echo "build-oracle: the tauri runtime needs a C compiler and the pkg-config modules ${pc_modules[*]}" >&2
    echo "build-oracle: on Debian, as root: apt-get install ${debs[*]} (or set CAPGUARD_TAURI=off)" >&2
    exit 1
  fi
fi
command -v cargo >/dev/null || { echo "build-oracle: cargo is missing; install Rust or set CAPGUARD_TAURI=off" >&2; exit 1; }

# Cargo's build folder is conformance/tauri-oracle/target. In a clone that
# has none yet, it is made a link to a cache that every clone on this
# machine shares (CAPGUARD_ORACLE_CACHE, default
# ${XDG_CACHE_HOME:-~/.cache}/capguard/tauri-oracle-target): a fresh clone,
# such as CI's, then recompiles the oracle's own code and not its ~400
# dependency crates again. Cargo locks the folder, so clones that build at
# the same time wait for each other. CAPGUARD_ORACLE_CACHE=off keeps the
# folder inside the clone; a cold cache is only slower.
cache=${CAPGUARD_ORACLE_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/capguard/tauri-oracle-target}
if [ "$cache" != off ] && [ ! -e "$oracle/target" ] && [ ! -L "$oracle/target" ]; then
  mkdir -p "$cache"
  ln -s "$cache" "$oracle/target"
  echo "build-oracle: build folder $oracle/target -> $cache (shared by the clones of this machine; CAPGUARD_ORACLE_CACHE=off to keep it here)"
fi

start=$(date +%s)
echo "build-oracle: main build (tauri-utils $(sed -n 's/^version = "\(.*\)"/\1/p' "$oracle/Cargo.toml" | head -1), tauri runtime)"
cargo build -q --release --locked --manifest-path "$oracle/Cargo.toml"
for v in "${versions[@]}"; do
  [ -f "$oracle/versions/$v/Cargo.toml" ] || { echo "build-oracle: no versions/$v (add it with --new $v)" >&2; exit 1; }
  echo "build-oracle: tauri-utils $v"
  CARGO_TARGET_DIR="$PWD/$oracle/target/versions" \
    cargo build -q --locked --manifest-path "$oracle/versions/$v/Cargo.toml"
done
echo "build-oracle: done in $(( $(date +%s) - start )) s; binaries in $oracle/target/release and $oracle/target/versions/debug"
