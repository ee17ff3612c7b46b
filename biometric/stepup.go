package biometric

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"time"

	"github.com/capguard/capguard/ipc"
	"github.com/capguard/capguard/native"
	"github.com/capguard/capguard/policy"
)

// DefaultObligationReason is the prompt text of a biometric obligation
// that does not give one.
const DefaultObligationReason = "Confirm that it is you to continue."

// DefaultStepUpEntries is the number of callers (window, webview, origin)
// whose last success a StepUp remembers at most.
const DefaultStepUpEntries = 1024

// ErrObligationType is returned by StepUp.Meet for an obligation that is
// not policy.ObligationBiometric: the guard then denies the call.
var ErrObligationType = errors.New("biometric: not a biometric obligation")

// StepUp meets the biometric obligations of guarded calls (step-up
// authentication): before a call whose decision carries a
// policy.ObligationBiometric obligation runs, it prompts the user with the
// obligation's reason, and the call runs only if the user is recognized.
//
//   - A success is remembered per caller: window, webview and origin. An
//     obligation with MaxAgeS > 0 is met without a prompt by a success of
//     the same caller at most that many seconds old; MaxAgeS 0 prompts on
//     every call.
//   - Concurrent calls of one caller whose obligations have MaxAgeS > 0
//     share one prompt: the first one shows it, the others wait for its
//     result (the first caller's reason is the one shown). Each waiting
//     call can give up (its context ends) without dismissing the prompt
//     for the others; the prompt is dismissed when no caller waits for it.
//   - A failed or cancelled authentication fails every call that waited for
//     it with the biometric error (errors.Is(err, biometric.UserCancel),
//     ...): the guard denies them, and their handlers never run. Failures
//     are not remembered: the next call prompts again.
//   - The memory is bounded (DefaultStepUpEntries callers, WithEntries):
//     entries older than the longest MaxAgeS seen are dropped first, then
//     the oldest ones.
//
// Register it on the guard with
//
//	ipc.WithObligation(policy.ObligationBiometric, stepUp.Meet)
//
// A StepUp is safe for concurrent use.
type StepUp struct {
	b       *Biometric
	now     func() time.Time
	entries int
	opts    AuthOptions
	observe func(StepUpEvent)

	mu      sync.Mutex
	last    map[caller]time.Time // last success of each caller
	horizon time.Duration        // longest MaxAgeS seen: older successes are useless
	flights map[caller]*flight   // shareable prompts in progress
}

// caller identifies whose success a prompt proves.
type caller struct {
	window, webview, origin string
}

// flight is one prompt and the calls waiting for its result.
type flight struct {
	done    chan struct{} // closed once err is set
	err     error
	waiters int                // calls still waiting; at 0 the prompt is dismissed
	cancel  context.CancelFunc // dismisses the prompt
	shared  bool               // registered in StepUp.flights
}

// StepUpOption configures NewStepUp.
type StepUpOption func(*StepUp)

// WithClock sets the clock that dates successes and measures their age
// (default time.Now). Tests use it to expire successes without waiting.
func WithClock(now func() time.Time) StepUpOption {
	return func(s *StepUp) {
		if now != nil {
			s.now = now
		}
	}
}

// WithEntries sets how many callers' successes are remembered at most
// (DefaultStepUpEntries; at least 1).
func WithEntries(n int) StepUpOption {
	return func(s *StepUp) { s.entries = max(n, 1) }
}

// WithPromptOptions sets the options of the prompts (title, device
// credential, attempts; see AuthOptions). The reason always comes from the
// obligation.
func WithPromptOptions(o AuthOptions) StepUpOption { return func(s *StepUp) { s.opts = o } }

// StepUpOutcome says how an obligation was met, or not.
type StepUpOutcome string

// The outcomes of StepUp.Meet.
const (
	// StepUpRemembered: a recent enough success of the caller met it.
	StepUpRemembered StepUpOutcome = "remembered"
	// StepUpPrompted: the call showed a prompt and the user was
	// recognized.
	StepUpPrompted StepUpOutcome = "prompted"
	// StepUpShared: the call waited for another call's prompt, which
	// succeeded.
	StepUpShared StepUpOutcome = "shared"
	// StepUpFailed: the authentication failed or was cancelled, or the
	// call gave up waiting (Err says which).
	StepUpFailed StepUpOutcome = "failed"
)

// StepUpEvent is the account of one obligation StepUp handled.
type StepUpEvent struct {
	Command string
	Window  string
	Webview string
	Origin  string
	// Obligation is the obligation as the decision carried it.
	Obligation policy.Obligation
	Outcome    StepUpOutcome
	// Err is the biometric error of a failed outcome.
	Err error
}

// OnStepUp makes the StepUp report how each obligation was met to f (the
// demo shows it). f runs on the caller's goroutine and must be quick.
func OnStepUp(f func(StepUpEvent)) StepUpOption { return func(s *StepUp) { s.observe = f } }

// NewStepUp returns a StepUp that prompts through b.
func NewStepUp(b *Biometric, opts ...StepUpOption) *StepUp {
	if b == nil {
		panic("biometric.NewStepUp: nil Biometric")
	}
	s := &StepUp{
		b:       b,
		now:     time.Now,
		entries: DefaultStepUpEntries,
		last:    map[caller]time.Time{},
		flights: map[caller]*flight{},
	}
	for _, o := range opts {
		o(s)
	}
	return s
}

// obligationCache holds the Biometric's own StepUp, made on first use.
type obligationCache struct {
	once sync.Once
	s    *StepUp
}

// StepUp returns the plugin's default StepUp (real clock, default memory),
// the one MeetObligation uses.
func (b *Biometric) StepUp() *StepUp {
	b.obl.once.Do(func() { b.obl.s = NewStepUp(b) })
	return b.obl.s
}

// MeetObligation is an ipc.ObligationFunc for policy.ObligationBiometric:
// it meets the obligation with the plugin's default StepUp (see StepUp for
// the rules). Register it on the guard with
//
//	ipc.WithObligation(policy.ObligationBiometric, b.MeetObligation)
func (b *Biometric) MeetObligation(ctx context.Context, inv *ipc.Invocation, o policy.Obligation) error {
	return b.StepUp().Meet(ctx, inv, o)
}

// Meet meets a biometric obligation of an allowed call, as an
// ipc.ObligationFunc: nil when the user is recognized (now, or recently
// enough), otherwise the biometric error (an *Error matched by code).
func (s *StepUp) Meet(ctx context.Context, inv *ipc.Invocation, o policy.Obligation) error {
	if o.Type != policy.ObligationBiometric {
		return fmt.Errorf("%w: %q", ErrObligationType, o.Type)
	}
	if inv == nil {
		return fmt.Errorf("biometric: step-up of a nil invocation")
	}
	who := caller{inv.Window, inv.Webview, inv.Origin.String()}
	ev := StepUpEvent{Command: inv.Command, Window: who.window, Webview: who.webview, Origin: who.origin, Obligation: o}
	if ctx.Err() != nil {
		return s.report(ev, StepUpFailed, native.Canceled(ctx))
	}
	maxAge := time.Duration(o.MaxAgeS) * time.Second
	s.mu.Lock()
	if maxAge > 0 {
		if t, ok := s.last[who]; ok {
			if age := s.now().Sub(t); age >= 0 && age < maxAge {
				s.mu.Unlock()
				return s.report(ev, StepUpRemembered, nil)
			}
		}
		if f := s.flights[who]; f != nil {
			f.waiters++
			s.mu.Unlock()
			err := s.wait(ctx, who, f)
			if err != nil {
				return s.report(ev, StepUpFailed, err)
			}
			return s.report(ev, StepUpShared, nil)
		}
	}
	// Dismissing the prompt is decided by the waiting calls (see wait),
	// not by this call's context alone.
	pctx, cancel := context.WithCancel(context.WithoutCancel(ctx))
	f := &flight{done: make(chan struct{}), waiters: 1, cancel: cancel, shared: maxAge > 0}
	if f.shared {
		s.flights[who] = f
	}
	if maxAge > s.horizon {
		s.horizon = maxAge
	}
	s.mu.Unlock()
	reason := o.Reason
	if reason == "" {
		reason = DefaultObligationReason
	}
	go s.prompt(pctx, who, f, reason)
	if err := s.wait(ctx, who, f); err != nil {
		return s.report(ev, StepUpFailed, err)
	}
	return s.report(ev, StepUpPrompted, nil)
}

func (s *StepUp) report(ev StepUpEvent, out StepUpOutcome, err error) error {
	if s.observe != nil {
		ev.Outcome, ev.Err = out, err
		s.observe(ev)
	}
	return err
}

// prompt runs one flight's authentication and publishes its result.
func (s *StepUp) prompt(ctx context.Context, who caller, f *flight, reason string) {
	err := s.b.Authenticate(ctx, reason, s.opts)
	s.mu.Lock()
	if err == nil {
		s.remember(who)
	}
	if s.flights[who] == f {
		delete(s.flights, who)
	}
	f.err = err
	s.mu.Unlock()
	f.cancel()
	close(f.done)
}

// wait waits for a flight's result, or for ctx to end: the call then
// gives up, and the prompt is dismissed if no other call waits for it.
func (s *StepUp) wait(ctx context.Context, who caller, f *flight) error {
	select {
	case <-f.done:
		return f.err
	case <-ctx.Done():
	}
	s.mu.Lock()
	f.waiters--
	if f.waiters == 0 {
		// Nobody wants this prompt any more: later calls must not join
		// a prompt that is being dismissed.
		if s.flights[who] == f {
			delete(s.flights, who)
		}
		f.cancel()
	}
	s.mu.Unlock()
	return native.Canceled(ctx)
}

// remember records a success of who; s.mu is held.
func (s *StepUp) remember(who caller) {
	now := s.now()
	s.last[who] = now
	if len(s.last) <= s.entries {
		return
	}
	for k, t := range s.last {
		if age := now.Sub(t); age < 0 || age >= s.horizon {
			delete(s.last, k)
		}
	}
	for len(s.last) > s.entries {
		var oldest caller
		var ot time.Time
		first := true
		for k, t := range s.last {
			if first || t.Before(ot) {
				oldest, ot, first = k, t, false
			}
		}
		delete(s.last, oldest)
	}
}

// Forget drops every remembered success: the next obligation of every
// caller prompts (for example when the app locks, or the user logs out).
func (s *StepUp) Forget() {
	s.mu.Lock()
	clear(s.last)
	s.mu.Unlock()
}

// Remembered returns the number of callers whose last success is
// remembered, expired ones included until they are dropped.
func (s *StepUp) Remembered() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return len(s.last)
}
