package test

import (
	"encoding/json"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"sort"
	"strings"
	"testing"
)

// platforms are the six platform packages, as npm names them.
var platforms = []string{"darwin-arm64", "darwin-x64", "linux-arm64", "linux-x64", "win32-arm64", "win32-x64"}

// TestLauncherManifest: the committed launcher lists exactly the platform
// packages the build script builds, with no install script.
func TestLauncherManifest(t *testing.T) {
	data, err := os.ReadFile(filepath.Join(repoRoot, "npm", "capguard", "package.json"))
	if err != nil {
		t.Fatal(err)
	}
	p := readPackage(t, data)
	var deps []string
	for d := range p.OptionalDependencies {
		deps = append(deps, strings.TrimPrefix(d, "@capguard/"))
	}
	sort.Strings(deps)
	if !slices.Equal(deps, platforms) || p.Bin["capguard"] != "bin/capguard.js" || len(p.Scripts) != 0 {
		t.Fatalf("npm/capguard/package.json: optionalDependencies %v, bin %v, scripts %v", deps, p.Bin, p.Scripts)
	}
	script, err := os.ReadFile(filepath.Join(repoRoot, "scripts", "build-npm.sh"))
	if err != nil {
		t.Fatal(err)
	}
	m := regexp.MustCompile(`(?m)^all=\(([^)]*)\)`).FindSubmatch(script)
	if m == nil {
		t.Fatal("scripts/build-npm.sh: no all=(...) list of GOOS/GOARCH")
	}
	// GOOS and GOARCH as npm spells them.
	npmOS := map[string]string{"linux": "linux", "darwin": "darwin", "windows": "win32"}
	npmCPU := map[string]string{"amd64": "x64", "arm64": "arm64"}
	var built []string
	for _, target := range strings.Fields(string(m[1])) {
		goos, goarch, _ := strings.Cut(target, "/")
		built = append(built, npmOS[goos]+"-"+npmCPU[goarch])
	}
	sort.Strings(built)
	if !slices.Equal(built, platforms) {
		t.Fatalf("scripts/build-npm.sh builds %v, the launcher lists %v", built, platforms)
	}
}

// TestTarballs: the packed launcher and platform package have one
// version, the launcher depends on every platform package at that
// version, and the platform package is limited to its platform and holds
// an executable binary.
func TestTarballs(t *testing.T) {
	launcher, platform, version := tarballs(t)
	data, _ := tarFile(t, launcher, "package/package.json")
	l := readPackage(t, data)
	if l.Name != "capguard" || l.Version != version || len(l.OptionalDependencies) != len(platforms) {
		t.Fatalf("launcher package.json: %+v", l)
	}
	for dep, v := range l.OptionalDependencies {
		if v != version {
			t.Errorf("optional dependency %s@%s, want version %s", dep, v, version)
		}
	}
	if _, mode := tarFile(t, launcher, "package/bin/capguard.js"); mode&0o111 == 0 {
		t.Errorf("bin/capguard.js is not executable: %v", mode)
	}
	data, _ = tarFile(t, platform, "package/package.json")
	p := readPackage(t, data)
	os, cpu, _ := strings.Cut(npmPlatform(), "-")
	if p.Name != "@capguard/"+npmPlatform() || p.Version != version || !slices.Equal(p.OS, []string{os}) || !slices.Equal(p.CPU, []string{cpu}) || len(p.Scripts) != 0 {
		t.Fatalf("platform package.json: %+v", p)
	}
	exe := "capguard"
	if os == "win32" {
		exe += ".exe"
	}
	bin, mode := tarFile(t, platform, "package/bin/"+exe)
	if mode&0o111 == 0 || len(bin) < 1<<20 {
		t.Fatalf("bin/%s: mode %v, %d bytes", exe, mode, len(bin))
	}
}

// scratchProject makes a project folder with a copy of a corpus app as
// src-tauri, a git repository with one commit, and capguard installed
// from the tarballs with npm offline.
func scratchProject(t *testing.T, app string) (dir string, env []string) {
	t.Helper()
	launcher, platform, _ := tarballs(t)
	dir = t.TempDir()
	env = offlineEnv(t)
	if err := os.WriteFile(filepath.Join(dir, "package.json"), []byte(`{"name":"scratch","version":"1.0.0","private":true}`+"\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	copyDir(t, conformanceApp(t, app), filepath.Join(dir, "src-tauri"))
	must(t, dir, env, "git", "init", "-q", "-b", "main")
	must(t, dir, env, "git", "add", "src-tauri")
	must(t, dir, env, "git", "commit", "-q", "-m", "app")
	must(t, dir, env, "npm", "install", "--offline", "--no-audit", "--no-fund", launcher, platform)
	return dir, env
}

func TestInstallOffline(t *testing.T) {
	dir, env := scratchProject(t, "NicolaSpadari__nuxtor")
	if _, err := os.Stat(filepath.Join(dir, "node_modules", "@capguard", npmPlatform(), "package.json")); err != nil {
		t.Fatalf("the platform package was not installed: %v", err)
	}

	// validate: nuxtor has one error (a shell scope entry), exit 1.
	r := runIn(t, dir, env, "npx", "--offline", "capguard", "validate", "src-tauri")
	if r.code != 1 || !strings.Contains(r.stdout, "src-tauri/capabilities/main.json:21:5: error:") || !strings.Contains(r.stdout, "1 error,") {
		t.Fatalf("npx capguard validate: exit %d\n%s\n%s", r.code, r.stdout, r.stderr)
	}
	r = runIn(t, dir, env, "npx", "--offline", "capguard", "validate", "src-tauri", "--format", "json")
	var v struct{ Errors int }
	if err := json.Unmarshal([]byte(r.stdout), &v); err != nil || v.Errors != 1 || r.code != 1 {
		t.Fatalf("validate --format json: exit %d, %v\n%s", r.code, err, r.stdout)
	}

	// diff: the committed app against the work tree with every window.
	if out := must(t, dir, env, "npx", "--offline", "capguard", "diff", "HEAD", "src-tauri"); !strings.HasPrefix(out, "capguard diff: unchanged") {
		t.Fatalf("diff HEAD against the unchanged tree:\n%s", out)
	}
	setWindows(t, filepath.Join(dir, "src-tauri", "capabilities", "main.json"), "*")
	r = runIn(t, dir, env, "npx", "--offline", "capguard", "diff", "HEAD", "src-tauri", "--format", "json", "--fail-on", "widened")
	var d struct {
		Verdict           string
		Widened, Narrowed int
		Changes           []struct{ Kind, Window, Command string }
	}
	if err := json.Unmarshal([]byte(r.stdout), &d); err != nil || r.code != 1 {
		t.Fatalf("diff --fail-on widened: exit %d, %v\n%s\n%s", r.code, err, r.stdout, r.stderr)
	}
	found := false
	for _, c := range d.Changes {
		found = found || c.Kind == "call" && c.Window == "*" && c.Command == "plugin:shell|execute"
	}
	if d.Verdict != "widened" || d.Narrowed != 0 || !found {
		t.Fatalf("diff: %+v", d)
	}
	must(t, dir, env, "git", "commit", "-q", "-am", "every window")
	if out := must(t, dir, env, "npx", "--offline", "capguard", "diff", "HEAD~1", "HEAD", "--format", "markdown"); !strings.HasPrefix(out, "### capguard diff: **widened**") {
		t.Fatalf("diff HEAD~1 HEAD --format markdown:\n%s", out)
	}

	// Without the platform package the launcher says what is missing.
	if err := os.RemoveAll(filepath.Join(dir, "node_modules", "@capguard")); err != nil {
		t.Fatal(err)
	}
	r = runIn(t, dir, env, "npx", "--offline", "capguard", "validate", "src-tauri")
	if r.code != 2 || !strings.Contains(r.stderr, "@capguard/"+npmPlatform()+" is not installed") {
		t.Fatalf("without the platform package: exit %d\n%s", r.code, r.stderr)
	}
}
