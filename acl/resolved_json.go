package acl

import (
	"sort"
	"strconv"

	"github.com/capguard/capguard/internal/doc"
)

// MarshalResolved writes the resolved ACL as pretty JSON in the format of
// Tauri's resolver fixtures: allowed_commands and denied_commands (entries
// with context, windows, webviews, scope_id and a copy of the scope),
// command_scope by id and global_scope by plugin key, maps in byte order
// (scope ids in numeric order).
func MarshalResolved(r *Resolved) []byte {
	if r == nil {
		r = &Resolved{} // nothing allowed, nothing denied
	}
	w := doc.NewWriter(true)
	w.BeginObject()
	for _, part := range []struct {
		name string
		m    map[string][]*ResolvedCommand
	}{{"allowed_commands", r.Allowed}, {"denied_commands", r.Denied}} {
		w.Key(part.name)
		w.BeginObject()
		for _, cmd := range sortedKeys(part.m) {
			w.Key(cmd)
			w.BeginArray()
			for _, e := range part.m[cmd] {
				r.writeEntry(w, e)
			}
			w.EndArray()
		}
		w.EndObject()
	}
	w.Key("command_scope")
	w.BeginObject()
	ids := make([]uint64, 0, len(r.CommandScopes))
	for id := range r.CommandScopes {
		ids = append(ids, id)
	}
	sort.Slice(ids, func(i, j int) bool { return ids[i] < ids[j] })
	for _, id := range ids {
		w.Key(strconv.FormatUint(id, 10))
		r.CommandScopes[id].write(w)
	}
	w.EndObject()
	w.Key("global_scope")
	w.BeginObject()
	for _, k := range sortedKeys(r.GlobalScopes) {
		w.Key(k)
		r.GlobalScopes[k].write(w)
	}
	w.EndObject()
	w.EndObject()
	return append(w.Bytes(), '\n')
}

func (s *ResolvedScope) write(w *doc.Writer) {
	w.BeginObject()
	w.Key("allow")
	writeValues(w, s.Allow)
	w.Key("deny")
	writeValues(w, s.Deny)
	w.EndObject()
}

func writeGlobs(w *doc.Writer, gs []*Glob) {
	w.BeginArray()
	for _, g := range gs {
		w.Str(g.src)
	}
	w.EndArray()
}

func (r *Resolved) writeEntry(w *doc.Writer, e *ResolvedCommand) {
	w.BeginObject()
	w.Key("context")
	if e.Context.IsLocal() {
		w.Str("local")
	} else {
		w.BeginObject()
		w.Key("remote")
		w.Str(e.Context.Remote.src)
		w.EndObject()
	}
	w.Key("windows")
	writeGlobs(w, e.Windows)
	w.Key("webviews")
	writeGlobs(w, e.Webviews)
	w.Key("scope_id")
	if e.ScopeID == 0 {
		w.Null()
		w.Key("scope")
		w.Null()
	} else {
		w.Uint(e.ScopeID)
		w.Key("scope")
		r.CommandScopes[e.ScopeID].write(w)
	}
	w.EndObject()
}
