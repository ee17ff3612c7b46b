package acldiff

import (
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/capguard/capguard/acl"
	"github.com/capguard/capguard/internal/conformance"
)

// line is a change in one line, for expectations.
func line(c Change) string {
	s := fmt.Sprintf("%s %s %s", c.Effect, c.Kind, c.Op)
	if c.Command != "" {
		s += " " + c.Command
	}
	if c.Plugin != "" && c.Command == "" {
		s += " plugin=" + c.Plugin
	}
	if c.Context != "" {
		s += " ctx=" + c.Context
	}
	if c.LabelKind != "" {
		s += " " + c.LabelKind + "=" + c.Label
	}
	if c.List != "" {
		s += " " + c.List + "=" + canonical(*c.Value)
	}
	return s
}

func lines(r *Report) []string {
	out := make([]string, len(r.Changes))
	for i, c := range r.Changes {
		out[i] = line(c)
	}
	return out
}

const nuxtor = "NicolaSpadari__nuxtor"

// nuxtorMain edits the main capability of a copy of nuxtor.
func nuxtorMain(edit func(t *testing.T, dir string, capability map[string]any)) func(t *testing.T, dir string) {
	return func(t *testing.T, dir string) {
		p := filepath.Join(dir, "capabilities", "main.json")
		c := readJSON(t, p).(map[string]any)
		edit(t, dir, c)
		if _, err := os.Stat(p); err == nil {
			writeJSON(t, p, c, "\t")
		}
	}
}

func permissions(c map[string]any) []any { return c["permissions"].([]any) }

// TestConstructedPairs diffs a corpus app against edited copies of itself,
// each with the report it must give.
func TestConstructedPairs(t *testing.T) {
	src := filepath.Join(conformance.Path(t, "apps", nuxtor), "src-tauri")
	cases := []struct {
		name    string
		edit    func(t *testing.T, dir string)
		verdict Verdict
		// want, when set, is the whole report; has and hasNot are lines
		// that must or must not be in it.
		want, has []string
		hasNot    func(line string) bool
	}{
		{
			name: "reordered and reformatted",
			edit: nuxtorMain(func(t *testing.T, dir string, c map[string]any) {
				slices.Reverse(permissions(c))
				c["windows"] = []any{"secondary", "main"}
				c["description"] = "another description"
			}),
			verdict: Unchanged, want: []string{},
		},
		{
			name: "capability moved to another file",
			edit: func(t *testing.T, dir string) {
				from := filepath.Join(dir, "capabilities", "main.json")
				c := readJSON(t, from)
				if err := os.Remove(from); err != nil {
					t.Fatal(err)
				}
				writeJSON(t, filepath.Join(dir, "capabilities", "nested", "moved.json"), map[string]any{"capabilities": []any{c}}, " ")
			},
			verdict: Unchanged, want: []string{},
		},
		{
			name: "capability split in two with the same windows",
			edit: nuxtorMain(func(t *testing.T, dir string, c map[string]any) {
				perms := permissions(c)
				second := map[string]any{"identifier": "second", "windows": c["windows"], "permissions": perms[len(perms)/2:]}
				c["permissions"] = perms[:len(perms)/2]
				writeJSON(t, filepath.Join(dir, "capabilities", "second.json"), second, "  ")
			}),
			verdict: Unchanged, want: []string{},
		},
		{
			name: "a set replaced by exactly its permissions",
			edit: nuxtorMain(func(t *testing.T, dir string, c map[string]any) {
				ms := readJSON(t, filepath.Join(dir, "gen", "schemas", "acl-manifests.json")).(map[string]any)
				members := ms["notification"].(map[string]any)["default_permission"].(map[string]any)["permissions"].([]any)
				var perms []any
				for _, p := range permissions(c) {
					if p == "notification:default" {
						for _, m := range members {
							perms = append(perms, "notification:"+m.(string))
						}
						continue
					}
					perms = append(perms, p)
				}
				if len(perms) != len(permissions(c))+len(members)-1 {
					t.Fatal("notification:default not found in the capability")
				}
				c["permissions"] = perms
			}),
			verdict: Unchanged, want: []string{},
		},
		{
			name: "capability removed",
			edit: func(t *testing.T, dir string) {
				if err := os.Remove(filepath.Join(dir, "capabilities", "main.json")); err != nil {
					t.Fatal(err)
				}
			},
			verdict: Narrowed,
			has: []string{
				"narrowed plugin removed plugin=shell",
				"narrowed label-plugin removed plugin=shell window=main",
				"narrowed label-plugin removed plugin=shell window=secondary",
				"narrowed call removed plugin:shell|execute ctx=local window=main",
				"narrowed call removed plugin:fs|read_file ctx=local window=secondary",
				"narrowed global-scope removed plugin=fs allow={\"path\":\"$DOCUMENT\"}",
			},
			hasNot: func(l string) bool { return strings.HasPrefix(l, "widened") },
		},
		{
			name: "window glob widened",
			edit: nuxtorMain(func(t *testing.T, dir string, c map[string]any) {
				c["windows"] = []any{"*"}
			}),
			verdict: Widened,
			has: []string{
				"widened label-plugin added plugin=shell window=*",
				"widened call added plugin:shell|execute ctx=local window=*",
				"widened call added plugin:fs|read_file ctx=local window=*",
			},
			// main and secondary keep their access through "*".
			hasNot: func(l string) bool { return strings.Contains(l, "window=main") || strings.HasPrefix(l, "narrowed") },
		},
		{
			name: "remote URL added",
			edit: nuxtorMain(func(t *testing.T, dir string, c map[string]any) {
				c["remote"] = map[string]any{"urls": []any{"https://*.example.com/*"}}
			}),
			verdict: Widened,
			has: []string{
				"widened remote added ctx=https://*.example.com/*",
				"widened call added plugin:shell|execute ctx=https://*.example.com/* window=main",
			},
			hasNot: func(l string) bool {
				return strings.Contains(l, "ctx=local") || strings.HasPrefix(l, "narrowed") || strings.Contains(l, "label-plugin")
			},
		},
		{
			name: "scope entry removed",
			edit: nuxtorMain(func(t *testing.T, dir string, c map[string]any) {
				for _, p := range permissions(c) {
					if m, ok := p.(map[string]any); ok && m["identifier"] == "shell:allow-execute" {
						m["allow"] = []any{}
					}
				}
			}),
			verdict: Narrowed,
			want: []string{
				`narrowed scope removed plugin:shell|execute ctx=local window=main allow={"args":["-c",{"validator":"\\S+"}],"cmd":"sh","name":"exec-sh","sidecar":false}`,
				`narrowed scope removed plugin:shell|execute ctx=local window=secondary allow={"args":["-c",{"validator":"\\S+"}],"cmd":"sh","name":"exec-sh","sidecar":false}`,
			},
		},
		{
			name: "deny added",
			edit: nuxtorMain(func(t *testing.T, dir string, c map[string]any) {
				c["permissions"] = append(permissions(c), "shell:deny-open")
			}),
			verdict: Narrowed,
			want: []string{
				"narrowed call removed plugin:shell|open ctx=local window=main",
				"narrowed call removed plugin:shell|open ctx=local window=secondary",
				"narrowed deny added plugin:shell|open ctx=local",
			},
		},
		{
			name: "global scope added",
			edit: nuxtorMain(func(t *testing.T, dir string, c map[string]any) {
				c["permissions"] = append(permissions(c), "fs:scope-home")
			}),
			verdict: Widened,
			want: []string{
				`widened global-scope added plugin=fs allow={"path":"$HOME"}`,
				`widened global-scope added plugin=fs allow={"path":"$HOME/*"}`,
			},
		},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			dir := copyApp(t, src)
			tc.edit(t, dir)
			old, new := dirSide(t, src), dirSide(t, dir)
			rep, err := Compare(old, new, nil)
			if err != nil {
				t.Fatal(err)
			}
			got := lines(rep)
			if rep.Verdict != tc.verdict {
				t.Errorf("verdict %s, want %s; changes:\n%s", rep.Verdict, tc.verdict, strings.Join(got, "\n"))
			}
			if tc.want != nil && !slices.Equal(got, tc.want) {
				t.Errorf("changes:\n%s\nwant:\n%s", strings.Join(got, "\n"), strings.Join(tc.want, "\n"))
			}
			for _, h := range tc.has {
				if !slices.Contains(got, h) {
					t.Errorf("missing %q in:\n%s", h, strings.Join(got, "\n"))
				}
			}
			for _, l := range got {
				if tc.hasNot != nil && tc.hasNot(l) {
					t.Errorf("unexpected %q", l)
				}
			}
			back, err := Compare(new, old, nil)
			if err != nil {
				t.Fatal(err)
			}
			checkMirror(t, rep, back)
		})
	}
}

// TestCommittedAgainstCurrent diffs the capabilities an app's last build
// compiled (gen/schemas/capabilities.json) against its capability files:
// wingover added an opener URL after that build.
func TestCommittedAgainstCurrent(t *testing.T) {
	src := filepath.Join(conformance.Path(t, "apps", "aeharding__wingover"), "src-tauri")
	committed, ok := committedApp(t, src)
	if !ok {
		t.Fatal("wingover has no gen/schemas/capabilities.json")
	}
	rep, err := Compare(dirSide(t, committed), dirSide(t, src), nil)
	if err != nil {
		t.Fatal(err)
	}
	want := []string{`widened scope added plugin:opener|open_url ctx=local window=main allow={"url":"app-settings:"}`}
	if got := lines(rep); !slices.Equal(got, want) {
		t.Fatalf("changes:\n%s\nwant:\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
	}
	c := rep.Changes[0].Causes
	if len(c) != 1 || c[0].Side != "new" || c[0].Permission != "opener:allow-open-url" ||
		c[0].File != filepath.Join(src, "capabilities", "default.json") || c[0].Line != 25 || c[0].Column != 5 {
		t.Fatalf("causes: %+v", c)
	}
	if rep.Verdict != Widened || rep.Widened != 1 || rep.Narrowed != 0 {
		t.Fatalf("verdict %s (%d, %d)", rep.Verdict, rep.Widened, rep.Narrowed)
	}
}

// mirrored is a change as the reverse diff reports it.
func mirrored(c Change) string {
	c.Op = map[Op]Op{Added: Removed, Removed: Added}[c.Op]
	c.Effect = map[Effect]Effect{EffectWidened: EffectNarrowed, EffectNarrowed: EffectWidened}[c.Effect]
	causes := make([]string, len(c.Causes))
	for i, x := range c.Causes {
		x.Side = map[string]string{"old": "new", "new": "old"}[x.Side]
		causes[i] = x.String()
	}
	slices.Sort(causes)
	return line(c) + " " + fmt.Sprint(c.Targets) + " " + strings.Join(causes, ";")
}

func plain(c Change) string {
	causes := make([]string, len(c.Causes))
	for i, x := range c.Causes {
		causes[i] = x.String()
	}
	slices.Sort(causes)
	return line(c) + " " + fmt.Sprint(c.Targets) + " " + strings.Join(causes, ";")
}

// checkMirror checks that back (diff B A) is fwd (diff A B) with every
// change turned around.
func checkMirror(t *testing.T, fwd, back *Report) {
	t.Helper()
	var a, b []string
	for _, c := range fwd.Changes {
		a = append(a, mirrored(c))
	}
	for _, c := range back.Changes {
		b = append(b, plain(c))
	}
	slices.Sort(a)
	slices.Sort(b)
	if !slices.Equal(a, b) {
		t.Errorf("diff B A does not mirror diff A B:\nA B turned around:\n%s\nB A:\n%s", strings.Join(a, "\n"), strings.Join(b, "\n"))
	}
	want := map[Verdict]Verdict{Widened: Narrowed, Narrowed: Widened, Changed: Changed, Unchanged: Unchanged}[fwd.Verdict]
	if back.Verdict != want || back.Widened != fwd.Narrowed || back.Narrowed != fwd.Widened {
		t.Errorf("verdicts: A B %s (%d, %d), B A %s (%d, %d)", fwd.Verdict, fwd.Widened, fwd.Narrowed, back.Verdict, back.Widened, back.Narrowed)
	}
}

// commonTargets are the targets on which both sides compare with
// nothing left out.
func commonTargets(a, b Side) []acl.Target {
	var out []acl.Target
	for _, tg := range acl.Targets {
		if rep, err := Compare(a, b, []acl.Target{tg}); err == nil && len(rep.NotCompared) == 0 {
			out = append(out, tg)
		}
	}
	return out
}

// withoutOneFile copies an app without one of its top-level capability
// files: the first whose removal leaves an app that resolves on a target
// where the original does (a file may hold a capability tauri.conf.json
// names, and then the app no longer loads). ok is false when no file can
// go.
func withoutOneFile(t *testing.T, src string) (dir string, targets []acl.Target, ok bool) {
	entries, _ := os.ReadDir(filepath.Join(src, "capabilities"))
	for _, e := range entries {
		n := e.Name()
		if e.IsDir() || !(strings.HasSuffix(n, ".json") || strings.HasSuffix(n, ".toml") || strings.HasSuffix(n, ".json5")) {
			continue
		}
		dir := copyApp(t, src)
		if err := os.Remove(filepath.Join(dir, "capabilities", n)); err != nil {
			t.Fatal(err)
		}
		if ts := commonTargets(dirSide(t, src), dirSide(t, dir)); len(ts) > 0 {
			return dir, ts, true
		}
	}
	return "", nil, false
}

// TestMirrorOverCorpus: for every corpus app, diff A B mirrors diff B A,
// with B the next app of the corpus (a different app altogether, on the
// targets both resolve on), and with B the app without one of its
// capability files.
func TestMirrorOverCorpus(t *testing.T) {
	apps := corpusApps(t)
	names := sortedKeys(apps)
	pairs, removals := 0, 0
	for i, name := range names {
		next := names[(i+1)%len(names)]
		a, b := dirSide(t, apps[name]), dirSide(t, apps[next])
		if targets := commonTargets(a, b); len(targets) > 0 {
			pairs++
			t.Run(name+"/vs/"+next, func(t *testing.T) {
				t.Parallel()
				fwd, err := Compare(a, b, targets)
				if err != nil {
					t.Fatal(err)
				}
				back, err := Compare(b, a, targets)
				if err != nil {
					t.Fatal(err)
				}
				if fwd.Verdict == Unchanged {
					t.Fatalf("two different apps compare unchanged")
				}
				checkMirror(t, fwd, back)
			})
		}
		if dir, targets, ok := withoutOneFile(t, apps[name]); ok {
			removals++
			t.Run(name+"/file-removed", func(t *testing.T) {
				t.Parallel()
				b := dirSide(t, dir)
				fwd, err := Compare(a, b, targets)
				if err != nil {
					t.Fatal(err)
				}
				if fwd.Widened != 0 {
					t.Errorf("removing a capability file widened: %v", lines(fwd))
				}
				back, err := Compare(b, a, targets)
				if err != nil {
					t.Fatal(err)
				}
				checkMirror(t, fwd, back)
			})
		}
	}
	// Most of the corpus takes part: a change that made pairs or removals
	// unusable would otherwise go unnoticed.
	if pairs < 30 || removals < 30 {
		t.Fatalf("only %d app pairs and %d file removals of %d apps could be compared", pairs, removals, len(names))
	}
	t.Logf("%d app pairs and %d file removals mirror", pairs, removals)
}
