package demo

import (
	"sort"
	"strings"

	"github.com/capguard/capguard/acl"
)

// matrix is the effective-permission table: one row per page (window and
// origin), one column per command.
type matrix struct {
	Commands []string `json:"commands"`
	Rows     []row    `json:"rows"`
}

type row struct {
	// Page is the page's name ("main", "settings", "untrusted").
	Page   string `json:"page"`
	Window string `json:"window"`
	// Origin is "local" or "remote: <url>".
	Origin string `json:"origin"`
	Cells  []cell `json:"cells"`
}

type cell struct {
	Allowed bool `json:"allowed"`
	// Served is false for a command that no handler answers (an allowed
	// call then gets "Command ... not found").
	Served bool `json:"served"`
	// Via names the grants of an allowed cell, or the deny entries of a
	// denied one.
	Via []string `json:"via,omitempty"`
	// Why is the one-line reason of a denied cell.
	Why string `json:"why,omitempty"`
}

// buildMatrix decides every command for every page with the reference
// decision (the engine's decisions are the same; the feed says so when
// they are not).
func (s *Server) buildMatrix() matrix {
	served := map[string]bool{}
	cmds := map[string]bool{}
	for _, c := range s.app.Router.Commands() {
		served[c], cmds[c] = true, true
	}
	for c := range s.cfg.Resolved.Allowed {
		cmds[c] = true
	}
	for c := range s.cfg.Resolved.Denied {
		cmds[c] = true
	}
	m := matrix{}
	for c := range cmds {
		m.Commands = append(m.Commands, c)
	}
	// Plugin commands first, then the app's own, each sorted.
	sort.Slice(m.Commands, func(i, j int) bool {
		pi, pj := strings.HasPrefix(m.Commands[i], "plugin:"), strings.HasPrefix(m.Commands[j], "plugin:")
		if pi != pj {
			return pi
		}
		return m.Commands[i] < m.Commands[j]
	})
	for _, w := range s.windows {
		origin := acl.LocalOrigin
		if !w.Local {
			origin = acl.MustOrigin(w.URL)
		}
		r := row{Page: w.Name, Window: w.Label, Origin: origin.String()}
		for _, c := range m.Commands {
			d := s.cfg.Resolved.Decide(acl.Request{Command: c, Window: w.Label, Webview: w.Label, Origin: origin})
			cl := cell{Allowed: d.Allowed, Served: served[c]}
			if d.Allowed {
				cl.Via = references(d.Matches)
			} else {
				cl.Via = references(d.DeniedBy)
				cl.Why = firstLine(d.Message)
			}
			r.Cells = append(r.Cells, cl)
		}
		m.Rows = append(m.Rows, r)
	}
	return m
}

func firstLine(s string) string {
	line, _, _ := strings.Cut(s, "\n")
	return line
}
