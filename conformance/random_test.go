package conformance

import (
	"encoding/json"
	"fmt"
	"math/rand/v2"
	"os"
	"path/filepath"
	"sort"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/capguard/capguard/acl"
	"github.com/capguard/capguard/internal/conformance"
	"github.com/capguard/capguard/internal/policytest"
)

// appPermissions is the app manifest of the random sets: an allow, a deny
// and a scoped permission of a bare command, and a set.
const appPermissions = `[[permission]]
identifier = "allow-open-vault"
commands.allow = ["open_vault"]

[[permission]]
identifier = "deny-open-vault"
commands.deny = ["open_vault"]

[[permission]]
identifier = "scoped-export"
commands.allow = ["export_notes"]
scope.allow = [{ path = "$DOCUMENT/**" }]
scope.deny = [{ path = "$DOCUMENT/private" }]

[[set]]
identifier = "vault"
description = "Open the vault and export."
permissions = ["allow-open-vault", "scoped-export"]
`

// workspace holds the manifests of Tauri's official plugins (built from
// plugins-workspace's permission files) and the app manifest above.
type workspace struct {
	names     []string
	manifests acl.Manifests
	// ids lists every permission and set identifier of each manifest key
	// ("default" included when the plugin has one).
	ids map[string][]string
}

func loadWorkspace(t *testing.T) *workspace {
	t.Helper()
	w := &workspace{manifests: acl.Manifests{}, ids: map[string][]string{}}
	for _, p := range conformance.Plugins(t) {
		files, err := acl.LoadPermissionDir(conformance.Path(t, "plugins-workspace", p, "permissions"))
		if err != nil {
			t.Fatalf("plugin %s: %v", p, err)
		}
		w.manifests[p] = acl.NewManifest(files, nil)
	}
	f, err := acl.ParsePermissionFile("app.toml", []byte(appPermissions))
	if err != nil {
		t.Fatal(err)
	}
	w.manifests[acl.AppKey] = acl.NewManifest([]*acl.PermissionFile{f}, nil)
	for key, m := range w.manifests {
		var ids []string
		if m.Default != nil {
			ids = append(ids, "default")
		}
		for id := range m.Permissions {
			ids = append(ids, id)
		}
		for id := range m.Sets {
			ids = append(ids, id)
		}
		sort.Strings(ids)
		w.ids[key] = ids
		if key != acl.AppKey {
			w.names = append(w.names, key)
		}
	}
	sort.Strings(w.names)
	return w
}

// randomApp writes a random app folder: the manifests of one to three
// official plugins and the app's, and one or two capability files holding
// one to four capabilities with random window and webview globs, local
// flags, remote URL patterns, platforms, plain and deny permissions, and
// permission objects with allow/deny scopes.
func (w *workspace) randomApp(t *testing.T, rng *rand.Rand, dir string) {
	t.Helper()
	ms := acl.Manifests{acl.AppKey: w.manifests[acl.AppKey]}
	var keys []string
	for range 1 + rng.IntN(3) {
		k := w.names[rng.IntN(len(w.names))]
		ms[k] = w.manifests[k]
	}
	for k := range ms {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	writeFile(t, filepath.Join(dir, "gen", "schemas", "acl-manifests.json"), acl.MarshalManifests(ms))

	pick := func(pool []string, max int) []string {
		var out []string
		for range rng.IntN(max + 1) {
			out = append(out, pool[rng.IntN(len(pool))])
		}
		return out
	}
	var caps []map[string]any
	for i := range 1 + rng.IntN(4) {
		c := map[string]any{"identifier": fmt.Sprintf("cap-%d", i)}
		if ws := pick(policytest.GlobPool, 2); len(ws) > 0 || rng.IntN(2) == 0 {
			c["windows"] = nonNil(ws)
		}
		if vs := pick(policytest.GlobPool, 2); len(vs) > 0 {
			c["webviews"] = vs
		}
		if rng.IntN(5) == 0 {
			c["local"] = false
		}
		if rng.IntN(3) == 0 {
			c["remote"] = map[string]any{"urls": nonNil(pick(policytest.RemotePool, 2))}
		}
		if rng.IntN(5) == 0 {
			c["platforms"] = nonNil(pick([]string{"linux", "macOS", "windows", "android", "iOS"}, 2))
		}
		var perms []any
		for range 1 + rng.IntN(6) {
			key := keys[rng.IntN(len(keys))]
			ids := w.ids[key]
			id := ids[rng.IntN(len(ids))]
			if key != acl.AppKey {
				id = key + ":" + id
			}
			if rng.IntN(5) == 0 {
				entry := map[string]any{"identifier": id}
				if rng.IntN(2) == 0 {
					entry["allow"] = []any{map[string]any{"path": "$APPDATA/" + fmt.Sprint(rng.IntN(3))}}
				}
				if rng.IntN(3) == 0 {
					entry["deny"] = []any{map[string]any{"path": "$APPDATA/secret"}}
				}
				perms = append(perms, entry)
			} else {
				perms = append(perms, id)
			}
		}
		c["permissions"] = perms
		caps = append(caps, c)
	}
	// One file holding a list, or one file per capability.
	if rng.IntN(2) == 0 {
		data, _ := json.MarshalIndent(map[string]any{"capabilities": caps}, "", "  ")
		writeFile(t, filepath.Join(dir, "capabilities", "all.json"), data)
	} else {
		for i, c := range caps {
			data, _ := json.MarshalIndent(c, "", "  ")
			writeFile(t, filepath.Join(dir, "capabilities", fmt.Sprintf("c%d.json", i)), data)
		}
	}
}

func nonNil(s []string) []string {
	if s == nil {
		return []string{}
	}
	return s
}

// TestRandomCapabilitiesMatchTauri builds 5,000 random apps over the
// official plugins' permissions and requires, for each, the same
// resolution as tauri-utils (or a rejection by both) and the same
// decisions as Tauri's RuntimeAuthority for random requests.
func TestRandomCapabilitiesMatchTauri(t *testing.T) {
	sets := 5000
	if testing.Short() {
		sets = 300
	}
	w := loadWorkspace(t)
	rng := rand.New(rand.NewPCG(5000, 18))
	o := oracleFor(t, mainVersion(t))
	tmp := t.TempDir()
	tl := newTally()
	var resolvedBoth, rejectedBoth int
	var resolutionBugs []string
	for i := range sets {
		dir := filepath.Join(tmp, fmt.Sprint(i))
		w.randomApp(t, rng, dir)
		target := acl.Targets[rng.IntN(len(acl.Targets))]
		r, mine, myErr := capguardResolve(dir, target)
		a := o.do(t, map[string]any{"op": "resolve", "dir": dir, "target": target.String()})
		name := fmt.Sprintf("random/%d@%s", i, target)
		switch {
		case !a.OK && myErr != nil:
			rejectedBoth++
		case !a.OK:
			resolutionBugs = append(resolutionBugs, fmt.Sprintf("%s: Tauri rejects (%s), capguard resolves", name, a.Error))
		case myErr != nil:
			resolutionBugs = append(resolutionBugs, fmt.Sprintf("%s: capguard rejects (%v), Tauri resolves", name, myErr))
		default:
			var theirs any
			if err := json.Unmarshal(a.Resolved, &theirs); err != nil {
				t.Fatal(err)
			}
			if d := cmp.Diff(theirs, mine); d != "" {
				resolutionBugs = append(resolutionBugs, fmt.Sprintf("%s: resolved ACL differs (-tauri +capguard):\n%s", name, d))
				break
			}
			resolvedBoth++
			g := policytest.NewGenerator(r, rng)
			reqs := make([]acl.Request, 60)
			for j := range reqs {
				reqs[j] = g.Request()
			}
			tl.compare(t, name, dir, target, r, reqs)
		}
		if i%500 == 499 {
			// Keep the scratch space small: the folders are not needed again.
			entries, _ := os.ReadDir(tmp)
			for _, e := range entries {
				os.RemoveAll(filepath.Join(tmp, e.Name()))
			}
		}
	}
	t.Logf("random capability sets: %d resolved equal by both, %d rejected by both, %d resolution disagreements", resolvedBoth, rejectedBoth, len(resolutionBugs))
	for i, b := range resolutionBugs {
		if i == 10 {
			t.Errorf("... and %d more resolution disagreements", len(resolutionBugs)-10)
			break
		}
		t.Error(b)
	}
	if resolvedBoth < sets/2 {
		t.Errorf("only %d of %d random sets resolved: the generator makes too many invalid sets", resolvedBoth, sets)
	}
	tl.report(t, "random capability sets", sets*20)
}
