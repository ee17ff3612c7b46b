package conformance

import (
	"encoding/json"
	"fmt"
	"maps"
	"math/rand/v2"
	"net/url"
	"slices"
	"sort"
	"strings"
	"testing"

	"github.com/capguard/capguard/acl"
	"github.com/capguard/capguard/internal/policytest"
)

// wireRequest is a request as the oracle reads it.
type wireRequest struct {
	Command string `json:"command"`
	Window  string `json:"window"`
	Webview string `json:"webview"`
	Origin  string `json:"origin"`
}

// toWire makes a request both sides read the same way: labels as valid
// UTF-8 (JSON cannot carry anything else, and Tauri's labels are Rust
// strings) and the origin as "local" or its normalized URL.
func toWire(req acl.Request) (acl.Request, wireRequest) {
	req.Command = strings.ToValidUTF8(req.Command, "\uFFFD")
	req.Window = strings.ToValidUTF8(req.Window, "\uFFFD")
	req.Webview = strings.ToValidUTF8(req.Webview, "\uFFFD")
	w := wireRequest{Command: req.Command, Window: req.Window, Webview: req.Webview, Origin: "local"}
	if req.Origin.IsZero() || req.Origin.IsLocal() {
		req.Origin = acl.LocalOrigin
	} else {
		w.Origin = req.Origin.URL()
	}
	return req, w
}

// disagreement classes that the README lists as deliberate differences.
const (
	// classEmptyLabel: capguard denies a call whose window or webview label
	// is empty (no host binds an empty label; fail closed), where Tauri's
	// glob `*` matches the empty string.
	classEmptyLabel = "empty window or webview label"
)

// classify names the deliberate difference a disagreement belongs to, or
// "" when it is none (a bug).
func classify(req acl.Request, mine acl.Decision, theirs oracleDecision) string {
	if !mine.Allowed && theirs.Allowed && (req.Window == "" || req.Webview == "") {
		return classEmptyLabel
	}
	return ""
}

// tally counts decisions and disagreements by class, keeping one example
// request per class.
type tally struct {
	requests, allowed int
	classes           map[string]int
	examples          map[string]string
	bugs              []string
}

func newTally() *tally { return &tally{classes: map[string]int{}, examples: map[string]string{}} }

// compare decides reqs with capguard on r and with Tauri's RuntimeAuthority
// on the app folder dir, and records every disagreement.
func (tl *tally) compare(t *testing.T, name, dir string, target acl.Target, r *acl.Resolved, reqs []acl.Request) {
	t.Helper()
	wire := make([]wireRequest, len(reqs))
	for i := range reqs {
		reqs[i], wire[i] = toWire(reqs[i])
	}
	a := oracleFor(t, mainVersion(t)).do(t, map[string]any{"op": "decide", "dir": dir, "target": target.String(), "requests": wire})
	if !a.OK {
		t.Fatalf("%s: Tauri cannot decide: %s", name, a.Error)
	}
	tl.check(t, name, r, reqs, wire, a.Decisions)
}

// check compares capguard's decisions on r with Tauri's for the same
// requests, and records every disagreement.
func (tl *tally) check(t *testing.T, name string, r *acl.Resolved, reqs []acl.Request, wire []wireRequest, decisions []oracleDecision) {
	t.Helper()
	if len(decisions) != len(reqs) {
		t.Fatalf("%s: %d decisions for %d requests", name, len(decisions), len(reqs))
	}
	for i, req := range reqs {
		mine := r.Decide(req)
		theirs := decisions[i]
		tl.requests++
		if theirs.Allowed {
			tl.allowed++
		}
		agree := mine.Allowed == theirs.Allowed
		if agree && mine.Allowed {
			agree = sameEntries(r, mine.Matches, theirs.Entries)
		}
		if agree {
			continue
		}
		reqText, _ := json.Marshal(wire[i])
		desc := fmt.Sprintf("%s: %s: capguard allowed=%v (%d entries), Tauri allowed=%v (%d entries)", name, reqText, mine.Allowed, len(mine.Matches), theirs.Allowed, len(theirs.Entries))
		if class := classify(req, mine, theirs); class != "" {
			tl.classes[class]++
			if tl.examples[class] == "" {
				tl.examples[class] = desc
			}
			continue
		}
		tl.bugs = append(tl.bugs, desc)
	}
}

// sameEntries compares the allow entries that granted a call, as JSON.
func sameEntries(r *acl.Resolved, mine []*acl.ResolvedCommand, theirs []json.RawMessage) bool {
	if len(mine) != len(theirs) {
		return false
	}
	for i, e := range mine {
		var a, b any
		if json.Unmarshal(theirs[i], &a) != nil || json.Unmarshal(entryJSON(r, e), &b) != nil {
			return false
		}
		if fmt.Sprint(a) != fmt.Sprint(b) {
			return false
		}
	}
	return true
}

// entryJSON is one resolved entry in the form MarshalResolved writes.
func entryJSON(r *acl.Resolved, e *acl.ResolvedCommand) []byte {
	one := &acl.Resolved{Allowed: map[string][]*acl.ResolvedCommand{"x": {e}}, CommandScopes: r.CommandScopes}
	var v struct {
		Allowed map[string][]json.RawMessage `json:"allowed_commands"`
	}
	if err := json.Unmarshal(acl.MarshalResolved(one), &v); err != nil {
		return nil
	}
	return v.Allowed["x"][0]
}

func (tl *tally) report(t *testing.T, what string, minRequests int) {
	t.Helper()
	var names []string
	for c := range tl.classes {
		names = append(names, c)
	}
	sort.Strings(names)
	var b strings.Builder
	fmt.Fprintf(&b, "%s: %d requests compared with Tauri (%d allowed), %d unexplained disagreements", what, tl.requests, tl.allowed, len(tl.bugs))
	for _, c := range names {
		fmt.Fprintf(&b, "\n  deliberate difference %q: %d, e.g. %s", c, tl.classes[c], tl.examples[c])
	}
	t.Log(b.String())
	for i, bug := range tl.bugs {
		if i == 20 {
			t.Errorf("... and %d more", len(tl.bugs)-20)
			break
		}
		t.Error(bug)
	}
	if tl.requests < minRequests {
		t.Errorf("%s: only %d requests compared, want at least %d", what, tl.requests, minRequests)
	}
}

// corpusRequests draws the requests for one resolved app: every command
// (and unknown ones) from every label its capabilities name (and glob
// variants, and unlisted ones), locally and from every remote pattern's
// matching and near-miss URLs; then random ones.
func corpusRequests(r *acl.Resolved, rng *rand.Rand, n int) []acl.Request {
	g := policytest.NewGenerator(r, rng)
	labels := map[string]bool{"unlisted-window": true, "": true}
	for _, m := range []map[string][]*acl.ResolvedCommand{r.Allowed, r.Denied} {
		// In command order: rng draws in a fixed order, so that a seed
		// gives the same requests on every run.
		for _, cmd := range slices.Sorted(maps.Keys(m)) {
			for _, e := range m[cmd] {
				for _, gl := range append(append([]*acl.Glob(nil), e.Windows...), e.Webviews...) {
					labels[gl.String()] = true
					labels[policytest.Instantiate(gl.String(), rng)] = true
					labels[gl.String()+"-2"] = true
				}
			}
		}
	}
	var ls []string
	for l := range labels {
		ls = append(ls, l)
	}
	sort.Strings(ls)
	origins := append([]acl.Origin{acl.LocalOrigin}, g.Origins()...)
	cmds := append(append([]string(nil), g.Commands()...), "plugin:nope|x", "open_vault")
	var out []acl.Request
	for _, c := range cmds {
		for _, l := range ls {
			o := origins[rng.IntN(len(origins))]
			out = append(out, acl.Request{Command: c, Window: l, Webview: l, Origin: o})
			if len(out) >= n/2 {
				break
			}
		}
		if len(out) >= n/2 {
			break
		}
	}
	for len(out) < n {
		out = append(out, g.Request())
	}
	return out
}

// TestDecisionsMatchTauri decides requests over every corpus app and Tauri
// fixture with capguard's reference decision and with Tauri's
// RuntimeAuthority::resolve_access, and requires the same answer (and the
// same granting entries) for each, apart from the deliberate differences
// the README lists, which are counted per class.
func TestDecisionsMatchTauri(t *testing.T) {
	rng := rand.New(rand.NewPCG(18, 2026))
	tl := newTally()
	for _, c := range corpusCases(t) {
		r, _, err := capguardResolve(c.dir, c.target)
		if err != nil {
			continue // rejected by both: TestResolutionMatchesTauri checks it
		}
		tl.compare(t, c.name, c.dir, c.target, r, corpusRequests(r, rng, 3500))
	}
	tl.report(t, "corpus decisions", 200_000)
}

// classBareCommand: Tauri's IPC path skips the ACL for a bare application
// command from the local origin when the app has no app manifest (no
// permissions of its own); capguard checks every command (fail closed).
const classBareCommand = "bare app command, no app manifest, local origin"

// ipcResult is what the mock runtime's whole IPC path did with a call.
type ipcResult struct {
	Skipped     bool            `json:"skipped"`
	Reached     bool            `json:"reached"`
	ACLRejected bool            `json:"acl_rejected"`
	Message     json.RawMessage `json:"message"`
}

// TestIPCPathMatchesTauri sends a sample of the corpus requests through
// Tauri's whole IPC path (the mock runtime: a webview window with the
// request's label, the page URL that Tauri turns into the origin, the ACL
// check, then the command handler) and requires that a call reaches the
// handler exactly when capguard allows it, apart from the deliberate
// differences.
func TestIPCPathMatchesTauri(t *testing.T) {
	rng := rand.New(rand.NewPCG(16072, 2))
	tl := newTally()
	o := oracleFor(t, mainVersion(t))
	for i, c := range corpusCases(t) {
		if i%3 != 0 {
			continue
		}
		r, _, err := capguardResolve(c.dir, c.target)
		if err != nil {
			continue
		}
		reqs, wire := ipcRequests(r, rng, 400)
		a := o.do(t, map[string]any{"op": "ipc", "dir": c.dir, "target": c.target.String(), "requests": wire})
		if !a.OK || len(a.Results) != len(reqs) {
			t.Fatalf("%s: the mock runtime answered %d results for %d requests: %s", c.name, len(a.Results), len(reqs), a.Error)
		}
		tl.checkIPC(t, c.name, r, reqs, wire, a.Results)
	}
	tl.report(t, "IPC path sample", 5_000)
}

// ipcRequests draws n corpus requests for r that the mock runtime can
// send: a window label Tauri accepts, the same webview label, and a page
// of the mock app's own URL taken as local on both sides.
func ipcRequests(r *acl.Resolved, rng *rand.Rand, n int) ([]acl.Request, []wireRequest) {
	var reqs []acl.Request
	var wire []wireRequest
	for _, req := range corpusRequests(r, rng, n) {
		if req.Window == "" || strings.ContainsAny(req.Window, "\x00\uFFFD") {
			continue // Tauri cannot create a window with that label
		}
		req.Webview = req.Window
		req, w := toWire(req)
		if mockLocal(w.Origin) {
			// The mock runtime serves the app on tauri://localhost: a
			// page there is the local origin, for Tauri and capguard.
			req.Origin = acl.LocalOrigin
		}
		reqs, wire = append(reqs, req), append(wire, w)
	}
	return reqs, wire
}

// checkIPC compares capguard's decisions on r with what Tauri's IPC path
// did with the same requests, and records every disagreement.
func (tl *tally) checkIPC(t *testing.T, name string, r *acl.Resolved, reqs []acl.Request, wire []wireRequest, results []json.RawMessage) {
	t.Helper()
	_, hasApp := r.Manifests[acl.AppKey]
	for i, req := range reqs {
		var res ipcResult
		if err := json.Unmarshal(results[i], &res); err != nil {
			t.Fatal(err)
		}
		if res.Skipped {
			continue
		}
		tl.requests++
		mine := r.Decide(req).Allowed
		// A plugin call that passes the ACL reaches the plugin lookup
		// (there is no such plugin in the mock app): anything but the
		// ACL's rejection means "allowed".
		theirs := !res.ACLRejected
		if theirs {
			tl.allowed++
		}
		if mine == theirs {
			continue
		}
		reqText, _ := json.Marshal(wire[i])
		desc := fmt.Sprintf("%s: %s: capguard allowed=%v, Tauri's IPC path reached=%v (%s)", name, reqText, mine, res.Reached, truncate(string(res.Message), 120))
		if !mine && res.Reached && !strings.HasPrefix(req.Command, "plugin:") && !hasApp && req.Origin.IsLocal() {
			tl.classes[classBareCommand]++
			if tl.examples[classBareCommand] == "" {
				tl.examples[classBareCommand] = desc
			}
			continue
		}
		tl.bugs = append(tl.bugs, desc)
	}
}

// mockLocal tells whether Tauri's IPC path in the mock runtime takes a page
// URL for the app's own content (the tauri:// protocol, or its
// http(s)://tauri.localhost form).
func mockLocal(u string) bool {
	if u == "local" {
		return true
	}
	p, err := url.Parse(u)
	if err != nil {
		return false
	}
	return p.Scheme == "tauri" && p.Host == "localhost" || (p.Scheme == "http" || p.Scheme == "https") && p.Host == "tauri.localhost"
}
