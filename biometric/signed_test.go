package biometric_test

import (
	"context"
	"errors"
	"sync"
	"testing"
	"time"

	"github.com/capguard/capguard/acl"
	"github.com/capguard/capguard/biometric"
	"github.com/capguard/capguard/ipc"
	"github.com/capguard/capguard/native"
	"github.com/capguard/capguard/native/sim"
	"github.com/capguard/capguard/policy"
)

func signed(reason string) policy.Obligation {
	return policy.Obligation{Type: policy.ObligationBiometric, Reason: reason, Binding: policy.BindingSigned}
}

// enrolled returns a StepUp on a simulated device whose step-up key is
// enrolled, and the events it reports.
func enrolled(t *testing.T, shim native.Shim, opts ...biometric.StepUpOption) (*biometric.StepUp, *[]biometric.StepUpEvent) {
	t.Helper()
	var mu sync.Mutex
	events := &[]biometric.StepUpEvent{}
	opts = append(opts, biometric.OnStepUp(func(ev biometric.StepUpEvent) {
		mu.Lock()
		*events = append(*events, ev)
		mu.Unlock()
	}))
	s := biometric.NewStepUp(biometric.New(shim), opts...)
	if _, err := s.EnrollKey(context.Background()); err != nil {
		t.Fatal(err)
	}
	return s, events
}

func TestSignedStepUp(t *testing.T) {
	ctx := context.Background()
	dev := sim.New(sim.Ready())
	s, events := enrolled(t, dev)
	inv := call("main", "main", acl.LocalOrigin)
	for i := range 2 {
		if err := s.Meet(ctx, inv, signed("Delete your account")); err != nil {
			t.Fatalf("call %d: %v", i, err)
		}
	}
	// A signed obligation is never remembered: one signature per call.
	if n := dev.Count(sim.MethodSign); n != 2 {
		t.Errorf("%d signatures for 2 calls", n)
	}
	if n := dev.Count(sim.MethodAuthenticate); n != 0 {
		t.Errorf("a signed obligation ran %d event-bound prompts", n)
	}
	for _, ev := range *events {
		if ev.Outcome != biometric.StepUpSigned || ev.Binding != policy.BindingSigned {
			t.Errorf("event %+v, want a signed grant", ev)
		}
	}
	calls := dev.Calls()
	if last := calls[len(calls)-1]; last.Method != sim.MethodSign || last.Prompt.Reason != "Delete your account" || last.Prompt.AllowDeviceCredential {
		t.Errorf("the prompt %+v does not show the obligation's reason, or offers the device credential", last.Prompt)
	}
}

// The simulator's hooked success passes an event-bound obligation but
// never a signed one (OWASP MASTG-TEST-0327: event-bound biometric
// authentication).
func TestSignedStepUpRefusesAHookedSuccess(t *testing.T) {
	ctx := context.Background()
	dev := sim.New(sim.Ready())
	s, events := enrolled(t, dev)
	inv := call("main", "main", acl.LocalOrigin)
	dev.Push(sim.Step{Outcome: sim.HookedSuccess})
	if err := s.Meet(ctx, inv, bio(0, "Event-bound")); err != nil {
		t.Fatalf("the event-bound obligation should be fooled by a hooked success: %v", err)
	}
	dev.Push(sim.Step{Outcome: sim.HookedSuccess})
	err := s.Meet(ctx, inv, signed("Signed"))
	if !errors.Is(err, biometric.InvalidSignature) {
		t.Fatalf("a hooked success met a signed obligation: %v", err)
	}
	last := (*events)[len(*events)-1]
	if last.Outcome != biometric.StepUpFailed || last.Binding != policy.BindingSigned || !errors.Is(last.Err, biometric.InvalidSignature) {
		t.Errorf("the refusal was reported as %+v", last)
	}
}

// lying shims: each answers Sign with something other than a signature of
// the challenge it was given.
type replayShim struct {
	*sim.Sim
	mu   sync.Mutex
	last []byte
}

func (r *replayShim) Sign(ctx context.Context, p native.Prompt, challenge []byte) ([]byte, error) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.last != nil {
		return r.last, nil // the signature of an earlier call
	}
	sig, err := r.Sim.Sign(ctx, p, challenge)
	r.last = sig
	return sig, err
}

type otherCallShim struct {
	*sim.Sim
	other []byte
}

func (o *otherCallShim) Sign(ctx context.Context, p native.Prompt, _ []byte) ([]byte, error) {
	return o.Sim.Sign(ctx, p, o.other) // a real signature, of another message
}

type silentShim struct{ *sim.Sim }

func (silentShim) Sign(context.Context, native.Prompt, []byte) ([]byte, error) { return nil, nil }

func TestSignedStepUpRefusesLyingDevices(t *testing.T) {
	ctx := context.Background()
	inv := call("main", "main", acl.LocalOrigin)
	t.Run("replayed signature", func(t *testing.T) {
		s, _ := enrolled(t, &replayShim{Sim: sim.New(sim.Ready())})
		if err := s.Meet(ctx, inv, signed("r")); err != nil {
			t.Fatalf("first call: %v", err)
		}
		if err := s.Meet(ctx, inv, signed("r")); !errors.Is(err, biometric.InvalidSignature) {
			t.Fatalf("a replayed signature: %v", err)
		}
	})
	t.Run("signature of another message", func(t *testing.T) {
		s, _ := enrolled(t, &otherCallShim{Sim: sim.New(sim.Ready()), other: []byte("capguard-stepup-v1\x00forged")})
		if err := s.Meet(ctx, inv, signed("r")); !errors.Is(err, biometric.InvalidSignature) {
			t.Fatalf("a signature of another message: %v", err)
		}
	})
	t.Run("success without a signature", func(t *testing.T) {
		s, _ := enrolled(t, silentShim{sim.New(sim.Ready())})
		if err := s.Meet(ctx, inv, signed("r")); !errors.Is(err, biometric.InvalidSignature) {
			t.Fatalf("no signature: %v", err)
		}
	})
	t.Run("no key registered", func(t *testing.T) {
		s := biometric.NewStepUp(biometric.New(sim.New(sim.Ready())))
		if err := s.Meet(ctx, inv, signed("r")); !errors.Is(err, biometric.InvalidSignature) {
			t.Fatalf("without a registered key: %v", err)
		}
	})
	t.Run("a key that is not the registered one", func(t *testing.T) {
		dev := sim.New(sim.Ready())
		s, _ := enrolled(t, dev)
		other := sim.New(sim.Ready())
		der, err := other.StepUpKey(ctx, true)
		if err != nil {
			t.Fatal(err)
		}
		if err := s.RegisterKey(der); err != nil {
			t.Fatal(err)
		}
		if err := s.Meet(ctx, inv, signed("r")); !errors.Is(err, biometric.InvalidSignature) {
			t.Fatalf("a signature by an unregistered key: %v", err)
		}
	})
	t.Run("a device without a step-up key", func(t *testing.T) {
		s := biometric.NewStepUp(biometric.New(authOnly{sim.New(sim.Ready())}))
		if _, err := s.EnrollKey(ctx); !errors.Is(err, biometric.BiometryNotAvailable) {
			t.Fatalf("EnrollKey on a device that cannot sign: %v", err)
		}
		if err := s.Meet(ctx, inv, signed("r")); err == nil {
			t.Fatal("a device that cannot sign met a signed obligation")
		}
	})
}

// authOnly is a device that only authenticates.
type authOnly struct{ s *sim.Sim }

func (a authOnly) Status(ctx context.Context) (native.Status, error) { return a.s.Status(ctx) }
func (a authOnly) Authenticate(ctx context.Context, p native.Prompt) error {
	return a.s.Authenticate(ctx, p)
}

// A challenge binds command, arguments, window, webview and origin; it is
// accepted once and before its expiry.
func TestChallengeBinding(t *testing.T) {
	ctx := context.Background()
	clk := newClock()
	dev := sim.New(sim.Ready())
	s, _ := enrolled(t, dev, biometric.WithClock(clk.now), biometric.WithChallengeTTL(time.Minute))
	base := &ipc.Invocation{Command: "delete_account", Window: "main", Webview: "main", Origin: acl.LocalOrigin, Args: []byte(`{"id":1}`)}
	sign := func(c biometric.Challenge) []byte {
		sig, err := dev.Sign(ctx, native.Prompt{Reason: "r"}, c.Bytes())
		if err != nil {
			t.Fatal(err)
		}
		return sig
	}
	c, err := s.Issue(base)
	if err != nil {
		t.Fatal(err)
	}
	sig := sign(c)
	for name, change := range map[string]func(*ipc.Invocation){
		"another command": func(i *ipc.Invocation) { i.Command = "open_vault" },
		"other arguments": func(i *ipc.Invocation) { i.Args = []byte(`{"id":2}`) },
		"another window":  func(i *ipc.Invocation) { i.Window = "settings" },
		"another webview": func(i *ipc.Invocation) { i.Webview = "settings" },
		"another origin":  func(i *ipc.Invocation) { i.Origin = acl.MustOrigin("https://evil.example") },
	} {
		t.Run(name, func(t *testing.T) {
			inv := *base
			change(&inv)
			other, err := s.Issue(&inv)
			if err != nil {
				t.Fatal(err)
			}
			if err := s.Verify(other, sig); !errors.Is(err, biometric.InvalidSignature) {
				t.Errorf("the signature of one call verified for %s: %v", name, err)
			}
		})
	}
	forged := c
	forged.Window = "settings"
	if err := s.Verify(forged, sig); !errors.Is(err, biometric.InvalidSignature) {
		t.Errorf("an altered challenge verified: %v", err)
	}
	// The altered challenge consumed the nonce: the genuine one is gone too.
	if err := s.Verify(c, sig); !errors.Is(err, biometric.InvalidSignature) {
		t.Errorf("a challenge verified after its nonce was used: %v", err)
	}
	c2, _ := s.Issue(base)
	sig2 := sign(c2)
	if err := s.Verify(c2, sig2); err != nil {
		t.Fatalf("a genuine signature: %v", err)
	}
	if err := s.Verify(c2, sig2); !errors.Is(err, biometric.InvalidSignature) {
		t.Errorf("a replay verified: %v", err)
	}
	c3, _ := s.Issue(base)
	sig3 := sign(c3)
	clk.advance(time.Minute)
	if err := s.Verify(c3, sig3); !errors.Is(err, biometric.InvalidSignature) {
		t.Errorf("an expired challenge verified: %v", err)
	}
}

// The pending challenges are bounded: a flood cannot grow the table, and
// expired ones make room.
func TestChallengesAreBounded(t *testing.T) {
	clk := newClock()
	s, _ := enrolled(t, sim.New(sim.Ready()), biometric.WithClock(clk.now), biometric.WithChallengeTTL(time.Minute))
	inv := call("main", "main", acl.LocalOrigin)
	for i := range biometric.MaxPendingChallenges {
		if _, err := s.Issue(inv); err != nil {
			t.Fatalf("challenge %d: %v", i, err)
		}
	}
	if _, err := s.Issue(inv); err == nil {
		t.Fatal("the table of pending challenges grew past its bound")
	}
	clk.advance(time.Minute)
	if _, err := s.Issue(inv); err != nil {
		t.Fatalf("expired challenges did not make room: %v", err)
	}
}

// A new biometric enrollment invalidates the step-up key (Android's
// setInvalidatedByBiometricEnrollment): the next signed call fails with
// dataNeedsReenrollment until the app enrolls a new key.
func TestSignedStepUpAfterEnrollmentChange(t *testing.T) {
	ctx := context.Background()
	dev := sim.New(sim.Ready())
	s, _ := enrolled(t, dev)
	inv := call("main", "main", acl.LocalOrigin)
	dev.Enroll()
	if err := s.Meet(ctx, inv, signed("r")); !errors.Is(err, biometric.DataNeedsReenrollment) {
		t.Fatalf("after an enrollment change: %v", err)
	}
	if _, err := s.EnrollKey(ctx); err != nil {
		t.Fatal(err)
	}
	if err := s.Meet(ctx, inv, signed("r")); err != nil {
		t.Fatalf("after a new key: %v", err)
	}
}

func TestSignedStepUpBehindTheGuard(t *testing.T) {
	res := exampleACL(t)
	engine, err := policy.Compile(res)
	if err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		name    string
		outcome sim.Outcome
		want    native.Code
	}{
		{"match runs the command", sim.Match, ""},
		{"hooked success is refused", sim.HookedSuccess, biometric.InvalidSignature},
		{"user cancel", sim.UserCancel, biometric.UserCancel},
	} {
		t.Run(tc.name, func(t *testing.T) {
			dev := sim.New(sim.Ready())
			s, _ := enrolled(t, dev)
			dev.Push(sim.Step{Outcome: tc.outcome})
			ran := 0
			var events []ipc.DecisionEvent
			r := ipc.NewRouter()
			_ = r.Handle("open_vault", ipc.HandlerFunc(func(context.Context, *ipc.Invocation) (any, error) { ran++; return "open", nil }))
			g := r.Guard(obligingEngine{engine, signed("Open the vault")},
				ipc.WithObligation(policy.ObligationBiometric, s.Meet),
				ipc.WithObserver(func(ev ipc.DecisionEvent) { events = append(events, ev) }))
			out, err := g.Invoke(context.Background(), &ipc.Invocation{Origin: acl.LocalOrigin, Command: "open_vault", Window: "main", Args: []byte(`{"pin":"1234"}`)})
			if tc.want == "" {
				if err != nil || string(out) != `"open"` || ran != 1 {
					t.Fatalf("got %s, %v, ran %d", out, err, ran)
				}
				return
			}
			if !errors.Is(err, ipc.ErrNotAllowed) || !errors.Is(err, tc.want) || ran != 0 {
				t.Fatalf("got %v (ran %d), want a denial with %s", err, ran, tc.want)
			}
			if len(events) != 1 || events[0].Allowed || !errors.Is(events[0].Obligations[0].Err, tc.want) {
				t.Errorf("the refusal was not observed: %+v", events)
			}
		})
	}
}

// Issue 25, item 4: a success remembered under one reason never meets an
// obligation with another reason, and a call made while another reason's
// prompt is showing gets its own prompt.
func TestStepUpRemembersPerReason(t *testing.T) {
	ctx := context.Background()
	dev := sim.New(sim.Ready())
	s := biometric.NewStepUp(biometric.New(dev))
	inv := call("main", "main", acl.LocalOrigin)
	if err := s.Meet(ctx, inv, bio(300, "Unlock your vault")); err != nil {
		t.Fatal(err)
	}
	if err := s.Meet(ctx, inv, bio(300, "Delete your account")); err != nil {
		t.Fatal(err)
	}
	if err := s.Meet(ctx, inv, bio(300, "Unlock your vault")); err != nil {
		t.Fatal(err)
	}
	var reasons []string
	for _, c := range dev.Calls() {
		if c.Method == sim.MethodAuthenticate {
			reasons = append(reasons, c.Prompt.Reason)
		}
	}
	if len(reasons) != 2 || reasons[0] != "Unlock your vault" || reasons[1] != "Delete your account" {
		t.Fatalf("prompts %q, want one per reason", reasons)
	}

	// While "Unlock" is showing, "Delete" waits for the device and shows
	// its own prompt.
	cfg := sim.Ready()
	started := make(chan string, 4)
	release := make(chan struct{})
	cfg.OnAttempt = func(p native.Prompt) {
		started <- p.Reason
		if p.Reason == "Unlock your vault" {
			<-release
		}
	}
	dev2 := sim.New(cfg)
	s2 := biometric.NewStepUp(biometric.New(dev2))
	errs := make(chan error, 2)
	go func() { errs <- s2.Meet(ctx, inv, bio(300, "Unlock your vault")) }()
	if r := <-started; r != "Unlock your vault" {
		t.Fatalf("first prompt %q", r)
	}
	go func() { errs <- s2.Meet(ctx, inv, bio(300, "Delete your account")) }()
	waitFor(t, "the second call to wait", func() bool { return s2.Waiting("main", "main", "local") == 2 })
	close(release)
	if r := <-started; r != "Delete your account" {
		t.Fatalf("second prompt %q, want its own reason", r)
	}
	for range 2 {
		if err := <-errs; err != nil {
			t.Fatal(err)
		}
	}
}
