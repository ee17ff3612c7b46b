#!/usr/bin/env bash
# Decides the same requests on the same app (the corpus app with the most
# entries) with Tauri's runtime check, RuntimeAuthority::resolve_access (the
# oracle's bench command, a release build), and with capguard's native
# engine (BenchmarkDecideVsTauri), in RUNS rounds (default 7; each round
# one Tauri timing and one capguard benchmark, side by side), plus
# capguard's local and uncached remote decisions (BenchmarkDecide), and
# prints min, median and max of each figure over the rounds. Shared
# machines move absolute times by tens of percent from run to run: quote
# the spread, and the ratio of the medians.
#
#   scripts/bench-oracle.sh [RUNS]
#
# Builds the oracle's main build first when needed.
set -euo pipefail
cd "$(dirname "$0")/.."
runs=${1:-7}
[[ $runs =~ ^[0-9]+$ && $runs -ge 1 ]] || { echo "bench-oracle: RUNS must be a positive number, not $runs" >&2; exit 2; }
bash scripts/build-oracle.sh --main
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
go test -c -o "$tmp/conformance.test" ./conformance/
go test -c -o "$tmp/policy.test" ./policy/
for i in $(seq "$runs"); do
  (cd conformance && "$tmp/conformance.test" -test.run '^$' -test.bench 'BenchmarkDecideVsTauri$' -test.benchmem) |
    awk '/^BenchmarkDecideVsTauri/ { print "capguard", $3; print "tauri", $5; print "ratio", $7 }' >>"$tmp/figures"
  (cd policy && "$tmp/policy.test" -test.run '^$' -test.bench 'BenchmarkDecide$/native/(local-exact|remote-uncached)$') |
    awk '/^BenchmarkDecide\/native\/local-exact/ { print "local", $3 } /^BenchmarkDecide\/native\/remote-uncached/ { print "remote", $3 }' >>"$tmp/figures"
  echo "bench-oracle: round $i of $runs done" >&2
done
stats() { # name -> "min median max"
  awk -v k="$1" '$1 == k { print $2 }' "$tmp/figures" | sort -g |
    awk '{ v[NR] = $1 } END { if (NR == 0) { print "- - -"; exit 1 } m = (NR % 2) ? v[(NR + 1) / 2] : (v[NR / 2] + v[NR / 2 + 1]) / 2; printf "%g %g %g\n", v[1], m, v[NR] }'
}
read -r cmin cmed cmax < <(stats capguard)
read -r tmin tmed tmax < <(stats tauri)
read -r rmin rmed rmax < <(stats ratio)
read -r lmin lmed lmax < <(stats local)
read -r xmin xmed xmax < <(stats remote)
echo
echo "$runs rounds, haex-vault for linux, 2,000 requests (ns per decision):"
printf '  %-58s %10s %10s %10s\n' "" min median max
printf '  %-58s %10s %10s %10s\n' "capguard native, the request mix (BenchmarkDecideVsTauri)" "$cmin" "$cmed" "$cmax"
printf '  %-58s %10s %10s %10s\n' "Tauri RuntimeAuthority::resolve_access, the same mix" "$tmin" "$tmed" "$tmax"
printf '  %-58s %10s %10s %10s\n' "Tauri / capguard, per round" "$rmin" "$rmed" "$rmax"
printf '  %-58s %10s %10s %10s\n' "capguard native, local exact label (BenchmarkDecide)" "$lmin" "$lmed" "$lmax"
printf '  %-58s %10s %10s %10s\n' "capguard native, remote page not cached" "$xmin" "$xmed" "$xmax"
awk -v t="$tmed" -v c="$cmed" 'BEGIN { printf "  ratio of the medians: %.1fx\n", t / c }'
