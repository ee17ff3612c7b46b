package audit_test

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/capguard/capguard/acl"
	"github.com/capguard/capguard/audit"
	"github.com/capguard/capguard/biometric"
	"github.com/capguard/capguard/examples"
	"github.com/capguard/capguard/ipc"
	"github.com/capguard/capguard/native/sim"
	"github.com/capguard/capguard/policy"
	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"
)

// exampleEngine is the native engine of the example app, with a biometric
// obligation (max age 300 s) on open_vault, as capguard.json gives it.
func exampleEngine(t testing.TB) (policy.Engine, *acl.Resolved) {
	t.Helper()
	r, err := examples.Resolve(acl.Linux)
	if err != nil {
		t.Fatal(err)
	}
	n, err := policy.Compile(r)
	if err != nil {
		t.Fatal(err)
	}
	ext, err := acl.ParseExtension("capguard.json", []byte(`{"obligations":[{"commands":["open_vault"],"type":"biometric","max_age_s":300,"reason":"Unlock your vault"}]}`))
	if err != nil {
		t.Fatal(err)
	}
	e, err := policy.WithExtension(n, r, ext)
	if err != nil {
		t.Fatal(err)
	}
	return e, r
}

// guarded is the example app behind a guard that logs to a buffer.
type guarded struct {
	ipc *ipc.Guarded
	log *audit.Log
	buf *syncBuffer
	dev *sim.Sim
}

type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

func newGuarded(t *testing.T, script ...sim.Outcome) *guarded {
	t.Helper()
	engine, res := exampleEngine(t)
	cfg := sim.Ready()
	for _, o := range script {
		cfg.Script = append(cfg.Script, sim.Step{Outcome: o})
	}
	dev := sim.New(cfg)
	b := biometric.New(dev)
	r := ipc.NewRouter()
	if err := b.Register(r); err != nil {
		t.Fatal(err)
	}
	if err := r.Handle("open_vault", ipc.HandlerFunc(func(context.Context, *ipc.Invocation) (any, error) { return "opened", nil })); err != nil {
		t.Fatal(err)
	}
	buf := &syncBuffer{}
	log := audit.New(audit.NewJSONLines(buf), audit.Labels(map[string]string{"app": "vault"}))
	t.Cleanup(func() { log.Close() })
	g := r.Guard(engine, ipc.WithScopes(res), ipc.WithObligation(policy.ObligationBiometric, b.MeetObligation), ipc.WithObserver(log.Observe))
	return &guarded{ipc: g, log: log, buf: buf, dev: dev}
}

func (g *guarded) entries(t *testing.T) []audit.Entry {
	t.Helper()
	if err := g.log.Flush(); err != nil {
		t.Fatal(err)
	}
	var out []audit.Entry
	sc := bufio.NewScanner(strings.NewReader(g.buf.String()))
	for sc.Scan() {
		dec := json.NewDecoder(bytes.NewReader(sc.Bytes()))
		dec.DisallowUnknownFields()
		var e audit.Entry
		if err := dec.Decode(&e); err != nil {
			t.Fatalf("line %q: %v", sc.Text(), err)
		}
		out = append(out, e)
	}
	return out
}

var uuid = regexp.MustCompile(`^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$`)

// TestEntries: one entry per decision, allowed or denied, with the
// references, the obligations and their outcome.
func TestEntries(t *testing.T) {
	g := newGuarded(t, sim.Match, sim.UserCancel)
	remote := acl.MustOrigin("https://evil.example.com/x")
	calls := []ipc.Invocation{
		{Command: "open_vault", Window: "main", Origin: acl.LocalOrigin},                                           // prompt, match: allowed
		{Command: "open_vault", Window: "settings", Origin: acl.LocalOrigin},                                       // denied by the ACL
		{Command: "open_vault", Window: "main", Origin: acl.LocalOrigin, Webview: "other"},                         // another caller: prompt, cancel
		{Command: "plugin:biometric|status", Window: "main", Origin: remote},                                       // remote: denied
		{Command: "plugin:biometric|status", Window: "main", Origin: acl.LocalOrigin, Args: json.RawMessage(`{}`)}, // allowed, no obligation
	}
	before := time.Now().UTC()
	for i := range calls {
		_, _ = g.ipc.Invoke(context.Background(), &calls[i])
	}
	got := g.entries(t)
	want := []audit.Entry{
		{
			Input: audit.Input{Command: "open_vault", Window: "main", Webview: "main", Origin: audit.Origin{Local: true}},
			Result: audit.Result{Allowed: true,
				References:  []audit.Reference{{Capability: "main-window", Permission: "allow-open-vault"}},
				Obligations: []audit.Obligation{{Type: "biometric", MaxAgeS: 300, Reason: "Unlock your vault", Binding: policy.BindingEvent, Outcome: audit.OutcomeMet}},
			},
		},
		{
			Input:  audit.Input{Command: "open_vault", Window: "settings", Webview: "settings", Origin: audit.Origin{Local: true}},
			Result: audit.Result{Allowed: false},
		},
		{
			Input: audit.Input{Command: "open_vault", Window: "main", Webview: "other", Origin: audit.Origin{Local: true}},
			Result: audit.Result{Allowed: false,
				References:  []audit.Reference{{Capability: "main-window", Permission: "allow-open-vault"}},
				Obligations: []audit.Obligation{{Type: "biometric", MaxAgeS: 300, Reason: "Unlock your vault", Binding: policy.BindingEvent, Outcome: audit.OutcomeFailed, Error: "Authentication was canceled by the user. (userCancel)"}},
				Error:       "obligation not met: biometric: Authentication was canceled by the user. (userCancel)",
			},
		},
		{
			Input:  audit.Input{Command: "plugin:biometric|status", Window: "main", Webview: "main", Origin: audit.Origin{URL: "https://evil.example.com/x"}},
			Result: audit.Result{Allowed: false},
		},
		{
			Input: audit.Input{Command: "plugin:biometric|status", Window: "main", Webview: "main", Origin: audit.Origin{Local: true}},
			Result: audit.Result{Allowed: true,
				References: []audit.Reference{{Capability: "main-window", Permission: "biometric:allow-status"}},
			},
		},
	}
	ignore := cmp.Options{
		cmpopts.IgnoreFields(audit.Entry{}, "DecisionID", "Labels", "Path", "Timestamp", "Metrics"),
		cmpopts.IgnoreFields(audit.Result{}, "Reason"),
		cmpopts.EquateEmpty(),
	}
	if d := cmp.Diff(want, got, ignore); d != "" {
		t.Fatalf("entries (-want +got):\n%s", d)
	}
	ids := map[string]bool{}
	for i, e := range got {
		if !uuid.MatchString(e.DecisionID) || ids[e.DecisionID] {
			t.Errorf("entry %d: decision_id %q", i, e.DecisionID)
		}
		ids[e.DecisionID] = true
		if e.Path != audit.Path || e.Labels["app"] != "vault" || !uuid.MatchString(e.Labels["id"]) || e.Labels["id"] != got[0].Labels["id"] {
			t.Errorf("entry %d: path %q, labels %v", i, e.Path, e.Labels)
		}
		if e.Timestamp.Before(before.Add(-time.Second)) || e.Timestamp.Location() != time.UTC {
			t.Errorf("entry %d: timestamp %v", i, e.Timestamp)
		}
		if ns, ok := e.Metrics[audit.MetricDecideNS]; !ok || ns < 0 {
			t.Errorf("entry %d: metrics %v", i, e.Metrics)
		}
		if e.Result.Reason == "" {
			t.Errorf("entry %d: no reason", i)
		}
	}
	if s := g.log.Stats(); s.Written != uint64(len(calls)) || s.Dropped != 0 || s.Failed != 0 {
		t.Errorf("stats %+v", s)
	}
}

// TestArgumentsAreNeverLogged: a secret in the arguments (JSON or raw
// bytes) of allowed and denied calls appears nowhere in the log.
func TestArgumentsAreNeverLogged(t *testing.T) {
	const secret = "hunter2-correct-horse-battery-staple"
	g := newGuarded(t)
	for _, inv := range []ipc.Invocation{
		{Command: "plugin:biometric|authenticate", Window: "main", Origin: acl.LocalOrigin, Args: json.RawMessage(`{"reason":"` + secret + `"}`)},
		{Command: "open_vault", Window: "main", Origin: acl.LocalOrigin, Args: json.RawMessage(`{"password":"` + secret + `"}`)},
		{Command: "open_vault", Window: "settings", Origin: acl.LocalOrigin, Args: json.RawMessage(`{"password":"` + secret + `"}`)},
		{Command: "open_vault", Window: "main", Origin: acl.LocalOrigin, Raw: []byte(secret)},
	} {
		_, _ = g.ipc.Invoke(context.Background(), &inv)
	}
	entries := g.entries(t)
	if len(entries) != 4 {
		t.Fatalf("%d entries, want 4", len(entries))
	}
	if out := g.buf.String(); strings.Contains(out, secret) || strings.Contains(out, "password") {
		t.Fatalf("the log holds the arguments:\n%s", out)
	}
	// The secret did reach the device (so the test would see it if it leaked).
	found := false
	for _, c := range g.dev.Calls() {
		found = found || c.Prompt.Reason == secret
	}
	if !found {
		t.Fatal("the authenticate call did not run")
	}
}

// blockingSink holds every write until released.
type blockingSink struct {
	release chan struct{}
	mu      sync.Mutex
	got     []audit.Entry
}

func (s *blockingSink) Write(e *audit.Entry) error {
	<-s.release
	s.mu.Lock()
	s.got = append(s.got, *e)
	s.mu.Unlock()
	return nil
}

func event(cmd string) ipc.DecisionEvent {
	return ipc.DecisionEvent{Time: time.Now(), Command: cmd, Window: "main", Webview: "main", Origin: acl.LocalOrigin, Allowed: true}
}

// TestFullQueueDrops: with a stuck sink and a queue of 2, Observe never
// waits; what does not fit is counted, and the next written entry says
// how many were dropped before it.
func TestFullQueueDrops(t *testing.T) {
	sink := &blockingSink{release: make(chan struct{})}
	l := audit.New(sink, audit.Queue(2))
	// The goroutine takes the first entry and blocks in Write; two more
	// fill the queue; the rest are dropped. Until the first one is taken,
	// the queue may hold it: count what is accepted instead of assuming.
	for i := range 10 {
		l.Observe(event("c" + string(rune('0'+i))))
	}
	dropped := l.Stats().Dropped
	if dropped < 7 || dropped > 8 {
		t.Fatalf("dropped %d of 10 with a queue of 2", dropped)
	}
	close(sink.release)
	if err := l.Flush(); err != nil {
		t.Fatal(err)
	}
	l.Observe(event("after"))
	// Close says entries were lost (issue 25, item 3: it returned nil).
	if err := l.Close(); !errors.Is(err, audit.ErrLost) || !strings.Contains(err.Error(), fmt.Sprintf("%d entries were dropped", dropped)) {
		t.Fatalf("Close: %v, want ErrLost naming %d dropped entries", err, dropped)
	}
	s := l.Stats()
	if s.Written != 10-dropped+1 || s.Dropped != dropped {
		t.Fatalf("stats %+v", s)
	}
	var marked int64
	for _, e := range sink.got {
		marked += e.Metrics[audit.MetricDropped]
	}
	if marked != int64(dropped) {
		t.Errorf("entries report %d drops, want %d", marked, dropped)
	}
	// Drops are reported by the next entry queued after them: by "after"
	// when the writer took nothing until the sink was released, by an
	// earlier entry when the writer dequeued mid-burst. Either way every
	// drop is reported once (checked above) and nothing is reported twice.
	if last := sink.got[len(sink.got)-1]; last.Input.Command != "after" {
		t.Errorf("the last entry is %+v, want the one observed after the drops", last)
	}
}

// TestBlockLosesNothing: with Block, a slow sink slows Observe down
// instead of losing entries.
func TestBlockLosesNothing(t *testing.T) {
	sink := &blockingSink{release: make(chan struct{})}
	l := audit.New(sink, audit.Queue(1), audit.Block())
	const n = 50
	done := make(chan struct{})
	go func() {
		for range n {
			l.Observe(event("c"))
		}
		close(done)
	}()
	close(sink.release)
	<-done
	if err := l.Close(); err != nil {
		t.Fatal(err)
	}
	if s := l.Stats(); s.Written != n || s.Dropped != 0 || len(sink.got) != n {
		t.Errorf("stats %+v, %d written", s, len(sink.got))
	}
}

type failingSink struct{ calls int }

func (f *failingSink) Write(e *audit.Entry) error {
	f.calls++
	if f.calls == 1 {
		panic("sink bug")
	}
	return errors.New("disk full")
}

func TestSinkFailuresAreCounted(t *testing.T) {
	sink := &failingSink{}
	l := audit.New(sink)
	l.Observe(event("a"))
	l.Observe(event("b"))
	if err := l.Close(); !errors.Is(err, audit.ErrLost) || !strings.Contains(err.Error(), "2 entries could not be written") {
		t.Fatalf("Close: %v, want ErrLost naming 2 entries", err)
	}
	if s := l.Stats(); s.Failed != 2 || s.Written != 0 {
		t.Errorf("stats %+v", s)
	}
}

func TestClose(t *testing.T) {
	var buf syncBuffer
	l := audit.New(audit.NewJSONLines(&buf))
	l.Observe(event("before"))
	if err := l.Close(); err != nil {
		t.Fatal(err)
	}
	if err := l.Close(); err != nil {
		t.Fatalf("second Close: %v", err)
	}
	l.Observe(event("after"))
	if err := l.Flush(); !errors.Is(err, audit.ErrClosed) {
		t.Errorf("Flush after Close: %v", err)
	}
	if s := l.Stats(); s.Written != 1 || s.Dropped != 1 {
		t.Errorf("stats %+v", s)
	}
	if out := buf.String(); !strings.Contains(out, `"before"`) || strings.Contains(out, `"after"`) || strings.Count(out, "\n") != 1 {
		t.Errorf("log %q", out)
	}
}

func TestOpenFile(t *testing.T) {
	p := filepath.Join(t.TempDir(), "audit.jsonl")
	for _, cmd := range []string{"first", "second"} {
		sink, err := audit.OpenFile(p)
		if err != nil {
			t.Fatal(err)
		}
		l := audit.New(sink)
		l.Observe(event(cmd))
		if err := l.Close(); err != nil {
			t.Fatal(err)
		}
	}
	data, err := os.ReadFile(p)
	if err != nil {
		t.Fatal(err)
	}
	lines := strings.Split(strings.TrimSuffix(string(data), "\n"), "\n")
	if len(lines) != 2 || !strings.Contains(lines[0], `"command":"first"`) || !strings.Contains(lines[1], `"command":"second"`) {
		t.Errorf("file:\n%s", data)
	}
	st, err := os.Stat(p)
	if err != nil {
		t.Fatal(err)
	}
	if perm := st.Mode().Perm(); perm&0o077 != 0 {
		t.Errorf("mode %v: readable by others", perm)
	}
	if _, err := audit.OpenFile(filepath.Join(t.TempDir(), "missing", "audit.jsonl")); err == nil {
		t.Error("OpenFile in a missing folder succeeded")
	}
}

// TestConcurrentDecisions: the guard's goroutines and Flush share the log
// (run with -race); every decision is written once.
func TestConcurrentDecisions(t *testing.T) {
	g := newGuarded(t)
	const workers, each = 8, 50
	var wg sync.WaitGroup
	for w := range workers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range each {
				window := "main"
				if (w+i)%3 == 0 {
					window = "settings"
				}
				_, _ = g.ipc.Invoke(context.Background(), &ipc.Invocation{Origin: acl.LocalOrigin, Command: "plugin:biometric|status", Window: window})
				if i%10 == 0 {
					_ = g.log.Flush()
				}
			}
		}()
	}
	wg.Wait()
	entries := g.entries(t)
	if len(entries) != workers*each {
		t.Fatalf("%d entries, want %d", len(entries), workers*each)
	}
	ids := map[string]bool{}
	for _, e := range entries {
		ids[e.DecisionID] = true
	}
	if len(ids) != workers*each {
		t.Errorf("%d distinct decision ids", len(ids))
	}
}

// TestNotAttempted: when the first of two obligations fails, the second
// is listed as not attempted.
func TestNotAttempted(t *testing.T) {
	ev := event("open_vault")
	ev.Allowed = false
	first := policy.Obligation{Type: "biometric", MaxAgeS: 0}
	second := policy.Obligation{Type: "totp"}
	ev.Decision = policy.Decision{Allowed: true, Obligations: []policy.Obligation{first, second}}
	ev.Obligations = []ipc.ObligationOutcome{{Obligation: first, Err: errors.New("cancelled")}}
	e := audit.NewEntry(ev)
	want := []audit.Obligation{
		{Type: "biometric", Binding: policy.BindingEvent, Outcome: audit.OutcomeFailed, Error: "cancelled"},
		{Type: "totp", Outcome: audit.OutcomeNotAttempted},
	}
	if d := cmp.Diff(want, e.Result.Obligations); d != "" {
		t.Error(d)
	}
}

func BenchmarkObserve(b *testing.B) {
	l := audit.New(audit.NewJSONLines(discard{}), audit.Queue(1<<16))
	defer l.Close()
	ev := event("plugin:biometric|status")
	ev.Decision = policy.Decision{Allowed: true, References: []policy.Reference{{Capability: "main-window", Permission: "biometric:default"}}}
	b.ReportAllocs()
	for b.Loop() {
		l.Observe(ev)
	}
}

type discard struct{}

func (discard) Write(p []byte) (int, error) { return len(p), nil }
