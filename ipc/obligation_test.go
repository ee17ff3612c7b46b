package ipc_test

import (
	"context"
	"encoding/json"
	"errors"
	"github.com/capguard/capguard/acl"
	"net/http"
	"strings"
	"testing"

	"github.com/capguard/capguard/biometric"
	"github.com/capguard/capguard/ipc"
	"github.com/capguard/capguard/native"
	"github.com/capguard/capguard/native/sim"
	"github.com/capguard/capguard/policy"
)

// stepUpObligation is what a capguard.json rule or a Rego policy attaches
// to an allowed call: a biometric authentication at most a minute old.
var stepUpObligation = policy.Obligation{Type: policy.ObligationBiometric, MaxAgeS: 60, Reason: "Unlock your vault"}

// authenticateRejection is what the biometric plugin's own authenticate
// command rejects with when the simulated device answers outcome: the
// value a failed step-up must give the page too.
func authenticateRejection(t testing.TB, outcome sim.Outcome) string {
	t.Helper()
	cfg := sim.Ready()
	cfg.Script = []sim.Step{{Outcome: outcome}}
	err := biometric.New(sim.New(cfg)).Authenticate(context.Background(), "Unlock your vault", biometric.AuthOptions{})
	if err == nil {
		t.Fatalf("authenticate succeeded with outcome %s", outcome)
	}
	return string(ipc.RejectValue(err))
}

// marshalErr is an error that chooses its JSON value.
type marshalErr struct{ raw string }

func (e marshalErr) Error() string                { return "marshal error" }
func (e marshalErr) MarshalJSON() ([]byte, error) { return []byte(e.raw), nil }

// TestGuardObligationRejection: a call refused because its biometric
// step-up failed rejects with the biometric error object, as authenticate
// does, while the Go error still matches ErrNotAllowed (and the biometric
// code); other refusals keep Tauri's string.
func TestGuardObligationRejection(t *testing.T) {
	res := resolveFiles(t)
	const denied = `"Command plugin:files|stat not allowed by ACL"`
	stepUp := func(outcome sim.Outcome) ipc.ObligationFunc {
		cfg := sim.Ready()
		cfg.Script = []sim.Step{{Outcome: outcome}}
		return biometric.NewStepUp(biometric.New(sim.New(cfg))).Meet
	}
	for _, tc := range []struct {
		name    string
		fn      ipc.ObligationFunc // nil: no handler for the obligation
		verbose bool
		want    string
		code    native.Code // "" when the error has no biometric code
	}{
		{"user cancels the step-up", stepUp(sim.UserCancel), false, authenticateRejection(t, sim.UserCancel), biometric.UserCancel},
		{"verbose: the same object", stepUp(sim.UserCancel), true, authenticateRejection(t, sim.UserCancel), biometric.UserCancel},
		{"biometry locked out", stepUp(sim.Lockout), false, authenticateRejection(t, sim.Lockout), biometric.BiometryLockout},
		{"an obligation error without a JSON value", func(context.Context, *ipc.Invocation, policy.Obligation) error {
			return errors.New("the user is away")
		}, false, denied, ""},
		{"a JSON value that is not JSON", func(context.Context, *ipc.Invocation, policy.Obligation) error {
			return marshalErr{`{"code":`}
		}, false, denied, ""},
		{"no handler for the obligation", nil, false, denied, ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			r, recs := filesRouter(t)
			opts := []ipc.GuardOption{}
			if tc.fn != nil {
				opts = append(opts, ipc.WithObligation(policy.ObligationBiometric, tc.fn))
			}
			if tc.verbose {
				opts = append(opts, ipc.Verbose())
			}
			g := r.Guard(obligingEngine{compile(t, res), []policy.Obligation{stepUpObligation}}, opts...)
			_, err := g.Invoke(context.Background(), &ipc.Invocation{Origin: acl.LocalOrigin, Command: "plugin:files|stat", Window: "main"})
			if !errors.Is(err, ipc.ErrNotAllowed) || !errors.Is(err, ipc.ErrObligation) {
				t.Fatalf("got %v, want a denial for an obligation", err)
			}
			if tc.code != "" && !errors.Is(err, tc.code) {
				t.Errorf("%v does not match %s", err, tc.code)
			}
			if got := string(ipc.RejectValue(err)); got != tc.want {
				t.Errorf("the page gets %s, want %s", got, tc.want)
			}
			if b, merr := json.Marshal(err); merr != nil || string(b) != tc.want {
				t.Errorf("json.Marshal of the error: %s, %v", b, merr)
			}
			if len(recs["stat"].calls) != 0 {
				t.Error("the handler ran")
			}
		})
	}
	// The rejection object carries the code the page branches on.
	if want := authenticateRejection(t, sim.UserCancel); !strings.Contains(want, `"code":"userCancel"`) || !strings.Contains(want, `"message":`) {
		t.Errorf("authenticate rejects with %s", want)
	}
}

// TestBridgeStepUpRejection: over the HTTP bridge, a call whose step-up is
// cancelled gets Tauri's error response with the biometric error object,
// and its handler does not run; once the user is recognized, the call runs.
func TestBridgeStepUpRejection(t *testing.T) {
	res := resolveFiles(t)
	cfg := sim.Ready()
	cfg.Script = []sim.Step{{Outcome: sim.UserCancel}, {Outcome: sim.Match}}
	dev := sim.New(cfg)
	stepUp := biometric.NewStepUp(biometric.New(dev))
	h := &seen{}
	r := ipc.NewRouter()
	if err := r.HandlePlugin("files", "stat", h); err != nil {
		t.Fatal(err)
	}
	g := r.Guard(obligingEngine{compile(t, res), []policy.Obligation{stepUpObligation}},
		ipc.WithScopes(res), ipc.WithObligation(policy.ObligationBiometric, stepUp.Meet))
	b, err := ipc.NewBridge(g, ipc.BridgeConfig{URL: bridgeURL, LocalOrigins: []string{mainOrigin}})
	if err != nil {
		t.Fatal(err)
	}
	page, err := b.Bind(ipc.Binding{Window: "main", Origin: mainOrigin})
	if err != nil {
		t.Fatal(err)
	}
	a := serve(b, call(t, page, mainOrigin, "plugin:files|stat", `{"secret":"x"}`))
	if a.status != http.StatusOK || a.response != "error" || a.ctype != "application/json" || a.body != authenticateRejection(t, sim.UserCancel) {
		t.Fatalf("cancelled step-up: %d %s %s %s", a.status, a.response, a.ctype, a.body)
	}
	var obj struct {
		Message string `json:"message"`
		Code    string `json:"code"`
	}
	if err := json.Unmarshal([]byte(a.body), &obj); err != nil || obj.Code != "userCancel" || obj.Message == "" {
		t.Errorf("rejection %s: %+v, %v", a.body, obj, err)
	}
	if h.count() != 0 {
		t.Fatal("the handler ran after a cancelled step-up")
	}
	a = serve(b, call(t, page, mainOrigin, "plugin:files|stat", `{}`))
	if a.status != http.StatusOK || a.response != "ok" || h.count() != 1 {
		t.Fatalf("recognized: %d %s %s (handler ran %d times)", a.status, a.response, a.body, h.count())
	}
	if n := dev.Count(sim.MethodAuthenticate); n != 2 {
		t.Errorf("the device prompted %d times, want 2", n)
	}
	for _, c := range dev.Calls() {
		if c.Method == sim.MethodAuthenticate && c.Prompt.Reason != "Unlock your vault" {
			t.Errorf("prompt %+v", c.Prompt)
		}
	}
}
