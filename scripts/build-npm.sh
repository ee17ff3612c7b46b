#!/usr/bin/env bash
# Builds the npm packages of capguard (the esbuild pattern) and packs them
# into a folder:
#   capguard-<version>.tgz                 the launcher (npm/capguard)
#   capguard-<os>-<cpu>-<version>.tgz      @capguard/<os>-<cpu>, one binary each
# for linux, darwin and win32 on x64 and arm64, cross-compiled with
# CGO_ENABLED=0 go build.
#
# Usage: scripts/build-npm.sh [--out DIR] [--host-only] [--version V]
#   --out DIR     where the tarballs go (default: dist/npm); it is emptied of *.tgz first
#   --host-only   build only this machine's platform package (and the launcher)
#   --version V   the version to stamp (default: see below)
#
# The version follows the Go module's, which is the git tag: with a tag
# vX.Y.Z on HEAD the packages are X.Y.Z; otherwise a prerelease
# 0.0.0-dev.<commit time>.g<short commit>. CAPGUARD_VERSION or --version
# overrides it. Every package gets the same version, and the launcher's
# optionalDependencies name exactly that version.
set -euo pipefail
cd "$(dirname "$0")/.."

out=dist/npm
host_only=false
version=${CAPGUARD_VERSION:-}
while [ $# -gt 0 ]; do
  case "$1" in
    --out) out=$2; shift 2 ;;
    --host-only) host_only=true; shift ;;
    --version) version=$2; shift 2 ;;
    *) echo "build-npm.sh: unknown argument $1" >&2; exit 2 ;;
  esac
done
for tool in go node npm; do
  command -v "$tool" >/dev/null || { echo "build-npm.sh: $tool is not on the PATH" >&2; exit 2; }
done

if [ -z "$version" ]; then
  if tag=$(git describe --tags --exact-match --match 'v[0-9]*' HEAD 2>/dev/null); then
    version=${tag#v}
  else
    version="0.0.0-dev.$(git log -1 --format=%cd --date=format:%Y%m%d%H%M%S HEAD).g$(git rev-parse --short=12 HEAD)"
  fi
fi
if ! [[ $version =~ ^[0-9]+\.[0-9]+\.[0-9]+(-[0-9A-Za-z.-]+)?$ ]]; then
  echo "build-npm.sh: version $version is not a semantic version X.Y.Z[-pre]" >&2; exit 2
fi

# GOOS/GOARCH → npm's process.platform/process.arch.
all=(linux/amd64 linux/arm64 darwin/amd64 darwin/arm64 windows/amd64 windows/arm64)
if $host_only; then
  all=("$(go env GOOS)/$(go env GOARCH)")
fi
npm_os() { case "$1" in windows) echo win32 ;; *) echo "$1" ;; esac; }
npm_cpu() { case "$1" in amd64) echo x64 ;; *) echo "$1" ;; esac; }

mkdir -p "$out"
out=$(cd "$out" && pwd)
rm -f "$out"/*.tgz
stage=$(mktemp -d)
trap 'rm -rf "$stage"' EXIT

for target in "${all[@]}"; do
  goos=${target%/*} goarch=${target#*/}
  os=$(npm_os "$goos") cpu=$(npm_cpu "$goarch")
  exe=capguard
  [ "$goos" = windows ] && exe=capguard.exe
  pkg="$stage/$os-$cpu"
  mkdir -p "$pkg/bin"
  echo "build-npm.sh: go build $goos/$goarch"
  CGO_ENABLED=0 GOOS=$goos GOARCH=$goarch go build -trimpath -ldflags "-s -w" -o "$pkg/bin/$exe" ./cmd/capguard
  node -e '
    const [name, version, os, cpu, exe] = process.argv.slice(1);
    const pkg = {
      name, version,
      description: `The capguard binary for ${os} ${cpu} (installed by the capguard package)`,
      repository: { type: "git", url: "git+https://github.com/capguard/capguard.git", directory: "npm" },
      os: [os], cpu: [cpu],
      files: [`bin/${exe}`],
      preferUnplugged: true,
    };
    require("fs").writeFileSync(process.argv[6], JSON.stringify(pkg, null, 2) + "\n");
  ' "@capguard/$os-$cpu" "$version" "$os" "$cpu" "$exe" "$pkg/package.json"
  printf '# @capguard/%s\n\nThe capguard binary for %s %s. Install the `capguard` package instead: it\nlists this one as an optional dependency, and npm installs the one that fits\nthe machine.\n' "$os-$cpu" "$os" "$cpu" > "$pkg/README.md"
  (cd "$pkg" && npm pack --silent --pack-destination "$out" >/dev/null)
done

launcher="$stage/capguard"
cp -R npm/capguard "$launcher"
node -e '
  const fs = require("fs");
  const [file, version] = process.argv.slice(1);
  const pkg = JSON.parse(fs.readFileSync(file, "utf8"));
  pkg.version = version;
  for (const dep of Object.keys(pkg.optionalDependencies)) pkg.optionalDependencies[dep] = version;
  fs.writeFileSync(file, JSON.stringify(pkg, null, 2) + "\n");
' "$launcher/package.json" "$version"
(cd "$launcher" && npm pack --silent --pack-destination "$out" >/dev/null)

echo "build-npm.sh: capguard $version packed into $out:"
(cd "$out" && ls -1 *.tgz)
