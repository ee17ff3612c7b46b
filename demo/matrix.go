package demo

import (
	"fmt"
	"sort"
	"strings"

	"github.com/capguard/capguard/acl"
	"github.com/capguard/capguard/policy"
)

// matrix is the effective-permission table of one version of the ACL:
// one row per page (window and origin), one column per command.
type matrix struct {
	// Version is the store's version the table was built from.
	Version  uint64   `json:"version"`
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
	// StepUp describes the obligations capguard.json adds to an allowed
	// cell ("biometric, at most 60 s old: “Unlock your vault”").
	StepUp []string `json:"stepUp,omitempty"`
}

// buildMatrix decides every command for every page with the reference
// decision of version v (the engine's decisions are the same; the feed
// says so when they are not), and lists the obligations of v's
// capguard.json on the allowed cells.
func (s *Server) buildMatrix(v *policy.Version) matrix {
	res := v.Resolved
	served := map[string]bool{}
	cmds := map[string]bool{}
	for _, c := range s.app.Router.Commands() {
		served[c], cmds[c] = true, true
	}
	for c := range res.Allowed {
		cmds[c] = true
	}
	for c := range res.Denied {
		cmds[c] = true
	}
	m := matrix{Version: v.Seq}
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
			d := res.Decide(acl.Request{Command: c, Window: w.Label, Webview: w.Label, Origin: origin})
			cl := cell{Allowed: d.Allowed, Served: served[c]}
			if d.Allowed {
				cl.Via = references(d.Matches)
				cl.StepUp = stepUps(v.Extension, c, w.Label)
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

// stepUps describes the obligations ext adds to calls of command from
// window (and its own webview).
func stepUps(ext *acl.Extension, command, window string) []string {
	if ext == nil {
		return nil
	}
	var out []string
	for _, r := range ext.Obligations {
		if r.MatchesCommand(command) && r.MatchesLabel(window, window) {
			out = append(out, obligationText(r.Type, r.MaxAgeS, r.Reason, r.Binding))
		}
	}
	return out
}

// obligationText is how the dashboard describes an obligation.
func obligationText(typ string, maxAgeS int, reason, binding string) string {
	t := typ
	if binding == policy.BindingSigned {
		t += ", signed (a signature of the call by the step-up key)"
	}
	if maxAgeS > 0 {
		t += fmt.Sprintf(", at most %d s old", maxAgeS)
	} else {
		t += ", on every call"
	}
	if reason != "" {
		t += fmt.Sprintf(": %q", reason)
	}
	return t
}

// setMatrix publishes the matrix of the current version.
func (s *Server) setMatrix(m matrix) {
	s.mu.Lock()
	if m.Version >= s.matrix.Version {
		s.matrix = m
	}
	s.mu.Unlock()
	s.feed.touch()
}

// currentMatrix is the matrix of the version deciding now.
func (s *Server) currentMatrix() matrix {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.matrix
}

func firstLine(s string) string {
	line, _, _ := strings.Cut(s, "\n")
	return line
}
