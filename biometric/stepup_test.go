package biometric_test

import (
	"context"
	"errors"
	"runtime"
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

// clock is a settable clock: tests move it instead of sleeping.
type clock struct {
	mu sync.Mutex
	t  time.Time
}

func newClock() *clock { return &clock{t: time.Date(2026, 5, 4, 9, 30, 0, 0, time.UTC)} }

func (c *clock) now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.t
}

func (c *clock) advance(d time.Duration) {
	c.mu.Lock()
	c.t = c.t.Add(d)
	c.mu.Unlock()
}

func bio(maxAge int, reason string) policy.Obligation {
	return policy.Obligation{Type: policy.ObligationBiometric, MaxAgeS: maxAge, Reason: reason}
}

var remote = acl.MustOrigin("https://app.example.com/page")

func call(window, webview string, origin acl.Origin) *ipc.Invocation {
	return &ipc.Invocation{Command: "open_vault", Window: window, Webview: webview, Origin: origin}
}

// TestStepUpSequences plays sequences of obligations against a simulated
// device and a clock that the test moves: when a prompt is shown, when a
// remembered success is enough, and what a failure returns.
func TestStepUpSequences(t *testing.T) {
	type step struct {
		advance time.Duration
		inv     *ipc.Invocation
		o       policy.Obligation
		want    native.Code // "" for success
		prompts int         // prompts shown so far
	}
	main := call("main", "main", acl.LocalOrigin)
	for _, tc := range []struct {
		name   string
		script []sim.Outcome
		steps  []step
	}{
		{"max age 0 prompts on every call", nil, []step{
			{0, main, bio(0, ""), "", 1},
			{0, main, bio(0, ""), "", 2},
		}},
		{"a success is remembered within max age", nil, []step{
			{0, main, bio(300, ""), "", 1},
			{299 * time.Second, main, bio(300, ""), "", 1},
			{0, main, bio(300, ""), "", 1},
		}},
		{"a success expires at max age", nil, []step{
			{0, main, bio(300, ""), "", 1},
			{300 * time.Second, main, bio(300, ""), "", 2},
			{time.Second, main, bio(300, ""), "", 2},
		}},
		{"each obligation applies its own max age", nil, []step{
			{0, main, bio(600, ""), "", 1},
			{120 * time.Second, main, bio(60, ""), "", 2},
			{30 * time.Second, main, bio(600, ""), "", 2},
		}},
		{"a max age 0 success serves later obligations with a max age", nil, []step{
			{0, main, bio(0, ""), "", 1},
			{10 * time.Second, main, bio(60, ""), "", 1},
		}},
		{"remembered per window", nil, []step{
			{0, main, bio(300, ""), "", 1},
			{0, call("settings", "settings", acl.LocalOrigin), bio(300, ""), "", 2},
			{0, main, bio(300, ""), "", 2},
		}},
		{"remembered per webview", nil, []step{
			{0, main, bio(300, ""), "", 1},
			{0, call("main", "preview", acl.LocalOrigin), bio(300, ""), "", 2},
		}},
		{"remembered per origin", nil, []step{
			{0, main, bio(300, ""), "", 1},
			{0, call("main", "main", remote), bio(300, ""), "", 2},
			{0, call("main", "main", remote), bio(300, ""), "", 2},
		}},
		{"a cancelled prompt fails and is not remembered", []sim.Outcome{sim.UserCancel}, []step{
			{0, main, bio(300, ""), biometric.UserCancel, 1},
			{0, main, bio(300, ""), "", 2},
			{0, main, bio(300, ""), "", 2},
		}},
		{"unrecognized samples fail with authenticationFailed", []sim.Outcome{sim.NoMatch, sim.NoMatch, sim.NoMatch}, []step{
			{0, main, bio(300, ""), biometric.AuthenticationFailed, 3},
		}},
		{"a lockout fails with biometryLockout", []sim.Outcome{sim.Lockout}, []step{
			{0, main, bio(300, ""), biometric.BiometryLockout, 1},
		}},
		{"a clock that went back does not count as recent", nil, []step{
			{0, main, bio(300, ""), "", 1},
			{-time.Minute, main, bio(300, ""), "", 2},
		}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			cfg := sim.Ready()
			cfg.Script = steps(tc.script...)
			dev := sim.New(cfg)
			clk := newClock()
			s := biometric.NewStepUp(biometric.New(dev), biometric.WithClock(clk.now))
			for i, st := range tc.steps {
				clk.advance(st.advance)
				err := s.Meet(context.Background(), st.inv, st.o)
				switch {
				case st.want == "" && err != nil:
					t.Fatalf("step %d: %v", i, err)
				case st.want != "" && !errors.Is(err, st.want):
					t.Fatalf("step %d: got %v, want %s", i, err, st.want)
				}
				if n := dev.Count(sim.MethodAuthenticate); n != st.prompts {
					t.Fatalf("step %d: %d prompts, want %d", i, n, st.prompts)
				}
			}
		})
	}
}

func TestStepUpReason(t *testing.T) {
	for _, tc := range []struct {
		name, reason, want string
	}{
		{"the obligation's reason", "Unlock your vault", "Unlock your vault"},
		{"the default reason", "", biometric.DefaultObligationReason},
	} {
		t.Run(tc.name, func(t *testing.T) {
			dev := sim.New(sim.Ready())
			s := biometric.NewStepUp(biometric.New(dev))
			if err := s.Meet(context.Background(), call("main", "main", acl.LocalOrigin), bio(0, tc.reason)); err != nil {
				t.Fatal(err)
			}
			calls := dev.Calls()
			last := calls[len(calls)-1]
			if last.Method != sim.MethodAuthenticate || last.Prompt.Reason != tc.want {
				t.Errorf("prompt %+v, want reason %q", last, tc.want)
			}
		})
	}
}

func TestStepUpRefusesWhatItCannotMeet(t *testing.T) {
	dev := sim.New(sim.Ready())
	s := biometric.NewStepUp(biometric.New(dev))
	if err := s.Meet(context.Background(), call("main", "main", acl.LocalOrigin), policy.Obligation{Type: "totp"}); !errors.Is(err, biometric.ErrObligationType) {
		t.Errorf("totp obligation: %v", err)
	}
	if err := s.Meet(context.Background(), nil, bio(0, "")); err == nil {
		t.Error("nil invocation met")
	}
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if err := s.Meet(ctx, call("main", "main", acl.LocalOrigin), bio(60, "")); !errors.Is(err, biometric.AppCancel) {
		t.Errorf("cancelled context: %v", err)
	}
	if n := dev.Count(sim.MethodAuthenticate); n != 0 {
		t.Errorf("%d prompts, want none", n)
	}
}

// gate holds the simulated prompt open until the test releases it.
type gate struct {
	started chan struct{}
	release chan struct{}
	once    sync.Once
}

func newGate() *gate { return &gate{started: make(chan struct{}, 16), release: make(chan struct{})} }

func (g *gate) hook(native.Prompt) {
	g.started <- struct{}{}
	<-g.release
}

func (g *gate) open() { g.once.Do(func() { close(g.release) }) }

// waitFor spins until cond holds; the test's own timeout bounds it.
func waitFor(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		runtime.Gosched()
	}
}

func TestStepUpConcurrentCallsShareOnePrompt(t *testing.T) {
	for _, tc := range []struct {
		name    string
		outcome sim.Outcome
		want    native.Code
	}{
		{"success", sim.Match, ""},
		{"cancel fails them all", sim.UserCancel, biometric.UserCancel},
	} {
		t.Run(tc.name, func(t *testing.T) {
			g := newGate()
			cfg := sim.Ready()
			cfg.Script = steps(tc.outcome)
			cfg.OnAttempt = g.hook
			dev := sim.New(cfg)
			var mu sync.Mutex
			outcomes := map[biometric.StepUpOutcome]int{}
			s := biometric.NewStepUp(biometric.New(dev), biometric.OnStepUp(func(ev biometric.StepUpEvent) {
				mu.Lock()
				outcomes[ev.Outcome]++
				mu.Unlock()
			}))
			const n = 8
			errs := make(chan error, n)
			meet := func() { errs <- s.Meet(context.Background(), call("main", "main", acl.LocalOrigin), bio(60, "Unlock")) }
			go meet()
			<-g.started // the first call's prompt is showing
			for i := 1; i < n; i++ {
				go meet()
			}
			waitFor(t, "all calls to join the prompt", func() bool { return s.Waiting("main", "main", "local") == n })
			g.open()
			for i := 0; i < n; i++ {
				err := <-errs
				if (tc.want == "" && err != nil) || (tc.want != "" && !errors.Is(err, tc.want)) {
					t.Errorf("call: %v, want %q", err, tc.want)
				}
			}
			if p := dev.Count(sim.MethodAuthenticate); p != 1 {
				t.Errorf("%d prompts, want 1", p)
			}
			if tc.want == "" && (outcomes[biometric.StepUpPrompted] != 1 || outcomes[biometric.StepUpShared] != n-1) {
				t.Errorf("outcomes %v", outcomes)
			}
			if tc.want != "" && outcomes[biometric.StepUpFailed] != n {
				t.Errorf("outcomes %v", outcomes)
			}
		})
	}
}

// TestStepUpMaxAgeZeroDoesNotShare: calls whose obligation asks for an
// authentication of their own each get a prompt, one after the other.
func TestStepUpMaxAgeZeroDoesNotShare(t *testing.T) {
	g := newGate()
	cfg := sim.Ready()
	cfg.OnAttempt = g.hook
	dev := sim.New(cfg)
	s := biometric.NewStepUp(biometric.New(dev))
	errs := make(chan error, 2)
	for range 2 {
		go func() { errs <- s.Meet(context.Background(), call("main", "main", acl.LocalOrigin), bio(0, "")) }()
	}
	<-g.started
	g.open()
	for range 2 {
		if err := <-errs; err != nil {
			t.Error(err)
		}
	}
	if p := dev.Count(sim.MethodAuthenticate); p != 2 {
		t.Errorf("%d prompts, want 2", p)
	}
	if dev.MaxConcurrent() != 1 {
		t.Errorf("%d prompts showed at once", dev.MaxConcurrent())
	}
}

// TestStepUpFirstCallerGivesUp: the call that opened the prompt goes
// away; the prompt stays for the calls still waiting, which succeed.
func TestStepUpFirstCallerGivesUp(t *testing.T) {
	g := newGate()
	cfg := sim.Ready()
	cfg.OnAttempt = g.hook
	dev := sim.New(cfg)
	s := biometric.NewStepUp(biometric.New(dev))
	ctx, cancel := context.WithCancel(context.Background())
	first := make(chan error, 1)
	go func() { first <- s.Meet(ctx, call("main", "main", acl.LocalOrigin), bio(60, "")) }()
	<-g.started
	second := make(chan error, 1)
	go func() { second <- s.Meet(context.Background(), call("main", "main", acl.LocalOrigin), bio(60, "")) }()
	waitFor(t, "the second call to join", func() bool { return s.Waiting("main", "main", "local") == 2 })
	cancel()
	if err := <-first; !errors.Is(err, biometric.AppCancel) {
		t.Errorf("first call: %v, want appCancel", err)
	}
	g.open()
	if err := <-second; err != nil {
		t.Errorf("second call: %v", err)
	}
	if p := dev.Count(sim.MethodAuthenticate); p != 1 {
		t.Errorf("%d prompts, want 1", p)
	}
}

// TestStepUpEveryCallerGivesUp: when no call waits any more the prompt is
// dismissed, and a later call gets a prompt of its own.
func TestStepUpEveryCallerGivesUp(t *testing.T) {
	cfg := sim.Ready()
	cfg.Script = steps(sim.Hang)
	showing := make(chan struct{}, 4)
	cfg.OnAttempt = func(native.Prompt) { showing <- struct{}{} }
	dev := sim.New(cfg)
	s := biometric.NewStepUp(biometric.New(dev))
	ctx, cancel := context.WithCancel(context.Background())
	errs := make(chan error, 2)
	go func() { errs <- s.Meet(ctx, call("main", "main", acl.LocalOrigin), bio(60, "")) }()
	<-showing
	go func() { errs <- s.Meet(ctx, call("main", "main", acl.LocalOrigin), bio(60, "")) }()
	waitFor(t, "the second call to join", func() bool { return s.Waiting("main", "main", "local") == 2 })
	cancel()
	for range 2 {
		if err := <-errs; !errors.Is(err, biometric.AppCancel) {
			t.Errorf("got %v, want appCancel", err)
		}
	}
	waitFor(t, "the prompt to be dismissed", func() bool { return dev.Active() == 0 })
	calls := dev.Calls()
	if last := calls[len(calls)-1]; last.Code != native.AppCancel {
		t.Errorf("the hanging prompt ended with %q, want appCancel", last.Code)
	}
	if err := s.Meet(context.Background(), call("main", "main", acl.LocalOrigin), bio(60, "")); err != nil {
		t.Errorf("next call: %v", err)
	}
	if p := dev.Count(sim.MethodAuthenticate); p != 2 {
		t.Errorf("%d prompts, want 2", p)
	}
}

func TestStepUpMemoryIsBounded(t *testing.T) {
	dev := sim.New(sim.Ready())
	clk := newClock()
	s := biometric.NewStepUp(biometric.New(dev), biometric.WithClock(clk.now), biometric.WithEntries(2))
	windows := []string{"w1", "w2", "w3", "w4", "w5"}
	for _, w := range windows {
		clk.advance(time.Second)
		if err := s.Meet(context.Background(), call(w, w, acl.LocalOrigin), bio(60, "")); err != nil {
			t.Fatal(err)
		}
	}
	if n := s.Remembered(); n != 2 {
		t.Fatalf("%d callers remembered, want 2", n)
	}
	// The most recent callers are kept, the oldest forgotten.
	prompts := dev.Count(sim.MethodAuthenticate)
	for _, tc := range []struct {
		window string
		prompt bool
	}{{"w5", false}, {"w4", false}, {"w1", true}} {
		if err := s.Meet(context.Background(), call(tc.window, tc.window, acl.LocalOrigin), bio(60, "")); err != nil {
			t.Fatal(err)
		}
		if p := dev.Count(sim.MethodAuthenticate); (p > prompts) != tc.prompt {
			t.Errorf("%s: prompted=%v, want %v", tc.window, p > prompts, tc.prompt)
		}
		prompts = dev.Count(sim.MethodAuthenticate)
	}
	// Expired successes go first: after the longest max age, one new
	// success leaves only itself.
	clk.advance(61 * time.Second)
	if err := s.Meet(context.Background(), call("w9", "w9", acl.LocalOrigin), bio(60, "")); err != nil {
		t.Fatal(err)
	}
	if err := s.Meet(context.Background(), call("w8", "w8", acl.LocalOrigin), bio(60, "")); err != nil {
		t.Fatal(err)
	}
	if n := s.Remembered(); n != 2 {
		t.Errorf("%d callers remembered, want 2", n)
	}
	s.Forget()
	if n := s.Remembered(); n != 0 {
		t.Errorf("%d callers remembered after Forget", n)
	}
}

// TestStepUpBehindTheGuard: through the guard, a failed authentication
// denies the call with the biometric error and the handler never runs; a
// success runs it once.
func TestStepUpBehindTheGuard(t *testing.T) {
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
		{"user cancel", sim.UserCancel, biometric.UserCancel},
		{"system cancel", sim.SystemCancel, biometric.SystemCancel},
		{"fallback", sim.Fallback, biometric.UserFallback},
		{"lockout", sim.Lockout, biometric.BiometryLockout},
	} {
		t.Run(tc.name, func(t *testing.T) {
			cfg := sim.Ready()
			cfg.Script = steps(tc.outcome)
			dev := sim.New(cfg)
			s := biometric.NewStepUp(biometric.New(dev))
			ran := 0
			var events []ipc.DecisionEvent
			r := ipc.NewRouter()
			_ = r.Handle("open_vault", ipc.HandlerFunc(func(context.Context, *ipc.Invocation) (any, error) { ran++; return "open", nil }))
			g := r.Guard(obligingEngine{engine, bio(300, "Unlock your vault")},
				ipc.WithObligation(policy.ObligationBiometric, s.Meet),
				ipc.WithObserver(func(ev ipc.DecisionEvent) { events = append(events, ev) }))
			out, err := g.Invoke(context.Background(), &ipc.Invocation{Origin: acl.LocalOrigin, Command: "open_vault", Window: "main", Args: []byte(`{"pin":"1234"}`)})
			if len(events) != 1 || len(events[0].Obligations) != 1 {
				t.Fatalf("events %+v", events)
			}
			ob := events[0].Obligations[0]
			if tc.want == "" {
				if err != nil || string(out) != `"open"` || ran != 1 || !events[0].Allowed || ob.Err != nil {
					t.Errorf("got %s, %v, ran %d, event %+v", out, err, ran, events[0])
				}
				return
			}
			if !errors.Is(err, ipc.ErrNotAllowed) || !errors.Is(err, tc.want) || !errors.Is(err, ipc.ErrObligation) {
				t.Errorf("got %v, want a denial with %s", err, tc.want)
			}
			if ran != 0 {
				t.Errorf("the handler ran %d times", ran)
			}
			if events[0].Allowed || !errors.Is(ob.Err, tc.want) {
				t.Errorf("event %+v", events[0])
			}
		})
	}
}
