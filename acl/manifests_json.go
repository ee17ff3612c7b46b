package acl

import (
	"encoding/json"
	"os"
	"sort"

	"github.com/capguard/capguard/internal/doc"
)

// ParseManifests reads acl-manifests.json, the map of manifest keys to
// manifests that tauri-build writes to gen/schemas/.
func ParseManifests(name string, data []byte) (Manifests, error) {
	d, err := decode(name, data, "json")
	if err != nil {
		return nil, err
	}
	n := d.root
	if n.Kind != doc.Object {
		return nil, d.wrongType(n, "", "an object of plugin manifests")
	}
	out := Manifests{}
	for _, m := range n.Members {
		ptr := "/" + doc.PointerToken(m.Key)
		man, err := d.manifest(m.Value, ptr)
		if err != nil {
			return nil, err
		}
		out[m.Key] = man
	}
	return out, nil
}

// ReadManifests reads acl-manifests.json from disk.
func ReadManifests(p string) (Manifests, error) {
	fsys, name := osFile(p)
	data, err := readFile(fsys, name, p)
	if err != nil {
		return nil, err
	}
	return ParseManifests(p, data)
}

func (d *decoder) manifest(n *doc.Node, ptr string) (*Manifest, error) {
	f, err := d.fields(n, ptr, "a plugin manifest", "default_permission", "permissions", "permission_sets", "commands", "global_scope_schema")
	if err != nil {
		return nil, err
	}
	m := &Manifest{Permissions: map[string]*Permission{}, Sets: map[string]*PermissionSet{}}
	for _, field := range []string{"permissions", "permission_sets"} {
		if f[field] == nil {
			return nil, d.missing(n, ptr, field)
		}
	}
	if v := f["default_permission"]; v != nil && v.Kind != doc.Null {
		s, err := d.set(v, ptr+"/default_permission")
		if err != nil {
			return nil, err
		}
		m.Default = &s
	}
	perms := f["permissions"]
	if perms.Kind != doc.Object {
		return nil, d.wrongType(perms, ptr+"/permissions", "an object of permissions")
	}
	for _, mem := range perms.Members {
		p, err := d.permission(mem.Value, ptr+"/permissions/"+doc.PointerToken(mem.Key))
		if err != nil {
			return nil, err
		}
		m.Permissions[mem.Key] = &p
	}
	sets := f["permission_sets"]
	if sets.Kind != doc.Object {
		return nil, d.wrongType(sets, ptr+"/permission_sets", "an object of permission sets")
	}
	for _, mem := range sets.Members {
		s, err := d.set(mem.Value, ptr+"/permission_sets/"+doc.PointerToken(mem.Key))
		if err != nil {
			return nil, err
		}
		m.Sets[mem.Key] = &s
	}
	if v := f["commands"]; v != nil {
		if m.Commands, err = d.strList(v, ptr+"/commands"); err != nil {
			return nil, err
		}
	}
	if v := f["global_scope_schema"]; v != nil && v.Kind != doc.Null {
		w := doc.NewWriter(false)
		w.Node(v)
		m.GlobalScopeSchema = json.RawMessage(w.String())
	}
	return m, nil
}

// Keys returns the manifest keys in byte order.
func (ms Manifests) Keys() []string {
	keys := make([]string, 0, len(ms))
	for k := range ms {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	return keys
}

func sortedKeys[V any](m map[string]V) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	return keys
}

// MarshalManifests writes acl-manifests.json exactly as tauri-build does:
// compact JSON, keys in byte order, Tauri's field order and omissions.
func MarshalManifests(ms Manifests) []byte {
	w := doc.NewWriter(false)
	w.BeginObject()
	for _, k := range ms.Keys() {
		w.Key(k)
		ms[k].write(w)
	}
	w.EndObject()
	return w.Bytes()
}

// WriteManifests writes acl-manifests.json to a file.
func WriteManifests(p string, ms Manifests) error {
	return os.WriteFile(p, MarshalManifests(ms), 0o644)
}

func (m *Manifest) write(w *doc.Writer) {
	w.BeginObject()
	w.Key("default_permission")
	if m.Default == nil {
		w.Null()
	} else {
		m.Default.write(w)
	}
	w.Key("permissions")
	w.BeginObject()
	for _, k := range sortedKeys(m.Permissions) {
		w.Key(k)
		m.Permissions[k].write(w)
	}
	w.EndObject()
	w.Key("permission_sets")
	w.BeginObject()
	for _, k := range sortedKeys(m.Sets) {
		w.Key(k)
		m.Sets[k].write(w)
	}
	w.EndObject()
	if len(m.Commands) > 0 {
		w.Key("commands")
		writeStrings(w, m.Commands)
	}
	w.Key("global_scope_schema")
	if m.GlobalScopeSchema == nil {
		w.Null()
	} else {
		w.Raw(string(m.GlobalScopeSchema))
	}
	w.EndObject()
}

func writeStrings(w *doc.Writer, list []string) {
	w.BeginArray()
	for _, s := range list {
		w.Str(s)
	}
	w.EndArray()
}

func writeValues(w *doc.Writer, list []Value) {
	w.BeginArray()
	for _, v := range list {
		v.write(w)
	}
	w.EndArray()
}

func writeTargets(w *doc.Writer, list []Target) {
	w.BeginArray()
	for _, t := range list {
		w.Str(t.String())
	}
	w.EndArray()
}

func (s *PermissionSet) write(w *doc.Writer) {
	w.BeginObject()
	w.Key("identifier")
	w.Str(s.Identifier)
	w.Key("description")
	w.Str(s.Description)
	w.Key("permissions")
	writeStrings(w, s.Permissions)
	w.EndObject()
}

func (p *Permission) write(w *doc.Writer) {
	w.BeginObject()
	if p.Version != 0 {
		w.Key("version")
		w.Uint(p.Version)
	}
	w.Key("identifier")
	w.Str(p.Identifier)
	if p.Description != nil {
		w.Key("description")
		w.Str(*p.Description)
	}
	w.Key("commands")
	w.BeginObject()
	w.Key("allow")
	writeStrings(w, p.Commands.Allow)
	w.Key("deny")
	writeStrings(w, p.Commands.Deny)
	w.EndObject()
	if !p.Scope.IsEmpty() {
		w.Key("scope")
		p.Scope.write(w)
	}
	if p.Platforms != nil {
		w.Key("platforms")
		writeTargets(w, p.Platforms)
	}
	w.EndObject()
}

// write writes the scope's present lists as the members of an object.
func (s Scopes) write(w *doc.Writer) {
	w.BeginObject()
	s.writeMembers(w)
	w.EndObject()
}

func (s Scopes) writeMembers(w *doc.Writer) {
	if s.Allow != nil {
		w.Key("allow")
		writeValues(w, s.Allow)
	}
	if s.Deny != nil {
		w.Key("deny")
		writeValues(w, s.Deny)
	}
}

// MarshalCapabilities writes capabilities.json exactly as tauri-build
// does: a compact object of capabilities keyed by identifier in byte order.
func MarshalCapabilities(set CapabilitySet) []byte {
	w := doc.NewWriter(false)
	w.BeginObject()
	for _, c := range set.Sorted() {
		w.Key(c.Identifier)
		c.write(w)
	}
	w.EndObject()
	return w.Bytes()
}

func (c *Capability) write(w *doc.Writer) {
	w.BeginObject()
	w.Key("identifier")
	w.Str(c.Identifier)
	w.Key("description")
	w.Str(c.Description)
	if c.Remote != nil {
		w.Key("remote")
		w.BeginObject()
		w.Key("urls")
		writeStrings(w, c.Remote.URLs)
		w.EndObject()
	}
	w.Key("local")
	w.Bool(c.Local)
	if len(c.Windows) > 0 {
		w.Key("windows")
		writeStrings(w, c.Windows)
	}
	if len(c.Webviews) > 0 {
		w.Key("webviews")
		writeStrings(w, c.Webviews)
	}
	w.Key("permissions")
	w.BeginArray()
	for _, e := range c.Permissions {
		if !e.Extended {
			w.Str(e.Identifier.String())
			continue
		}
		w.BeginObject()
		w.Key("identifier")
		w.Str(e.Identifier.String())
		e.Scope.writeMembers(w)
		w.EndObject()
	}
	w.EndArray()
	if c.Platforms != nil {
		w.Key("platforms")
		writeTargets(w, c.Platforms)
	}
	w.EndObject()
}

// ParseCompiledCapabilities reads gen/schemas/capabilities.json: an object
// of capabilities keyed by identifier, as tauri-build writes it and Tauri's
// code generation reads it back.
func ParseCompiledCapabilities(name string, data []byte) (CapabilitySet, error) {
	d, err := decode(name, data, "json")
	if err != nil {
		return nil, err
	}
	n := d.root
	if n.Kind != doc.Object {
		return nil, d.wrongType(n, "", "an object of capabilities keyed by identifier")
	}
	set := CapabilitySet{}
	for _, m := range n.Members {
		c, err := d.capability(m.Value, "/"+doc.PointerToken(m.Key))
		if err != nil {
			return nil, err
		}
		set[m.Key] = c
	}
	return set, nil
}
