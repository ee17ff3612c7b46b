package acldiff

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// scopeRuleText says how a scope rule rates a command, as docs/diff.md
// shows it.
var scopeRuleText = map[scopeRule]string{
	scopeNone:       "",
	scopeFSWrite:    "critical when a path of its scope reaches beyond the app's own folders, medium when all stay inside them, low with no path",
	scopeFSRead:     "high when a path of its scope reaches beyond the app's own folders, low inside them or with no path",
	scopeHTTP:       "high when a URL of its scope matches any host, medium for given hosts, low with no URL",
	scopeOpenerURL:  "high when a URL of its scope covers every http, https or file URL, medium for others, low with no URL",
	scopeOpenerPath: "high when a path of its scope reaches beyond the app's own folders, medium inside them, low with no path",
}

const (
	riskTableBegin = "<!-- risk table: written from acldiff/risk.go; CAPGUARD_UPDATE_DOCS=1 go test -run TestRiskTableDocumented ./acldiff/ rewrites it -->"
	riskTableEnd   = "<!-- end of the risk table -->"
)

// riskTableMarkdown renders riskTable for docs/diff.md.
func riskTableMarkdown() string {
	var b strings.Builder
	b.WriteString("| plugin | commands | risk | what they do |\n|---|---|---|---|\n")
	for _, r := range riskTable {
		cmds := make([]string, len(r.commands))
		for i, c := range r.commands {
			if c == "*" {
				cmds[i] = "all others"
			} else {
				cmds[i] = "`" + c + "`"
			}
		}
		risk := "**" + string(r.risk) + "**"
		if t := scopeRuleText[r.scope]; t != "" {
			risk = t
		}
		b.WriteString("| `" + r.plugin + "` | " + strings.Join(cmds, ", ") + " | " + risk + " | " + r.reason + " |\n")
	}
	return b.String()
}

// TestRiskTableDocumented: docs/diff.md shows the table the code rates
// with, row for row.
func TestRiskTableDocumented(t *testing.T) {
	p := filepath.Join("..", "docs", "diff.md")
	data, err := os.ReadFile(p)
	if err != nil {
		t.Fatal(err)
	}
	doc := string(data)
	i, j := strings.Index(doc, riskTableBegin), strings.Index(doc, riskTableEnd)
	if i < 0 || j < i {
		t.Fatalf("%s has no risk table between %q and %q", p, riskTableBegin, riskTableEnd)
	}
	want := riskTableBegin + "\n\n" + riskTableMarkdown() + "\n"
	if doc[i:j] == want {
		return
	}
	if os.Getenv("CAPGUARD_UPDATE_DOCS") == "1" {
		if err := os.WriteFile(p, []byte(doc[:i]+want+doc[j:]), 0o644); err != nil {
			t.Fatal(err)
		}
		return
	}
	t.Errorf("the risk table of %s differs from acldiff/risk.go; rewrite it with CAPGUARD_UPDATE_DOCS=1 go test -run TestRiskTableDocumented ./acldiff/", p)
}
