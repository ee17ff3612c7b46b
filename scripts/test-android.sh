#!/usr/bin/env bash
# Compiles capguard's Android shim (Kotlin, native/mobile/android) against
# the Android framework and runs its Robolectric tests: `mvn -q test`, with
# Maven resolving everything (the Kotlin compiler, Robolectric, the
# android-all framework jars) into its local repository and Robolectric
# running offline on Maven's copy. The tests read native/mobile/contract.json,
# which the Go tests of native/mobile read too.
#
# CAPGUARD_ANDROID=off turns the suite into a printed skip. Without it, a
# missing java or mvn fails (run scripts/install-android.sh first). Extra
# arguments go to Maven (e.g. -Dtest=PromptTest).
#
# Prints one closing line: "android: N passed, N failed, N skipped".
set -euo pipefail
cd "$(dirname "$0")/../native/mobile/android"

if [ "${CAPGUARD_ANDROID:-}" = off ]; then
  echo "SKIP: Android shim tests (CAPGUARD_ANDROID=off): the Kotlin shim was not compiled or tested"
  exit 0
fi
for tool in java mvn; do
  if ! command -v "$tool" >/dev/null 2>&1; then
    echo "test-android: $tool not found: run scripts/install-android.sh, or set CAPGUARD_ANDROID=off to skip" >&2
    exit 1
  fi
done

# Reports of an earlier run must not be counted.
rm -rf target/surefire-reports

log=$(mktemp)
trap 'rm -f "$log"' EXIT
status=0
# -B: no progress or colours; -q: Maven prints only errors (test failures
# included); what the tests print goes to target/surefire-reports.
mvn -B -q -Dstyle.color=never test "$@" >"$log" 2>&1 || status=$?
# Maven 3.8 prints bare colour resets even in batch mode.
sed -e 's/\x1b\[[0-9;]*m//g' "$log" | grep -v '^[[:space:]]*$' || true

# Sum the Surefire reports.
tests=0 failures=0 errors=0 skipped=0
shopt -s nullglob
for f in target/surefire-reports/TEST-*.xml; do
  head=$(grep -m1 -o '<testsuite [^>]*>' "$f" || true)
  for k in tests failures errors skipped; do
    v=$(printf '%s' "$head" | sed -n "s/.* $k=\"\([0-9]*\)\".*/\1/p")
    eval "$k=\$(( $k + ${v:-0} ))"
  done
done
failed=$(( failures + errors ))
passed=$(( tests - failed - skipped ))
echo "android: $passed passed, $failed failed, $skipped skipped"

if [ "$status" -ne 0 ]; then
  echo "test-android: mvn test failed (exit $status)" >&2
  exit "$status"
fi
if [ "$tests" -eq 0 ]; then
  echo "test-android: no test ran" >&2
  exit 1
fi
if [ "$skipped" -ne 0 ] || [ "$failed" -ne 0 ]; then
  echo "test-android: $failed failed and $skipped skipped tests" >&2
  exit 1
fi
