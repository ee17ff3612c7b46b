package policy

import (
	"context"
	"errors"
	"fmt"
	"math/bits"
	"strings"
	"sync"
	"sync/atomic"
	"unicode/utf8"

	"github.com/capguard/capguard/acl"
	"github.com/capguard/capguard/policy/internal/remote"
)

// Reasons of the denials that do not depend on the command.
const (
	// ReasonUnknownCommand: no allow or deny entry names the command.
	ReasonUnknownCommand = "not allowed: no capability grants this command"
	// ReasonNoLabel: the call has an empty window or webview label.
	ReasonNoLabel = "not allowed: the call has no window or webview label"
)

// ErrNilEngine is returned by the Decide method of a nil engine.
var ErrNilEngine = errors.New("policy: nil engine")

// maskBits is the number of entries per command (allow or deny) that the
// compiled form handles with one-word bit masks. Commands with more
// entries (none in the corpus of real apps has more than 14) are decided
// entry by entry, which allocates.
const maskBits = 64

// maxCachedResults bounds the decisions kept per command for distinct sets
// of matching entries.
const maxCachedResults = 64

// OriginCacheSize is the number of remote page URLs a Native engine
// remembers the matching URL patterns of.
const OriginCacheSize = 1024

// Native is the compiled decision engine: the same decisions as
// acl.Resolved.Decide, without allocating. Commands are interned in a map;
// each command's allow entries are grouped by execution context, exact
// window and webview labels are looked up directly and globs are
// precompiled; the URL patterns a remote page matches are computed once
// per URL and kept in a bounded cache. The Decisions it returns share
// their slices: read them, do not modify them.
//
// A Native is safe for concurrent use.
type Native struct {
	resolved *acl.Resolved
	commands map[string]*command
	table    commandTable // commands, for Decide
	remotes  *remote.Matcher
}

// command is the compiled form of one command's entries.
type command struct {
	name  string
	allow []*acl.ResolvedCommand
	deny  []*acl.ResolvedCommand
	// allowCtx and denyCtx give each entry's remote pattern index, -1 for
	// the local context.
	allowCtx []int
	denyCtx  []int

	// general is set when the command has more entries than maskBits: it
	// is then decided entry by entry.
	general bool

	local      *group   // allow entries of the local context
	remote     []*group // allow entries of each remote pattern
	denyLocal  uint64   // deny entries of the local context
	denyRemote []ctxMask

	notAllowed Decision // known command, no entry matches
	noLabel    Decision
	single     []Decision  // by allow entry, when it alone matches
	allowed    resultCache // by mask of matching allow entries
	denied     resultCache // by mask of applying deny entries
}

type ctxMask struct {
	ctx  int
	mask uint64
}

// group holds the allow entries of one command in one execution context.
type group struct {
	ctx      int
	all      uint64
	windows  labels
	webviews labels
}

func (g *group) match(window, webview string) uint64 {
	return g.windows.match(window) | g.webviews.match(webview)
}

// labels maps a label to the entries whose patterns match it.
type labels struct {
	exact    []labelMask       // literal patterns, when few
	exactMap map[string]uint64 // literal patterns, when many
	globs    []globMask
	// seen indexes exact and globs by pattern text while the table is
	// built, so that adding n patterns costs O(n) rather than O(n²); seal
	// drops it.
	seen map[string]int
}

type labelMask struct {
	label string
	mask  uint64
}

type globMask struct {
	glob *acl.Glob
	// kind and lit give a faster, equivalent test for the most common
	// patterns: "*", "prefix*" and "*suffix".
	kind globKind
	lit  string
	mask uint64
}

type globKind uint8

const (
	globGeneral globKind = iota
	globAny
	globPrefix
	globSuffix
)

// classifyGlob recognizes patterns with a single `*` at one end and no
// other wildcard. Their literal part must be valid UTF-8 without U+FFFD:
// glob compares decoded characters (an invalid byte reads as U+FFFD), and
// for such literals comparing bytes gives the same answer.
func classifyGlob(src string) (globKind, string) {
	if src == "*" {
		return globAny, ""
	}
	if strings.Count(src, "*") != 1 || strings.ContainsAny(src, "?[") || !utf8.ValidString(src) || strings.ContainsRune(src, utf8.RuneError) {
		return globGeneral, ""
	}
	if lit, ok := strings.CutSuffix(src, "*"); ok {
		return globPrefix, lit
	}
	if lit, ok := strings.CutPrefix(src, "*"); ok {
		return globSuffix, lit
	}
	return globGeneral, ""
}

func (g *globMask) match(s string) bool {
	switch g.kind {
	case globAny:
		return true
	case globPrefix:
		return strings.HasPrefix(s, g.lit)
	case globSuffix:
		return strings.HasSuffix(s, g.lit)
	}
	return g.glob.Match(s)
}

// exactSliceMax is the number of distinct literal labels up to which a
// linear scan beats a map lookup.
const exactSliceMax = 8

func (l *labels) add(g *acl.Glob, bit uint64) {
	// Whether a pattern is literal follows from its text, so one index
	// serves both lists.
	key := g.String()
	if l.seen == nil {
		l.seen = map[string]int{}
	}
	if i, ok := l.seen[key]; ok {
		if g.IsLiteral() {
			l.exact[i].mask |= bit
		} else {
			l.globs[i].mask |= bit
		}
		return
	}
	if g.IsLiteral() {
		l.seen[key] = len(l.exact)
		l.exact = append(l.exact, labelMask{g.String(), bit})
		return
	}
	l.seen[key] = len(l.globs)
	kind, lit := classifyGlob(g.String())
	l.globs = append(l.globs, globMask{glob: g, kind: kind, lit: lit, mask: bit})
}

func (l *labels) seal() {
	l.seen = nil
	if len(l.exact) > exactSliceMax {
		l.exactMap = make(map[string]uint64, len(l.exact))
		for _, e := range l.exact {
			l.exactMap[e.label] = e.mask
		}
		l.exact = nil
	}
}

func (l *labels) match(s string) uint64 {
	var m uint64
	if l.exactMap != nil {
		m = l.exactMap[s]
	} else {
		for i := range l.exact {
			if l.exact[i].label == s {
				m = l.exact[i].mask
				break
			}
		}
	}
	for i := range l.globs {
		if l.globs[i].match(s) {
			m |= l.globs[i].mask
		}
	}
	return m
}

// resultCache keeps prebuilt decisions by entry mask: lookups are lock
// free, insertions copy the (small, bounded) list.
type resultCache struct {
	mu   sync.Mutex
	list atomic.Pointer[[]cachedResult]
}

type cachedResult struct {
	mask uint64
	d    Decision
}

func (c *resultCache) lookup(mask uint64) (Decision, bool) {
	if p := c.list.Load(); p != nil {
		for i := range *p {
			if (*p)[i].mask == mask {
				return (*p)[i].d, true
			}
		}
	}
	return Decision{}, false
}

// insert keeps d for mask unless the cache is full, and returns it.
func (c *resultCache) insert(mask uint64, d Decision) Decision {
	c.mu.Lock()
	defer c.mu.Unlock()
	var old []cachedResult
	if p := c.list.Load(); p != nil {
		old = *p
	}
	for i := range old {
		if old[i].mask == mask {
			return old[i].d
		}
	}
	if len(old) >= maxCachedResults {
		return d
	}
	next := make([]cachedResult, len(old), len(old)+1)
	copy(next, old)
	next = append(next, cachedResult{mask, d})
	c.list.Store(&next)
	return d
}

// Compile builds the native engine for a resolved ACL. It fails (with an
// error wrapping acl.ErrInvalid) on a Resolved that acl.Resolve could not
// have produced: a nil entry, glob or remote pattern.
func Compile(r *acl.Resolved) (*Native, error) {
	if r == nil {
		return nil, fmt.Errorf("%w: policy.Compile: nil resolved ACL", acl.ErrInvalid)
	}
	n := &Native{resolved: r, commands: map[string]*command{}, remotes: remote.New(nil, OriginCacheSize)}
	get := func(name string) *command {
		c := n.commands[name]
		if c == nil {
			c = &command{name: name}
			n.commands[name] = c
		}
		return c
	}
	for name, list := range r.Allowed {
		c := get(name)
		c.allow = list
		ctxs, err := n.contexts(name, list)
		if err != nil {
			return nil, err
		}
		c.allowCtx = ctxs
	}
	for name, list := range r.Denied {
		c := get(name)
		c.deny = list
		ctxs, err := n.contexts(name, list)
		if err != nil {
			return nil, err
		}
		c.denyCtx = ctxs
	}
	for _, c := range n.commands {
		c.compile()
	}
	n.table = newCommandTable(n.commands)
	return n, nil
}

// contexts checks a command's entries and registers their remote patterns.
func (n *Native) contexts(name string, list []*acl.ResolvedCommand) ([]int, error) {
	out := make([]int, len(list))
	for i, e := range list {
		if e == nil {
			return nil, fmt.Errorf("%w: policy.Compile: command %q has a nil entry", acl.ErrInvalid, name)
		}
		for _, g := range append(append([]*acl.Glob(nil), e.Windows...), e.Webviews...) {
			if g == nil {
				return nil, fmt.Errorf("%w: policy.Compile: command %q has a nil label pattern", acl.ErrInvalid, name)
			}
		}
		out[i] = -1
		if e.Context.Remote != nil {
			out[i] = n.remotes.Add(e.Context.Remote)
		}
	}
	return out, nil
}

func (c *command) compile() {
	pretty := acl.PrettyCommand(c.name)
	c.noLabel = Decision{Reason: pretty + " " + ReasonNoLabel}
	c.notAllowed = Decision{Reason: notAllowedReason(c.name, c.allow)}
	if len(c.allow) > maskBits || len(c.deny) > maskBits {
		c.general = true
		return
	}
	byCtx := map[int]*group{}
	for i, e := range c.allow {
		ctx := c.allowCtx[i]
		g := byCtx[ctx]
		if g == nil {
			g = &group{ctx: ctx}
			byCtx[ctx] = g
			if ctx < 0 {
				c.local = g
			} else {
				c.remote = append(c.remote, g)
			}
		}
		bit := uint64(1) << uint(i)
		g.all |= bit
		for _, w := range e.Windows {
			g.windows.add(w, bit)
		}
		for _, w := range e.Webviews {
			g.webviews.add(w, bit)
		}
	}
	for _, g := range byCtx {
		g.windows.seal()
		g.webviews.seal()
	}
	for i := range c.deny {
		bit := uint64(1) << uint(i)
		ctx := c.denyCtx[i]
		if ctx < 0 {
			c.denyLocal |= bit
			continue
		}
		found := false
		for j := range c.denyRemote {
			if c.denyRemote[j].ctx == ctx {
				c.denyRemote[j].mask |= bit
				found = true
			}
		}
		if !found {
			c.denyRemote = append(c.denyRemote, ctxMask{ctx, bit})
		}
	}
	// Prebuild the decisions most calls get: each single entry, each
	// context's entries together, and each context's denials.
	c.single = make([]Decision, len(c.allow))
	for i := range c.allow {
		m := uint64(1) << uint(i)
		c.single[i] = c.allowed.insert(m, c.buildAllow(m))
	}
	for _, g := range byCtx {
		c.allowed.insert(g.all, c.buildAllow(g.all))
	}
	if c.denyLocal != 0 {
		c.denied.insert(c.denyLocal, c.buildDeny(c.denyLocal))
	}
	for _, d := range c.denyRemote {
		c.denied.insert(d.mask, c.buildDeny(d.mask))
	}
}

// Resolved returns the ACL the engine was compiled from.
func (n *Native) Resolved() *acl.Resolved {
	if n == nil {
		return nil
	}
	return n.resolved
}

// Decide decides a call. It never fails for a non-nil engine, does no I/O
// and ignores ctx. For the local origin it does not allocate, and neither
// does it for a remote page whose URL is in the origin cache, as long as
// the command has at most 64 allow and 64 deny entries.
func (n *Native) Decide(_ context.Context, req Request) (Decision, error) {
	if n == nil {
		return Decision{Reason: ErrNilEngine.Error()}, ErrNilEngine
	}
	c := n.table.lookup(req.Command)
	if c == nil {
		return Decision{Reason: ReasonUnknownCommand}, nil
	}
	local := req.Origin.IsLocal()
	var set remote.Set
	if !local {
		set = n.remotes.Match(req.Origin)
	}
	if c.general {
		return c.decideGeneral(req, set), nil
	}
	var denied uint64
	if local {
		denied = c.denyLocal
	} else {
		for _, d := range c.denyRemote {
			if set.Has(d.ctx) {
				denied |= d.mask
			}
		}
	}
	if denied != 0 {
		if d, ok := c.denied.lookup(denied); ok {
			return d, nil
		}
		return c.denied.insert(denied, c.buildDeny(denied)), nil
	}
	if req.Window == "" || req.Webview == "" {
		return c.noLabel, nil
	}
	var m uint64
	if local {
		if c.local != nil {
			m = c.local.match(req.Window, req.Webview)
		}
	} else {
		for _, g := range c.remote {
			if set.Has(g.ctx) {
				m |= g.match(req.Window, req.Webview)
			}
		}
	}
	if m == 0 {
		return c.notAllowed, nil
	}
	if m&(m-1) == 0 {
		// One entry matches, the most common case: its decision is
		// prebuilt.
		return c.single[bits.TrailingZeros64(m)], nil
	}
	if d, ok := c.allowed.lookup(m); ok {
		return d, nil
	}
	return c.allowed.insert(m, c.buildAllow(m)), nil
}

func ctxMatches(ctx int, local bool, set remote.Set) bool {
	if ctx < 0 {
		return local
	}
	return !local && set.Has(ctx)
}

// decideGeneral decides a command with too many entries for bit masks,
// entry by entry, as acl.Resolved.Decide does.
func (c *command) decideGeneral(req Request, set remote.Set) Decision {
	local := req.Origin.IsLocal()
	var denied []*acl.ResolvedCommand
	for i, e := range c.deny {
		if ctxMatches(c.denyCtx[i], local, set) {
			denied = append(denied, e)
		}
	}
	if len(denied) > 0 {
		return denyDecision(c.name, denied)
	}
	if req.Window == "" || req.Webview == "" {
		return c.noLabel
	}
	var matched []*acl.ResolvedCommand
	for i, e := range c.allow {
		if ctxMatches(c.allowCtx[i], local, set) && e.MatchesLabel(req.Window, req.Webview) {
			matched = append(matched, e)
		}
	}
	if len(matched) == 0 {
		return c.notAllowed
	}
	return allowDecision(matched, c.deny)
}

func (c *command) buildAllow(mask uint64) Decision {
	return allowDecision(pick(c.allow, mask), c.deny)
}

func (c *command) buildDeny(mask uint64) Decision {
	return denyDecision(c.name, pick(c.deny, mask))
}

func pick(list []*acl.ResolvedCommand, mask uint64) []*acl.ResolvedCommand {
	out := make([]*acl.ResolvedCommand, 0, bits.OnesCount64(mask))
	for i, e := range list {
		if mask&(1<<uint(i)) != 0 {
			out = append(out, e)
		}
	}
	return out
}

// Explain returns the reference explanation of a call, with Tauri's
// debug-build texts (acl.Resolved.Decide's message). It allocates; use it
// for logs and tools, not on the hot path.
func (n *Native) Explain(req Request) string {
	if n == nil {
		return ErrNilEngine.Error()
	}
	return n.resolved.Decide(acl.Request{Command: req.Command, Window: req.Window, Webview: req.Webview, Origin: req.Origin}).Message
}
