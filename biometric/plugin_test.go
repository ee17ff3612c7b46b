package biometric_test

import (
	"context"
	"encoding/json"
	"errors"
	"os"
	"slices"
	"testing"

	"github.com/capguard/capguard/acl"
	"github.com/capguard/capguard/biometric"
	"github.com/capguard/capguard/internal/conformance"
	"github.com/capguard/capguard/ipc"
	"github.com/capguard/capguard/native/sim"
	"github.com/capguard/capguard/policy"
)

func TestRegisterTwiceFails(t *testing.T) {
	r := ipc.NewRouter()
	b := biometric.New(sim.New(sim.Ready()))
	if err := b.Register(r); err != nil {
		t.Fatal(err)
	}
	if err := b.Register(r); !errors.Is(err, ipc.ErrDuplicate) {
		t.Errorf("second Register: %v", err)
	}
	want := []string{"plugin:biometric|authenticate", "plugin:biometric|status"}
	if got := r.Commands(); !slices.Equal(got, want) {
		t.Errorf("Commands = %q", got)
	}
}

// TestCommandsMatchTauri checks the plugin's commands against the real
// plugin's command list (plugins-workspace build.rs, in the conformance
// data) and against the permission generator's list, and that the real
// plugin's default permission set lets a window call every command the
// router serves.
func TestCommandsMatchTauri(t *testing.T) {
	dir := conformance.Path(t, "plugins-workspace", "biometric")
	data, err := os.ReadFile(dir + "/commands.json")
	if err != nil {
		t.Fatal(err)
	}
	var upstream struct {
		Plugin   string   `json:"plugin"`
		Commands []string `json:"commands"`
	}
	if err := json.Unmarshal(data, &upstream); err != nil {
		t.Fatal(err)
	}
	if upstream.Plugin != biometric.Name {
		t.Errorf("upstream plugin %q, ours %q", upstream.Plugin, biometric.Name)
	}
	if !slices.Equal(biometric.Commands(), upstream.Commands) {
		t.Errorf("our commands %q, Tauri's %q", biometric.Commands(), upstream.Commands)
	}
	if !slices.Equal(biometric.Commands(), biometric.PermissionCommands()) {
		t.Errorf("our commands %q, permission files for %q", biometric.Commands(), biometric.PermissionCommands())
	}

	// Tauri's own permission folder, granted through "biometric:default".
	files, err := acl.LoadPermissionDir(dir + "/permissions")
	if err != nil {
		t.Fatal(err)
	}
	caps, err := acl.ParseCapabilityFile("default.json", []byte(`{"identifier":"default","windows":["main"],"permissions":["biometric:default"]}`))
	if err != nil {
		t.Fatal(err)
	}
	set := acl.CapabilitySet{}
	_ = set.Add(caps...)
	res, err := acl.Resolve(acl.Manifests{biometric.Name: acl.NewManifest(files, nil)}, set, acl.Android)
	if err != nil {
		t.Fatal(err)
	}
	engine, err := policy.Compile(res)
	if err != nil {
		t.Fatal(err)
	}
	r := ipc.NewRouter()
	s := sim.New(sim.Ready())
	if err := biometric.New(s).Register(r); err != nil {
		t.Fatal(err)
	}
	g := r.Guard(engine)
	for _, cmd := range r.Commands() {
		for _, win := range []string{"main", "other"} {
			_, err := g.Invoke(context.Background(), &ipc.Invocation{Origin: acl.LocalOrigin, Command: cmd, Window: win, Args: json.RawMessage(`{"reason":"r"}`)})
			if allowed := win == "main"; (err == nil) != allowed {
				t.Errorf("%s from %s: %v (want allowed=%v)", cmd, win, err, allowed)
			}
		}
	}
	if s.Count(sim.MethodAuthenticate) != 1 {
		t.Errorf("%d prompts, want 1", s.Count(sim.MethodAuthenticate))
	}
}

// obligingEngine adds an obligation to the allowed decisions of another
// engine, as a Rego policy with obligations does.
type obligingEngine struct {
	policy.Engine
	o policy.Obligation
}

func (e obligingEngine) Decide(ctx context.Context, req policy.Request) (policy.Decision, error) {
	d, err := e.Engine.Decide(ctx, req)
	if d.Allowed {
		d.Obligations = []policy.Obligation{e.o}
	}
	return d, err
}

func TestMeetObligation(t *testing.T) {
	res := exampleACL(t)
	native, err := policy.Compile(res)
	if err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		name    string
		o       policy.Obligation
		script  []sim.Outcome
		calls   int // open_vault calls
		prompts int // prompts after all calls
		failed  bool
	}{
		{"every call prompts", policy.Obligation{Type: policy.ObligationBiometric, Reason: "Unlock the vault"}, nil, 2, 2, false},
		{"max age reuses a success", policy.Obligation{Type: policy.ObligationBiometric, MaxAgeS: 60}, nil, 3, 1, false},
		{"a cancelled prompt denies", policy.Obligation{Type: policy.ObligationBiometric}, []sim.Outcome{sim.UserCancel}, 1, 1, true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			cfg := sim.Ready()
			cfg.Script = steps(tc.script...)
			s := sim.New(cfg)
			b := biometric.New(s)
			opened := 0
			r := ipc.NewRouter()
			_ = r.Handle("open_vault", ipc.HandlerFunc(func(context.Context, *ipc.Invocation) (any, error) { opened++; return nil, nil }))
			g := r.Guard(obligingEngine{native, tc.o}, ipc.WithObligation(policy.ObligationBiometric, b.MeetObligation))
			var last error
			for i := 0; i < tc.calls; i++ {
				_, last = g.Invoke(context.Background(), &ipc.Invocation{Origin: acl.LocalOrigin, Command: "open_vault", Window: "main"})
			}
			if n := s.Count(sim.MethodAuthenticate); n != tc.prompts {
				t.Errorf("%d prompts, want %d", n, tc.prompts)
			}
			if tc.failed {
				if !errors.Is(last, ipc.ErrNotAllowed) || !errors.Is(last, biometric.UserCancel) || opened != 0 {
					t.Errorf("got %v, opened %d", last, opened)
				}
				return
			}
			if last != nil || opened != tc.calls {
				t.Errorf("got %v, opened %d", last, opened)
			}
			want := tc.o.Reason
			if want == "" {
				want = biometric.DefaultObligationReason
			}
			if got := s.Calls()[1].Prompt.Reason; got != want {
				t.Errorf("prompt reason %q, want %q", got, want)
			}
		})
	}
}

func FuzzAuthenticateArgs(f *testing.F) {
	for _, s := range []string{
		`{"reason":"Open the vault"}`,
		`{"reason":"r","allowDeviceCredential":true,"cancelTitle":"c","fallbackTitle":"","title":"t","subtitle":"s","confirmationRequired":false,"maxAttemps":2}`,
		`{"reason":null}`, `[]`, `{"reason":"r","maxAttemps":1e400}`, `{"reason":"\u0000"}`, ``, `{`,
	} {
		f.Add([]byte(s))
	}
	res := exampleACL(f)
	engine, err := policy.Compile(res)
	if err != nil {
		f.Fatal(err)
	}
	f.Fuzz(func(t *testing.T, args []byte) {
		// A fresh device per input, so that the call log stays small.
		p := &plugin{sim: sim.New(sim.Ready())}
		p.bio = biometric.New(p.sim)
		r := ipc.NewRouter()
		if err := p.bio.Register(r); err != nil {
			t.Fatal(err)
		}
		p.ipc = r.Guard(engine)
		resolved, body, err := p.call(context.Background(), "authenticate", string(args))
		if !json.Valid([]byte(body)) {
			t.Fatalf("the frontend would get invalid JSON: %q", body)
		}
		if resolved {
			if body != "null" {
				t.Fatalf("resolved with %s", body)
			}
			c := p.sim.Calls()[len(p.sim.Calls())-1]
			if c.Prompt.Reason == "" || c.Prompt.MaxAttempts < 1 || c.Prompt.MaxAttempts > biometric.MaxAttemptsLimit {
				t.Fatalf("prompt out of bounds: %+v", c.Prompt)
			}
			return
		}
		if !errors.Is(err, biometric.ErrInvalidArgs) {
			t.Fatalf("unexpected failure %v", err)
		}
		if len(p.sim.Calls()) != 0 {
			t.Fatal("invalid arguments reached the device")
		}
	})
}
