#!/usr/bin/env bash
# Runs the tests of the npm packages and of the GitHub Action (npm/test,
# a Go module of its own): builds the launcher and this machine's platform
# package with scripts/build-npm.sh --host-only, installs the tarballs
# offline into a scratch project holding a copy of a corpus app, runs
# `npx capguard validate` and `npx capguard diff` there, and runs the
# steps of action.yml with GitHub's environment variables against scratch
# git repositories.
#
# CAPGUARD_NPM=off turns this into a printed skip; otherwise a missing
# node, npm or git fails. CAPGUARD_NPM_DIST=DIR uses tarballs a full
# scripts/build-npm.sh wrote to DIR instead of building them.
set -euo pipefail
cd "$(dirname "$0")/.."

if [ "${CAPGUARD_NPM:-}" = off ]; then
  echo "test-npm: CAPGUARD_NPM=off: the npm package and GitHub Action tests did NOT run"
  exit 0
fi
for tool in node npm npx git go; do
  if ! command -v "$tool" >/dev/null 2>&1; then
    echo "test-npm: $tool is not on the PATH (scripts/install-npm.sh installs it; CAPGUARD_NPM=off skips these tests)" >&2
    exit 1
  fi
done
node --check npm/capguard/bin/capguard.js
cd npm/test
go vet ./...
go test -count=1 "$@" ./...
