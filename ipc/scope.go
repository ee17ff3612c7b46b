package ipc

import (
	"encoding/json"
	"errors"
	"fmt"
	"reflect"
	"strings"

	"github.com/capguard/capguard/acl"
)

// ErrScope is wrapped by DecodeScope's errors: a call that has not been
// through the guard, a guard without scopes (WithScopes), a scope id the
// ACL does not know, or a scope value that does not decode into the
// handler's type.
var ErrScope = errors.New("cannot resolve scope")

// Scope is the scope of an allowed call decoded into a handler's own entry
// type: the allow and deny values of the command scopes of the matching
// capability entries, followed by those of the plugin's global scope, as
// a Tauri command sees them through CommandScope and GlobalScope.
type Scope[T any] struct {
	Allow []T
	Deny  []T
}

// Matches applies Tauri's rule (CommandScope::matches) with match telling
// whether one entry covers the input: the input is rejected if any deny
// entry matches, accepted if there are no allow entries, and otherwise
// accepted only if an allow entry matches.
//
// Like Tauri's, an empty scope accepts everything; a command that needs
// at least one allow entry must check len(s.Allow) itself.
func (s Scope[T]) Matches(match func(entry T) bool) bool {
	for _, d := range s.Deny {
		if match(d) {
			return false
		}
	}
	if len(s.Allow) == 0 {
		return true
	}
	for _, a := range s.Allow {
		if match(a) {
			return true
		}
	}
	return false
}

// DecodeScope returns the scope of an allowed call, each value decoded
// into T from its JSON form (acl.Value.MarshalJSON) with encoding/json.
// Decoded values are cached per type and scope by the guard, and each call
// gets its own copy of the lists. DecodeScope fails closed: without the
// guard's scopes (WithScopes) it returns an error rather than an empty
// scope that would accept everything.
func DecodeScope[T any](inv *Invocation) (Scope[T], error) {
	var s Scope[T]
	if inv == nil || inv.Access == nil {
		return s, fmt.Errorf("ipc: %w: the call has not been allowed by the guard", ErrScope)
	}
	a := inv.Access
	r := a.scopes
	if r == nil {
		return s, fmt.Errorf("ipc: %w: the guard has no scopes (use ipc.WithScopes)", ErrScope)
	}
	typ := reflect.TypeFor[T]()
	for _, id := range a.Decision.ScopeIDs {
		rs := r.CommandScopes[id]
		if rs == nil {
			return Scope[T]{}, fmt.Errorf("ipc: %w: scope id %d is not in the ACL", ErrScope, id)
		}
		d, err := decodeCached[T](a, scopeKey{typ: typ, id: id}, rs)
		if err != nil {
			return Scope[T]{}, err
		}
		s.Allow = append(s.Allow, d.allow...)
		s.Deny = append(s.Deny, d.deny...)
	}
	if key, g := globalScope(r, inv.Command); g != nil {
		d, err := decodeCached[T](a, scopeKey{typ: typ, global: key}, g)
		if err != nil {
			return Scope[T]{}, err
		}
		s.Allow = append(s.Allow, d.allow...)
		s.Deny = append(s.Deny, d.deny...)
	}
	return s, nil
}

// scopeKey names a decoded scope: a command scope id, or a global scope
// by plugin key, for one Go type.
type scopeKey struct {
	typ    reflect.Type
	id     uint64
	global string
}

type decodedScope[T any] struct{ allow, deny []T }

func decodeCached[T any](a *Access, key scopeKey, rs *acl.ResolvedScope) (decodedScope[T], error) {
	if a.decoded != nil {
		if v, ok := a.decoded.Load(key); ok {
			return v.(decodedScope[T]), nil
		}
	}
	var d decodedScope[T]
	for _, v := range rs.Allow {
		t, err := decodeValue[T](v)
		if err != nil {
			return d, err
		}
		d.allow = append(d.allow, t)
	}
	for _, v := range rs.Deny {
		t, err := decodeValue[T](v)
		if err != nil {
			return d, err
		}
		d.deny = append(d.deny, t)
	}
	if a.decoded != nil {
		a.decoded.Store(key, d)
	}
	return d, nil
}

func decodeValue[T any](v acl.Value) (T, error) {
	var t T
	data, err := v.MarshalJSON()
	if err == nil {
		err = json.Unmarshal(data, &t)
	}
	if err != nil {
		return t, fmt.Errorf("ipc: %w: scope value %s does not decode into %T: %v", ErrScope, v, t, err)
	}
	return t, nil
}

// globalScope returns the global scope of the plugin (or the app) that
// owns command, with its key: "plugin:fs|read" → "fs" (or "core:fs" for
// core plugins), a bare command → the app's.
func globalScope(r *acl.Resolved, command string) (string, *acl.ResolvedScope) {
	rest, ok := strings.CutPrefix(command, "plugin:")
	if !ok {
		return acl.AppKey, r.GlobalScopes[acl.AppKey]
	}
	name, _, _ := strings.Cut(rest, "|")
	if g := r.GlobalScopes[name]; g != nil {
		return name, g
	}
	return "core:" + name, r.GlobalScopes["core:"+name]
}
