package demo

import (
	"strconv"
	"sync"
	"time"

	"github.com/capguard/capguard/acl"
	"github.com/capguard/capguard/ipc"
)

// Entry is one line of the dashboard's live feed: a decision of the
// guard, a request the bridge refused, how a step-up obligation was met,
// or a reload of the ACL. It never holds a call's arguments.
type Entry struct {
	Seq  uint64    `json:"seq"`
	Time time.Time `json:"time"`
	// Kind is "decision", "refused" (by the bridge, before the guard),
	// "stepup" (the biometric step-up of an obligation, reported before
	// the decision of its call), "secret" (a secure-storage call the
	// guard allowed: the record and its outcome, never the data) or
	// "reload" (Config.Watch).
	Kind    string `json:"kind"`
	Command string `json:"command"`
	Window  string `json:"window,omitempty"`
	Webview string `json:"webview,omitempty"`
	// Origin is "local" or "remote: <url>" for decisions, the Origin
	// header for refusals.
	Origin  string `json:"origin"`
	Allowed bool   `json:"allowed"`
	// References name the capabilities and permissions behind the
	// decision: "main-window: biometric:default → biometric:allow-authenticate".
	References  []string     `json:"references,omitempty"`
	Obligations []Obligation `json:"obligations,omitempty"`
	// Explanation is why: Tauri's debug-build text for a denial, the
	// granting entries for an allowed call, the bridge's text for a
	// refusal.
	Explanation string `json:"explanation"`
	// Error is what stopped an otherwise allowed call (an obligation, the
	// engine).
	Error string `json:"error,omitempty"`
	// Status is the HTTP status of a refusal.
	Status int `json:"status,omitempty"`
	// LatencyUS is the guard's time, in microseconds.
	LatencyUS int64 `json:"latencyUs"`
	// Version is the version of the ACL that made a decision, or the one
	// a reload swapped in (after a failed reload: the one still deciding).
	Version uint64 `json:"version,omitempty"`
	// Changed are the files whose changes led to a reload.
	Changed []string `json:"changed,omitempty"`
	// Outcome is how a step-up went: "prompted", "remembered", "shared",
	// "signed" or "failed" (biometric.StepUpOutcome).
	Outcome string `json:"outcome,omitempty"`
	// Binding is, for a step-up, how it was proved ("event": the device's
	// word; "signed": a verified signature) and, for a secret, how the
	// device releases it ("key" or "event").
	Binding string `json:"binding,omitempty"`
	// Code is the biometric error code of a failed step-up
	// ("userCancel", ...).
	Code string `json:"code,omitempty"`
	// Count is, for a "refused" entry, how many similar refusals (same
	// source and reason) it stands for; Key names that group. Refusals
	// are aggregated so that a flood of them cannot push the real
	// decisions out of the feed.
	Count int    `json:"count,omitempty"`
	Key   string `json:"key,omitempty"`
}

// maxRefusalGroups bounds the distinct groups of refusals in the feed;
// refusals beyond it share one group ("other sources"). The feed's
// decisions therefore always keep all but maxRefusalGroups+1 slots.
const maxRefusalGroups = 32

// Obligation is an obligation of a decision and its outcome.
type Obligation struct {
	Type    string `json:"type"`
	MaxAgeS int    `json:"maxAgeS"`
	Reason  string `json:"reason,omitempty"`
	Met     bool   `json:"met"`
	Error   string `json:"error,omitempty"`
}

// AuditLine is one line of the audit log, as written to Config.AuditFile.
type AuditLine struct {
	Seq  uint64 `json:"seq"`
	Line string `json:"line"`
}

// feed keeps the latest entries and audit lines, and wakes the
// dashboards' event streams.
type feed struct {
	mu       sync.Mutex
	max      int
	seq      uint64
	entries  []Entry
	auditSeq uint64
	audit    []AuditLine
	changed  chan struct{} // closed and replaced on every change
	closed   bool
}

func newFeed(max int) *feed { return &feed{max: max, changed: make(chan struct{})} }

func (f *feed) add(e Entry) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.seq++
	e.Seq = f.seq
	f.entries = append(f.entries, e)
	if len(f.entries) > f.max {
		f.entries = append([]Entry(nil), f.entries[len(f.entries)-f.max:]...)
	}
	f.wake()
}

// auditLine adds a line of the audit log (the log's sink calls it).
func (f *feed) auditLine(line string) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.auditSeq++
	f.audit = append(f.audit, AuditLine{Seq: f.auditSeq, Line: line})
	if len(f.audit) > f.max {
		f.audit = append([]AuditLine(nil), f.audit[len(f.audit)-f.max:]...)
	}
	f.wake()
}

// auditSince returns the audit lines after seq.
func (f *feed) auditSince(seq uint64) []AuditLine {
	f.mu.Lock()
	defer f.mu.Unlock()
	var out []AuditLine
	for _, l := range f.audit {
		if l.Seq > seq {
			out = append(out, l)
		}
	}
	return out
}

// touch wakes the streams without a new entry (the device changed).
func (f *feed) touch() {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.wake()
}

func (f *feed) wake() {
	if f.closed {
		return
	}
	close(f.changed)
	f.changed = make(chan struct{})
}

func (f *feed) close() {
	f.mu.Lock()
	defer f.mu.Unlock()
	if !f.closed {
		f.closed = true
		close(f.changed)
	}
}

// since returns the entries after seq, the channel that is closed on the
// next change, and whether the feed is closed.
func (f *feed) since(seq uint64) ([]Entry, <-chan struct{}, bool) {
	f.mu.Lock()
	defer f.mu.Unlock()
	var out []Entry
	for _, e := range f.entries {
		if e.Seq > seq {
			out = append(out, e)
		}
	}
	return out, f.changed, f.closed
}

// rejected is the bridge's OnReject.
// rejected adds a refusal of the bridge, aggregated with the similar
// ones before it: one entry per source (origin and token's window) and
// reason (status and text), counted, moved to the top at each refusal.
func (f *feed) rejected(r ipc.Rejection) {
	key := strconv.Itoa(r.Status) + "|" + r.Origin + "|" + r.Window + "|" + r.Text
	f.mu.Lock()
	defer f.mu.Unlock()
	groups := 0
	prev := -1
	for i, e := range f.entries {
		if e.Kind == "refused" {
			groups++
			if e.Key == key {
				prev = i
			}
		}
	}
	e := Entry{
		Time: r.Time, Kind: "refused", Command: r.Command, Window: r.Window, Webview: r.Webview,
		Origin: r.Origin, Explanation: r.Text, Status: r.Status, Count: 1, Key: key,
	}
	if prev < 0 && groups >= maxRefusalGroups {
		key = "other"
		e = Entry{Time: r.Time, Kind: "refused", Command: r.Command, Origin: "(other sources)", Status: r.Status,
			Explanation: "refusals from more sources and reasons than the feed shows one by one; the last: " + r.Text, Count: 1, Key: key}
		for i, old := range f.entries {
			if old.Key == key {
				prev = i
			}
		}
	}
	if prev >= 0 {
		e.Count = f.entries[prev].Count + 1
		f.entries = append(f.entries[:prev], f.entries[prev+1:]...)
	}
	f.seq++
	e.Seq = f.seq
	f.entries = append(f.entries, e)
	if len(f.entries) > f.max {
		f.entries = append([]Entry(nil), f.entries[len(f.entries)-f.max:]...)
	}
	f.wake()
}

// observe is the guard's observer: it turns a decision into an entry,
// with the reference explanation of the ACL.
func (s *Server) observe(ev ipc.DecisionEvent) {
	e := Entry{
		Time: ev.Time, Kind: "decision", Command: ev.Command, Window: ev.Window, Webview: ev.Webview,
		Origin: ev.Origin.String(), Allowed: ev.Allowed, LatencyUS: ev.Latency.Microseconds(),
	}
	if ev.Err != nil {
		e.Error = ev.Err.Error()
	}
	for _, o := range ev.Obligations {
		ob := Obligation{Type: o.Obligation.Type, MaxAgeS: o.Obligation.MaxAgeS, Reason: o.Obligation.Reason, Met: o.Err == nil}
		if o.Err != nil {
			ob.Error = o.Err.Error()
		}
		e.Obligations = append(e.Obligations, ob)
	}
	// Explain with the version that decided (a reload may have swapped
	// in another since).
	resolved := s.cfg.Resolved
	if ev.Version != nil {
		resolved, e.Version = ev.Version.Resolved, ev.Version.Seq
	}
	d := resolved.Decide(acl.Request{Command: ev.Command, Window: ev.Window, Webview: ev.Webview, Origin: ev.Origin})
	refs := d.Matches
	if !d.Allowed {
		refs = d.DeniedBy
	}
	e.References = references(refs)
	switch {
	case d.Allowed && !ev.Allowed && len(ev.Obligations) > 0:
		e.Explanation = "the ACL allows it (" + joinRefs(e.References) + "), but an obligation was not met: refused, the command did not run"
	case d.Allowed:
		e.Explanation = "allowed by " + joinRefs(e.References)
	default:
		e.Explanation = d.Message
	}
	if ev.Allowed != d.Allowed && ev.Err == nil {
		// The engine and the reference disagree: say so rather than
		// explain the wrong decision.
		e.Explanation = "the engine decided allowed=" + boolText(ev.Allowed) + "; the reference decision says: " + d.Message
	}
	s.feed.add(e)
}

// now is the time of the feed's own entries (step-ups, reloads).
func (s *Server) now() time.Time { return time.Now() }

// references describes grants: "capability: permission as written" and,
// when the permission was reached through a set, "→ the permission".
func references(rs []*acl.ResolvedCommand) []string {
	var out []string
	seen := map[string]bool{}
	for _, r := range rs {
		ref := r.Capability + ": " + r.PermissionRef()
		if r.From != nil && r.Entry >= 0 && r.Entry < len(r.From.Permissions) {
			if written := r.From.Permissions[r.Entry].Identifier.String(); written != r.PermissionRef() {
				ref = r.Capability + ": " + written + " → " + r.PermissionRef()
			}
		}
		if !seen[ref] {
			seen[ref] = true
			out = append(out, ref)
		}
	}
	return out
}

func joinRefs(refs []string) string {
	if len(refs) == 0 {
		return "(no reference)"
	}
	out := refs[0]
	for _, r := range refs[1:] {
		out += "; " + r
	}
	return out
}

func boolText(b bool) string {
	if b {
		return "true"
	}
	return "false"
}
