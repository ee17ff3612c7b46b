// Package acl is Tauri v2's access-control model in Go: permission files,
// plugin manifests and capability files, read from every format Tauri
// accepts with the position of every value, written back byte for byte as
// tauri-build writes them, and resolved into the table that decides which
// window, webview and origin may call which command.
//
// The types mirror tauri-utils' acl module. Where Rust has Option<Vec<T>>,
// the Go field is a slice whose nil value means "absent" and whose empty,
// non-nil value means "present but empty": the two are written differently
// and, for scopes and platforms, mean different things.
package acl

import (
	"encoding/json"

	"github.com/capguard/capguard/internal/doc"
)

// Source records where a model value was read from: the file, the JSON
// pointer of the value inside it, and the parsed document, so that any
// part of the value can be located later.
type Source struct {
	File    string
	Pointer string
	root    *doc.Node
}

// Position returns the position of the value at Pointer+rel (rel is a JSON
// pointer relative to the value, "" for the value itself). When rel does
// not resolve, the position of the deepest value on its way is returned.
func (s Source) Position(rel string) Position {
	ptr := s.Pointer + rel
	if s.root == nil {
		return Position{File: s.File, Pointer: ptr}
	}
	n, _ := s.root.Lookup(ptr)
	if n == nil {
		return Position{File: s.File, Pointer: ptr}
	}
	return posOf(s.File, n.Pos, ptr)
}

// KeyPosition returns the position of the key of the member at
// Pointer+rel, which reads better than the value's for errors about a
// field.
func (s Source) KeyPosition(rel string) Position {
	ptr := s.Pointer + rel
	if s.root == nil {
		return Position{File: s.File, Pointer: ptr}
	}
	p, _ := s.root.KeyPos(ptr)
	return posOf(s.File, p, ptr)
}

// Commands lists the commands a permission allows and denies.
type Commands struct {
	Allow []string
	Deny  []string
}

// Scopes are the allow and deny scope values of a permission or of a
// capability's permission entry. A nil list is absent; an empty non-nil
// list is present (and, on a capability entry, still gets a scope id).
type Scopes struct {
	Allow []Value
	Deny  []Value
}

// IsEmpty tells whether neither list is present.
func (s Scopes) IsEmpty() bool { return s.Allow == nil && s.Deny == nil }

// Permission is a named grant: commands it allows or denies, scope values,
// and the platforms it applies to (nil: all).
type Permission struct {
	Version     uint64 // 0: not set (Tauri's version is a NonZeroU64)
	Identifier  string
	Description *string
	Commands    Commands
	Scope       Scopes
	Platforms   []Target
	// Risk and RiskReason are what the permission file declares for
	// capguard's diff in a member Tauri ignores, capguard = { risk =
	// "high", reason = "..." }: a level as written (the diff checks it),
	// "" when not declared. Tauri's build drops the member, so it is never
	// in acl-manifests.json; Source.Position("/capguard/risk") locates it.
	Risk       string
	RiskReason string
	Source     Source
}

// PermissionSet groups permissions (and other sets) under one name. The
// entries may name another plugin's permission or set ("fs:default").
type PermissionSet struct {
	Identifier  string
	Description string
	Permissions []string
	Source      Source
}

// DefaultPermission is the `[default]` table of a permission file.
type DefaultPermission struct {
	Version     uint64
	Description *string
	Permissions []string
	Source      Source
}

// PermissionFile is one permission file: an optional default set, sets,
// permissions, and command names whose allow-/deny- permissions are made on
// demand.
type PermissionFile struct {
	Default     *DefaultPermission
	Sets        []PermissionSet
	Permissions []Permission
	Commands    []string
	Source      Source
}

// Manifest is what Tauri knows about one plugin (or the application, under
// AppKey): its default set, permissions and sets keyed by identifier, the
// commands with on-demand allow-/deny- permissions, and the JSON schema of
// its global scope entries.
type Manifest struct {
	Default     *PermissionSet
	Permissions map[string]*Permission
	Sets        map[string]*PermissionSet
	Commands    []string
	// GlobalScopeSchema is the plugin's scope schema as compact JSON in
	// serde_json's spelling, key order as read; nil when there is none.
	GlobalScopeSchema json.RawMessage
}

// Manifests maps manifest keys (plugin names, "core:window", AppKey) to
// manifests, as acl-manifests.json does.
type Manifests map[string]*Manifest

// Remote lists the URL patterns whose pages a capability also applies to.
type Remote struct {
	URLs []string
}

// PermissionEntry is one item of a capability's permissions: an
// identifier, written either as a plain string or, when Extended is set, as
// an object that may add allow/deny scope values.
type PermissionEntry struct {
	Identifier Identifier
	Extended   bool
	Scope      Scopes
}

// Capability grants permissions to windows and webviews (by label glob),
// for the local app origin and for remote URL patterns, on some platforms.
type Capability struct {
	Identifier  string
	Description string
	Remote      *Remote
	Local       bool
	Windows     []string
	Webviews    []string
	Permissions []PermissionEntry
	Platforms   []Target // nil: every target
	Source      Source
}

// ActiveOn tells whether the capability applies to target t.
func (c *Capability) ActiveOn(t Target) bool { return activeOn(c.Platforms, t) }

// ActiveOn tells whether the permission applies to target t.
func (p *Permission) ActiveOn(t Target) bool { return activeOn(p.Platforms, t) }

// NewManifest merges permission files in order, as Tauri's Manifest::new
// does: a later default replaces an earlier one (its description defaults
// to "Default plugin permissions."), permissions and sets are keyed by
// identifier (a later one wins), and command names are sorted and
// deduplicated.
func NewManifest(files []*PermissionFile, globalScopeSchema json.RawMessage) *Manifest {
	m := &Manifest{
		Permissions:       map[string]*Permission{},
		Sets:              map[string]*PermissionSet{},
		GlobalScopeSchema: globalScopeSchema,
	}
	for _, f := range files {
		if f.Default != nil {
			desc := "Default plugin permissions."
			if f.Default.Description != nil {
				desc = *f.Default.Description
			}
			m.Default = &PermissionSet{
				Identifier:  "default",
				Description: desc,
				Permissions: f.Default.Permissions,
				Source:      f.Default.Source,
			}
		}
		for i := range f.Permissions {
			p := &f.Permissions[i]
			m.Permissions[p.Identifier] = p
		}
		for i := range f.Sets {
			s := &f.Sets[i]
			m.Sets[s.Identifier] = s
		}
		m.Commands = append(m.Commands, f.Commands...)
	}
	m.Commands = sortedUnique(m.Commands)
	return m
}
