package main

import (
	"encoding/json"
	"fmt"
	"io"
	"slices"
	"strings"
	"text/tabwriter"

	"github.com/capguard/capguard/acl"
	"github.com/capguard/capguard/biometric"
)

// writeGrantScopes prints, after who's table, the scopes its rows name
// (the "#N" of the SCOPE column) and, for the secure-storage commands of
// tauri-plugin-biometry, which records the caller may reach.
func writeGrantScopes(out io.Writer, r *acl.Resolved, grants []acl.Grant) {
	var ids []uint64
	for _, g := range grants {
		for _, v := range g.Via {
			if v.ScopeID != 0 && !slices.Contains(ids, v.ScopeID) {
				ids = append(ids, v.ScopeID)
			}
		}
	}
	slices.Sort(ids)
	if len(ids) > 0 {
		fmt.Fprintln(out)
		for _, id := range ids {
			if s := r.CommandScopes[id]; s != nil {
				fmt.Fprintf(out, "scope #%d: allow %s, deny %s\n", id, values(s.Allow), values(s.Deny))
			}
		}
	}
	var storage []acl.Grant
	for _, g := range grants {
		if isStorageCommand(g.Command) {
			storage = append(storage, g)
		}
	}
	if len(storage) == 0 {
		return
	}
	fmt.Fprintln(out)
	fmt.Fprintln(out, "secure storage (tauri-plugin-biometry): the records this caller may reach")
	tw := tabwriter.NewWriter(out, 0, 4, 2, ' ', 0)
	for _, g := range storage {
		fmt.Fprintf(tw, "  %s\t%s\n", strings.TrimPrefix(g.Command, "plugin:"+biometric.BiometryName+"|"), reachable(r, g))
	}
	tw.Flush()
}

// storageCommands are the commands whose scope names records.
var storageCommands = []string{"has_data", "get_data", "set_data", "remove_data"}

func isStorageCommand(cmd string) bool {
	name, ok := strings.CutPrefix(cmd, "plugin:"+biometric.BiometryName+"|")
	return ok && slices.Contains(storageCommands, name)
}

// reachable describes the records a grant of a storage command reaches,
// with the plugin's rule: deny entries win, and without an allow entry
// nothing is reached.
func reachable(r *acl.Resolved, g acl.Grant) string {
	var allow, deny []acl.Value
	for _, v := range g.Via {
		if s := r.CommandScopes[v.ScopeID]; v.ScopeID != 0 && s != nil {
			allow, deny = append(allow, s.Allow...), append(deny, s.Deny...)
		}
	}
	if s := r.GlobalScopes[biometric.BiometryName]; s != nil {
		allow, deny = append(allow, s.Allow...), append(deny, s.Deny...)
	}
	if len(allow) == 0 {
		return "nothing: the grant has no allow entry (add {\"domain\": ...} to its allow list)"
	}
	text := func(vs []acl.Value) []string {
		var out []string
		for _, v := range vs {
			out = append(out, recordText(v))
		}
		slices.Sort(out)
		return slices.Compact(out)
	}
	line := strings.Join(text(allow), ", ")
	if len(deny) > 0 {
		line += "; except " + strings.Join(text(deny), ", ")
	}
	return line
}

// recordText is a scope entry as "domain (every name)" or "domain/name".
func recordText(v acl.Value) string {
	var e biometric.ScopeEntry
	data, err := json.Marshal(v)
	if err != nil || json.Unmarshal(data, &e) != nil || e.Domain == "" {
		return "an entry the plugin cannot read (" + string(data) + "): refuses the call"
	}
	if e.Name == nil {
		return e.Domain + " (every name)"
	}
	return e.Domain + "/" + *e.Name
}
