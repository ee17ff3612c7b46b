package policy

import (
	"context"
	"errors"
	"fmt"
	"maps"
	"slices"
	"strconv"
	"time"

	"github.com/capguard/capguard/acl"
)

// ErrAddCapability is wrapped by the error of an AddCapabilities call that
// was refused: the store kept its current version. The error also wraps
// the cause (an *acl.Error with the position of a bad entry, and the
// closest known identifiers for an unknown permission).
var ErrAddCapability = errors.New("capability not added")

// Added is one AddCapabilities call in force: capabilities added while
// the app runs, which every later version keeps (see Store.AddCapabilities).
type Added struct {
	// Capabilities are the call's capabilities, in identifier order (the
	// order in which they are resolved).
	Capabilities []*acl.Capability
	// Seq is the version the call made.
	Seq uint64
	// At is when that version was swapped in.
	At time.Time
}

// AddCapabilities adds capabilities to the ACL while the app runs, as
// Tauri's Manager::add_capability (the dynamic-acl feature) does: they are
// resolved against the manifests of the version in force, for its target,
// and their entries are appended to that version's (their command scope
// ids numbered after its highest, their global scopes appended to its),
// in a new version swapped in with one atomic store. A decision is made by
// the version before or the version after, never by a part of the call.
//
// As in Tauri, an added capability whose identifier another capability
// already has (in the files, or added earlier) does not replace it: both
// apply. Unlike Tauri, which panics (and, through Manager::add_capability,
// poisons the lock every later IPC call takes), a capability that does not
// resolve (an unknown permission, an invalid glob or URL pattern) is an
// error, with its position and the closest known identifiers, and nothing
// changes; so is a call that names one identifier twice (Tauri keeps the
// last silently).
//
// Added capabilities stay until the store is dropped (Tauri has no call to
// remove them): every Reload and Load re-resolves them, in the order they
// were added, after the capabilities it reads, against the manifests it
// reads. A reload whose manifests no longer resolve one of them fails like
// a reload of a bad capability file: the current version stays and the
// error names the added capability.
//
// The capabilities are copied (their slices; scope values are immutable),
// so changing them afterwards changes nothing. The new version's Runtime
// ends with this call; Notify functions see it (an audit log records it).
func (s *Store) AddCapabilities(ctx context.Context, caps ...*acl.Capability) (*Version, error) {
	return s.add(ctx, func() ([]*acl.Capability, error) { return caps, nil })
}

// AddCapabilityText is AddCapabilities for a capability file's text, the
// form Tauri's add_capability takes as a string: JSON, JSON5 or TOML by the
// extension of name (which also names the text in positions), holding one
// capability, a list, or {"capabilities": [...]}. Errors, a syntax error
// included, have the text's line and column; nothing changes on error.
func (s *Store) AddCapabilityText(ctx context.Context, name string, text []byte) (*Version, error) {
	return s.add(ctx, func() ([]*acl.Capability, error) { return acl.ParseCapabilityFile(name, text) })
}

func (s *Store) add(ctx context.Context, read func() ([]*acl.Capability, error)) (*Version, error) {
	if s == nil || s.cur.Load() == nil {
		return nil, errNoStore
	}
	if ctx == nil {
		return nil, fmt.Errorf("%w: policy: AddCapabilities: nil context", acl.ErrInvalid)
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	refuse := func(err error) (*Version, error) {
		err = fmt.Errorf("%w, keeping version %d: %w", ErrAddCapability, s.cur.Load().Seq, err)
		s.lastErr.Store(&err)
		s.tell(ReloadEvent{Err: err})
		return nil, err
	}
	caps, err := read()
	if err != nil {
		return refuse(err)
	}
	call, err := runtimeCall(caps)
	if err != nil {
		return refuse(err)
	}
	if err := ctx.Err(); err != nil {
		return refuse(err)
	}
	cur := s.cur.Load()
	r, err := Extend(cur.Resolved, call)
	if err != nil {
		return refuse(err)
	}
	v, err := s.version(ctx, &Input{Resolved: r, Extension: cur.Extension})
	if err == nil {
		err = ctx.Err()
	}
	if err != nil {
		return refuse(err)
	}
	v.Seq = cur.Seq + 1
	v.Loaded = s.now()
	v.Runtime = append(slices.Clip(cur.Runtime), Added{Capabilities: call, Seq: v.Seq, At: v.Loaded})
	s.cur.Store(v)
	s.lastErr.Store(nil)
	s.tell(ReloadEvent{Version: v})
	return v, nil
}

// runtimeCall checks and copies the capabilities of one AddCapabilities
// call, sorted by identifier.
func runtimeCall(caps []*acl.Capability) ([]*acl.Capability, error) {
	if len(caps) == 0 {
		return nil, fmt.Errorf("%w: no capability to add", acl.ErrInvalid)
	}
	seen := map[string]*acl.Capability{}
	out := make([]*acl.Capability, 0, len(caps))
	for i, c := range caps {
		if c == nil {
			return nil, fmt.Errorf("%w: capability %d to add is nil", acl.ErrInvalid, i)
		}
		if c.Identifier == "" {
			return nil, errorAt(c, "/identifier", acl.ErrInvalid, "the capability to add has no identifier")
		}
		if prev := seen[c.Identifier]; prev != nil {
			return nil, errorAt(c, "/identifier", acl.ErrDuplicate, fmt.Sprintf(
				"capability %q is given twice in one call (first at %s); Tauri would keep only the last, capguard adds neither", c.Identifier, where(prev, "/identifier")))
		}
		seen[c.Identifier] = c
		for j, e := range c.Permissions {
			if e.Identifier.IsZero() {
				return nil, errorAt(c, "/permissions/"+strconv.Itoa(j), acl.ErrInvalidIdentifier,
					fmt.Sprintf("capability %q: permission entry %d has no identifier", c.Identifier, j))
			}
		}
		cp := *c
		cp.Windows = slices.Clone(c.Windows)
		cp.Webviews = slices.Clone(c.Webviews)
		cp.Permissions = slices.Clone(c.Permissions)
		cp.Platforms = slices.Clone(c.Platforms)
		if c.Remote != nil {
			cp.Remote = &acl.Remote{URLs: slices.Clone(c.Remote.URLs)}
		}
		if cp.Source.File == "" {
			// Built in Go: name it in positions, as a file would be.
			cp.Source = acl.Source{File: "runtime capability " + strconv.Quote(c.Identifier), Pointer: cp.Source.Pointer}
		}
		out = append(out, &cp)
	}
	slices.SortFunc(out, func(a, b *acl.Capability) int {
		switch {
		case a.Identifier < b.Identifier:
			return -1
		case a.Identifier > b.Identifier:
			return 1
		}
		return 0
	})
	return out, nil
}

func where(c *acl.Capability, rel string) string {
	if p := c.Source.KeyPosition(rel); !p.IsZero() {
		return p.String()
	}
	return "capability " + strconv.Quote(c.Identifier)
}

func errorAt(c *acl.Capability, rel string, kind error, msg string) error {
	return &acl.Error{Pos: c.Source.KeyPosition(rel), Msg: msg, Err: kind}
}

// Extend returns base with caps added the way Tauri's
// RuntimeAuthority::add_capability adds them: caps resolved on their own
// against base's manifests for base's target (acl.Resolve), their allow and
// deny entries appended to base's for each command, their command scope
// ids numbered after base's highest (tauri-utils'
// resolve_with_base_scope_id), their global scopes appended to base's, and
// their active capabilities listed after base's. base is not modified; the
// result shares what it did not change. Deciding with the result is
// deciding with base and caps together: a deny in caps applies to base's
// allow entries of the same execution context, and the other way round.
func Extend(base *acl.Resolved, caps []*acl.Capability) (*acl.Resolved, error) {
	if base == nil {
		return nil, fmt.Errorf("%w: policy.Extend: nil resolved ACL", acl.ErrInvalid)
	}
	set := acl.CapabilitySet{}
	for _, c := range caps {
		if c == nil {
			return nil, fmt.Errorf("%w: policy.Extend: nil capability", acl.ErrInvalid)
		}
		if set[c.Identifier] != nil {
			return nil, errorAt(c, "/identifier", acl.ErrDuplicate, fmt.Sprintf("capability %q is given twice", c.Identifier))
		}
		set[c.Identifier] = c
	}
	add, err := acl.Resolve(base.Manifests, set, base.Target)
	if err != nil {
		return nil, err
	}
	var last uint64
	for id := range base.CommandScopes {
		last = max(last, id)
	}
	out := &acl.Resolved{
		Target:        base.Target,
		HasAppACL:     base.HasAppACL,
		Allowed:       maps.Clone(base.Allowed),
		Denied:        maps.Clone(base.Denied),
		CommandScopes: maps.Clone(base.CommandScopes),
		GlobalScopes:  maps.Clone(base.GlobalScopes),
		Manifests:     base.Manifests,
		Capabilities:  append(slices.Clip(base.Capabilities), add.Capabilities...),
	}
	for _, part := range []struct {
		from, into map[string][]*acl.ResolvedCommand
	}{{add.Allowed, out.Allowed}, {add.Denied, out.Denied}} {
		for name, list := range part.from {
			for _, e := range list {
				if e.ScopeID != 0 {
					e.ScopeID += last // fresh entries of this resolution
				}
			}
			part.into[name] = append(slices.Clip(part.into[name]), list...)
		}
	}
	for id, sc := range add.CommandScopes {
		out.CommandScopes[id+last] = sc
	}
	for key, g := range add.GlobalScopes {
		merged := &acl.ResolvedScope{Allow: []acl.Value{}, Deny: []acl.Value{}}
		if prev := base.GlobalScopes[key]; prev != nil {
			merged.Allow = append(merged.Allow, prev.Allow...)
			merged.Deny = append(merged.Deny, prev.Deny...)
		}
		merged.Allow = append(merged.Allow, g.Allow...)
		merged.Deny = append(merged.Deny, g.Deny...)
		out.GlobalScopes[key] = merged
	}
	return out, nil
}

// withRuntime re-applies the capabilities added to the version in force to
// a version read from the files; s.mu is held.
func (s *Store) withRuntime(in *Input, runtime []Added) (*Input, error) {
	if len(runtime) == 0 {
		return in, nil
	}
	r := in.Resolved
	for _, a := range runtime {
		next, err := Extend(r, a.Capabilities)
		if err != nil {
			return nil, fmt.Errorf("the capabilities added at run time in version %d no longer resolve against the new files: %w", a.Seq, err)
		}
		r = next
	}
	return &Input{Resolved: r, Extension: in.Extension}, nil
}

// IsRuntime tells whether c (a ResolvedCommand's From, or an entry of
// Resolved.Capabilities) was added while the app runs (AddCapabilities)
// rather than read from the app's files.
func (v *Version) IsRuntime(c *acl.Capability) bool {
	if v == nil || c == nil {
		return false
	}
	for _, a := range v.Runtime {
		if slices.Contains(a.Capabilities, c) {
			return true
		}
	}
	return false
}

// AddedHere returns the capabilities this version added at run time: the
// last AddCapabilities call when it made this version, else nil.
func (v *Version) AddedHere() []*acl.Capability {
	if v == nil || len(v.Runtime) == 0 {
		return nil
	}
	if a := v.Runtime[len(v.Runtime)-1]; a.Seq == v.Seq {
		return a.Capabilities
	}
	return nil
}
