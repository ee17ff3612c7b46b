#!/usr/bin/env bash
# Installs what the Android shim's tests (native/mobile/android, run by
# scripts/test-android.sh) need from the system: a JDK 17 and Maven, from
# Debian's packages. Maven itself resolves everything else (the Kotlin
# compiler, Robolectric, the Android framework jars) into its local
# repository (~/.m2) on the first `mvn test`.
#
# Idempotent and quiet: when both are there it prints nothing and exits 0.
# When one is missing it installs it with apt-get if it runs as root;
# otherwise it says what is missing and exits 1 (install by hand, or set
# CAPGUARD_ANDROID=off to skip those tests).
set -euo pipefail

if [ "${CAPGUARD_ANDROID:-}" = off ]; then
  exit 0
fi

have_jdk() {
  command -v javac >/dev/null 2>&1 || return 1
  local v
  v=$(javac -version 2>&1 | sed -n 's/^javac \([0-9][0-9]*\).*/\1/p')
  [ -n "$v" ] && [ "$v" -ge 17 ]
}

missing=()
have_jdk || missing+=(openjdk-17-jdk-headless)
command -v mvn >/dev/null 2>&1 || missing+=(maven)
[ ${#missing[@]} -eq 0 ] && exit 0

if ! command -v apt-get >/dev/null 2>&1; then
  echo "install-android: missing ${missing[*]}: install a JDK 17 and Maven 3.8+" \
    "with your package manager, or set CAPGUARD_ANDROID=off" >&2
  exit 1
fi
if [ "$(id -u)" -ne 0 ]; then
  echo "install-android: missing ${missing[*]}; run as root" \
    "(apt-get install ${missing[*]}) or set CAPGUARD_ANDROID=off" >&2
  exit 1
fi

echo "install-android: installing ${missing[*]}"
log=$(mktemp)
trap 'rm -f "$log"' EXIT
export DEBIAN_FRONTEND=noninteractive
if ! { apt-get update -qq && apt-get install -y -qq --no-install-recommends "${missing[@]}"; } >"$log" 2>&1; then
  cat "$log" >&2
  echo "install-android: apt-get failed" >&2
  exit 1
fi
