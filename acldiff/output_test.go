package acldiff

import (
	"fmt"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"github.com/capguard/capguard/acl"
	"github.com/capguard/capguard/internal/conformance"
)

// TestGlobalScopeCauses: a global scope value names the capability entry
// that brings it, so that a reviewer (and an annotation) can find it.
func TestGlobalScopeCauses(t *testing.T) {
	src := filepath.Join(conformance.Path(t, "apps", nuxtor), "src-tauri")
	dir := copyApp(t, src)
	nuxtorMain(func(t *testing.T, dir string, c map[string]any) {
		c["permissions"] = append(permissions(c), "fs:scope-home")
	})(t, dir)
	rep := compare(t, dirSide(t, src), dirSide(t, dir))
	n := 0
	for _, c := range rep.Changes {
		if c.Kind != KindGlobalScope {
			continue
		}
		n++
		if len(c.Causes) != 1 || c.Causes[0].Entry != "fs:scope-home" || c.Causes[0].Side != "new" ||
			c.Causes[0].File != filepath.Join(dir, "capabilities", "main.json") || c.Causes[0].Line == 0 {
			t.Errorf("%s: causes %+v", c.Describe(), c.Causes)
		}
	}
	if n != 2 {
		t.Errorf("%d global scope changes, want 2 ($HOME and $HOME/*)", n)
	}
}

// manyEntries is an app whose capability has one entry per app command,
// plus shell:allow-execute, and a set of four commands.
func manyEntries(t *testing.T, n int, grant bool) Side {
	var perms strings.Builder
	var entries []string
	for i := 0; i < n; i++ {
		fmt.Fprintf(&perms, "[[permission]]\nidentifier = \"allow-cmd%02d\"\ncommands.allow = [\"cmd%02d\"]\n\n", i, i)
		entries = append(entries, fmt.Sprintf("allow-cmd%02d", i))
	}
	manifests := manifestsJSON(t, map[string]string{
		acl.AppKey: perms.String(),
		"shell":    "[[permission]]\nidentifier = \"allow-execute\"\ncommands.allow = [\"execute\"]\n",
		"kit": `[default]
permissions = ["allow-a", "allow-b", "allow-c", "allow-d"]
[[permission]]
identifier = "allow-a"
commands.allow = ["a"]
[[permission]]
identifier = "allow-b"
commands.allow = ["b"]
[[permission]]
identifier = "allow-c"
commands.allow = ["c"]
[[permission]]
identifier = "allow-d"
commands.allow = ["d"]
`,
	})
	files := map[string]string{"gen/schemas/acl-manifests.json": manifests, "permissions/app.toml": perms.String()}
	if grant {
		entries = append(entries, "shell:allow-execute", "kit:default")
		files["capabilities/main.json"] = `{"identifier": "main", "windows": ["main", "*"], "permissions": ["` + strings.Join(entries, `", "`) + `"]}`
	}
	return memSide(map[bool]string{true: "new", false: "old"}[grant], files)
}

var annotationLine = regexp.MustCompile(`^::(warning|notice)( file=([^,]+),line=(\d+),col=(\d+))?,?\s?title=([^:]*)::(.*)$`)

// TestGitHubAnnotations: one annotation per capability entry, summing up
// what it changes, the worst first, at most ten of a kind (what GitHub
// shows per step), and a last notice saying how many were left to the
// job summary.
func TestGitHubAnnotations(t *testing.T) {
	rep := compare(t, manyEntries(t, 30, false), manyEntries(t, 30, true), acl.Linux)
	var b strings.Builder
	if err := rep.Write(&b, FormatGitHub); err != nil {
		t.Fatal(err)
	}
	out := strings.Split(strings.TrimSuffix(b.String(), "\n"), "\n")
	kinds := map[string]int{}
	places := map[string]bool{}
	for i, l := range out {
		m := annotationLine.FindStringSubmatch(l)
		if m == nil {
			t.Fatalf("line %d is not an annotation: %q", i+1, l)
		}
		kinds[m[1]]++
		if m[3] != "" {
			k := m[3] + ":" + m[4] + ":" + m[5]
			if places[k] {
				t.Errorf("two annotations at %s", k)
			}
			places[k] = true
		}
		if len(m[7]) > 2*annotationBudget {
			t.Errorf("annotation %d is %d bytes long", i+1, len(m[7]))
		}
	}
	if kinds["warning"] != 10 || kinds["notice"] != 1 {
		t.Errorf("%v annotations, want 10 warnings and the verdict:\n%s", kinds, b.String())
	}
	if !strings.Contains(out[0], "title=capguard diff%3A widened (critical)::capability \"main\", shell:allow-execute: ") {
		t.Errorf("the worst entry is not first: %s", out[0])
	}
	// The entry's window "main" is folded into "*", which covers it.
	if !strings.HasSuffix(out[0], `shell:allow-execute: window "*", plugin shell: can now call shell.execute from local pages (also "main", which it covers)`) {
		t.Errorf("first annotation: %s", out[0])
	}
	last := out[len(out)-1]
	if !strings.HasPrefix(last, "::notice title=capguard diff::widened (") || !strings.Contains(last, "22 more entries in the job summary") {
		t.Errorf("last line: %s", last)
	}
	// The markdown summary lists every entry.
	b.Reset()
	if err := rep.Write(&b, FormatMarkdown); err != nil {
		t.Fatal(err)
	}
	for i := 0; i < 30; i++ {
		if !strings.Contains(b.String(), fmt.Sprintf("allow-cmd%02d", i)) {
			t.Errorf("the summary lacks allow-cmd%02d", i)
		}
	}
}

// TestRollUpAndFold: the calls one entry brings through a set are one
// line with their count; a window a glob of the same change covers is
// folded into it; the text lists the commands, all of them with Expand.
func TestRollUpAndFold(t *testing.T) {
	rep := compare(t, manyEntries(t, 1, false), manyEntries(t, 1, true), acl.Linux)
	var b strings.Builder
	if err := rep.WriteWith(&b, FormatText, WriteOptions{}); err != nil {
		t.Fatal(err)
	}
	text := b.String()
	for _, want := range []string{
		"\nwindow \"*\"\n",
		"  + [medium] can now call 4 commands from local pages through kit:default: kit (4) (also \"main\", which it covers)\n",
		"      kit.a, kit.b, kit.c, kit.d\n",
	} {
		if !strings.Contains(text, want) {
			t.Errorf("text lacks %q:\n%s", want, text)
		}
	}
	if strings.Contains(text, "window \"main\"\n") {
		t.Errorf("window \"main\" is not folded into \"*\":\n%s", text)
	}
	// JSON keeps every change: main's calls too.
	n := 0
	for _, c := range rep.Changes {
		if c.Kind == KindCall && c.Label == "main" {
			n++
		}
	}
	if n != 6 {
		t.Errorf("%d calls of window main in the report, want 6", n)
	}
}

// TestRemoteFirst: a remote origin that can now call commands is the
// first of the top risks, and points at the URL in the capability.
func TestRemoteFirst(t *testing.T) {
	manifests := manifestsJSON(t, map[string]string{"fs": fsPermissions, "shell": "[[permission]]\nidentifier = \"allow-execute\"\ncommands.allow = [\"execute\"]\n"})
	old := memSide("old", map[string]string{"gen/schemas/acl-manifests.json": manifests, "capabilities/main.json": capability("main", "fs:default")})
	new := memSide("new", map[string]string{"gen/schemas/acl-manifests.json": manifests,
		"capabilities/main.json": capability("main", "fs:default", "shell:allow-execute"),
		"capabilities/web.json":  "{\n  \"identifier\": \"web\",\n  \"windows\": [\"main\"],\n  \"remote\": {\"urls\": [\"https://*.example.com\"]},\n  \"permissions\": [\"fs:default\"]\n}\n"})
	rep := compare(t, old, new, acl.Linux)
	top := rep.topRisks(RiskMedium)
	if len(top) < 2 || top[0].it.change == nil || top[0].it.change.Kind != KindRemote {
		t.Fatalf("top risks: %+v", top)
	}
	c := top[0].it.change
	if len(c.Causes) != 1 || c.Causes[0].Entry != "remote.urls" || c.Causes[0].File != "src-tauri/capabilities/web.json" || c.Causes[0].Line != 4 || c.Causes[0].Pointer != "/remote/urls/0" {
		t.Errorf("remote causes %+v", c.Causes)
	}
	if c.Risk != RiskCritical || top[1].it.risk != RiskCritical {
		t.Errorf("risks %s, %s", c.Risk, top[1].it.risk)
	}
}
