package sim_test

import (
	"context"
	"errors"
	"sync"
	"testing"
	"time"

	"github.com/capguard/capguard/native"
	"github.com/capguard/capguard/native/sim"
)

func prompt() native.Prompt {
	return native.Prompt{Reason: "Open the vault", Attempt: 1, MaxAttempts: 3, ConfirmationRequired: true}
}

func TestScriptedOutcomes(t *testing.T) {
	for _, tc := range []struct {
		outcome sim.Outcome
		code    native.Code // "" for success
	}{
		{sim.Match, ""},
		{sim.NoMatch, native.AuthenticationFailed},
		{sim.UserCancel, native.UserCancel},
		{sim.SystemCancel, native.SystemCancel},
		{sim.Lockout, native.BiometryLockout},
		{sim.Timeout, native.SystemCancel},
		{sim.Fallback, native.UserFallback},
	} {
		t.Run(string(tc.outcome), func(t *testing.T) {
			cfg := sim.Ready()
			cfg.Script = []sim.Step{{Outcome: tc.outcome}}
			s := sim.New(cfg)
			err := s.Authenticate(context.Background(), prompt())
			code, _ := native.CodeOf(err)
			if code != tc.code || (tc.code == "") != (err == nil) {
				t.Fatalf("got %v (code %q), want code %q", err, code, tc.code)
			}
			if err != nil && (err.(*native.Error)).Message == "" {
				t.Error("the error has no message")
			}
			calls := s.Calls()
			if len(calls) != 1 || calls[0].Method != sim.MethodAuthenticate || calls[0].Outcome != tc.outcome || calls[0].Code != tc.code {
				t.Errorf("log = %+v", calls)
			}
			if calls[0].Prompt.Reason != "Open the vault" {
				t.Errorf("logged prompt = %+v", calls[0].Prompt)
			}
			// The queue is used up: the default answers next.
			if err := s.Authenticate(context.Background(), prompt()); err != nil {
				t.Errorf("default outcome: %v", err)
			}
		})
	}
}

func TestQueueOrderAndDefault(t *testing.T) {
	cfg := sim.Ready()
	cfg.Default = sim.UserCancel
	cfg.Script = []sim.Step{{Outcome: sim.NoMatch}, {Outcome: sim.Match}}
	s := sim.New(cfg)
	s.Push(sim.Step{Outcome: sim.Fallback})
	if s.Pending() != 3 {
		t.Fatalf("Pending = %d", s.Pending())
	}
	want := []native.Code{native.AuthenticationFailed, "", native.UserFallback, native.UserCancel, native.UserCancel}
	for i, w := range want {
		err := s.Authenticate(context.Background(), prompt())
		if got, _ := native.CodeOf(err); got != w || (w == "") != (err == nil) {
			t.Errorf("attempt %d: got %v, want %q", i+1, err, w)
		}
	}
	if s.Pending() != 0 || s.Count(sim.MethodAuthenticate) != len(want) {
		t.Errorf("Pending = %d, Count = %d", s.Pending(), s.Count(sim.MethodAuthenticate))
	}
}

func TestConfigIsCopied(t *testing.T) {
	cfg := sim.Ready()
	cfg.Script = []sim.Step{{Outcome: sim.UserCancel}}
	s := sim.New(cfg)
	cfg.Script[0].Outcome = sim.Match
	if err := s.Authenticate(context.Background(), prompt()); !errors.Is(err, native.UserCancel) {
		t.Errorf("changing the caller's Script changed the simulator: %v", err)
	}
}

type clock struct {
	mu  sync.Mutex
	now time.Time
}

func (c *clock) Now() time.Time      { c.mu.Lock(); defer c.mu.Unlock(); return c.now }
func (c *clock) Add(d time.Duration) { c.mu.Lock(); c.now = c.now.Add(d); c.mu.Unlock() }

func TestLockoutAfterFailures(t *testing.T) {
	clk := &clock{now: time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)}
	cfg := sim.Ready()
	cfg.Default = sim.NoMatch
	cfg.LockoutAfter = 3
	cfg.LockoutFor = 30 * time.Second
	cfg.Now = clk.Now
	s := sim.New(cfg)
	ctx := context.Background()
	for i := 0; i < 3; i++ {
		if err := s.Authenticate(ctx, prompt()); !errors.Is(err, native.AuthenticationFailed) {
			t.Fatalf("failure %d: %v", i+1, err)
		}
	}
	st, _ := s.Status(ctx)
	if !st.LockedOut {
		t.Fatal("not locked out after 3 failures")
	}
	if err := s.Authenticate(ctx, prompt()); !errors.Is(err, native.BiometryLockout) {
		t.Fatalf("locked device: %v", err)
	}
	// The refused attempt did not consume a scripted outcome.
	if c := s.Calls(); c[len(c)-1].Outcome != "" {
		t.Errorf("refused attempt consumed outcome %q", c[len(c)-1].Outcome)
	}
	clk.Add(29 * time.Second)
	if st, _ := s.Status(ctx); !st.LockedOut {
		t.Fatal("lockout ended early")
	}
	clk.Add(time.Second)
	if st, _ := s.Status(ctx); st.LockedOut {
		t.Fatal("lockout did not end after 30s")
	}
	s.Push(sim.Step{Outcome: sim.Match})
	if err := s.Authenticate(ctx, prompt()); err != nil {
		t.Fatalf("after the lockout: %v", err)
	}
}

func TestLockoutUntilUnlockAndDeviceCredential(t *testing.T) {
	cfg := sim.Ready()
	cfg.Script = []sim.Step{{Outcome: sim.NoMatch}}
	cfg.LockoutAfter = 1 // LockoutFor 0: until Unlock or a passcode
	s := sim.New(cfg)
	ctx := context.Background()
	_ = s.Authenticate(ctx, prompt())
	if err := s.Authenticate(ctx, prompt()); !errors.Is(err, native.BiometryLockout) {
		t.Fatalf("want lockout, got %v", err)
	}
	// The device credential gets past the lockout, and its match ends it.
	p := prompt()
	p.AllowDeviceCredential = true
	if err := s.Authenticate(ctx, p); err != nil {
		t.Fatalf("device credential: %v", err)
	}
	if err := s.Authenticate(ctx, prompt()); err != nil {
		t.Fatalf("a passcode match should end the lockout: %v", err)
	}
	s.Push(sim.Step{Outcome: sim.NoMatch})
	_ = s.Authenticate(ctx, prompt())
	s.Unlock()
	if err := s.Authenticate(ctx, prompt()); err != nil {
		t.Fatalf("after Unlock: %v", err)
	}
}

func TestScriptedLockoutLocks(t *testing.T) {
	clk := &clock{now: time.Unix(0, 0)}
	cfg := sim.Ready()
	cfg.Script = []sim.Step{{Outcome: sim.Lockout}}
	cfg.LockoutFor = time.Minute
	cfg.Now = clk.Now
	s := sim.New(cfg)
	ctx := context.Background()
	_ = s.Authenticate(ctx, prompt())
	if err := s.Authenticate(ctx, prompt()); !errors.Is(err, native.BiometryLockout) {
		t.Fatalf("want the lockout to last, got %v", err)
	}
	clk.Add(time.Minute)
	if err := s.Authenticate(ctx, prompt()); err != nil {
		t.Fatalf("after a minute: %v", err)
	}
}

func TestRefusals(t *testing.T) {
	for _, tc := range []struct {
		name       string
		edit       func(*sim.Config)
		deviceCred bool
		want       native.Code
	}{
		{"no sensor", func(c *sim.Config) { c.Available = false }, false, native.BiometryNotAvailable},
		{"not enrolled", func(c *sim.Config) { c.Enrolled = false }, false, native.BiometryNotEnrolled},
		{"no sensor, passcode allowed", func(c *sim.Config) { c.Available = false }, true, ""},
		{"not enrolled, no passcode", func(c *sim.Config) { c.Enrolled, c.DeviceCredential = false, false }, true, native.PasscodeNotSet},
	} {
		t.Run(tc.name, func(t *testing.T) {
			cfg := sim.Ready()
			tc.edit(&cfg)
			s := sim.New(cfg)
			p := prompt()
			p.AllowDeviceCredential = tc.deviceCred
			err := s.Authenticate(context.Background(), p)
			if got, _ := native.CodeOf(err); got != tc.want || (tc.want == "") != (err == nil) {
				t.Errorf("got %v, want %q", err, tc.want)
			}
		})
	}
}

func TestStatusReportsFactsAndIsLogged(t *testing.T) {
	cfg := sim.Config{Type: native.FaceID, Available: true, Enrolled: false, DeviceCredential: true}
	s := sim.New(cfg)
	st, err := s.Status(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	want := native.Status{Type: native.FaceID, Available: true, DeviceCredential: true}
	if st != want {
		t.Errorf("Status = %+v, want %+v", st, want)
	}
	if s.Count(sim.MethodStatus) != 1 || s.Count(sim.MethodAuthenticate) != 0 {
		t.Errorf("log = %+v", s.Calls())
	}
}

// TestOverlapIsDetected is the negative control of the serialization
// tests: two prompts at once are refused and counted.
func TestOverlapIsDetected(t *testing.T) {
	started := make(chan struct{}, 1)
	cfg := sim.Ready()
	cfg.Default = sim.Hang
	cfg.OnAttempt = func(native.Prompt) { started <- struct{}{} }
	s := sim.New(cfg)
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error)
	go func() { done <- s.Authenticate(ctx, prompt()) }()
	<-started
	err := s.Authenticate(context.Background(), prompt())
	if !errors.Is(err, native.SystemCancel) {
		t.Errorf("second prompt: %v, want systemCancel", err)
	}
	if s.MaxConcurrent() != 2 {
		t.Errorf("MaxConcurrent = %d, want 2", s.MaxConcurrent())
	}
	calls := s.Calls()
	if !calls[1].Overlap || calls[0].Overlap {
		t.Errorf("overlap flags: %+v", calls)
	}
	cancel()
	if err := <-done; !errors.Is(err, native.AppCancel) || !errors.Is(err, context.Canceled) {
		t.Errorf("hung prompt after cancel: %v", err)
	}
	if s.Active() != 0 {
		t.Errorf("Active = %d after both returned", s.Active())
	}
}

func TestCancelDuringLatency(t *testing.T) {
	cfg := sim.Ready()
	cfg.Latency = time.Hour
	started := make(chan struct{})
	cfg.OnAttempt = func(native.Prompt) { close(started) }
	s := sim.New(cfg)
	ctx, cancel := context.WithCancel(context.Background())
	go func() { <-started; cancel() }()
	err := s.Authenticate(ctx, prompt())
	if !errors.Is(err, native.AppCancel) {
		t.Fatalf("got %v", err)
	}
	if s.Active() != 0 {
		t.Error("prompt still active")
	}
	if c := s.Calls()[0]; c.Code != native.AppCancel || c.End.IsZero() {
		t.Errorf("log entry %+v", c)
	}
}

func TestStepLatencyOverrides(t *testing.T) {
	cfg := sim.Ready()
	cfg.Latency = time.Hour
	cfg.Script = []sim.Step{{Outcome: sim.Match, Latency: time.Millisecond}}
	s := sim.New(cfg)
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if err := s.Authenticate(ctx, prompt()); err != nil {
		t.Fatalf("the step's 1ms latency should win over the hour: %v", err)
	}
}

func TestUnknownOutcomeFailsClosed(t *testing.T) {
	cfg := sim.Ready()
	cfg.Script = []sim.Step{{Outcome: "mtach"}}
	err := sim.New(cfg).Authenticate(context.Background(), prompt())
	if !errors.Is(err, native.AuthenticationFailed) {
		t.Errorf("got %v", err)
	}
}

// TestLogLimit: the call log keeps the last LogLimit calls, in order,
// while Count keeps counting every call, and an attempt whose entry was
// forgotten while it was showing still returns its outcome.
func TestLogLimit(t *testing.T) {
	cfg := sim.Ready()
	cfg.LogLimit = 10
	release := make(chan struct{})
	started := make(chan struct{})
	cfg.OnAttempt = func(p native.Prompt) {
		if p.Reason == "slow" {
			close(started)
			<-release
		}
	}
	s := sim.New(cfg)
	done := make(chan error, 1)
	go func() { done <- s.Authenticate(context.Background(), native.Prompt{Reason: "slow"}) }()
	<-started
	ctx := context.Background()
	for i := range 100 {
		if _, err := s.Status(ctx); err != nil {
			t.Fatal(err)
		}
		if len(s.Calls()) > 10 {
			t.Fatalf("after %d calls the log holds %d entries, limit 10", i+2, len(s.Calls()))
		}
	}
	close(release)
	if err := <-done; err != nil {
		t.Fatalf("the attempt whose entry was forgotten: %v", err)
	}
	calls := s.Calls()
	if len(calls) != 10 || s.Forgotten() != 91 {
		t.Errorf("%d entries kept, %d forgotten; want 10 and 91", len(calls), s.Forgotten())
	}
	for _, c := range calls {
		if c.Method != sim.MethodStatus {
			t.Errorf("kept %+v, want only the last status calls", c)
		}
	}
	if s.Count(sim.MethodStatus) != 100 || s.Count(sim.MethodAuthenticate) != 1 {
		t.Errorf("Count: %d status, %d authenticate; want 100 and 1", s.Count(sim.MethodStatus), s.Count(sim.MethodAuthenticate))
	}
	// The default bound applies to a Config that sets none.
	d := sim.New(sim.Ready())
	for range sim.DefaultLogLimit + 5 {
		_, _ = d.Status(ctx)
	}
	if len(d.Calls()) != sim.DefaultLogLimit || d.Count(sim.MethodStatus) != sim.DefaultLogLimit+5 {
		t.Errorf("default limit: %d kept, %d counted", len(d.Calls()), d.Count(sim.MethodStatus))
	}
}
