package policy_test

import (
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"strings"
	"sync"
	"sync/atomic"
	"testing"

	"github.com/capguard/capguard/acl"
	"github.com/capguard/capguard/policy"
)

// runtimeManifests: fs with a scoped read, a global scope and a deny; the
// app's open_vault permissions.
func runtimeManifests(t testing.TB) acl.Manifests {
	t.Helper()
	f, err := acl.ParsePermissionFile("fs.toml", []byte(`
[[permission]]
identifier = "allow-read"
commands.allow = ["read"]
scope.allow = [{ path = "$DOCS/*" }]

[[permission]]
identifier = "allow-write"
commands.allow = ["write"]

[[permission]]
identifier = "deny-read"
commands.deny = ["read"]

[[permission]]
identifier = "home"
scope.allow = [{ path = "$HOME/*" }]
`))
	if err != nil {
		t.Fatal(err)
	}
	ms := exampleManifests(t)
	out := acl.Manifests{"fs": acl.NewManifest([]*acl.PermissionFile{f}, nil)}
	for k, m := range ms {
		out[k] = m
	}
	return out
}

func runtimeStore(t testing.TB, files string) *policy.Store {
	t.Helper()
	ms := runtimeManifests(t)
	caps, err := acl.ParseCapabilityFile("main.json", []byte(files))
	if err != nil {
		t.Fatal(err)
	}
	set := acl.CapabilitySet{}
	if err := set.Add(caps...); err != nil {
		t.Fatal(err)
	}
	r, err := acl.Resolve(ms, set, acl.Linux)
	if err != nil {
		t.Fatal(err)
	}
	s, err := policy.NewStore(context.Background(), policy.Static(&policy.Input{Resolved: r}))
	if err != nil {
		t.Fatal(err)
	}
	return s
}

const runtimeFiles = `[
 {"identifier":"main","windows":["main"],"permissions":["fs:allow-read","fs:home","allow-open-vault"]},
 {"identifier":"kiosk","windows":["kiosk"],"remote":{"urls":["https://*.example.com/*"]},"local":false,"permissions":["fs:allow-write"]}
]`

func allowed(t testing.TB, s *policy.Store, cmd, window string, o acl.Origin) bool {
	t.Helper()
	d, err := s.Decide(context.Background(), policy.Request{Command: cmd, Window: window, Webview: window, Origin: o})
	if err != nil {
		t.Fatal(err)
	}
	return d.Allowed
}

// TestAddCapabilitiesLikeTauri checks the rules Tauri's
// RuntimeAuthority::add_capability follows (the differential test in
// conformance/ checks them against Tauri itself): an identifier that
// exists already adds to it, scope ids continue after the highest, global
// scopes are appended, a deny added applies to the files' allows of the
// same context, a capability for another platform changes nothing.
func TestAddCapabilitiesLikeTauri(t *testing.T) {
	ctx := context.Background()
	s := runtimeStore(t, runtimeFiles)
	first := s.Current()
	web := acl.MustOrigin("https://app.example.com/x")

	v, err := s.AddCapabilityText(ctx, "beta.json", []byte(`{"identifier":"main","windows":["beta"],"permissions":[{"identifier":"fs:allow-read","allow":[{"path":"$BETA/*"}]},"fs:home"]}`))
	if err != nil {
		t.Fatal(err)
	}
	if v.Seq != 2 || len(v.Runtime) != 1 || len(v.AddedHere()) != 1 {
		t.Fatalf("version %d, runtime %+v", v.Seq, v.Runtime)
	}
	if !allowed(t, s, "plugin:fs|read", "main", acl.LocalOrigin) || !allowed(t, s, "plugin:fs|read", "beta", acl.LocalOrigin) {
		t.Error("a capability added under an existing identifier must add to it, not replace it")
	}
	// The files' scope is #1; the added entry's is #2, with its values.
	d, _, _ := s.DecideVersion(ctx, policy.Request{Command: "plugin:fs|read", Window: "beta", Webview: "beta", Origin: acl.LocalOrigin})
	if len(d.ScopeIDs) != 1 || d.ScopeIDs[0] != 2 {
		t.Fatalf("scope ids %v, want [2]", d.ScopeIDs)
	}
	if got := v.Resolved.CommandScopes[2].Allow; len(got) != 2 || !strings.Contains(got[0].String(), "$BETA") {
		t.Errorf("scope #2: %v", got)
	}
	if got := v.Resolved.GlobalScopes["fs"].Allow; len(got) != 2 {
		t.Errorf("global scope of fs: %v, want the files' value and the added one", got)
	}
	if first.Resolved.CommandScopes[2] != nil || len(first.Resolved.Allowed["plugin:fs|read"]) != 1 || len(first.Resolved.GlobalScopes["fs"].Allow) != 1 {
		t.Error("AddCapabilities changed the version it replaced")
	}
	for _, e := range v.Resolved.Allowed["plugin:fs|read"] {
		if got, want := v.IsRuntime(e.From), e.Windows[0].String() == "beta"; got != want {
			t.Errorf("IsRuntime(%s in %v) = %v", e.Capability, e.Windows, got)
		}
	}

	// A deny added for the remote context denies what the files allow
	// there, whatever the window; the local context keeps its grants.
	if !allowed(t, s, "plugin:fs|write", "kiosk", web) {
		t.Fatal("setup: kiosk may not write")
	}
	if _, err := s.AddCapabilities(ctx, &acl.Capability{
		Identifier: "lockdown", Remote: &acl.Remote{URLs: []string{"https://*.example.com/*"}},
		Windows: []string{"nobody"}, Permissions: []acl.PermissionEntry{{Identifier: acl.MustIdentifier("fs:deny-read")}},
	}, &acl.Capability{
		Identifier: "web-write-deny", Remote: &acl.Remote{URLs: []string{"https://app.example.com/*"}},
		Windows: []string{"nobody"}, Permissions: []acl.PermissionEntry{{Identifier: acl.MustIdentifier("allow-open-vault")}},
	}); err != nil {
		t.Fatal(err)
	}
	if !allowed(t, s, "plugin:fs|read", "main", acl.LocalOrigin) {
		t.Error("a remote deny removed a local grant")
	}
	if got := s.Current().Runtime; len(got) != 2 || len(got[1].Capabilities) != 2 || got[1].Capabilities[0].Identifier != "lockdown" {
		t.Errorf("runtime calls %+v", got)
	}

	// Another platform: accepted, no effect.
	before := s.Current().Resolved
	if _, err := s.AddCapabilityText(ctx, "ios.toml", []byte("identifier = \"ios\"\nwindows = [\"main\"]\nplatforms = [\"iOS\"]\npermissions = [\"fs:allow-write\"]\n")); err != nil {
		t.Fatal(err)
	}
	if allowed(t, s, "plugin:fs|write", "main", acl.LocalOrigin) || len(s.Current().Resolved.Capabilities) != len(before.Capabilities) {
		t.Error("a capability for iOS applied on linux")
	}
}

// TestAddCapabilitiesRefusals: whatever is wrong, nothing changes, the
// error wraps ErrAddCapability and says where, and Notify hears of it.
func TestAddCapabilitiesRefusals(t *testing.T) {
	var events []policy.ReloadEvent
	ms := runtimeManifests(t)
	r, err := acl.Resolve(ms, acl.CapabilitySet{}, acl.Linux)
	if err != nil {
		t.Fatal(err)
	}
	s, err := policy.NewStore(context.Background(), policy.Static(&policy.Input{Resolved: r}), policy.Notify(func(ev policy.ReloadEvent) { events = append(events, ev) }))
	if err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		name, file, text string
		want             []string
		kind             error
	}{
		{"unknown permission", "a.json", "{\n  \"identifier\": \"a\",\n  \"windows\": [\"main\"],\n  \"permissions\": [\"fs:allow-reed\"]\n}", []string{"a.json:4:19", "fs:allow-read"}, acl.ErrUnknownPermission},
		{"unknown plugin", "a.json", `{"identifier":"a","permissions":["http:default"]}`, []string{"a.json:1:34", "http"}, acl.ErrUnknownPermission},
		{"invalid glob", "a.toml", "identifier = \"a\"\nwindows = [\"[main\"]\npermissions = [\"fs:allow-read\"]\n", []string{"a.toml:2:12"}, acl.ErrInvalid},
		{"invalid remote URL", "a.json5", "{identifier: 'a', remote: {urls: ['/api/*']}, permissions: ['fs:allow-read']}", []string{"a.json5:1:35", "no protocol"}, acl.ErrInvalid},
		{"syntax", "a.json", "{\"identifier\": \"a\",\n \"permissions\": [}", []string{"a.json:2:18"}, acl.ErrSyntax},
		{"twice in one call", "a.json", `[{"identifier":"a","permissions":["fs:allow-read"]},{"identifier":"a","permissions":["fs:allow-write"]}]`, []string{"a.json:1:54", "given twice", "1:3"}, acl.ErrDuplicate},
		{"unknown format", "a.yaml", `identifier: a`, []string{"a.yaml", "format"}, acl.ErrUnknownFormat},
		{"no identifier", "a.json", `{"identifier":"","permissions":["fs:allow-read"]}`, []string{"a.json:1:2", "no identifier"}, acl.ErrInvalid},
	} {
		t.Run(tc.name, func(t *testing.T) {
			events = nil
			_, err := s.AddCapabilityText(context.Background(), tc.file, []byte(tc.text))
			if !errors.Is(err, policy.ErrAddCapability) || !errors.Is(err, tc.kind) {
				t.Fatalf("error %v, want one wrapping ErrAddCapability and %v", err, tc.kind)
			}
			for _, w := range tc.want {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("error %q does not say %q", err, w)
				}
			}
			if v := s.Current(); v.Seq != 1 || len(v.Runtime) != 0 || v.Resolved != r {
				t.Errorf("the store changed: version %d", v.Seq)
			}
			if s.LastError() == nil || len(events) != 1 || events[0].Err == nil || events[0].Version != nil {
				t.Errorf("LastError %v, events %+v", s.LastError(), events)
			}
		})
	}
	for name, caps := range map[string][]*acl.Capability{
		"none":          nil,
		"nil":           {nil},
		"no identifier": {{Permissions: []acl.PermissionEntry{{Identifier: acl.MustIdentifier("fs:allow-read")}}}},
		"zero entry":    {{Identifier: "z", Permissions: []acl.PermissionEntry{{}}}},
		"bad glob":      {{Identifier: "g", Windows: []string{"a", "[b"}, Permissions: []acl.PermissionEntry{{Identifier: acl.MustIdentifier("fs:allow-read")}}}},
	} {
		if _, err := s.AddCapabilities(context.Background(), caps...); !errors.Is(err, policy.ErrAddCapability) {
			t.Errorf("%s: %v", name, err)
		} else if name == "bad glob" && !strings.Contains(err.Error(), `runtime capability "g"`) {
			t.Errorf("%s: the error does not name the capability: %v", name, err)
		}
	}
	if s.Current().Seq != 1 {
		t.Error("a refused capability was swapped in")
	}
	var nilStore *policy.Store
	if _, err := nilStore.AddCapabilities(context.Background()); !errors.Is(err, policy.ErrNilEngine) {
		t.Errorf("nil store: %v", err)
	}
	//lint:ignore SA1012 a nil context must be refused, not crash
	if _, err := s.AddCapabilities(nil, &acl.Capability{Identifier: "x"}); err == nil { //nolint:staticcheck
		t.Error("nil context accepted")
	}
}

// TestAddCapabilitiesCopies: changing a capability after adding it changes
// nothing.
func TestAddCapabilitiesCopies(t *testing.T) {
	s := runtimeStore(t, runtimeFiles)
	c := &acl.Capability{Identifier: "x", Local: true, Windows: []string{"side"}, Permissions: []acl.PermissionEntry{{Identifier: acl.MustIdentifier("fs:allow-write")}}}
	if _, err := s.AddCapabilities(context.Background(), c); err != nil {
		t.Fatal(err)
	}
	c.Windows[0] = "*"
	c.Permissions[0].Identifier = acl.MustIdentifier("fs:allow-read")
	if _, err := s.Reload(context.Background()); err != nil {
		t.Fatal(err)
	}
	if !allowed(t, s, "plugin:fs|write", "side", acl.LocalOrigin) || allowed(t, s, "plugin:fs|write", "other", acl.LocalOrigin) || allowed(t, s, "plugin:fs|read", "side", acl.LocalOrigin) {
		t.Error("the store follows the caller's changes")
	}
}

// TestAddCapabilitiesKeptAcrossReload: a reload re-resolves the added
// capabilities against the new files; one whose permission the new
// manifests lack makes the reload fail like a bad file, keeping the
// version in force.
func TestAddCapabilitiesKeptAcrossReload(t *testing.T) {
	ms := runtimeManifests(t)
	withoutFS := acl.Manifests{}
	for k, m := range ms {
		if k != "fs" {
			withoutFS[k] = m
		}
	}
	files := []string{
		`{"identifier":"main","windows":["main"],"permissions":["allow-open-vault"]}`,
		`{"identifier":"main","windows":["main", "second"],"permissions":["allow-open-vault"]}`,
	}
	var reads atomic.Int64
	useFS := atomic.Bool{}
	useFS.Store(true)
	var removals []policy.Removed
	src := func(ctx context.Context) (*policy.Input, error) {
		caps, err := acl.ParseCapabilityFile("main.json", []byte(files[reads.Add(1)%2]))
		if err != nil {
			return nil, err
		}
		set := acl.CapabilitySet{}
		_ = set.Add(caps...)
		m := ms
		if !useFS.Load() {
			m = withoutFS
		}
		r, err := acl.Resolve(m, set, acl.Linux)
		return &policy.Input{Resolved: r}, err
	}
	s, err := policy.NewStore(context.Background(), src, policy.Notify(func(ev policy.ReloadEvent) {
		if ev.Version != nil {
			removals = append(removals, ev.Version.Removed)
		}
	}))
	if err != nil {
		t.Fatal(err)
	}
	added, err := s.AddCapabilityText(context.Background(), "rt.json", []byte(`{"identifier":"main","windows":["rt"],"permissions":["fs:allow-write"]}`))
	if err != nil {
		t.Fatal(err)
	}
	for i := range 3 {
		v, err := s.Reload(context.Background())
		if err != nil {
			t.Fatalf("reload %d: %v", i, err)
		}
		if !allowed(t, s, "plugin:fs|write", "rt", acl.LocalOrigin) || !allowed(t, s, "open_vault", "main", acl.LocalOrigin) {
			t.Fatalf("reload %d lost the added capability or the files'", i)
		}
		if got := allowed(t, s, "open_vault", "second", acl.LocalOrigin); got != (i%2 == 1) {
			t.Fatalf("reload %d did not apply the files (second window allowed=%v)", i, got)
		}
		if len(v.Runtime) != 1 || v.Runtime[0].Seq != added.Seq || v.AddedHere() != nil {
			t.Errorf("reload %d: runtime %+v", i, v.Runtime)
		}
	}
	for _, r := range removals {
		if !r.Empty() {
			t.Errorf("a reload that keeps every capability reported removing %s", r)
		}
	}
	useFS.Store(false)
	keep := s.Current()
	_, err = s.Reload(context.Background())
	if !errors.Is(err, policy.ErrReload) || !errors.Is(err, acl.ErrUnknownPermission) || !strings.Contains(err.Error(), "rt.json:1:54") || !strings.Contains(err.Error(), "added at run time") {
		t.Fatalf("reload without the added capability's plugin: %v", err)
	}
	if s.Current() != keep {
		t.Error("the failed reload was swapped in")
	}
	// Load keeps them too.
	useFS.Store(true)
	in, err := src(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	if _, err := s.Load(context.Background(), in); err != nil || !allowed(t, s, "plugin:fs|write", "rt", acl.LocalOrigin) {
		t.Errorf("Load dropped the added capability: %v", err)
	}
}

// TestAddCapabilitiesAtomic: while capabilities are added one after the
// other, 4 goroutines decide continuously. Each added capability grants
// plugin:fs|write to its own window and both allows and denies open_vault
// there: a decision that saw only part of an addition (the allow without
// the deny) would allow open_vault. Every decision must come from a whole
// version, and a goroutine that saw an addition never stops seeing it.
func TestAddCapabilitiesAtomic(t *testing.T) {
	s := runtimeStore(t, runtimeFiles)
	const adds, deciders = 200, 4
	var done atomic.Bool
	var wg sync.WaitGroup
	failures := make(chan string, deciders)
	var decided atomic.Int64
	for g := range deciders {
		wg.Add(1)
		go func() {
			defer wg.Done()
			rng := rand.New(rand.NewPCG(uint64(g), 9))
			seen := make([]bool, adds)
			ctx := context.Background()
			for !done.Load() {
				i := rng.IntN(adds)
				w := fmt.Sprintf("w%d", i)
				d, v, err := s.DecideVersion(ctx, policy.Request{Command: "open_vault", Window: w, Webview: w, Origin: acl.LocalOrigin})
				if err != nil || d.Allowed {
					failures <- fmt.Sprintf("open_vault from %s allowed=%v (version %d): a partial addition", w, d.Allowed, v.Seq)
					return
				}
				d, err = s.Decide(ctx, policy.Request{Command: "plugin:fs|write", Window: w, Webview: w, Origin: acl.LocalOrigin})
				if err != nil {
					failures <- err.Error()
					return
				}
				if seen[i] && !d.Allowed {
					failures <- fmt.Sprintf("capability %d was seen added, then gone", i)
					return
				}
				seen[i] = seen[i] || d.Allowed
				decided.Add(1)
			}
		}()
	}
	for i := range adds {
		text := fmt.Sprintf(`{"identifier":"k%d","windows":["w%d"],"permissions":["fs:allow-write","allow-open-vault","deny-open-vault"]}`, i, i)
		if _, err := s.AddCapabilityText(context.Background(), "k.json", []byte(text)); err != nil {
			t.Fatal(err)
		}
	}
	done.Store(true)
	wg.Wait()
	close(failures)
	for f := range failures {
		t.Error(f)
	}
	if v := s.Current(); v.Seq != adds+1 || len(v.Runtime) != adds {
		t.Errorf("version %d with %d runtime calls", v.Seq, len(v.Runtime))
	}
	if decided.Load() == 0 {
		t.Error("no decision ran during the additions")
	}
}

// FuzzAddCapabilityText: any text, under any of the three extensions,
// either adds its capabilities (and the new version decides) or is refused
// with an input error and changes nothing; it never panics.
func FuzzAddCapabilityText(f *testing.F) {
	for _, s := range []string{
		`{"identifier":"a","windows":["main"],"permissions":["fs:allow-read"]}`,
		`[{"identifier":"a","permissions":["fs:home"]},{"identifier":"b","remote":{"urls":["https://*.x/*"]},"permissions":[{"identifier":"fs:allow-read","allow":[{"path":"/t"}]}]}]`,
		"identifier = \"t\"\nwindows = [\"*\"]\npermissions = [\"allow-open-vault\", \"deny-open-vault\"]\n",
		`{identifier: 'j', permissions: ['fs:deny-read'], platforms: ['linux']}`,
		`{"capabilities":[]}`, `{"identifier":"a","permissions":["fs:nope"]}`, `{`,
	} {
		f.Add(s, uint8(0))
	}
	s := runtimeStore(f, runtimeFiles)
	f.Fuzz(func(t *testing.T, text string, ext uint8) {
		name := "f." + []string{"json", "json5", "toml"}[int(ext)%3]
		if len(s.Current().Runtime) >= 200 {
			s = runtimeStore(t, runtimeFiles) // keep each addition's compile small
		}
		before := s.Current()
		v, err := s.AddCapabilityText(context.Background(), name, []byte(text))
		if err != nil {
			if !errors.Is(err, policy.ErrAddCapability) || !acl.IsInputError(err) {
				t.Fatalf("%q: %v is not a refused addition of bad input", text, err)
			}
			if s.Current() != before {
				t.Fatalf("%q: refused, but the version changed", text)
			}
			return
		}
		if v.Seq != before.Seq+1 || s.Current() != v {
			t.Fatalf("%q: added, version %d after %d", text, v.Seq, before.Seq)
		}
		if _, err := s.Decide(context.Background(), policy.Request{Command: "plugin:fs|read", Window: "main", Webview: "main", Origin: acl.LocalOrigin}); err != nil {
			t.Fatal(err)
		}
	})
}
