// Package policytest provides what the policy engines' tests and the
// differential tests against Tauri share: the
// resolved ACLs of the conformance corpus (real apps and Tauri's resolver
// fixtures), random ACLs that exercise every feature the corpus lacks
// (command denials, remote contexts, many entries per command), and random
// requests drawn from an ACL's own commands, labels and URL patterns.
package policytest

import (
	"encoding/json"
	"errors"
	"fmt"
	"math/rand/v2"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"sync"
	"testing"

	"github.com/capguard/capguard/acl"
	"github.com/capguard/capguard/internal/conformance"
)

// ACL is one resolved ACL of the corpus.
type ACL struct {
	// Name is "apps/<app>@<target>" or "fixtures/<fixture>@<target>".
	Name     string
	Resolved *acl.Resolved
}

// Entries counts the allow and deny entries of a resolved ACL.
func Entries(r *acl.Resolved) int {
	n := 0
	for _, l := range r.Allowed {
		n += len(l)
	}
	for _, l := range r.Denied {
		n += len(l)
	}
	return n
}

// ExpectedSkips are the (app, target) pairs of the corpus that cannot be
// resolved: their committed acl-manifests.json was built for another
// target and lacks a plugin that a capability active on this target names.
var ExpectedSkips = map[string]string{
	"apps/AveryanAlex__IronWing@android":      `mobile capability names plugin "bluetooth-classic"`,
	"apps/afadil__wealthfolio@linux":          `desktop capability names plugin "updater"`,
	"apps/afadil__wealthfolio@macOS":          `desktop capability names plugin "updater"`,
	"apps/afadil__wealthfolio@windows":        `desktop capability names plugin "updater"`,
	"apps/darksoil-studio__dash-chat@android": `mobile capability names plugin "barcode-scanner"`,
	"apps/darksoil-studio__dash-chat@iOS":     `mobile capability names plugin "barcode-scanner"`,
}

// Corpus resolves every app of the conformance corpus for linux and for
// every target its capabilities name, and every Tauri resolver fixture.
// Pairs that fail with acl.ErrUnknownPermission are returned as skipped
// (name → error); any other failure fails the test.
func Corpus(t testing.TB) (acls []ACL, skipped map[string]string) {
	t.Helper()
	corpus.Lock()
	defer corpus.Unlock()
	if corpus.acls == nil {
		corpus.acls, corpus.skipped = loadCorpus(t)
	}
	return corpus.acls, corpus.skipped
}

// corpus keeps the resolved corpus for the tests of one package binary:
// resolving it takes a second or two.
var corpus struct {
	sync.Mutex
	acls    []ACL
	skipped map[string]string
}

func loadCorpus(t testing.TB) (acls []ACL, skipped map[string]string) {
	t.Helper()
	skipped = map[string]string{}
	for _, app := range conformance.Apps(t) {
		dir := conformance.Path(t, "apps", app, "src-tauri")
		base, err := acl.LoadApp(dir, acl.Linux)
		if err != nil {
			t.Fatalf("%s: %v", app, err)
		}
		targets := map[acl.Target]bool{acl.Linux: true}
		for _, set := range []acl.CapabilitySet{base.Files, base.Capabilities} {
			for _, c := range set {
				for _, p := range c.Platforms {
					targets[p] = true
				}
			}
		}
		for _, tg := range acl.Targets {
			if !targets[tg] {
				continue
			}
			name := fmt.Sprintf("apps/%s@%s", app, tg)
			a, err := acl.LoadApp(dir, tg)
			if err != nil {
				t.Fatalf("%s: %v", name, err)
			}
			if a.Manifests == nil {
				t.Fatalf("%s: no acl-manifests.json", name)
			}
			r, err := acl.Resolve(a.Manifests, a.Capabilities, tg)
			if errors.Is(err, acl.ErrUnknownPermission) {
				skipped[name] = err.Error()
				continue
			}
			if err != nil {
				t.Fatalf("%s: %v", name, err)
			}
			acls = append(acls, ACL{Name: name, Resolved: r})
		}
	}
	return append(acls, Fixtures(t)...), skipped
}

// Fixture is one of Tauri's resolver fixtures: its name, the manifests of
// the test plugins it requires (built from their permission files) and its
// capability files.
type Fixture struct {
	Name      string
	Manifests acl.Manifests
	CapFiles  []string
}

// LoadFixtures reads Tauri's resolver fixtures.
func LoadFixtures(t testing.TB) []Fixture {
	t.Helper()
	root := conformance.Path(t, "tauri-acl-fixtures")
	entries, err := os.ReadDir(filepath.Join(root, "capabilities"))
	if err != nil {
		t.Fatal(err)
	}
	var out []Fixture
	for _, e := range entries {
		if !e.IsDir() {
			continue
		}
		fixture := e.Name()
		dir := filepath.Join(root, "capabilities", fixture)
		data, err := os.ReadFile(filepath.Join(dir, "required-plugins.json"))
		if err != nil {
			t.Fatal(err)
		}
		var plugins []string
		if err := json.Unmarshal(data, &plugins); err != nil {
			t.Fatalf("%s: %v", fixture, err)
		}
		ms := acl.Manifests{}
		for _, p := range plugins {
			files, err := acl.LoadPermissionDir(filepath.Join(root, "plugins", p))
			if err != nil {
				t.Fatalf("%s: plugin %s: %v", fixture, p, err)
			}
			ms[p] = acl.NewManifest(files, nil)
		}
		capFiles, err := filepath.Glob(filepath.Join(dir, "cap*"))
		if err != nil || len(capFiles) == 0 {
			t.Fatalf("%s: no capability files (%v)", fixture, err)
		}
		out = append(out, Fixture{Name: fixture, Manifests: ms, CapFiles: capFiles})
	}
	if len(out) == 0 {
		t.Fatalf("no fixtures under %s", root)
	}
	return out
}

// Fixtures resolves Tauri's resolver fixtures: for linux, and for macOS and
// windows too for the one fixture whose result depends on the platform.
func Fixtures(t testing.TB) []ACL {
	t.Helper()
	root := conformance.Path(t, "tauri-acl-fixtures")
	var out []ACL
	for _, f := range LoadFixtures(t) {
		fixture, ms, capFiles := f.Name, f.Manifests, f.CapFiles
		caps, err := acl.LoadCapabilities(capFiles...)
		if err != nil {
			t.Fatalf("%s: %v", fixture, err)
		}
		targets := []acl.Target{acl.Linux}
		if _, err := os.Stat(filepath.Join(root, "expected", "macOS", fixture+".json")); err == nil {
			targets = append(targets, acl.MacOS, acl.Windows)
		}
		for _, tg := range targets {
			r, err := acl.Resolve(ms, caps, tg)
			if err != nil {
				t.Fatalf("%s@%s: %v", fixture, tg, err)
			}
			out = append(out, ACL{Name: fmt.Sprintf("fixtures/%s@%s", fixture, tg), Resolved: r})
		}
	}
	if len(out) == 0 {
		t.Fatalf("no fixtures under %s", root)
	}
	return out
}

// Largest returns the ACL of the corpus with the most entries.
func Largest(t testing.TB) ACL {
	t.Helper()
	acls, _ := Corpus(t)
	best := acls[0]
	for _, a := range acls[1:] {
		if Entries(a.Resolved) > Entries(best.Resolved) {
			best = a
		}
	}
	return best
}

// LabelEdgeCases are labels that probe glob semantics: empty, wildcard
// characters used as labels, separators, case, non-ASCII and invalid UTF-8.
var LabelEdgeCases = []string{
	"", "main", "Main", "MAIN", "main ", " main", "*", "**", "?", "[", "]", "[!]",
	"/", "a/b", "main/", "/main", "main/x/y", "x/main", "ext_", "ext_a", "ext_a/b",
	"w1", "w", "ww", "ü", "é-window", "\xff", "main\x00", "a-b", "-", "kiosk",
}

// URLEdgeCases are page URLs around the patterns of real apps and of the
// random ACLs: near misses of host, port, scheme and path.
var URLEdgeCases = []string{
	"https://tauri.app", "https://tauri.app/path?q=1#h", "https://tauri.app.evil.com/",
	"http://tauri.app/", "http://localhost/", "http://localhost:1420/", "http://localhost:1420/index.html?x#y",
	"https://localhost:1420/", "http://127.0.0.1:8080/x", "tauri://localhost", "tauri://localhost/index.html",
	"haex-extension://abc/index.html", "https://api.gradievo.com/v1/x", "https://relay.gradievo.com.evil.com/",
	"https://evil.example/", "https://a.example/", "https://a.example/admin/x", "https://b.a.example/",
	"https://A.EXAMPLE/", "https://a.example:8443/", "file:///etc/passwd", "data:text/html,hi",
}

// Generator draws random requests for one ACL from its commands, labels
// and URL patterns, plus unknown commands, random labels, glob edge cases
// and unrelated URLs.
type Generator struct {
	rng      *rand.Rand
	commands []string
	// labels and origins come from the ACL's patterns; edgeLabels and
	// edgeOrigins are the edge cases and unrelated values.
	labels, edgeLabels   []string
	origins, edgeOrigins []acl.Origin
}

// NewGenerator prepares a generator for r.
func NewGenerator(r *acl.Resolved, rng *rand.Rand) *Generator {
	g := &Generator{rng: rng}
	cmds := map[string]bool{}
	labels := map[string]bool{}
	urls := map[string]bool{}
	for _, m := range []map[string][]*acl.ResolvedCommand{r.Allowed, r.Denied} {
		// In command order, so that rng draws the same labels on every run.
		for _, cmd := range sortedKeys(commandSet(m)) {
			list := m[cmd]
			cmds[cmd] = true
			for _, e := range list {
				for _, gl := range append(append([]*acl.Glob(nil), e.Windows...), e.Webviews...) {
					labels[gl.String()] = true
					for range 3 {
						labels[Instantiate(gl.String(), rng)] = true
					}
				}
				if e.Context.Remote != nil {
					p := e.Context.Remote.String()
					for _, fill := range []string{"x", "1420", "a/b", "", "x.y"} {
						urls[strings.ReplaceAll(p, "*", fill)] = true
					}
				}
			}
		}
	}
	g.commands = sortedKeys(cmds)
	g.labels = sortedKeys(labels)
	g.edgeLabels = LabelEdgeCases
	g.origins = parseOrigins(sortedKeys(urls))
	g.edgeOrigins = parseOrigins(URLEdgeCases)
	return g
}

func parseOrigins(urls []string) []acl.Origin {
	var out []acl.Origin
	for _, u := range urls {
		if o, err := acl.ParseOrigin(u); err == nil && !o.IsLocal() {
			out = append(out, o)
		}
	}
	return out
}

func commandSet(m map[string][]*acl.ResolvedCommand) map[string]bool {
	out := make(map[string]bool, len(m))
	for k := range m {
		out[k] = true
	}
	return out
}

func sortedKeys(m map[string]bool) []string {
	out := make([]string, 0, len(m))
	for k := range m {
		out = append(out, k)
	}
	sort.Strings(out)
	return out
}

// Instantiate returns a label the glob pattern probably matches: each
// wildcard replaced by something it accepts (or, now and then, not).
func Instantiate(pattern string, rng *rand.Rand) string {
	var b strings.Builder
	rs := []rune(pattern)
	for i := 0; i < len(rs); i++ {
		switch rs[i] {
		case '*':
			b.WriteString([]string{"", "a", "x/y", "main", "-", "ü"}[rng.IntN(6)])
		case '?':
			b.WriteRune([]rune("a1/-ü")[rng.IntN(5)])
		case '[':
			j := i + 1
			for j < len(rs) && (rs[j] != ']' || j == i+1 || (j == i+2 && rs[i+1] == '!')) {
				j++
			}
			if j >= len(rs) {
				b.WriteRune(rs[i])
				continue
			}
			class := rs[i+1 : j]
			if class[0] == '!' {
				b.WriteRune([]rune("zq~")[rng.IntN(3)])
			} else {
				b.WriteRune(class[rng.IntN(len(class))])
			}
			i = j
		default:
			b.WriteRune(rs[i])
		}
	}
	return b.String()
}

// Commands returns the commands the generator draws from (the ACL's).
func (g *Generator) Commands() []string { return g.commands }

// Origins returns the remote origins the generator draws from.
func (g *Generator) Origins() []acl.Origin {
	return append(append([]acl.Origin(nil), g.origins...), g.edgeOrigins...)
}

// Request draws a request.
func (g *Generator) Request() acl.Request {
	var req acl.Request
	switch n := g.rng.IntN(10); {
	case n < 7 && len(g.commands) > 0:
		req.Command = g.commands[g.rng.IntN(len(g.commands))]
	case n < 8 && len(g.commands) > 0:
		c := g.commands[g.rng.IntN(len(g.commands))]
		req.Command = []string{strings.ToUpper(c), c + " ", c[:len(c)/2], strings.Replace(c, "|", ":", 1)}[g.rng.IntN(4)]
	default:
		req.Command = []string{"", "plugin:nope|x", "plugin:fs|", "plugin:|", "open_vault", "plugin:biometric|authenticate"}[g.rng.IntN(6)]
	}
	req.Window = g.label()
	if g.rng.IntN(10) < 6 {
		req.Webview = req.Window
	} else {
		req.Webview = g.label()
	}
	switch n := g.rng.IntN(4); {
	case n == 0 && len(g.origins) > 0:
		req.Origin = g.origins[g.rng.IntN(len(g.origins))]
	case n == 1:
		req.Origin = g.edgeOrigins[g.rng.IntN(len(g.edgeOrigins))]
	}
	return req
}

func (g *Generator) label() string {
	if g.rng.IntN(20) == 0 {
		const chars = "abmxyz019-_/*?[]!ü"
		rs := []rune(chars)
		n := g.rng.IntN(6)
		var b strings.Builder
		for range n {
			b.WriteRune(rs[g.rng.IntN(len(rs))])
		}
		return b.String()
	}
	if g.rng.IntN(3) == 0 || len(g.labels) == 0 {
		return g.edgeLabels[g.rng.IntN(len(g.edgeLabels))]
	}
	return g.labels[g.rng.IntN(len(g.labels))]
}
