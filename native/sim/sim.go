// Package sim is a scriptable virtual biometric device: a native.Shim for
// tests, CI and demos. It is configured with the device's facts
// (availability, biometry type, enrollment, device credential), a queue of
// scripted outcomes with a default for when the queue is empty, a lockout
// rule and a latency, and it logs every call it receives.
//
// It also keeps secrets and signs step-up challenges with software keys
// that only a matched attempt unlocks (native.Vault and native.Signer, see
// vault.go), plays enrollment changes that invalidate them, and a "hooked
// success" outcome that reports success without unlocking any key.
//
// The same configuration can be written as a small JSON file (see
// ParseScript), which is how the capguard command line drives it.
//
// The simulator behaves like a real sensor in the ways that matter to the
// code above it: it refuses a second prompt while one is showing (and
// counts the overlap), a cancelled context dismisses the prompt at once,
// too many failed matches lock biometry, and the device credential, when
// the prompt allows it, gets the user past an unavailable or locked sensor.
package sim

import (
	"context"
	"sync"
	"time"

	"github.com/capguard/capguard/native"
)

// Outcome is what the simulated user (or system) does during one attempt.
type Outcome string

// The scripted outcomes.
const (
	// Match: the sample is recognized; the attempt succeeds.
	Match Outcome = "match"
	// NoMatch: the sample is not recognized (authenticationFailed); counts
	// towards the lockout.
	NoMatch Outcome = "no-match"
	// UserCancel: the user presses cancel (userCancel).
	UserCancel Outcome = "user-cancel"
	// SystemCancel: the system dismisses the prompt (systemCancel).
	SystemCancel Outcome = "system-cancel"
	// Lockout: the sensor reports a lockout (biometryLockout) and, when
	// Config.LockoutFor is set, stays locked for that long.
	Lockout Outcome = "lockout"
	// Timeout: the prompt times out (systemCancel, as Android reports
	// BiometricPrompt's ERROR_TIMEOUT).
	Timeout Outcome = "timeout"
	// Fallback: the user presses the fallback button (userFallback).
	Fallback Outcome = "fallback"
	// Hang: the prompt stays up until the caller's context ends.
	Hang Outcome = "hang"
	// HookedSuccess: a hooked success callback. The attempt reports
	// success although nobody was recognized and no key was unlocked:
	// Authenticate succeeds (what an event-bound check believes), while
	// GetData and SetData fail and Sign returns bytes that are not a
	// signature (see vault.go).
	HookedSuccess Outcome = "hooked-success"
)

var outcomes = []Outcome{Match, NoMatch, UserCancel, SystemCancel, Lockout, Timeout, Fallback, Hang, HookedSuccess}

// Outcomes returns every outcome, in declaration order.
func Outcomes() []Outcome { return append([]Outcome(nil), outcomes...) }

// Valid tells whether o is one of the outcomes.
func (o Outcome) Valid() bool {
	for _, k := range outcomes {
		if o == k {
			return true
		}
	}
	return false
}

// Step is one scripted attempt.
type Step struct {
	Outcome Outcome
	// Latency, when positive, replaces Config.Latency for this attempt.
	Latency time.Duration
}

// Config describes a simulated device. The zero Config is a device without
// a biometric sensor; Ready returns a working one.
type Config struct {
	// Type is the sensor's biometry type.
	Type native.BiometryType
	// Available, Enrolled and DeviceCredential are the device's facts, as
	// native.Status reports them.
	Available        bool
	Enrolled         bool
	DeviceCredential bool
	// Script is the queue of scripted attempts, consumed one per
	// attempt; Default ("" means Match) answers once it is empty.
	Script  []Step
	Default Outcome
	// Latency is how long an attempt takes before its outcome.
	Latency time.Duration
	// LockoutAfter locks biometry after that many consecutive NoMatch
	// attempts (0: never); LockoutFor is how long a lockout lasts (0:
	// until Unlock or a device-credential match).
	LockoutAfter int
	LockoutFor   time.Duration
	// OnAttempt, when set, is called as each attempt starts (after the
	// device accepted it, before its latency); tests use it to act
	// mid-prompt. It runs on the caller's goroutine.
	OnAttempt func(native.Prompt)
	// Now is the clock (default time.Now); tests replace it to expire
	// lockouts without waiting.
	Now func() time.Time
	// LogLimit bounds the call log: it keeps the last LogLimit calls and
	// forgets older ones (0 means DefaultLogLimit), so that a device that
	// runs for long does not grow without bound. Count is not affected.
	LogLimit int
}

// Ready returns the configuration of a working device: a fingerprint
// sensor with an enrolled finger and a device passcode, every attempt
// matching, no latency.
func Ready() Config {
	return Config{Type: native.TouchID, Available: true, Enrolled: true, DeviceCredential: true, Default: Match}
}

// DefaultLogLimit is the number of calls the call log keeps when
// Config.LogLimit is 0.
const DefaultLogLimit = 4096

// Method names a Shim method in the call log.
type Method string

// The logged methods.
const (
	MethodStatus          Method = "status"
	MethodAuthenticate    Method = "authenticate"
	MethodSetData         Method = "setData"
	MethodGetData         Method = "getData"
	MethodHasData         Method = "hasData"
	MethodRemoveData      Method = "removeData"
	MethodStepUpKey       Method = "stepUpKey"
	MethodSign            Method = "sign"
	MethodDeleteStepUpKey Method = "deleteStepUpKey"
)

// Call is one entry of the call log.
type Call struct {
	Method Method
	// Prompt is the attempt's prompt (the methods that prompt:
	// MethodAuthenticate, MethodSetData, MethodGetData, MethodSign; one
	// entry per attempt).
	Prompt native.Prompt
	// Outcome is the scripted outcome the attempt consumed; empty when the
	// device refused the attempt before consulting the script.
	Outcome Outcome
	// Code is the error code the call returned; empty on success.
	Code native.Code
	// Overlap is set when the attempt started while another was showing.
	Overlap bool
	// Start and End are when the call began and returned.
	Start, End time.Time
}

// Sim is a simulated device. It is safe for concurrent use.
type Sim struct {
	mu          sync.Mutex
	cfg         Config
	queue       []Step
	failures    int
	locked      bool
	lockedUntil time.Time // zero with locked: until Unlock
	active      int
	maxActive   int
	// log holds the last calls; base is the number of calls forgotten
	// before log[0], so call n (counted from 0) is log[n-base].
	log    []Call
	base   int
	counts map[Method]int
	v      *vaultState // the keystore (vault.go), made on first use
}

var _ native.Shim = (*Sim)(nil)

// New returns a simulated device configured by cfg (whose Script it
// copies).
func New(cfg Config) *Sim {
	s := &Sim{cfg: cfg}
	s.queue = append([]Step(nil), cfg.Script...)
	if s.cfg.Now == nil {
		s.cfg.Now = time.Now
	}
	if s.cfg.Default == "" {
		s.cfg.Default = Match
	}
	return s
}

// Push appends scripted attempts to the queue.
func (s *Sim) Push(steps ...Step) {
	s.mu.Lock()
	s.queue = append(s.queue, steps...)
	s.mu.Unlock()
}

// Pending returns how many scripted attempts are left in the queue.
func (s *Sim) Pending() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return len(s.queue)
}

// Unlock ends a lockout and resets the failure count.
func (s *Sim) Unlock() {
	s.mu.Lock()
	s.locked, s.failures = false, 0
	s.mu.Unlock()
}

// Calls returns a copy of the call log, in the order the calls started:
// the last Config.LogLimit calls.
func (s *Sim) Calls() []Call {
	s.mu.Lock()
	defer s.mu.Unlock()
	kept := s.log
	if len(kept) > s.limit() {
		kept = kept[len(kept)-s.limit():]
	}
	return append([]Call(nil), kept...)
}

// Count returns how many calls of method m the device received since New,
// including those the call log no longer holds.
func (s *Sim) Count(m Method) int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.counts[m]
}

// Forgotten returns how many calls the call log dropped to stay within
// Config.LogLimit.
func (s *Sim) Forgotten() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	n := s.base
	if len(s.log) > s.limit() {
		n += len(s.log) - s.limit()
	}
	return n
}

// record appends c to the call log and returns its number; s.mu is held.
// The log is trimmed in batches (when it reaches one and a half times the
// limit), so that appending stays cheap.
func (s *Sim) record(c Call) int {
	if s.counts == nil {
		s.counts = map[Method]int{}
	}
	s.counts[c.Method]++
	if limit := s.limit(); len(s.log) >= limit+limit/2+1 {
		drop := len(s.log) - limit
		s.log = append(make([]Call, 0, limit+limit/2+1), s.log[drop:]...)
		s.base += drop
	}
	s.log = append(s.log, c)
	return s.base + len(s.log) - 1
}

func (s *Sim) limit() int {
	if s.cfg.LogLimit <= 0 {
		return DefaultLogLimit
	}
	return s.cfg.LogLimit
}

// entry returns call n of the log, or nil when it was forgotten; s.mu is
// held.
func (s *Sim) entry(n int) *Call {
	if n < s.base {
		return nil
	}
	return &s.log[n-s.base]
}

// Active returns the number of prompts showing right now.
func (s *Sim) Active() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.active
}

// MaxConcurrent returns the largest number of prompts that were ever
// showing at the same time: 1 on a device whose callers serialize their
// prompts.
func (s *Sim) MaxConcurrent() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.maxActive
}

// isLocked tells whether biometry is locked now; s.mu is held.
func (s *Sim) isLocked(now time.Time) bool {
	if s.locked && !s.lockedUntil.IsZero() && !now.Before(s.lockedUntil) {
		s.locked, s.failures = false, 0
	}
	return s.locked
}

// lock starts a lockout; s.mu is held.
func (s *Sim) lock(now time.Time) {
	s.locked = true
	s.lockedUntil = time.Time{}
	if s.cfg.LockoutFor > 0 {
		s.lockedUntil = now.Add(s.cfg.LockoutFor)
	}
}

// Status reports the configured facts and the lockout state. It is logged
// and never fails.
func (s *Sim) Status(ctx context.Context) (native.Status, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	now := s.cfg.Now()
	st := native.Status{
		Type:             s.cfg.Type,
		Available:        s.cfg.Available,
		Enrolled:         s.cfg.Enrolled,
		LockedOut:        s.isLocked(now),
		DeviceCredential: s.cfg.DeviceCredential,
	}
	s.record(Call{Method: MethodStatus, Start: now, End: now})
	return st, nil
}

// Texts of the simulated device. They play the part of the platform's
// localized messages.
const (
	msgOverlap      = "Another authentication prompt is already showing."
	msgNoSensor     = "No biometric sensor is available."
	msgNotEnrolled  = "No biometric is enrolled."
	msgLocked       = "Biometry is locked out after too many failed attempts."
	msgNoPasscode   = "No device passcode is set."
	msgNoMatch      = "Biometric not recognized."
	msgUserCancel   = "Authentication was canceled by the user."
	msgSystemCancel = "Authentication was canceled by the system."
	msgTimeout      = "Authentication timed out."
	msgFallback     = "The user chose the fallback option."
)

// Authenticate runs one simulated attempt: it refuses the attempt when
// another prompt is showing or when neither biometry nor an allowed
// device credential can be used, and otherwise waits for the latency and
// plays the next scripted outcome (or the default). A context that ends
// first dismisses the prompt with AppCancel.
func (s *Sim) Authenticate(ctx context.Context, p native.Prompt) error {
	_, _, err := s.attempt(ctx, MethodAuthenticate, p)
	return err
}

// attempt runs one attempt of a prompting method m: it returns the
// outcome played, the attempt's entry in the call log and its error.
func (s *Sim) attempt(ctx context.Context, m Method, p native.Prompt) (Outcome, int, error) {
	s.mu.Lock()
	now := s.cfg.Now()
	s.active++
	if s.active > s.maxActive {
		s.maxActive = s.active
	}
	overlap := s.active > 1
	idx := s.record(Call{Method: m, Prompt: p, Start: now, Overlap: overlap})
	refusal := s.refusal(p, now, overlap)
	var step Step
	if refusal == nil {
		step = Step{Outcome: s.cfg.Default}
		if len(s.queue) > 0 {
			step = s.queue[0]
			s.queue = s.queue[1:]
		}
	}
	latency := s.cfg.Latency
	if step.Latency > 0 {
		latency = step.Latency
	}
	hook := s.cfg.OnAttempt
	s.mu.Unlock()

	if refusal != nil {
		return "", idx, s.finish(idx, "", refusal)
	}
	if hook != nil {
		hook(p)
	}
	if err := wait(ctx, latency); err != nil {
		return step.Outcome, idx, s.finish(idx, step.Outcome, err)
	}
	if step.Outcome == Hang {
		<-ctx.Done()
		return step.Outcome, idx, s.finish(idx, step.Outcome, appCancel(ctx))
	}
	return step.Outcome, idx, s.finish(idx, step.Outcome, s.play(step.Outcome))
}

// refusal is the error of an attempt the device cannot start; s.mu is
// held.
func (s *Sim) refusal(p native.Prompt, now time.Time, overlap bool) *native.Error {
	if overlap {
		return native.NewError(native.SystemCancel, msgOverlap)
	}
	locked := s.isLocked(now)
	if s.cfg.Available && s.cfg.Enrolled && !locked {
		return nil
	}
	if p.AllowDeviceCredential {
		if s.cfg.DeviceCredential {
			return nil // the user may enter the passcode instead
		}
		return native.NewError(native.PasscodeNotSet, msgNoPasscode)
	}
	switch {
	case !s.cfg.Available:
		return native.NewError(native.BiometryNotAvailable, msgNoSensor)
	case !s.cfg.Enrolled:
		return native.NewError(native.BiometryNotEnrolled, msgNotEnrolled)
	default:
		return native.NewError(native.BiometryLockout, msgLocked)
	}
}

// play applies an outcome to the device state and returns its result.
func (s *Sim) play(o Outcome) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	now := s.cfg.Now()
	switch o {
	case Match:
		s.failures, s.locked = 0, false
		return nil
	case HookedSuccess:
		return nil // the device's state is untouched: nobody was recognized
	case NoMatch:
		s.failures++
		if s.cfg.LockoutAfter > 0 && s.failures >= s.cfg.LockoutAfter {
			s.lock(now)
		}
		return native.NewError(native.AuthenticationFailed, msgNoMatch)
	case UserCancel:
		return native.NewError(native.UserCancel, msgUserCancel)
	case SystemCancel:
		return native.NewError(native.SystemCancel, msgSystemCancel)
	case Lockout:
		if s.cfg.LockoutFor > 0 {
			s.lock(now)
		}
		return native.NewError(native.BiometryLockout, msgLocked)
	case Timeout:
		return native.NewError(native.SystemCancel, msgTimeout)
	case Fallback:
		return native.NewError(native.UserFallback, msgFallback)
	}
	// An outcome that is not one of the constants (a Config built by hand
	// with a typo): fail closed.
	return native.NewError(native.AuthenticationFailed, "simulator: unknown outcome "+string(o))
}

// finish records the end of an attempt and returns its error.
func (s *Sim) finish(idx int, o Outcome, err error) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.active--
	c := s.entry(idx)
	if c == nil {
		return err // forgotten while it was showing
	}
	c.End = s.cfg.Now()
	c.Outcome = o
	if code, ok := native.CodeOf(err); ok {
		c.Code = code
	} else if err != nil {
		c.Code = native.AuthenticationFailed
	}
	return err
}

// wait sleeps for d unless ctx ends first, in which case it returns the
// AppCancel error.
func wait(ctx context.Context, d time.Duration) error {
	if ctx.Err() != nil {
		return appCancel(ctx)
	}
	if d <= 0 {
		return nil
	}
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
		return nil
	case <-ctx.Done():
		return appCancel(ctx)
	}
}

func appCancel(ctx context.Context) error { return native.Canceled(ctx) }
