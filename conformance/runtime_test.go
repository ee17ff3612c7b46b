package conformance

import (
	"context"
	"encoding/json"
	"fmt"
	"maps"
	"math/rand/v2"
	"os"
	"slices"
	"sort"
	"strconv"
	"strings"
	"testing"

	"github.com/capguard/capguard/acl"
	"github.com/capguard/capguard/internal/conformance"
	"github.com/capguard/capguard/internal/policytest"
	"github.com/capguard/capguard/policy"
)

// runtimeGen draws capabilities to add at run time to one app: identifiers
// new, already used by the app's files, or used by an earlier addition;
// windows and webviews from the random pool and the app's own patterns;
// local or not, remote URL patterns (the pool's and the app's), platforms;
// permissions from the app's manifests (defaults, sets, allow and deny
// permissions), some with scopes, and now and then one no manifest has.
type runtimeGen struct {
	rng      *rand.Rand
	ids      []string
	labels   []string
	remotes  []string
	existing []string
	used     []string
	n        int
}

func newRuntimeGen(r *acl.Resolved, rng *rand.Rand) *runtimeGen {
	g := &runtimeGen{rng: rng}
	for _, key := range r.Manifests.Keys() {
		m := r.Manifests[key]
		var names []string
		if m.Default != nil {
			names = append(names, "default")
		}
		for id := range m.Permissions {
			names = append(names, id)
		}
		for id := range m.Sets {
			names = append(names, id)
		}
		sort.Strings(names)
		for _, n := range names {
			if key == acl.AppKey {
				g.ids = append(g.ids, n)
			} else {
				g.ids = append(g.ids, key+":"+n)
			}
		}
	}
	labels := map[string]bool{}
	remotes := map[string]bool{}
	for _, l := range policytest.GlobPool {
		labels[l] = true
	}
	for _, p := range policytest.RemotePool {
		remotes[p] = true
	}
	for _, c := range r.Capabilities {
		g.existing = append(g.existing, c.Identifier)
		for _, l := range append(append([]string(nil), c.Windows...), c.Webviews...) {
			labels[l] = true
		}
		if c.Remote != nil {
			for _, u := range c.Remote.URLs {
				remotes[u] = true
			}
		}
	}
	g.labels, g.remotes = slices.Sorted(maps.Keys(labels)), slices.Sorted(maps.Keys(remotes))
	return g
}

func (g *runtimeGen) pick(pool []string, max int) []string {
	out := []string{}
	for range g.rng.IntN(max + 1) {
		out = append(out, pool[g.rng.IntN(len(pool))])
	}
	return out
}

// capability draws one capability as the fields of a capability file.
func (g *runtimeGen) capability() map[string]any {
	var id string
	switch k := g.rng.IntN(6); {
	case k == 0 && len(g.existing) > 0:
		id = g.existing[g.rng.IntN(len(g.existing))]
	case k == 1 && len(g.used) > 0:
		id = g.used[g.rng.IntN(len(g.used))]
	default:
		g.n++
		id = fmt.Sprintf("runtime-%d", g.n)
	}
	g.used = append(g.used, id)
	c := map[string]any{"identifier": id}
	c["windows"] = g.pick(g.labels, 2)
	if g.rng.IntN(3) == 0 {
		c["webviews"] = g.pick(g.labels, 2)
	}
	if g.rng.IntN(4) == 0 {
		c["local"] = false
	}
	if g.rng.IntN(3) == 0 {
		c["remote"] = map[string]any{"urls": g.pick(g.remotes, 2)}
	}
	if g.rng.IntN(8) == 0 {
		c["platforms"] = g.pick([]string{"linux", "macOS", "windows", "android", "iOS"}, 2)
	}
	var perms []any
	for range 1 + g.rng.IntN(5) {
		id := g.ids[g.rng.IntN(len(g.ids))]
		if g.rng.IntN(40) == 0 {
			id += "-nope" // no manifest defines it: both sides refuse
		}
		if g.rng.IntN(5) == 0 {
			e := map[string]any{"identifier": id, "allow": []any{map[string]any{"path": "$APPDATA/rt" + strconv.Itoa(g.rng.IntN(3))}}}
			if g.rng.IntN(2) == 0 {
				e["deny"] = []any{map[string]any{"path": "$APPDATA/secret"}}
			}
			perms = append(perms, e)
		} else {
			perms = append(perms, id)
		}
	}
	c["permissions"] = perms
	return c
}

// addition is one add_capability call in both forms: what the oracle
// gets, and what capguard does.
type addition struct {
	wire map[string]any
	add  func(ctx context.Context, s *policy.Store) (*policy.Version, error)
	text string // for messages
}

// call draws one addition: a JSON text (one capability or a list of
// two), a TOML text, or a capability built in code (Tauri's
// CapabilityBuilder, capguard's acl.Capability).
func (g *runtimeGen) call(i int) addition {
	switch k := g.rng.IntN(10); {
	case k < 4:
		c := g.capability()
		data, _ := json.Marshal(c)
		if g.rng.IntN(4) == 0 {
			d := g.capability()
			if d["identifier"] == c["identifier"] {
				d["identifier"] = c["identifier"].(string) + "-b"
			}
			data, _ = json.Marshal(map[string]any{"capabilities": []any{c, d}})
		}
		return textAddition(fmt.Sprintf("runtime-%d.json", i), string(data))
	case k < 7:
		return textAddition(fmt.Sprintf("runtime-%d.toml", i), tomlDoc(g.capability()))
	default:
		return builderAddition(g.capability())
	}
}

func textAddition(name, text string) addition {
	return addition{
		wire: map[string]any{"text": text},
		add: func(ctx context.Context, s *policy.Store) (*policy.Version, error) {
			return s.AddCapabilityText(ctx, name, []byte(text))
		},
		text: name + ": " + text,
	}
}

// builderAddition is the capability made with Tauri's CapabilityBuilder
// on one side (which starts local, and gives every scoped permission both
// lists) and built as an acl.Capability on the other.
func builderAddition(c map[string]any) addition {
	strs := func(v any) []string {
		var out []string
		for _, x := range anyList(v) {
			out = append(out, x.(string))
		}
		return out
	}
	capab := &acl.Capability{Identifier: c["identifier"].(string), Local: true, Windows: strs(c["windows"]), Webviews: strs(c["webviews"])}
	b := map[string]any{"identifier": capab.Identifier, "windows": capab.Windows, "webviews": capab.Webviews, "local": true}
	if l, ok := c["local"].(bool); ok {
		capab.Local, b["local"] = l, l
	}
	if r, ok := c["remote"].(map[string]any); ok {
		urls := strs(r["urls"])
		b["remote"] = urls
		if len(urls) > 0 {
			capab.Remote = &acl.Remote{URLs: urls}
		}
	}
	if p, ok := c["platforms"]; ok && len(strs(p)) > 0 {
		// The builder's platforms are None until platform() is called.
		b["platforms"] = p
		for _, name := range strs(p) {
			t, err := acl.ParseTarget(name)
			if err != nil {
				panic(err)
			}
			capab.Platforms = append(capab.Platforms, t)
		}
	}
	var perms []any
	for _, p := range anyList(c["permissions"]) {
		switch p := p.(type) {
		case string:
			perms = append(perms, p)
			capab.Permissions = append(capab.Permissions, acl.PermissionEntry{Identifier: acl.MustIdentifier(p)})
		case map[string]any:
			e := map[string]any{"identifier": p["identifier"], "allow": anyList(p["allow"]), "deny": anyList(p["deny"])}
			perms = append(perms, e)
			capab.Permissions = append(capab.Permissions, acl.PermissionEntry{
				Identifier: acl.MustIdentifier(p["identifier"].(string)), Extended: true,
				Scope: acl.Scopes{Allow: pathValues(p["allow"]), Deny: pathValues(p["deny"])},
			})
		}
	}
	b["permissions"] = perms
	text, _ := json.Marshal(b)
	return addition{
		wire: map[string]any{"builder": b},
		add: func(ctx context.Context, s *policy.Store) (*policy.Version, error) {
			return s.AddCapabilities(ctx, capab)
		},
		text: "builder " + string(text),
	}
}

func anyList(v any) []any {
	switch v := v.(type) {
	case []any:
		return v
	case []string:
		out := make([]any, len(v))
		for i, s := range v {
			out[i] = s
		}
		return out
	}
	return []any{}
}

// pathValues turns [{"path": P}, ...] into scope values (never nil: the
// builder always gives both lists).
func pathValues(v any) []acl.Value {
	out := []acl.Value{}
	for _, x := range anyList(v) {
		out = append(out, acl.Map(acl.MapEntry{Key: "path", Value: acl.String(x.(map[string]any)["path"].(string))}))
	}
	return out
}

// tomlDoc writes a capability as a TOML document.
func tomlDoc(c map[string]any) string {
	var b strings.Builder
	keys := make([]string, 0, len(c))
	for k := range c {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	for _, k := range keys {
		b.WriteString(k + " = " + tomlValue(c[k]) + "\n")
	}
	return b.String()
}

func tomlValue(v any) string {
	switch v := v.(type) {
	case string:
		return strconv.Quote(v)
	case bool:
		return strconv.FormatBool(v)
	case []string:
		return tomlValue(anyList(v))
	case []any:
		parts := make([]string, len(v))
		for i, x := range v {
			parts[i] = tomlValue(x)
		}
		return "[" + strings.Join(parts, ", ") + "]"
	case map[string]any:
		keys := make([]string, 0, len(v))
		for k := range v {
			keys = append(keys, k)
		}
		sort.Strings(keys)
		parts := make([]string, len(keys))
		for i, k := range keys {
			parts[i] = k + " = " + tomlValue(v[k])
		}
		return "{ " + strings.Join(parts, ", ") + " }"
	}
	panic(fmt.Sprintf("tomlValue: %T", v))
}

// TestRuntimeCapabilitiesMatchTauri adds random capabilities at run time
// to every corpus app and Tauri fixture (for linux, the platform Tauri's
// add_capability resolves for here): with Tauri's
// RuntimeAuthority::add_capability in the oracle, and with
// policy.Store.AddCapabilities / AddCapabilityText (App.AddCapability's
// store) in capguard. Both must take or refuse each addition alike, then
// decide the same way (and with the same granting entries, scope ids and
// values included) on requests drawn from the extended ACL; capguard's
// native engine (the store's) must agree with its reference decision.
func TestRuntimeCapabilitiesMatchTauri(t *testing.T) {
	rng := rand.New(rand.NewPCG(24, 2026))
	o := oracleFor(t, mainVersion(t))
	tl := newTally()
	var rounds, taken, refused, changed int
	for _, c := range corpusCases(t) {
		if c.target != acl.Linux {
			continue
		}
		base, _, err := capguardResolve(c.dir, c.target)
		if err != nil {
			continue
		}
		for round := range 3 {
			rounds++
			name := fmt.Sprintf("%s/runtime-%d", c.name, round)
			store, err := policy.NewStore(context.Background(), policy.Static(&policy.Input{Resolved: base}))
			if err != nil {
				t.Fatal(err)
			}
			g := newRuntimeGen(base, rng)
			var adds []addition
			var wireAdds []any
			for i := range 1 + rng.IntN(3) {
				a := g.call(i)
				adds, wireAdds = append(adds, a), append(wireAdds, a.wire)
			}
			var mine []error
			for _, a := range adds {
				_, err := a.add(context.Background(), store)
				mine = append(mine, err)
			}
			r := store.Current().Resolved
			reqs := corpusRequests(r, rng, 600)
			wire := make([]wireRequest, len(reqs))
			for i := range reqs {
				reqs[i], wire[i] = toWire(reqs[i])
			}
			ans := o.do(t, map[string]any{"op": "runtime", "dir": c.dir, "target": "linux", "add": wireAdds, "requests": wire})
			if !ans.OK || len(ans.Added) != len(adds) {
				t.Fatalf("%s: the oracle: %s (%d answers for %d additions)", name, ans.Error, len(ans.Added), len(adds))
			}
			for i, a := range adds {
				theirs := ans.Added[i]
				switch {
				case theirs.OK && mine[i] == nil:
					taken++
				case !theirs.OK && mine[i] != nil:
					refused++
				case theirs.OK:
					tl.bugs = append(tl.bugs, fmt.Sprintf("%s: Tauri adds, capguard refuses (%v): %s", name, mine[i], a.text))
				default:
					tl.bugs = append(tl.bugs, fmt.Sprintf("%s: Tauri refuses (%s%s), capguard adds: %s", name, theirs.Error, theirs.Panic, a.text))
				}
			}
			before := len(tl.bugs)
			tl.check(t, name, r, reqs, wire, ans.Decisions)
			if os.Getenv("CAPGUARD_DEBUG") != "" && len(tl.bugs) > before {
				for _, a := range adds {
					t.Logf("%s: added %s", name, a.text)
				}
			}
			for i, req := range reqs {
				ref := r.Decide(req)
				d, err := store.Decide(context.Background(), policy.Request{Command: req.Command, Window: req.Window, Webview: req.Webview, Origin: req.Origin})
				if err != nil || d.Allowed != ref.Allowed {
					tl.bugs = append(tl.bugs, fmt.Sprintf("%s: %+v: the store's native engine allowed=%v (%v), the reference %v", name, wire[i], d.Allowed, err, ref.Allowed))
				}
				if base.Decide(req).Allowed != ref.Allowed {
					changed++
				}
			}
		}
	}
	t.Logf("%d rounds: %d additions taken by both, %d refused by both; the additions changed %d decisions", rounds, taken, refused, changed)
	if refused == 0 || taken < 10*refused {
		t.Errorf("%d additions taken and %d refused: the generator should make mostly valid ones, and some invalid", taken, refused)
	}
	if changed < tl.requests/50 {
		t.Errorf("the additions changed only %d of %d decisions: the test does not exercise them", changed, tl.requests)
	}
	tl.report(t, "decisions after runtime additions", 50_000)
}

// TestRuntimeIPCPathMatchesTauri sends a sample through Tauri's whole IPC
// path after Manager::add_capability (the mock runtime), and pins down
// what Tauri does with an addition it cannot resolve: the panic poisons
// the runtime authority's lock, after which every IPC call of the app
// panics; capguard refuses the addition and goes on deciding.
func TestRuntimeIPCPathMatchesTauri(t *testing.T) {
	rng := rand.New(rand.NewPCG(841, 24))
	o := oracleFor(t, mainVersion(t))
	tl := newTally()
	for i, c := range corpusCases(t) {
		if c.target != acl.Linux || i%3 != 0 {
			continue
		}
		base, _, err := capguardResolve(c.dir, c.target)
		if err != nil {
			continue
		}
		store, err := policy.NewStore(context.Background(), policy.Static(&policy.Input{Resolved: base}))
		if err != nil {
			t.Fatal(err)
		}
		g := newRuntimeGen(base, rng)
		var wireAdds []any
		for j := range 2 {
			a := g.call(j)
			if _, err := a.add(context.Background(), store); err != nil {
				continue // an addition Tauri would panic on poisons its IPC path: below
			}
			wireAdds = append(wireAdds, a.wire)
		}
		if len(wireAdds) == 0 {
			continue
		}
		r := store.Current().Resolved
		reqs, wire := ipcRequests(r, rng, 300)
		ans := o.do(t, map[string]any{"op": "runtime_ipc", "dir": c.dir, "target": "linux", "add": wireAdds, "requests": wire})
		if !ans.OK || len(ans.Results) != len(reqs) {
			t.Fatalf("%s: the mock runtime answered %d results for %d requests: %s", c.name, len(ans.Results), len(reqs), ans.Error)
		}
		for k, a := range ans.Added {
			if !a.OK {
				t.Errorf("%s: Manager::add_capability refused an addition capguard takes: %s%s (%v)", c.name, a.Error, a.Panic, wireAdds[k])
			}
		}
		tl.checkIPC(t, c.name, r, reqs, wire, ans.Results)
	}
	tl.report(t, "IPC path after runtime additions", 2_000)

	// An addition naming an unknown permission, then a call that the
	// files allow.
	dir := conformanceApp(t, "sharkdp__numbat-app")
	bad := map[string]any{"text": `{"identifier":"x","windows":["main"],"permissions":["opener:allow-nothing"]}`}
	call := wireRequest{Command: "plugin:opener|open_url", Window: "main", Webview: "main", Origin: "local"}
	ans := o.do(t, map[string]any{"op": "runtime_ipc", "dir": dir, "target": "linux", "add": []any{bad}, "requests": []wireRequest{call}})
	if !ans.OK || len(ans.Added) != 1 || ans.Added[0].Panic == "" || !strings.Contains(ans.Added[0].Panic, "UnknownPermission") {
		t.Fatalf("Tauri's answer to an unknown permission changed: %+v", ans)
	}
	var res struct {
		Panic string `json:"panic"`
	}
	if err := json.Unmarshal(ans.Results[0], &res); err != nil || !strings.Contains(res.Panic, "PoisonError") {
		t.Fatalf("after the failed addition, Tauri's IPC path answered %s (expected a panic on the poisoned lock)", ans.Results[0])
	}
	t.Logf("Tauri, after an addition naming an unknown permission: add_capability panicked (%s); the next IPC call panicked (%s)", truncate(ans.Added[0].Panic, 100), res.Panic)
	r, _, err := capguardResolve(dir, acl.Linux)
	if err != nil {
		t.Fatal(err)
	}
	store, err := policy.NewStore(context.Background(), policy.Static(&policy.Input{Resolved: r}))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := store.AddCapabilityText(context.Background(), "x.json", []byte(bad["text"].(string))); err == nil || !strings.Contains(err.Error(), "x.json:1:53") {
		t.Errorf("capguard: %v", err)
	}
	if d, err := store.Decide(context.Background(), policy.Request{Command: call.Command, Window: "main", Webview: "main", Origin: acl.LocalOrigin}); err != nil || !d.Allowed {
		t.Errorf("capguard after the refused addition: %+v, %v", d, err)
	}
}

// TestRuntimeRefusalsMatchTauri: additions both sides must refuse (Tauri
// by panicking), additions both must take, and the one case where capguard
// refuses what Tauri takes (an identifier twice in one call).
func TestRuntimeRefusalsMatchTauri(t *testing.T) {
	o := oracleFor(t, mainVersion(t))
	dir := conformanceApp(t, "sharkdp__numbat-app")
	r, _, err := capguardResolve(dir, acl.Linux)
	if err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		name, file, text string
		tauri, capguard  bool // taken
	}{
		{"unknown permission", "a.json", `{"identifier":"a","windows":["main"],"permissions":["opener:allow-everything"]}`, false, false},
		{"unknown plugin", "a.json", `{"identifier":"a","windows":["main"],"permissions":["http:default"]}`, false, false},
		{"invalid glob", "a.json", `{"identifier":"a","windows":["[main"],"permissions":["opener:default"]}`, false, false},
		{"invalid remote URL pattern", "a.json", `{"identifier":"a","remote":{"urls":["https://[::1"]},"permissions":["opener:default"]}`, false, false},
		{"not a capability", "a.json", `{"identifier":"a"}`, false, false},
		{"not JSON or TOML", "a.toml", `identifier = `, false, false},
		{"existing identifier", "a.json", `{"identifier":"migrated","windows":["second"],"permissions":["opener:default"]}`, true, true},
		{"TOML", "a.toml", "identifier = \"t\"\nwindows = [\"t\"]\npermissions = [\"core:event:default\"]\n", true, true},
		{"other platform", "a.json", `{"identifier":"a","platforms":["iOS"],"windows":["main"],"permissions":["opener:default"]}`, true, true},
		{"twice in one call", "a.json", `[{"identifier":"d","windows":["d1"],"permissions":["opener:default"]},{"identifier":"d","windows":["d2"],"permissions":["opener:default"]}]`, true, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			ans := o.do(t, map[string]any{"op": "runtime", "dir": dir, "target": "linux", "add": []any{map[string]any{"text": tc.text}}, "requests": []wireRequest{}})
			if !ans.OK || len(ans.Added) != 1 {
				t.Fatalf("oracle: %+v", ans)
			}
			if ans.Added[0].OK != tc.tauri {
				t.Errorf("Tauri took it: %v (%s%s), expected %v", ans.Added[0].OK, ans.Added[0].Error, ans.Added[0].Panic, tc.tauri)
			}
			store, err := policy.NewStore(context.Background(), policy.Static(&policy.Input{Resolved: r}))
			if err != nil {
				t.Fatal(err)
			}
			_, err = store.AddCapabilityText(context.Background(), tc.file, []byte(tc.text))
			if (err == nil) != tc.capguard {
				t.Errorf("capguard took it: %v (%v), expected %v", err == nil, err, tc.capguard)
			}
			if err != nil && !strings.Contains(err.Error(), tc.file+":") {
				t.Errorf("capguard's error has no position: %v", err)
			}
			t.Logf("Tauri: ok=%v %s%s; capguard: %v", ans.Added[0].OK, ans.Added[0].Error, truncate(ans.Added[0].Panic, 120), err)
		})
	}
}

// conformanceApp is the src-tauri folder of a corpus app.
func conformanceApp(t *testing.T, name string) string {
	t.Helper()
	return conformance.Path(t, "apps", name, "src-tauri")
}
