package conformance

import (
	"bufio"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"sort"
	"strings"
	"sync"
	"testing"
)

// envVar turns the differential tests into printed skips (for users
// without Rust). CI never sets it.
const envVar = "CAPGUARD_TAURI"

// oracleDir is conformance/tauri-oracle in this repository.
func oracleDir() string {
	_, file, _, _ := runtime.Caller(0)
	return filepath.Join(filepath.Dir(file), "tauri-oracle")
}

// mainVersion is the tauri-utils release of the main oracle build (its
// package version).
func mainVersion(t testing.TB) string {
	t.Helper()
	data, err := os.ReadFile(filepath.Join(oracleDir(), "Cargo.toml"))
	if err != nil {
		t.Fatal(err)
	}
	for _, line := range strings.Split(string(data), "\n") {
		if v, ok := strings.CutPrefix(line, "version = \""); ok {
			return strings.TrimSuffix(v, "\"")
		}
	}
	t.Fatal("tauri-oracle/Cargo.toml: no package version")
	return ""
}

// oracleVersions lists the tauri-utils releases the oracle is built for:
// versions.txt and the main build, oldest first.
func oracleVersions(t testing.TB) []string {
	t.Helper()
	data, err := os.ReadFile(filepath.Join(oracleDir(), "versions.txt"))
	if err != nil {
		t.Fatal(err)
	}
	var out []string
	for _, line := range strings.Split(string(data), "\n") {
		if line = strings.TrimSpace(line); line != "" && !strings.HasPrefix(line, "#") {
			out = append(out, line)
		}
	}
	out = append(out, mainVersion(t))
	sort.Slice(out, func(i, j int) bool { return versionLess(out[i], out[j]) })
	return out
}

func versionLess(a, b string) bool {
	pa, pb := strings.Split(a, "."), strings.Split(b, ".")
	for i := range min(len(pa), len(pb)) {
		var x, y int
		fmt.Sscan(pa[i], &x)
		fmt.Sscan(pb[i], &y)
		if x != y {
			return x < y
		}
	}
	return len(pa) < len(pb)
}

// oracleBinary is the build wrapping tauri-utils version v.
func oracleBinary(t testing.TB, v string) string {
	t.Helper()
	if os.Getenv(envVar) == "off" {
		t.Skipf("the Tauri oracle is disabled by %s=off: this differential test did NOT run", envVar)
	}
	var bin string
	if v == mainVersion(t) {
		bin = filepath.Join(oracleDir(), "target", "release", "tauri-oracle")
	} else {
		bin = filepath.Join(oracleDir(), "target", "versions", "debug", "tauri-oracle-"+strings.ReplaceAll(v, ".", "_"))
	}
	if _, err := os.Stat(bin); err != nil {
		t.Fatalf("no oracle build for tauri-utils %s at %s: run scripts/build-oracle.sh (or set %s=off to skip the differential tests)", v, bin, envVar)
	}
	return bin
}

// oracle is a running `tauri-oracle batch`: one JSON line in, one out.
type oracle struct {
	version string
	mu      sync.Mutex
	cmd     *exec.Cmd
	in      io.WriteCloser
	out     *bufio.Reader
}

var oracles = struct {
	sync.Mutex
	m map[string]*oracle
}{m: map[string]*oracle{}}

// oracleFor starts (once per test binary) the batch process of the build
// wrapping tauri-utils v.
func oracleFor(t testing.TB, v string) *oracle {
	t.Helper()
	bin := oracleBinary(t, v)
	oracles.Lock()
	defer oracles.Unlock()
	if o := oracles.m[v]; o != nil {
		return o
	}
	cmd := exec.Command(bin, "batch")
	cmd.Stderr = os.Stderr
	in, err := cmd.StdinPipe()
	if err != nil {
		t.Fatal(err)
	}
	out, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatalf("starting %s: %v", bin, err)
	}
	o := &oracle{version: v, cmd: cmd, in: in, out: bufio.NewReaderSize(out, 1<<20)}
	oracles.m[v] = o
	return o
}

// answer is what the oracle says to one batch operation.
type answer struct {
	OK        bool              `json:"ok"`
	Error     string            `json:"error"`
	Resolved  json.RawMessage   `json:"resolved"`
	Schema    string            `json:"schema"`
	Decisions []oracleDecision  `json:"decisions"`
	Results   []json.RawMessage `json:"results"`
	// Added says, per capability of a runtime operation, whether Tauri
	// took it.
	Added []addedResult `json:"added"`
}

// addedResult is Tauri's answer to one add_capability call.
type addedResult struct {
	OK    bool   `json:"ok"`
	Error string `json:"error"`
	Panic string `json:"panic"`
}

type oracleDecision struct {
	Allowed bool              `json:"allowed"`
	Entries []json.RawMessage `json:"entries"`
}

// do sends one operation and reads its answer. A broken pipe fails the
// test: the oracle must answer every line, errors included.
func (o *oracle) do(t testing.TB, op map[string]any) answer {
	t.Helper()
	line, err := json.Marshal(op)
	if err != nil {
		t.Fatal(err)
	}
	o.mu.Lock()
	defer o.mu.Unlock()
	if _, err := o.in.Write(append(line, '\n')); err != nil {
		t.Fatalf("oracle %s: %v", o.version, err)
	}
	reply, err := o.out.ReadBytes('\n')
	if err != nil {
		t.Fatalf("oracle %s: reading the answer to %s: %v", o.version, truncate(string(line), 200), err)
	}
	var a answer
	if err := json.Unmarshal(reply, &a); err != nil {
		t.Fatalf("oracle %s: bad answer %q: %v", o.version, truncate(string(reply), 200), err)
	}
	return a
}

func truncate(s string, n int) string {
	if len(s) <= n {
		return s
	}
	return s[:n] + "…"
}

// TestMain closes the oracle processes after the tests.
func TestMain(m *testing.M) {
	code := m.Run()
	oracles.Lock()
	for _, o := range oracles.m {
		o.in.Close()
		o.cmd.Wait()
	}
	oracles.Unlock()
	os.Exit(code)
}
