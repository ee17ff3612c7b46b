package test

import (
	"archive/tar"
	"compress/gzip"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strings"
	"sync"
	"testing"
)

// EnvVar set to "off" turns these tests into printed skips (for machines
// without node and npm). CI never sets it; without it a missing tool fails.
const EnvVar = "CAPGUARD_NPM"

// repoRoot is the capguard repository (two folders up).
var repoRoot = func() string {
	abs, err := filepath.Abs(filepath.Join("..", ".."))
	if err != nil {
		panic(err)
	}
	return abs
}()

// needTools fails the test when a tool is missing, unless CAPGUARD_NPM=off.
func needTools(t *testing.T) {
	t.Helper()
	if os.Getenv(EnvVar) == "off" {
		t.Skipf("%s=off: the npm and GitHub Action tests did NOT run", EnvVar)
	}
	for _, tool := range []string{"node", "npm", "npx", "git", "go", "bash"} {
		if _, err := exec.LookPath(tool); err != nil {
			t.Fatalf("%s is not on the PATH; install it (scripts/install-npm.sh) or set %s=off to skip these tests explicitly", tool, EnvVar)
		}
	}
}

// conformanceApp returns the src-tauri folder of a corpus app in
// ../shared/conformance (or CAPGUARD_CONFORMANCE_DIR).
func conformanceApp(t *testing.T, app string) string {
	t.Helper()
	if os.Getenv("CAPGUARD_CONFORMANCE") == "off" {
		t.Skip("CAPGUARD_CONFORMANCE=off: this test did NOT run")
	}
	root := os.Getenv("CAPGUARD_CONFORMANCE_DIR")
	for dir := filepath.Dir(repoRoot); root == ""; dir = filepath.Dir(dir) {
		if st, err := os.Stat(filepath.Join(dir, "shared", "conformance")); err == nil && st.IsDir() {
			root = filepath.Join(dir, "shared", "conformance")
		}
		if dir == filepath.Dir(dir) {
			break
		}
	}
	// A clone made elsewhere (git clone . /tmp/ci-check) finds the data next
	// to the repository it was cloned from, as the root module's tests do.
	if root == "" {
		if out, err := exec.Command("git", "-C", repoRoot, "config", "--get", "remote.origin.url").Output(); err == nil {
			if origin := filepath.Clean(strings.TrimSpace(string(out))); filepath.IsAbs(origin) {
				cand := filepath.Join(filepath.Dir(origin), "shared", "conformance")
				if st, err := os.Stat(cand); err == nil && st.IsDir() {
					root = cand
				}
			}
		}
	}
	p := filepath.Join(root, "apps", app, "src-tauri")
	if _, err := os.Stat(p); err != nil {
		t.Fatalf("conformance app %s not found (expected ../shared/conformance next to the repository): %v", app, err)
	}
	return p
}

// dist holds the tarballs, built once per test binary.
var dist struct {
	once     sync.Once
	dir      string
	launcher string // capguard-<v>.tgz
	platform string // capguard-<os>-<cpu>-<v>.tgz of this machine
	version  string
	err      error
}

// npmPlatform is this machine's platform as npm spells it.
func npmPlatform() string {
	os, cpu := runtime.GOOS, runtime.GOARCH
	if os == "windows" {
		os = "win32"
	}
	if cpu == "amd64" {
		cpu = "x64"
	}
	return os + "-" + cpu
}

// tarballs builds the launcher and this platform's package with
// scripts/build-npm.sh --host-only (or uses CAPGUARD_NPM_DIST, a folder a
// full build wrote).
func tarballs(t *testing.T) (launcher, platform, version string) {
	t.Helper()
	needTools(t)
	dist.once.Do(func() {
		dir := os.Getenv("CAPGUARD_NPM_DIST")
		if dir == "" {
			if dir, dist.err = os.MkdirTemp("", "capguard-npm-"); dist.err != nil {
				return
			}
			cmd := exec.Command("bash", filepath.Join(repoRoot, "scripts", "build-npm.sh"), "--host-only", "--out", dir)
			cmd.Dir = repoRoot
			if out, err := cmd.CombinedOutput(); err != nil {
				dist.err = fmt.Errorf("scripts/build-npm.sh: %v\n%s", err, out)
				return
			}
		}
		dist.dir = dir
		matches, _ := filepath.Glob(filepath.Join(dir, "capguard-"+npmPlatform()+"-*.tgz"))
		if len(matches) != 1 {
			dist.err = fmt.Errorf("expected one capguard-%s-*.tgz in %s, found %v", npmPlatform(), dir, matches)
			return
		}
		dist.platform = matches[0]
		dist.version = strings.TrimSuffix(strings.TrimPrefix(filepath.Base(matches[0]), "capguard-"+npmPlatform()+"-"), ".tgz")
		dist.launcher = filepath.Join(dir, "capguard-"+dist.version+".tgz")
		if _, err := os.Stat(dist.launcher); err != nil {
			dist.err = err
		}
	})
	if dist.err != nil {
		t.Fatal(dist.err)
	}
	return dist.launcher, dist.platform, dist.version
}

func TestMain(m *testing.M) {
	code := m.Run()
	if dist.dir != "" && os.Getenv("CAPGUARD_NPM_DIST") == "" {
		os.RemoveAll(dist.dir)
	}
	os.Exit(code)
}

// tarFile reads one file of a package tarball, with its mode.
func tarFile(t *testing.T, tgz, name string) ([]byte, fs.FileMode) {
	t.Helper()
	f, err := os.Open(tgz)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	zr, err := gzip.NewReader(f)
	if err != nil {
		t.Fatalf("%s: %v", tgz, err)
	}
	tr := tar.NewReader(zr)
	for {
		h, err := tr.Next()
		if errors.Is(err, io.EOF) {
			t.Fatalf("%s has no %s", tgz, name)
		}
		if err != nil {
			t.Fatalf("%s: %v", tgz, err)
		}
		if h.Name == name {
			data, err := io.ReadAll(tr)
			if err != nil {
				t.Fatal(err)
			}
			return data, h.FileInfo().Mode()
		}
	}
}

// packageJSON is the part of package.json the tests read.
type packageJSON struct {
	Name                 string            `json:"name"`
	Version              string            `json:"version"`
	Bin                  map[string]string `json:"bin"`
	OS                   []string          `json:"os"`
	CPU                  []string          `json:"cpu"`
	Files                []string          `json:"files"`
	OptionalDependencies map[string]string `json:"optionalDependencies"`
	Scripts              map[string]string `json:"scripts"`
}

func readPackage(t *testing.T, data []byte) packageJSON {
	t.Helper()
	var p packageJSON
	if err := json.Unmarshal(data, &p); err != nil {
		t.Fatalf("package.json: %v\n%s", err, data)
	}
	return p
}

// copyDir copies a folder.
func copyDir(t *testing.T, src, dst string) {
	t.Helper()
	err := filepath.WalkDir(src, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		rel, _ := filepath.Rel(src, p)
		if d.IsDir() {
			return os.MkdirAll(filepath.Join(dst, rel), 0o755)
		}
		data, err := os.ReadFile(p)
		if err != nil {
			return err
		}
		return os.WriteFile(filepath.Join(dst, rel), data, 0o644)
	})
	if err != nil {
		t.Fatal(err)
	}
}

// offlineEnv is the environment of npm and npx in the tests: an empty
// cache, offline, and a registry on a closed loopback port, so that
// anything that tries the network fails instead of succeeding quietly.
func offlineEnv(t *testing.T) []string {
	t.Helper()
	return append(os.Environ(),
		"npm_config_cache="+t.TempDir(),
		"npm_config_offline=true",
		"npm_config_registry=http://127.0.0.1:9/",
		"npm_config_update_notifier=false",
		"npm_config_audit=false",
		"npm_config_fund=false",
		"GIT_AUTHOR_NAME=t", "GIT_AUTHOR_EMAIL=t@example.com", "GIT_COMMITTER_NAME=t", "GIT_COMMITTER_EMAIL=t@example.com",
		"GIT_CONFIG_GLOBAL=/dev/null", "GIT_CONFIG_SYSTEM=/dev/null",
	)
}

// result is what a command did.
type result struct {
	stdout, stderr string
	code           int
}

// runIn runs a command in dir with env and returns its output and exit
// status; failing to start it fails the test.
func runIn(t *testing.T, dir string, env []string, name string, args ...string) result {
	t.Helper()
	cmd := exec.Command(name, args...)
	cmd.Dir = dir
	cmd.Env = env
	var out, errOut strings.Builder
	cmd.Stdout, cmd.Stderr = &out, &errOut
	err := cmd.Run()
	code := 0
	var ee *exec.ExitError
	if errors.As(err, &ee) {
		code = ee.ExitCode()
	} else if err != nil {
		t.Fatalf("%s %v: %v", name, args, err)
	}
	return result{out.String(), errOut.String(), code}
}

// must runs a command that has to succeed.
func must(t *testing.T, dir string, env []string, name string, args ...string) string {
	t.Helper()
	r := runIn(t, dir, env, name, args...)
	if r.code != 0 {
		t.Fatalf("%s %v: exit %d\n%s\n%s", name, args, r.code, r.stdout, r.stderr)
	}
	return r.stdout
}

// setWindows rewrites the windows of a JSON capability file.
func setWindows(t *testing.T, file string, windows ...string) {
	t.Helper()
	data, err := os.ReadFile(file)
	if err != nil {
		t.Fatal(err)
	}
	var c map[string]any
	if err := json.Unmarshal(data, &c); err != nil {
		t.Fatalf("%s: %v", file, err)
	}
	list := make([]any, len(windows))
	for i, w := range windows {
		list[i] = w
	}
	c["windows"] = list
	data, _ = json.MarshalIndent(c, "", "  ")
	if err := os.WriteFile(file, append(data, '\n'), 0o644); err != nil {
		t.Fatal(err)
	}
}
