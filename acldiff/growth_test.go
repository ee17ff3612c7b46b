package acldiff

import (
	"encoding/json"
	"fmt"
	"io"
	"testing"

	"github.com/capguard/capguard/acl"
	"github.com/capguard/capguard/internal/growth"
)

// `capguard diff` costs time linear in the entries of the two sides: 8×
// the entries may cost at most 24× (growth.Limit). Each label, URL
// pattern and scope value was compared with the union of all the other
// side's, under a cache key spelling all of them: comparing 125 window
// globs with 125 webview globs took 3.2 s, 250 took 15.3 s, 500 took
// 67.6 s (×4.5 for 2×).

// growthPermissions are the plugins the growing sides use: commands of a
// "growth" plugin, and the fs and http plugins, whose scope values
// capguard compares by what they match.
var growthPermissions = map[string]string{
	"growth": growthPluginToml(16),
	"fs": `
[[permission]]
identifier = "allow-read-file"
commands.allow = ["read_file"]
`,
	"http": `
[[permission]]
identifier = "allow-fetch"
commands.allow = ["fetch"]
`,
}

func growthPluginToml(commands int) string {
	s := ""
	for i := range commands {
		s += fmt.Sprintf("[[permission]]\nidentifier = \"allow-c-%d\"\ncommands.allow = [\"c-%d\"]\n\n", i, i)
	}
	return s
}

// growthManifests is acl-manifests.json for growthPermissions.
func growthManifests(tb testing.TB) string {
	tb.Helper()
	ms := acl.Manifests{}
	for name, toml := range growthPermissions {
		f, err := acl.ParsePermissionFile(name+".toml", []byte(toml))
		if err != nil {
			tb.Fatal(err)
		}
		ms[name] = acl.NewManifest([]*acl.PermissionFile{f}, nil)
	}
	return string(acl.MarshalManifests(ms))
}

// growthLabel alternates literal labels, prefix globs, suffix globs and
// general globs (as internal/growth's window shapes do).
func growthLabel(prefix string, i int) string {
	switch i % 4 {
	case 0:
		return fmt.Sprintf("%s-%d", prefix, i)
	case 1:
		return fmt.Sprintf("%s-%d-*", prefix, i)
	case 2:
		return fmt.Sprintf("*-%s-ü%d", prefix, i)
	}
	return fmt.Sprintf("%s-[a-c]?-%d", prefix, i)
}

// span lists f(i) for i in [from, from+n).
func span(from, n int, f func(i int) any) []any {
	out := make([]any, n)
	for i := range out {
		out[i] = f(from + i)
	}
	return out
}

// diffShape is a pair of apps that grow along one dimension: the old side
// with entries 0 … n-1, the new one with n/2 … 3n/2-1 (half of them
// shared, half added, half removed).
type diffShape struct {
	name string
	n    int
	// caps returns the capabilities of a side with entries from … from+n-1.
	caps func(from, n int) []any
	// newCaps, when set, is the new side's (another dimension than old's).
	newCaps func(from, n int) []any
}

var growthPerms = []any{"growth:allow-c-0", "growth:allow-c-1"}

var diffShapes = []diffShape{
	{name: "window-globs", n: 200, caps: func(from, n int) []any {
		return []any{map[string]any{"identifier": "growth", "windows": span(from, n, func(i int) any { return growthLabel("w", i) }), "permissions": growthPerms}}
	}},
	{name: "webviews-vs-windows", n: 100, caps: func(from, n int) []any {
		return []any{map[string]any{"identifier": "growth", "windows": span(from, n, func(i int) any { return growthLabel("w", i) }), "permissions": growthPerms}}
	}, newCaps: func(from, n int) []any {
		return []any{map[string]any{"identifier": "growth", "windows": []any{"main"}, "webviews": span(from, n, func(i int) any { return growthLabel("v", i) }), "permissions": growthPerms}}
	}},
	{name: "literal-labels", n: 200, caps: func(from, n int) []any {
		return []any{map[string]any{"identifier": "growth", "windows": span(from, n, func(i int) any { return fmt.Sprintf("w-%d", i) }), "permissions": growthPerms}}
	}},
	{name: "remotes", n: 100, caps: func(from, n int) []any {
		return []any{map[string]any{"identifier": "growth", "windows": []any{"main"}, "local": false,
			"remote": map[string]any{"urls": span(from, n, func(i int) any {
				if i%2 == 0 {
					return fmt.Sprintf("https://h%d.example.com/*", i)
				}
				return fmt.Sprintf("https://*.example%d.org:*/app/:page", i)
			})}, "permissions": growthPerms}}
	}},
	{name: "capabilities", n: 200, caps: func(from, n int) []any {
		return span(from, n, func(i int) any {
			return map[string]any{"identifier": fmt.Sprintf("cap-%d", i), "windows": []any{fmt.Sprintf("w-%d", i), "main"},
				"permissions": []any{fmt.Sprintf("growth:allow-c-%d", i%16)}}
		})
	}},
	{name: "fs-scopes", n: 200, caps: func(from, n int) []any {
		allow := span(from, n, func(i int) any { return map[string]any{"path": fmt.Sprintf("$APPDATA/p%d/**", i)} })
		deny := span(from, n/4, func(i int) any { return map[string]any{"path": fmt.Sprintf("$APPDATA/p%d/secret", i)} })
		return []any{map[string]any{"identifier": "growth", "windows": []any{"main"},
			"permissions": []any{map[string]any{"identifier": "fs:allow-read-file", "allow": allow, "deny": deny}}}}
	}},
	{name: "http-scopes", n: 200, caps: func(from, n int) []any {
		allow := span(from, n, func(i int) any {
			if i%2 == 0 {
				return map[string]any{"url": fmt.Sprintf("https://h%d.example.com/*", i)}
			}
			return map[string]any{"url": fmt.Sprintf("https://*.example%d.org/api/*", i)}
		})
		return []any{map[string]any{"identifier": "growth", "windows": []any{"main"},
			"permissions": []any{map[string]any{"identifier": "http:allow-fetch", "allow": allow}}}}
	}},
}

// sides builds the two apps of the shape with n entries.
func (s diffShape) sides(tb testing.TB, n int) (old, new Side) {
	tb.Helper()
	manifests := growthManifests(tb)
	side := func(name string, caps []any) Side {
		data, err := json.Marshal(map[string]any{"capabilities": caps})
		if err != nil {
			tb.Fatal(err)
		}
		return memSide(name, map[string]string{
			"tauri.conf.json":                `{"identifier": "dev.capguard.growth"}`,
			"gen/schemas/acl-manifests.json": manifests,
			"capabilities/growth.json":       string(data),
		})
	}
	newCaps := s.newCaps
	if newCaps == nil {
		newCaps = s.caps
	}
	return side("old", s.caps(0, n)), side("new", newCaps(n/2, n))
}

// diffStage is what one `capguard diff` does: compare both sides for a
// target and write the text report (which folds covered labels).
func diffStage(s diffShape) growth.Build {
	return func(tb testing.TB, n int) func() {
		old, new := s.sides(tb, n)
		run := func() *Report {
			rep, err := Compare(old, new, []acl.Target{acl.Linux})
			if err != nil {
				tb.Fatal(err)
			}
			if err := rep.WriteText(io.Discard); err != nil {
				tb.Fatal(err)
			}
			return rep
		}
		if rep := run(); rep.Verdict == Unchanged {
			tb.Fatalf("%s, n=%d: the sides compare unchanged; the shape measures nothing", s.name, n)
		}
		return func() { run() }
	}
}

func TestDiffGrowsLinearly(t *testing.T) {
	for _, s := range diffShapes {
		t.Run(s.name, func(t *testing.T) {
			growth.Linear(t, s.n, diffStage(s))
		})
	}
}

func BenchmarkGrowthDiff(b *testing.B) {
	for _, s := range diffShapes {
		b.Run(s.name, func(b *testing.B) {
			growth.Bench(b, s.n, diffStage(s))
		})
	}
}
