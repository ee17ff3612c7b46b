package conformance

import (
	"bytes"
	"context"
	"encoding/json"
	"math/rand/v2"
	"os/exec"
	"strconv"
	"sync"
	"testing"

	"github.com/capguard/capguard/acl"
	"github.com/capguard/capguard/internal/conformance"
	"github.com/capguard/capguard/policy"
)

// benchApp is the corpus app with the most resolved entries.
const benchApp = "haex-space__haex-vault"

// benchSetup resolves the bench app and draws the requests both sides
// decide: the corpus generator's mix of allowed, denied, unknown, remote
// and edge-case calls.
func benchSetup(b *testing.B) (dir string, n *policy.Native, reqs []acl.Request, wire []byte) {
	b.Helper()
	dir = conformance.Path(b, "apps", benchApp, "src-tauri")
	r, _, err := capguardResolve(dir, acl.Linux)
	if err != nil {
		b.Fatal(err)
	}
	if n, err = policy.Compile(r); err != nil {
		b.Fatal(err)
	}
	var buf bytes.Buffer
	for _, req := range corpusRequests(r, rand.New(rand.NewPCG(3, 3)), 2000) {
		req, w := toWire(req)
		reqs = append(reqs, req)
		line, _ := json.Marshal(w)
		buf.Write(append(line, '\n'))
	}
	return dir, n, reqs, buf.Bytes()
}

// BenchmarkDecideVsTauri decides the same requests on the same app with
// capguard's native engine (this benchmark's ns/op, one decision per op)
// and with Tauri's RuntimeAuthority::resolve_access, timed by the oracle's
// bench command in a release build (reported as tauri-ns/decision), and
// reports their ratio. scripts/bench-oracle.sh runs it.
func BenchmarkDecideVsTauri(b *testing.B) {
	dir, n, reqs, wire := benchSetup(b)
	tauri := tauriBench(b, dir, wire, len(reqs))
	preq := make([]policy.Request, len(reqs))
	for i, r := range reqs {
		preq[i] = policy.Request{Command: r.Command, Window: r.Window, Webview: r.Webview, Origin: r.Origin}
	}
	ctx := context.Background()
	b.ReportAllocs()
	b.ResetTimer()
	for i := range b.N {
		if _, err := n.Decide(ctx, preq[i%len(preq)]); err != nil {
			b.Fatal(err)
		}
	}
	b.StopTimer()
	mine := float64(b.Elapsed().Nanoseconds()) / float64(b.N)
	b.ReportMetric(tauri.NsPerDecision, "tauri-ns/decision")
	b.ReportMetric(tauri.NsPerDecision/mine, "tauri/capguard")
	if b.N > 1000 {
		b.Logf("%s, %d requests: capguard %.0f ns/decision, Tauri %s ns/decision", benchApp, len(reqs), mine, strconv.FormatFloat(tauri.NsPerDecision, 'f', 0, 64))
	}
}

// tauriTiming is what the oracle's bench command measured.
type tauriTiming struct {
	NsPerDecision float64 `json:"ns_per_decision"`
	Requests      int     `json:"requests"`
}

// tauriBench runs the oracle's bench command once per test binary (the
// benchmark function runs several times while the framework sizes b.N).
var tauriBench = func() func(b *testing.B, dir string, wire []byte, n int) tauriTiming {
	var once sync.Once
	var t tauriTiming
	return func(b *testing.B, dir string, wire []byte, n int) tauriTiming {
		b.Helper()
		bin := oracleBinary(b, mainVersion(b))
		once.Do(func() {
			cmd := exec.Command(bin, "bench", dir, "--target", "linux", "--iterations", "500")
			cmd.Stdin = bytes.NewReader(wire)
			out, err := cmd.Output()
			if err == nil {
				err = json.Unmarshal(out, &t)
			}
			if err != nil {
				t.Requests = -1
				b.Logf("oracle bench: %q: %v", out, err)
			}
		})
		if t.Requests != n {
			b.Fatalf("the oracle's bench decided %d requests, want %d", t.Requests, n)
		}
		return t
	}
}()
