package biometric_test

import (
	"context"
	"encoding/json"
	"errors"
	"slices"
	"strings"
	"sync"
	"testing"

	"github.com/capguard/capguard/acl"
	"github.com/capguard/capguard/biometric"
	"github.com/capguard/capguard/internal/conformance"
	"github.com/capguard/capguard/ipc"
	"github.com/capguard/capguard/native"
	"github.com/capguard/capguard/native/sim"
	"github.com/capguard/capguard/policy"
)

// storageCaps grant the storage commands to window "main" on the domain
// com.example.vault except its record "master", to window "noscope"
// without any allow entry, and only the default set to window "plain".
const storageCaps = `[
  {"identifier": "main", "windows": ["main"], "permissions": [
    "biometry:default",
    {"identifier": "biometry:allow-get-data", "allow": [{"domain": "com.example.vault"}, {"domain": "com.example.tokens", "name": "session"}], "deny": [{"domain": "com.example.vault", "name": "master"}]},
    {"identifier": "biometry:allow-set-data", "allow": [{"domain": "com.example.vault"}, {"domain": "com.example.tokens", "name": "session"}]},
    {"identifier": "biometry:allow-has-data", "allow": [{"domain": "com.example.vault"}]},
    {"identifier": "biometry:allow-remove-data", "allow": [{"domain": "com.example.vault"}]}
  ]},
  {"identifier": "noscope", "windows": ["noscope"], "permissions": ["biometry:default", "biometry:allow-get-data", "biometry:allow-set-data"]},
  {"identifier": "plain", "windows": ["plain"], "permissions": ["biometry:default"]}
]`

type biometryPlugin struct {
	sim     *sim.Sim
	ipc     *ipc.Guarded
	mu      sync.Mutex
	secrets []biometric.SecretEvent
}

func newBiometry(t testing.TB, cfg sim.Config) *biometryPlugin {
	t.Helper()
	m, err := biometric.BiometryManifest()
	if err != nil {
		t.Fatal(err)
	}
	caps, err := acl.ParseCapabilityFile("capabilities/storage.json", []byte(storageCaps))
	if err != nil {
		t.Fatal(err)
	}
	set := acl.CapabilitySet{}
	if err := set.Add(caps...); err != nil {
		t.Fatal(err)
	}
	res, err := acl.Resolve(acl.Manifests{biometric.BiometryName: m}, set, acl.Linux)
	if err != nil {
		t.Fatal(err)
	}
	engine, err := policy.Compile(res)
	if err != nil {
		t.Fatal(err)
	}
	p := &biometryPlugin{sim: sim.New(cfg)}
	b := biometric.New(p.sim, biometric.OnSecretAccess(func(ev biometric.SecretEvent) {
		p.mu.Lock()
		p.secrets = append(p.secrets, ev)
		p.mu.Unlock()
	}))
	r := ipc.NewRouter()
	if err := b.RegisterBiometry(r); err != nil {
		t.Fatal(err)
	}
	p.ipc = r.Guard(engine, ipc.WithScopes(res))
	return p
}

// call returns what the page's promise gets: resolved JSON, or the
// rejection JSON.
func (p *biometryPlugin) call(window, command, args string) (bool, string) {
	out, err := p.ipc.Invoke(context.Background(), &ipc.Invocation{
		Command: "plugin:biometry|" + command, Window: window, Webview: window,
		Origin: acl.LocalOrigin, Args: json.RawMessage(args),
	})
	if err != nil {
		return false, string(ipc.RejectValue(err))
	}
	return true, string(out)
}

func (p *biometryPlugin) mustResolve(t *testing.T, window, command, args, want string) {
	t.Helper()
	ok, body := p.call(window, command, args)
	if !ok || body != want {
		t.Fatalf("%s %s(%s) = %v %s, want resolved %s", window, command, args, ok, body, want)
	}
}

// mustReject checks that the promise rejects with a string starting with
// prefix (the plugin's "[code] - message" or "scopeDenied: ...").
func (p *biometryPlugin) mustReject(t *testing.T, window, command, args, prefix string) string {
	t.Helper()
	ok, body := p.call(window, command, args)
	var s string
	if ok || json.Unmarshal([]byte(body), &s) != nil || !strings.HasPrefix(s, prefix) {
		t.Fatalf("%s %s(%s) = %v %s, want a rejection string starting %q", window, command, args, ok, body, prefix)
	}
	return s
}

func TestBiometryCommands(t *testing.T) {
	r := ipc.NewRouter()
	if err := biometric.New(sim.New(sim.Ready())).RegisterBiometry(r); err != nil {
		t.Fatal(err)
	}
	var want []string
	for _, c := range biometric.BiometryCommands() {
		want = append(want, "plugin:biometry|"+c)
	}
	slices.Sort(want)
	if got := r.Commands(); !slices.Equal(got, want) {
		t.Errorf("Commands = %q, want %q", got, want)
	}
	m, err := biometric.BiometryManifest()
	if err != nil {
		t.Fatal(err)
	}
	for _, c := range biometric.BiometryCommands() {
		id := "allow-" + strings.ReplaceAll(c, "_", "-")
		if m.Permissions[id] == nil || m.Permissions["deny-"+strings.TrimPrefix(id, "allow-")] == nil {
			t.Errorf("no allow/deny pair for %s", c)
		}
	}
	if got := m.Default.Permissions; !slices.Equal(got, []string{"allow-authenticate", "allow-status"}) {
		t.Errorf("the default set grants %q, want only status and authenticate", got)
	}
	if len(m.GlobalScopeSchema) == 0 {
		t.Error("the manifest has no scope schema for {domain, name}")
	}
}

func TestBiometryStatusAndAuthenticate(t *testing.T) {
	p := newBiometry(t, sim.Ready())
	p.mustResolve(t, "plain", "status", `{}`, `{"isAvailable":true,"biometryType":2}`)
	p.mustResolve(t, "plain", "authenticate", `{"reason":"Sign in","options":{"allowDeviceCredential":false,"cancelTitle":"No"}}`, `null`)
	p.sim.Push(sim.Step{Outcome: sim.UserCancel})
	p.mustReject(t, "plain", "authenticate", `{"reason":"Sign in","options":{}}`, "[userCancel] - ")
	p.mustReject(t, "plain", "authenticate", `{"options":{}}`, "invalid args `reason` for command `authenticate`")
	p.mustReject(t, "plain", "authenticate", `{"reason":"x","options":{"title":1}}`, "invalid args `options` for command `authenticate`")
	face := sim.Ready()
	face.Type = native.FaceID
	newBiometry(t, face).mustResolve(t, "plain", "status", `{}`, `{"isAvailable":true,"biometryType":3}`)
	off := sim.Ready()
	off.Enrolled = false
	newBiometry(t, off).mustResolve(t, "plain", "status", `{}`, `{"isAvailable":false,"biometryType":2,"error":"Biometrics not enrolled.","errorCode":"biometryNotEnrolled"}`)
}

func TestBiometryStorage(t *testing.T) {
	p := newBiometry(t, sim.Ready())
	set := `{"options":{"domain":"com.example.vault","name":"token","data":"s3cret ✓"}}`
	get := `{"options":{"domain":"com.example.vault","name":"token","reason":"Read your token"}}`
	p.mustResolve(t, "main", "has_data", `{"options":{"domain":"com.example.vault","name":"token"}}`, `false`)
	p.mustResolve(t, "main", "set_data", set, `null`)
	p.mustResolve(t, "main", "has_data", `{"options":{"domain":"com.example.vault","name":"token"}}`, `true`)
	p.mustResolve(t, "main", "get_data", get, `{"domain":"com.example.vault","name":"token","data":"s3cret ✓"}`)

	p.sim.Push(sim.Step{Outcome: sim.UserCancel})
	p.mustReject(t, "main", "get_data", get, "[userCancel] - ")
	p.sim.Push(sim.Step{Outcome: sim.Lockout})
	p.mustReject(t, "main", "get_data", get, "[biometryLockout] - ")
	p.sim.Unlock()
	p.sim.Push(sim.Step{Outcome: sim.HookedSuccess})
	if s := p.mustReject(t, "main", "get_data", get, "[internalError] - "); strings.Contains(s, "s3cret") {
		t.Fatalf("a hooked success leaked the secret: %s", s)
	}
	p.mustReject(t, "main", "get_data", `{"options":{"domain":"com.example.vault","name":"missing","reason":"r"}}`, "[dataNotFound] - ")

	// Data invalidated by a new enrollment.
	p.sim.Enroll()
	p.mustReject(t, "main", "get_data", get, "[dataNeedsReenrollment] - ")
	p.mustResolve(t, "main", "has_data", `{"options":{"domain":"com.example.vault","name":"token"}}`, `false`)

	p.mustResolve(t, "main", "set_data", set, `null`)
	p.mustResolve(t, "main", "remove_data", `{"options":{"domain":"com.example.vault","name":"token"}}`, `null`)
	p.mustResolve(t, "main", "remove_data", `{"options":{"domain":"com.example.vault","name":"token"}}`, `null`)
	p.mustResolve(t, "main", "has_data", `{"options":{"domain":"com.example.vault","name":"token"}}`, `false`)
}

func TestBiometryScope(t *testing.T) {
	p := newBiometry(t, sim.Ready())
	attempts := func() int { return p.sim.Count(sim.MethodGetData) + p.sim.Count(sim.MethodSetData) }
	before := attempts()
	for _, tc := range []struct{ window, command, args string }{
		{"main", "get_data", `{"options":{"domain":"com.other","name":"x","reason":"r"}}`},
		{"main", "get_data", `{"options":{"domain":"com.example.vault","name":"master","reason":"r"}}`}, // deny wins
		{"main", "set_data", `{"options":{"domain":"com.example.tokens","name":"other","data":"x"}}`},   // name not listed
		{"main", "has_data", `{"options":{"domain":"com.example.tokens","name":"session"}}`},            // has_data's own scope
		{"noscope", "get_data", `{"options":{"domain":"com.example.vault","name":"token","reason":"r"}}`},
		{"noscope", "set_data", `{"options":{"domain":"com.example.vault","name":"token","data":"x"}}`},
	} {
		s := p.mustReject(t, tc.window, tc.command, tc.args, "scopeDenied: biometry (")
		if !strings.Contains(s, "com.") {
			t.Errorf("the refusal does not name the record: %s", s)
		}
	}
	p.mustResolve(t, "main", "set_data", `{"options":{"domain":"com.example.tokens","name":"session","data":"x"}}`, `null`)
	if attempts() != before+1 {
		t.Errorf("refused calls reached the device: %d attempts, want %d", attempts(), before+1)
	}
	// Not granted at all: the guard refuses before the plugin.
	ok, body := p.call("plain", "get_data", `{"options":{"domain":"com.example.vault","name":"token","reason":"r"}}`)
	if ok || !strings.Contains(body, "not allowed") {
		t.Errorf("a window without the permission: %v %s", ok, body)
	}
}

func TestBiometryBadInput(t *testing.T) {
	p := newBiometry(t, sim.Ready())
	p.mustResolve(t, "main", "set_data", `{"options":{"domain":"com.example.vault","name":"kept","data":"kept"}}`, `null`)
	for _, tc := range []struct{ command, args, prefix string }{
		{"set_data", `{}`, "invalid args `options` for command `set_data`"},
		{"set_data", `{"options":"x"}`, "invalid args `options` for command `set_data`"},
		{"set_data", `{"options":{"domain":"com.example.vault","name":"n"}}`, "invalid args `options` for command `set_data`: missing field `data`"},
		{"get_data", `{"options":{"domain":"com.example.vault","name":"n"}}`, "invalid args `options` for command `get_data`: missing field `reason`"},
		{"get_data", `{"options":{"domain":"com.example.vault","name":7,"reason":"r"}}`, "invalid args `options` for command `get_data`"},
		{"set_data", `{"options":{"domain":"com.example.vault","name":"big","data":"` + strings.Repeat("x", native.MaxDataLen+1) + `"}}`, "[invalidInput] - "},
		{"set_data", `{"options":{"domain":"com.example.vault","name":"","data":"x"}}`, "[invalidInput] - "},
		{"get_data", `not json`, "invalid args for command `get_data`"},
	} {
		p.mustReject(t, "main", tc.command, tc.args, tc.prefix)
	}
	p.mustResolve(t, "main", "get_data", `{"options":{"domain":"com.example.vault","name":"kept","reason":"r"}}`, `{"domain":"com.example.vault","name":"kept","data":"kept"}`)
}

// Every storage call that reaches the plugin is reported once, with the
// record and the caller, never with the data.
func TestBiometrySecretEvents(t *testing.T) {
	p := newBiometry(t, sim.Ready())
	p.mustResolve(t, "main", "set_data", `{"options":{"domain":"com.example.vault","name":"token","data":"TOPSECRET"}}`, `null`)
	p.mustResolve(t, "main", "get_data", `{"options":{"domain":"com.example.vault","name":"token","reason":"r"}}`, `{"domain":"com.example.vault","name":"token","data":"TOPSECRET"}`)
	p.mustReject(t, "main", "get_data", `{"options":{"domain":"com.other","name":"x","reason":"r"}}`, "scopeDenied")
	p.mu.Lock()
	defer p.mu.Unlock()
	want := []struct {
		op   biometric.SecretOp
		code native.Code
	}{{biometric.SecretSet, ""}, {biometric.SecretGet, ""}, {biometric.SecretGet, native.ScopeDenied}}
	if len(p.secrets) != len(want) {
		t.Fatalf("%d secret events, want %d: %+v", len(p.secrets), len(want), p.secrets)
	}
	for i, ev := range p.secrets {
		if ev.Op != want[i].op || ev.Code != want[i].code || ev.Window != "main" || ev.Origin != "local" {
			t.Errorf("event %d = %+v, want %s with code %q from main", i, ev, want[i].op, want[i].code)
		}
		if strings.Contains(ev.Message, "TOPSECRET") {
			t.Errorf("event %d holds the data", i)
		}
		if ev.Binding != native.BoundByKey {
			t.Errorf("event %d binding %q", i, ev.Binding)
		}
	}
}

func TestBiometryErrorMatchesByCode(t *testing.T) {
	b := biometric.New(sim.New(sim.Ready()))
	_, err := b.GetData(context.Background(), "com.example.vault", "missing", "r", biometric.AuthOptions{})
	if !errors.Is(err, biometric.DataNotFound) {
		t.Fatalf("GetData of a missing record: %v", err)
	}
}

// The biometry plugin's permissions are those of the real plugin, as a
// public app's committed acl-manifests.json has them (haex-vault uses
// tauri-plugin-biometry): the same allow/deny pair for each command. Its
// default set is older than the plugin's current one (which grants only
// status and authenticate, and which capguard follows).
func TestBiometryPermissionsMatchARealApp(t *testing.T) {
	path := conformance.Path(t, "apps", "haex-space__haex-vault", "src-tauri", "gen", "schemas", "acl-manifests.json")
	ms, err := acl.ReadManifests(path)
	if err != nil {
		t.Fatal(err)
	}
	real := ms[biometric.BiometryName]
	if real == nil {
		t.Fatalf("%s has no biometry manifest", path)
	}
	ours, err := biometric.BiometryManifest()
	if err != nil {
		t.Fatal(err)
	}
	if len(ours.Permissions) != len(real.Permissions) {
		t.Errorf("%d permissions, the real plugin %d", len(ours.Permissions), len(real.Permissions))
	}
	for id, p := range real.Permissions {
		o := ours.Permissions[id]
		if o == nil {
			t.Errorf("no permission %s", id)
			continue
		}
		if !slices.Equal(o.Commands.Allow, p.Commands.Allow) || !slices.Equal(o.Commands.Deny, p.Commands.Deny) {
			t.Errorf("%s: commands allow %q deny %q, the real plugin's allow %q deny %q", id, o.Commands.Allow, o.Commands.Deny, p.Commands.Allow, p.Commands.Deny)
		}
	}
}

// FuzzBiometryArgs sends arbitrary arguments to every command of the
// biometry plugin behind the guard: no input panics, and every rejection
// is a JSON string (the plugin's wire format); nothing outside the scope
// reaches the device.
func FuzzBiometryArgs(f *testing.F) {
	for _, seed := range []string{
		`{"options":{"domain":"com.example.vault","name":"token","data":"x"}}`,
		`{"options":{"domain":"com.example.vault","name":"token","reason":"r","cancelTitle":"c"}}`,
		`{"reason":"r","options":{"allowDeviceCredential":true,"fallbackTitle":""}}`,
		`{"options":{"domain":"com.example.vault","name":"master","reason":"r"}}`,
		`{"options":null}`, `[]`, `null`, `{"options":{"domain":1}}`, ``,
	} {
		for i := range biometric.BiometryCommands() {
			f.Add(uint8(i), seed)
		}
	}
	p := newBiometry(f, sim.Ready())
	f.Fuzz(func(t *testing.T, which uint8, args string) {
		cmds := biometric.BiometryCommands()
		cmd := cmds[int(which)%len(cmds)]
		before := p.sim.Count(sim.MethodGetData) + p.sim.Count(sim.MethodSetData)
		ok, body := p.call("main", cmd, args)
		if !json.Valid([]byte(body)) {
			t.Fatalf("%s(%q): invalid JSON %q", cmd, args, body)
		}
		if !ok {
			var s string
			if err := json.Unmarshal([]byte(body), &s); err != nil {
				t.Fatalf("%s(%q): the rejection %s is not a string", cmd, args, body)
			}
		}
		if strings.Contains(args, "master") && strings.Contains(body, "scopeDenied") && p.sim.Count(sim.MethodGetData)+p.sim.Count(sim.MethodSetData) != before {
			t.Fatalf("%s(%q): refused by the scope, but reached the device", cmd, args)
		}
	})
}
