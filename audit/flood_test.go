package audit_test

import (
	"errors"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/capguard/capguard/acl"
	"github.com/capguard/capguard/audit"
	"github.com/capguard/capguard/biometric"
	"github.com/capguard/capguard/ipc"
	"github.com/capguard/capguard/native"
	"github.com/capguard/capguard/policy"
	"github.com/google/go-cmp/cmp"
)

// denied is a refusal of the ACL, as the guard reports it.
func denied(cmd string) ipc.DecisionEvent {
	ev := event(cmd)
	ev.Allowed = false
	ev.Decision = policy.Decision{Reason: cmd + " not allowed on this window, webview and origin"}
	return ev
}

// collectingSink keeps what it is given, once released.
type collectingSink struct {
	release chan struct{}
	mu      sync.Mutex
	got     []audit.Entry
}

func (s *collectingSink) Write(e *audit.Entry) error {
	<-s.release
	s.mu.Lock()
	s.got = append(s.got, *e)
	s.mu.Unlock()
	return nil
}

// TestRefusalFloodKeepsDecisions is issue 25's item 3: with the default
// Log, 198,000 denied calls beside 2,000 allowed ones, while the sink is
// stuck, used to leave 162 of the allowed decisions in the log and Close
// returned nil. Now every allowed decision is written, in order, every
// refusal is counted in an entry (one by one, or in its group's count),
// nothing is dropped and Close reports no loss.
func TestRefusalFloodKeepsDecisions(t *testing.T) {
	sink := &collectingSink{release: make(chan struct{})}
	l := audit.New(sink)
	const allowed, refused = 2_000, 198_000
	cmds := []string{"open_vault", "plugin:fs|read_file", "delete_account"}
	n := 0
	for i := 0; i < allowed+refused; i++ {
		if i%100 == 50 {
			ev := event("plugin:biometric|status")
			ev.Window = "main" + strings.Repeat("x", n%3)
			l.Observe(ev)
			n++
			continue
		}
		l.Observe(denied(cmds[i%len(cmds)]))
	}
	close(sink.release)
	if err := l.Close(); err != nil {
		t.Fatalf("Close: %v", err)
	}
	var kept, one, grouped uint64
	groups := 0
	for _, e := range sink.got {
		switch {
		case e.Path == audit.Path && e.Result.Allowed:
			if want := "main" + strings.Repeat("x", int(kept)%3); e.Input.Window != want {
				t.Fatalf("allowed decision %d is of window %q, want %q (out of order)", kept, e.Input.Window, want)
			}
			kept++
		case e.Path == audit.Path:
			one++
		case e.Path == audit.PathRefusals:
			groups++
			grouped += e.Refusals.Count
			if e.Refusals.Count == 0 || e.Refusals.Last.Before(e.Timestamp) || !strings.HasSuffix(e.Result.Reason, "not allowed on this window, webview and origin") {
				t.Errorf("group entry %+v %+v", e.Refusals, e.Result)
			}
		default:
			t.Errorf("unexpected entry %+v", e)
		}
	}
	t.Logf("%d allowed, %d refusals one by one, %d in %d group entries", kept, one, grouped, groups)
	if kept != allowed {
		t.Errorf("%d of %d allowed decisions in the log", kept, allowed)
	}
	if one+grouped != refused || grouped == 0 {
		t.Errorf("%d refusals one by one and %d grouped, want %d in all, some grouped", one, grouped, refused)
	}
	s := l.Stats()
	if s.Dropped != 0 || s.Failed != 0 || s.Grouped != grouped || s.Written != uint64(len(sink.got)) {
		t.Errorf("stats %+v", s)
	}
}

// TestRefusalsTakeNoRoomOfKeptEntries: a full queue of kept entries
// drops kept entries (counted, reported by Close), whatever the refusals
// do; refusals never take their place.
func TestRefusalsTakeNoRoomOfKeptEntries(t *testing.T) {
	sink := &collectingSink{release: make(chan struct{})}
	l := audit.New(sink, audit.Queue(4))
	for range 1000 {
		l.Observe(denied("open_vault"))
	}
	for range 3 {
		l.Observe(event("plugin:biometric|status"))
	}
	if s := l.Stats(); s.Dropped != 0 {
		t.Fatalf("kept entries dropped behind refusals: %+v", s)
	}
	for range 10 {
		l.Observe(event("plugin:biometric|status"))
	}
	close(sink.release)
	if err := l.Flush(); err != nil {
		t.Fatal(err)
	}
	l.Observe(event("after")) // reports the drops
	err := l.Close()
	s := l.Stats()
	if s.Dropped == 0 || !errors.Is(err, audit.ErrLost) {
		t.Fatalf("13 kept entries with a queue of 4 and a stuck sink: stats %+v, Close %v", s, err)
	}
	var marked int64
	for _, e := range sink.got {
		marked += e.Metrics[audit.MetricDropped]
	}
	if marked != int64(s.Dropped) {
		t.Errorf("entries report %d drops, want %d", marked, s.Dropped)
	}
}

// TestRefusalGroupsAreBounded: refusals of more kinds than MaxGroups share
// one "other" group; the counts still add up.
func TestRefusalGroupsAreBounded(t *testing.T) {
	sink := &collectingSink{release: make(chan struct{})}
	l := audit.New(sink, audit.Queue(1))
	const n = 10 * audit.MaxGroups
	for i := range n {
		l.Observe(denied("cmd" + strings.Repeat("x", i)))
	}
	close(sink.release)
	if err := l.Close(); err != nil {
		t.Fatal(err)
	}
	var total uint64
	groups, other := 0, 0
	for _, e := range sink.got {
		switch {
		case e.Refusals == nil:
			total++
		case e.Refusals.Other:
			other++
			total += e.Refusals.Count
			if e.Input != (audit.Input{}) {
				t.Errorf("the other group names a call: %+v", e.Input)
			}
		default:
			groups++
			total += e.Refusals.Count
		}
	}
	if total != n || groups > audit.MaxGroups || other != 1 {
		t.Errorf("%d refusals counted (want %d), %d groups (at most %d), %d other groups (want 1)", total, n, groups, audit.MaxGroups, other)
	}
}

// TestQueueBytesBound is issue 25's item 7 for the audit buffers: entries
// with long fields (a page chooses its URL) fill the queue's byte budget
// before its entry count, so that a stuck sink holds a bounded amount of
// memory; the rest of the refusals are grouped.
func TestQueueBytesBound(t *testing.T) {
	sink := &collectingSink{release: make(chan struct{})}
	l := audit.New(sink)
	long := "https://evil.example/" + strings.Repeat("a", 60<<10)
	origins := make([]acl.Origin, 7)
	for i := range origins {
		origins[i] = acl.MustOrigin(long + strings.Repeat("b", i))
	}
	const n = 1000 // fewer than DefaultQueue
	for i := range n {
		ev := denied("open_vault")
		ev.Origin = origins[i%len(origins)]
		l.Observe(ev)
	}
	if s := l.Stats(); s.Grouped == 0 || s.Grouped >= n {
		t.Fatalf("1,000 refusals of 60 KiB each with a stuck sink: %d grouped, want some (the byte bound) but not all", s.Grouped)
	}
	close(sink.release)
	if err := l.Close(); err != nil {
		t.Fatal(err)
	}
	var bytes int
	for _, e := range sink.got {
		if e.Refusals == nil {
			bytes += len(e.Input.Origin.URL)
		}
	}
	if bytes > audit.DefaultQueueBytes {
		t.Errorf("%d bytes of URLs queued one by one, more than the %d bytes of the queue", bytes, audit.DefaultQueueBytes)
	}
}

// TestClasses: every kind of entry has the class docs/audit.md gives it.
func TestClasses(t *testing.T) {
	stepUp := denied("open_vault")
	stepUp.Decision = policy.Decision{Allowed: true, Obligations: []policy.Obligation{{Type: policy.ObligationBiometric, Binding: policy.BindingSigned}}}
	stepUp.Obligations = []ipc.ObligationOutcome{{Obligation: stepUp.Decision.Obligations[0], Err: errors.New("cancelled")}}
	for _, tc := range []struct {
		name string
		e    audit.Entry
		want audit.Class
	}{
		{"allowed", audit.NewEntry(event("x")), audit.ClassKept},
		{"denied by the ACL", audit.NewEntry(denied("x")), audit.ClassRefusal},
		{"engine error", audit.NewEntry(ipc.DecisionEvent{Err: errors.New("boom")}), audit.ClassRefusal},
		{"failed step-up", audit.NewEntry(stepUp), audit.ClassKept},
		{"reload", audit.NewReloadEntry(policy.ReloadEvent{Err: errors.New("bad file")}), audit.ClassKept},
		{"secret", audit.NewSecretEntry(biometric.SecretEvent{Op: biometric.SecretGet, Code: "scopeDenied"}), audit.ClassKept},
		{"group", audit.Entry{Path: audit.PathRefusals}, audit.ClassRefusal},
		{"zero", audit.Entry{}, audit.ClassKept},
	} {
		if got := tc.e.Class(); got != tc.want {
			t.Errorf("%s: class %v, want %v", tc.name, got, tc.want)
		}
	}
	if o := audit.NewEntry(stepUp).Result.Obligations; len(o) != 1 || o[0].Binding != policy.BindingSigned {
		t.Errorf("a signed step-up's obligation: %+v", o)
	}
}

// TestSecretEntry: a secure-storage call becomes a kept entry naming the
// record, the caller, the outcome and the binding, never the data.
func TestSecretEntry(t *testing.T) {
	before := time.Now().UTC()
	e := audit.NewSecretEntry(biometric.SecretEvent{Op: biometric.SecretGet, Domain: "vault", Name: "master", Window: "main", Webview: "main",
		Origin: acl.MustOrigin("https://app.example/x").String(), Code: "scopeDenied", Message: "not in scope", Binding: native.BoundByKey})
	want := audit.Entry{Path: audit.PathSecret,
		Input:  audit.Input{Command: "plugin:biometry|get_data", Window: "main", Webview: "main", Origin: audit.Origin{URL: "https://app.example/x"}},
		Secret: &audit.Secret{Op: "get_data", Domain: "vault", Name: "master", Code: "scopeDenied", Message: "not in scope", Binding: "key"},
	}
	if e.Timestamp.Before(before) {
		t.Errorf("timestamp %v", e.Timestamp)
	}
	e.Timestamp = time.Time{}
	if d := cmp.Diff(want, e); d != "" {
		t.Error(d)
	}
	if ok := audit.NewSecretEntry(biometric.SecretEvent{Op: biometric.SecretSet, Origin: "local"}); !ok.Result.Allowed || !ok.Input.Origin.Local {
		t.Errorf("a successful local set_data: %+v", ok)
	}
}
