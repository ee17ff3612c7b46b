package policy

import (
	"context"
	"fmt"
	"sync"
	"sync/atomic"

	"github.com/capguard/capguard/acl"
)

// Extended is an engine with the obligations of an acl.Extension
// (capguard.json) added to its allowed decisions: the way to ask for a
// biometric authentication without writing Rego. It never turns a denial
// into an allowance, and it keeps the inner engine's decision otherwise
// unchanged (scope ids, references, reason, and obligations of its own,
// which come first).
//
// The rules that can apply to each command are found once, when the engine
// is built; deciding a call only tests the caller's labels. Added to the
// native engine, it does not allocate for commands with at most 64 rules.
//
// An Extended is safe for concurrent use.
type Extended struct {
	inner Engine
	ext   *acl.Extension
	// byCommand holds the rules of every command the ACL names.
	byCommand map[string]*commandRules
}

// commandRules are the rules that name one command.
type commandRules struct {
	rules []*acl.ObligationRule
	cache obligationCache // by mask of the rules that apply
}

// maxCachedObligations bounds the obligation lists kept per command.
const maxCachedObligations = 64

// obligationCache keeps the obligation lists built for each set of
// applying rules: lookups are lock free, insertions copy the small list.
type obligationCache struct {
	mu   sync.Mutex
	list atomic.Pointer[[]cachedObligations]
}

type cachedObligations struct {
	mask uint64
	obs  []Obligation
}

func (c *obligationCache) get(mask uint64, build func() []Obligation) []Obligation {
	if p := c.list.Load(); p != nil {
		for i := range *p {
			if (*p)[i].mask == mask {
				return (*p)[i].obs
			}
		}
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	var old []cachedObligations
	if p := c.list.Load(); p != nil {
		old = *p
	}
	for i := range old {
		if old[i].mask == mask {
			return old[i].obs
		}
	}
	obs := build()
	if len(old) < maxCachedObligations {
		next := make([]cachedObligations, len(old), len(old)+1)
		copy(next, old)
		next = append(next, cachedObligations{mask, obs})
		c.list.Store(&next)
	}
	return obs
}

// WithExtension returns inner with the obligations of ext added to its
// allowed decisions. r is the resolved ACL inner was built from: the
// extension is checked against its manifests (acl.Extension.Check, a
// positioned error for a command no permission names), and the commands it
// names are indexed. A nil ext adds nothing.
func WithExtension(inner Engine, r *acl.Resolved, ext *acl.Extension) (*Extended, error) {
	if inner == nil {
		return nil, fmt.Errorf("%w: policy.WithExtension: nil engine", acl.ErrInvalid)
	}
	if r == nil {
		return nil, fmt.Errorf("%w: policy.WithExtension: nil resolved ACL", acl.ErrInvalid)
	}
	e := &Extended{inner: inner, ext: ext, byCommand: map[string]*commandRules{}}
	if ext == nil {
		return e, nil
	}
	for i, rule := range ext.Obligations {
		if rule == nil || len(rule.Commands) == 0 {
			return nil, fmt.Errorf("%w: policy.WithExtension: obligation rule %d has no command", acl.ErrInvalid, i)
		}
	}
	if err := ext.Check(r.Manifests); err != nil {
		return nil, err
	}
	add := func(cmd string) {
		if _, done := e.byCommand[cmd]; done {
			return
		}
		var rules []*acl.ObligationRule
		for _, rule := range ext.Obligations {
			if rule.MatchesCommand(cmd) {
				rules = append(rules, rule)
			}
		}
		if len(rules) > 0 {
			e.byCommand[cmd] = &commandRules{rules: rules}
		} else {
			e.byCommand[cmd] = nil
		}
	}
	for cmd := range r.Allowed {
		add(cmd)
	}
	for _, cmd := range acl.KnownCommands(r.Manifests) {
		add(cmd)
	}
	return e, nil
}

// Extension returns the extension whose obligations the engine adds (nil
// when none).
func (e *Extended) Extension() *acl.Extension { return e.ext }

// Inner returns the engine the obligations are added to.
func (e *Extended) Inner() Engine { return e.inner }

// Decide asks the inner engine and, when it allows the call, adds the
// obligations of the rules that apply to the call's command and labels.
func (e *Extended) Decide(ctx context.Context, req Request) (Decision, error) {
	if e == nil || e.inner == nil {
		return Decision{Reason: ErrNilEngine.Error()}, ErrNilEngine
	}
	d, err := e.inner.Decide(ctx, req)
	if err != nil || !d.Allowed || e.ext == nil {
		return d, err
	}
	cr, indexed := e.byCommand[req.Command]
	if !indexed {
		// A command the ACL does not name, allowed by an engine of its
		// own: match every rule (rare, allocates).
		return e.addGeneral(d, req), nil
	}
	if cr == nil {
		return d, nil
	}
	if len(cr.rules) > 64 {
		return e.addGeneral(d, req), nil
	}
	var mask uint64
	for i, rule := range cr.rules {
		if rule.MatchesLabel(req.Window, req.Webview) {
			mask |= 1 << uint(i)
		}
	}
	if mask == 0 {
		return d, nil
	}
	obs := cr.cache.get(mask, func() []Obligation {
		var out []Obligation
		for i, rule := range cr.rules {
			if mask&(1<<uint(i)) != 0 {
				out = append(out, ruleObligation(rule))
			}
		}
		return out
	})
	d.Obligations = merge(d.Obligations, obs)
	return d, nil
}

// addGeneral adds the obligations of every rule that applies, rule by rule.
func (e *Extended) addGeneral(d Decision, req Request) Decision {
	var obs []Obligation
	for _, rule := range e.ext.Obligations {
		if rule.MatchesCommand(req.Command) && rule.MatchesLabel(req.Window, req.Webview) {
			obs = append(obs, ruleObligation(rule))
		}
	}
	d.Obligations = merge(d.Obligations, obs)
	return d
}

// merge returns the inner engine's obligations followed by the added
// ones, without modifying either (both may be shared).
func merge(own, added []Obligation) []Obligation {
	if len(own) == 0 {
		return added
	}
	if len(added) == 0 {
		return own
	}
	out := make([]Obligation, 0, len(own)+len(added))
	return append(append(out, own...), added...)
}

func ruleObligation(r *acl.ObligationRule) Obligation {
	return Obligation{Type: r.Type, MaxAgeS: r.MaxAgeS, Reason: r.Reason, Binding: r.Binding}
}

// Explain returns the inner engine's explanation of a call when it has one
// (policy.Native does), and otherwise its decision's reason.
func (e *Extended) Explain(req Request) string {
	if e == nil || e.inner == nil {
		return ErrNilEngine.Error()
	}
	return explain(e.inner, req)
}

// explainer is an engine that explains calls (Native, Extended, Store).
type explainer interface {
	Explain(req Request) string
}

func explain(engine Engine, req Request) string {
	if x, ok := engine.(explainer); ok {
		return x.Explain(req)
	}
	d, err := engine.Decide(context.Background(), req)
	if err != nil {
		return err.Error()
	}
	return d.Reason
}
