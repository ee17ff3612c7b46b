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

// DefaultStepUpEntries is the number of successes (caller and reason) a
// StepUp remembers at most.
const DefaultStepUpEntries = 1024

// ErrObligationType is returned by StepUp.Meet for an obligation that is
// not policy.ObligationBiometric: the guard then denies the call.
var ErrObligationType = errors.New("biometric: not a biometric obligation")

// errNoStepUp is the answer of a StepUp that has no plugin core (the zero
// value, a nil pointer).
var errNoStepUp = &Error{Code: BiometryNotAvailable, Message: "No biometric device is configured for step-up authentication."}

// StepUp meets the biometric obligations of guarded calls (step-up
// authentication): before a call whose decision carries a
// policy.ObligationBiometric obligation runs, it prompts the user with the
// obligation's reason, and the call runs only if the user is recognized.
//
// An event-bound obligation (Binding "" or policy.BindingEvent) takes the
// device's report that the user was recognized:
//
//   - A success is remembered per caller (window, webview and origin) AND
//     per reason, the text the user saw: an obligation with MaxAgeS > 0 is
//     met without a prompt by a success of the same caller, under the same
//     reason, at most that many seconds old. A success under "Unlock your
//     vault" never meets an obligation whose reason is "Delete your
//     account": the user sees the reason of every obligation a prompt
//     satisfies. MaxAgeS 0 gives an obligation its own prompt on every
//     call, never shared and never remembered.
//   - Concurrent calls of one caller whose obligations have the same
//     reason and MaxAgeS > 0 share one prompt: the first one shows it, the
//     others wait for its result. Each waiting call can give up (its
//     context ends) without dismissing the prompt for the others; the
//     prompt is dismissed when no caller waits for it. A call with another
//     reason waits for the device and shows its own prompt.
//   - A failed or cancelled authentication fails every call that waited for
//     it with the biometric error (errors.Is(err, biometric.UserCancel),
//     ...): the guard denies them, and their handlers never run. Failures
//     are not remembered: the next call prompts again.
//   - The memory is bounded (DefaultStepUpEntries successes, WithEntries):
//     entries older than the longest MaxAgeS seen are dropped first, then
//     the oldest ones.
//
// A signed obligation (policy.BindingSigned) is met call by call with a
// signature: see Challenge and MeetSigned.
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
	ttl     time.Duration // of a signed challenge

	mu      sync.Mutex
	last    map[memKey]time.Time // last success of each caller under each reason
	horizon time.Duration        // longest MaxAgeS seen: older successes are useless
	flights map[memKey]*flight   // shareable prompts in progress

	signed signedState
}

// caller identifies whose success a prompt proves.
type caller struct {
	window, webview, origin string
}

// memKey is a caller and the reason the user saw.
type memKey struct {
	caller
	reason string
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
// (default time.Now), and dates signed challenges. Tests use it to expire
// successes without waiting.
func WithClock(now func() time.Time) StepUpOption {
	return func(s *StepUp) {
		if now != nil {
			s.now = now
		}
	}
}

// WithEntries sets how many successes are remembered at most
// (DefaultStepUpEntries; at least 1).
func WithEntries(n int) StepUpOption {
	return func(s *StepUp) { s.entries = max(n, 1) }
}

// WithPromptOptions sets the options of the prompts (title, device
// credential, attempts; see AuthOptions). The reason always comes from the
// obligation. A signed obligation never offers the device credential.
func WithPromptOptions(o AuthOptions) StepUpOption { return func(s *StepUp) { s.opts = o } }

// StepUpOutcome says how an obligation was met, or not.
type StepUpOutcome string

// The outcomes of StepUp.Meet.
const (
	// StepUpRemembered: a recent enough success of the caller, under the
	// same reason, met it.
	StepUpRemembered StepUpOutcome = "remembered"
	// StepUpPrompted: the call showed a prompt and the user was
	// recognized.
	StepUpPrompted StepUpOutcome = "prompted"
	// StepUpShared: the call waited for another call's prompt (same
	// caller, same reason), which succeeded.
	StepUpShared StepUpOutcome = "shared"
	// StepUpSigned: a signed obligation, met by a valid signature of the
	// call's challenge.
	StepUpSigned StepUpOutcome = "signed"
	// StepUpFailed: the authentication failed or was cancelled, the
	// signature did not verify, or the call gave up waiting (Err says
	// which).
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
	// Binding is how the grant was proved: policy.BindingEvent (the
	// device's word) or policy.BindingSigned (a verified signature).
	Binding string
	Outcome StepUpOutcome
	// Err is the biometric error of a failed outcome (invalidSignature for
	// a signature that did not verify).
	Err error
}

// OnStepUp makes the StepUp report how each obligation was met to f (the
// demo shows it). f runs on the caller's goroutine and must be quick.
func OnStepUp(f func(StepUpEvent)) StepUpOption { return func(s *StepUp) { s.observe = f } }

// NewStepUp returns a StepUp that prompts through b. A nil b gives a StepUp
// that meets no obligation (every Meet fails with biometryNotAvailable).
func NewStepUp(b *Biometric, opts ...StepUpOption) *StepUp {
	s := &StepUp{
		b:       b,
		now:     time.Now,
		entries: DefaultStepUpEntries,
		ttl:     DefaultChallengeTTL,
		last:    map[memKey]time.Time{},
		flights: map[memKey]*flight{},
	}
	for _, o := range opts {
		if o != nil {
			o(s)
		}
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
	if b == nil {
		return nil
	}
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

// ready tells whether s can prompt.
func (s *StepUp) ready() bool { return s != nil && s.b.ready() && s.last != nil }

// Meet meets a biometric obligation of an allowed call, as an
// ipc.ObligationFunc: nil when the user is recognized (now, or recently
// enough), or, for a signed obligation, when the call's challenge is
// signed by the registered step-up key; otherwise the biometric error (an
// *Error matched by code).
func (s *StepUp) Meet(ctx context.Context, inv *ipc.Invocation, o policy.Obligation) error {
	if o.Type != policy.ObligationBiometric {
		return fmt.Errorf("%w: %q", ErrObligationType, o.Type)
	}
	if inv == nil {
		return fmt.Errorf("biometric: step-up of a nil invocation")
	}
	if !s.ready() {
		return errNoStepUp
	}
	switch o.Binding {
	case "", policy.BindingEvent:
	case policy.BindingSigned:
		return s.meetSigned(ctx, inv, o)
	default:
		// An obligation this version does not know how to prove: fail
		// closed rather than treat it as event-bound.
		return &Error{Code: InvalidSignature, Message: fmt.Sprintf("Unknown step-up binding %q.", o.Binding)}
	}
	reason := o.Reason
	if reason == "" {
		reason = DefaultObligationReason
	}
	who := memKey{caller{inv.Window, inv.Webview, inv.Origin.String()}, reason}
	ev := StepUpEvent{Command: inv.Command, Window: who.window, Webview: who.webview, Origin: who.origin, Obligation: o, Binding: policy.BindingEvent}
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
	go s.prompt(pctx, who, f)
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
func (s *StepUp) prompt(ctx context.Context, who memKey, f *flight) {
	err := s.b.Authenticate(ctx, who.reason, s.opts)
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
func (s *StepUp) wait(ctx context.Context, who memKey, f *flight) error {
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
func (s *StepUp) remember(who memKey) {
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
		var oldest memKey
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
	if s == nil {
		return
	}
	s.mu.Lock()
	clear(s.last)
	s.mu.Unlock()
}

// Remembered returns the number of successes (caller and reason) that are
// remembered, expired ones included until they are dropped.
func (s *StepUp) Remembered() int {
	if s == nil {
		return 0
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	return len(s.last)
}
