// Package audit records every decision of capguard's guard: who called
// which command from where, whether it was allowed and by which
// capability and permission, which obligations it carried and whether
// they were met, and how long deciding took.
//
// A Log is fed by the guard's decision hook and hands entries to a Sink
// on a background goroutine, so that writing never slows the guard down:
//
//	log := audit.New(audit.NewJSONLines(os.Stderr))   // or audit.OpenFile("audit.jsonl")
//	defer log.Close()
//	g := router.Guard(engine, ipc.WithObserver(log.Observe))
//
// Entries are shaped like Open Policy Agent's decision log entries
// (decision_id, labels, path, input, result, timestamp, metrics), so that
// tools reading OPA's logs read these too; see Entry. The call's arguments
// are never logged: the guard's hook does not carry them, because they may
// hold secrets.
package audit

import (
	"crypto/rand"
	"encoding/hex"
	"time"

	"github.com/capguard/capguard/ipc"
	"github.com/capguard/capguard/policy"
)

// Path is the "path" of every entry: the decision capguard's guard makes,
// named after the Rego package that makes the ACL's decision.
const Path = "capguard/authz"

// Metric names of an entry's metrics.
const (
	// MetricDecideNS is the time the guard took to decide the call, in
	// nanoseconds, obligations (and the user's prompt) included.
	MetricDecideNS = "timer_capguard_decide_ns"
	// MetricDropped is the number of entries dropped (the queue was
	// full) since the previous entry was queued. It appears only when
	// some were.
	MetricDropped = "counter_audit_dropped"
	// MetricFailed counts the entries the sink failed to write since the
	// previous entry that was written (present only when some were).
	MetricFailed = "counter_audit_failed"
)

// Entry is one decision, as written to the log. With the JSON Lines sink
// each entry is one line:
//
//	{"decision_id":"…","labels":{"id":"…"},"path":"capguard/authz",
//	 "input":{"command":"open_vault","window":"main","webview":"main","origin":{"local":true,"url":""}},
//	 "result":{"allowed":true,"references":[{"capability":"main-window","permission":"allow-open-vault"}],
//	           "obligations":[{"type":"biometric","max_age_s":300,"reason":"Unlock your vault","outcome":"met"}]},
//	 "timestamp":"2026-05-04T09:30:00.123456789Z","metrics":{"timer_capguard_decide_ns":1234}}
type Entry struct {
	// DecisionID is a random identifier of the decision (a UUID).
	DecisionID string `json:"decision_id"`
	// Labels identify the program that decided: "id" is a random
	// identifier of the Log, plus the labels given with Labels.
	Labels map[string]string `json:"labels,omitempty"`
	// Path is always Path.
	Path string `json:"path"`
	// Input is the call, without its arguments, in the shape of the Rego
	// engine's input document.
	Input Input `json:"input"`
	// Result is the guard's answer.
	Result Result `json:"result"`
	// Timestamp is when the guard received the call (UTC).
	Timestamp time.Time `json:"timestamp"`
	// Metrics holds MetricDecideNS and, after drops, MetricDropped.
	Metrics map[string]int64 `json:"metrics,omitempty"`
	// Reload is set, instead of a decision, on the entry of a reload of a
	// live-reloaded ACL (Path is PathReload; see Log.ObserveReload).
	Reload *Reload `json:"reload,omitempty"`
}

// PathReload is the Path of reload entries.
const PathReload = "capguard/reload"

// Reload is what an entry says about a reload: the version swapped in
// (0 when the reload failed and the current version stayed), what it
// removed, and why it failed. Result.Allowed tells whether it was applied.
type Reload struct {
	Version             uint64   `json:"version"`
	RemovedCapabilities []string `json:"removed_capabilities,omitempty"`
	RemovedObligations  []string `json:"removed_obligations,omitempty"`
	// AddedAtRuntime names the capabilities the version added while the
	// app runs (capguard's App.AddCapability, policy.Store.AddCapabilities).
	AddedAtRuntime []string `json:"added_at_runtime,omitempty"`
}

// NewReloadEntry is the entry of one reload.
func NewReloadEntry(ev policy.ReloadEvent) Entry {
	e := Entry{Path: PathReload, Timestamp: time.Now().UTC(), Reload: &Reload{}}
	if ev.Version != nil {
		e.Result.Allowed = true
		e.Reload.Version = ev.Version.Seq
		e.Reload.RemovedCapabilities = ev.Version.Removed.Capabilities
		e.Reload.RemovedObligations = ev.Version.Removed.Obligations
		for _, c := range ev.Version.AddedHere() {
			e.Reload.AddedAtRuntime = append(e.Reload.AddedAtRuntime, c.Identifier)
		}
		if !ev.Version.Loaded.IsZero() {
			e.Timestamp = ev.Version.Loaded.UTC()
		}
	}
	if ev.Err != nil {
		e.Result.Error = ev.Err.Error()
	}
	return e
}

// Input is the decided call. It has the shape of the Rego engine's input
// (input.command, input.window, input.webview, input.origin.local,
// input.origin.url) and never holds the call's arguments.
type Input struct {
	Command string `json:"command"`
	Window  string `json:"window"`
	Webview string `json:"webview"`
	Origin  Origin `json:"origin"`
}

// Origin is where the calling page comes from.
type Origin struct {
	// Local is true for the app's own content.
	Local bool `json:"local"`
	// URL is the remote page's URL, "" when Local.
	URL string `json:"url"`
}

// Result is the guard's answer to a call.
type Result struct {
	// Allowed is the final answer: the engine allowed the call and its
	// obligations were met. An allowed call ran.
	Allowed bool `json:"allowed"`
	// Reason is the engine's explanation.
	Reason string `json:"reason,omitempty"`
	// References are the capabilities and permissions that allowed the
	// call, or that denied it.
	References []Reference `json:"references,omitempty"`
	// ScopeIDs are the command scope ids of an allowed call.
	ScopeIDs []uint64 `json:"scope_ids,omitempty"`
	// Obligations are the decision's obligations, each with its outcome.
	Obligations []Obligation `json:"obligations,omitempty"`
	// Error is why an allowed decision was refused (an obligation not
	// met), or why the engine could not decide.
	Error string `json:"error,omitempty"`
}

// Reference names a capability and a permission behind a decision.
type Reference struct {
	Capability string `json:"capability"`
	Permission string `json:"permission"`
}

// The outcomes of an obligation.
const (
	// OutcomeMet: the guard met the obligation.
	OutcomeMet = "met"
	// OutcomeFailed: the guard could not meet it (Error says why); the
	// call was refused.
	OutcomeFailed = "failed"
	// OutcomeNotAttempted: an earlier obligation failed, so the guard did
	// not try this one.
	OutcomeNotAttempted = "not_attempted"
)

// Obligation is one obligation of a decision and its outcome.
type Obligation struct {
	Type    string `json:"type"`
	MaxAgeS int    `json:"max_age_s"`
	Reason  string `json:"reason,omitempty"`
	// Outcome is OutcomeMet, OutcomeFailed or OutcomeNotAttempted.
	Outcome string `json:"outcome"`
	// Error is why a failed obligation failed (for a biometric one, the
	// biometric error: "User canceled the authentication", ...).
	Error string `json:"error,omitempty"`
}

// NewEntry turns a guard's decision event into an entry, copying what it
// keeps (the event's slices may be shared by the engine). DecisionID and
// Labels are left empty: the Log sets them.
func NewEntry(ev ipc.DecisionEvent) Entry {
	e := Entry{
		Path: Path,
		Input: Input{
			Command: ev.Command,
			Window:  ev.Window,
			Webview: ev.Webview,
			Origin:  Origin{Local: ev.Origin.IsLocal(), URL: ev.Origin.URL()},
		},
		Result: Result{
			Allowed: ev.Allowed,
			Reason:  ev.Decision.Reason,
		},
		Timestamp: ev.Time.UTC(),
		Metrics:   map[string]int64{MetricDecideNS: ev.Latency.Nanoseconds()},
	}
	if ev.Err != nil {
		e.Result.Error = ev.Err.Error()
	}
	if n := len(ev.Decision.References); n > 0 {
		e.Result.References = make([]Reference, n)
		for i, r := range ev.Decision.References {
			e.Result.References[i] = Reference{Capability: r.Capability, Permission: r.Permission}
		}
	}
	if ev.Decision.Allowed && len(ev.Decision.ScopeIDs) > 0 {
		e.Result.ScopeIDs = append([]uint64(nil), ev.Decision.ScopeIDs...)
	}
	e.Result.Obligations = obligations(ev)
	return e
}

// obligations lists the decision's obligations with their outcomes: the
// ones the guard tried, in order, then the ones it did not get to.
func obligations(ev ipc.DecisionEvent) []Obligation {
	if len(ev.Decision.Obligations) == 0 && len(ev.Obligations) == 0 {
		return nil
	}
	out := make([]Obligation, 0, max(len(ev.Decision.Obligations), len(ev.Obligations)))
	for _, o := range ev.Obligations {
		ob := obligation(o.Obligation, OutcomeMet)
		if o.Err != nil {
			ob.Outcome, ob.Error = OutcomeFailed, o.Err.Error()
		}
		out = append(out, ob)
	}
	if ev.Decision.Allowed {
		for _, o := range ev.Decision.Obligations[min(len(ev.Obligations), len(ev.Decision.Obligations)):] {
			out = append(out, obligation(o, OutcomeNotAttempted))
		}
	}
	return out
}

func obligation(o policy.Obligation, outcome string) Obligation {
	return Obligation{Type: o.Type, MaxAgeS: o.MaxAgeS, Reason: o.Reason, Outcome: outcome}
}

// newID returns a random (version 4) UUID.
func newID() string {
	var b [16]byte
	_, _ = rand.Read(b[:]) // crypto/rand.Read never fails (Go 1.24+)
	b[6] = b[6]&0x0f | 0x40
	b[8] = b[8]&0x3f | 0x80
	var s [36]byte
	hex.Encode(s[0:8], b[0:4])
	s[8] = '-'
	hex.Encode(s[9:13], b[4:6])
	s[13] = '-'
	hex.Encode(s[14:18], b[6:8])
	s[18] = '-'
	hex.Encode(s[19:23], b[8:10])
	s[23] = '-'
	hex.Encode(s[24:], b[10:])
	return string(s[:])
}
