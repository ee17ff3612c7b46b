package mobile

import (
	"context"
	"sync"
	"time"

	"github.com/capguard/capguard/native"
)

// device is one platform as the prompt logic sees it.
type device interface {
	// status reads the platform's facts.
	status() native.Status
	// show starts a prompt for p that reports to r.
	show(p native.Prompt, r Reply) error
	// dismiss ends the prompt that is showing.
	dismiss()
	// failure is the error of a prompt that the platform ended with the
	// raw code and message.
	failure(raw int, msg string) *native.Error
}

// androidDevice is an Android platform.
type androidDevice struct{ p Android }

func (d *androidDevice) status() native.Status {
	return androidStatus(d.p.Features(), d.p.CanAuthenticate(), d.p.DeviceSecure())
}

// show decides the prompt's content as Tauri's Android plugin does: the
// device credential only when the device has one, then no negative button
// (Android forbids both); default title by biometry; "Cancel" as the
// default negative button.
func (d *androidDevice) show(p native.Prompt, r Reply) error {
	credential := p.AllowDeviceCredential && d.p.DeviceSecure()
	authenticators := AuthenticatorBiometricWeak
	negative := ""
	if credential {
		authenticators |= AuthenticatorDeviceCredential
	} else {
		negative = p.CancelTitle
		if negative == "" {
			negative = "Cancel"
		}
	}
	title := p.Title
	if title == "" {
		title = androidTitle(androidType(d.p.Features()))
	}
	return d.p.Show(title, p.Subtitle, p.Reason, negative, authenticators, p.ConfirmationRequired, r)
}

func (d *androidDevice) dismiss() { d.p.Dismiss() }

// failure maps a BiometricPrompt error. The message of
// ERROR_NEGATIVE_BUTTON is the button's own label, which says nothing:
// it is replaced, as Tauri replaces it.
func (d *androidDevice) failure(raw int, msg string) *native.Error {
	if raw == androidErrorNegativeButton {
		msg = "Cancel button was pressed"
	}
	return failure(androidPromptCode(raw), msg)
}

// iosDevice is an iOS platform.
type iosDevice struct{ p IOS }

func (d *iosDevice) status() native.Status {
	bio := d.p.CanEvaluate(PolicyBiometrics)
	owner := d.p.CanEvaluate(PolicyDeviceOwner)
	return iosStatus(d.p.BiometryType(), bio, owner, d.p.FaceIDUsageDescription())
}

// show decides the evaluation as Tauri's iOS plugin does: the device
// owner policy when the device credential is allowed; a fallback title
// only when one is given, an empty one hiding the button unless the
// passcode is allowed (then the system's title stays).
func (d *iosDevice) show(p native.Prompt, r Reply) error {
	policy := PolicyBiometrics
	if p.AllowDeviceCredential {
		policy = PolicyDeviceOwner
	}
	fallback, setFallback := "", false
	if p.FallbackTitle != nil {
		fallback, setFallback = *p.FallbackTitle, true
		if fallback == "" && p.AllowDeviceCredential {
			setFallback = false
		}
	}
	return d.p.Evaluate(policy, p.Reason, fallback, setFallback, p.CancelTitle, p.CancelTitle != "", r)
}

func (d *iosDevice) dismiss() { d.p.Invalidate() }

func (d *iosDevice) failure(raw int, msg string) *native.Error { return failure(iosCode(raw), msg) }

// defaultGrace is how long a prompt left open after a failed attempt
// waits for the plugin's next attempt.
const defaultGrace = 2 * time.Second

// promptShim is a native.Shim over a device whose prompt spans the
// attempts of one authentication.
type promptShim struct {
	dev   device
	grace time.Duration

	mu   sync.Mutex
	sess *session // the authentication in progress, or nil
}

func newShim(d device) *promptShim { return &promptShim{dev: d, grace: defaultGrace} }

// event kinds.
const (
	evSucceeded = iota
	evNotRecognized
	evFailed
	evCompleted // a key operation's result (KeyReply.Completed)
	evKeyFailed // a key that could not be used (KeyReply.KeyFailed)
)

type event struct {
	kind    int
	code    int
	msg     string
	iv, out []byte // evCompleted
}

// session is the prompt of one authentication.
type session struct {
	events chan event
	ended  chan struct{} // closed when the session is over

	// keyed is true for the prompt of a key operation (keyed), whose
	// events an Authenticate attempt must never read.
	keyed bool

	// Guarded by promptShim.mu:
	showing   bool        // the platform's prompt is up
	exhausted bool        // the platform ended it with authenticationFailed
	timer     *time.Timer // dismisses the prompt if no attempt follows
	over      bool
}

// reply is the Reply of one session; its calls after the session are
// dropped.
type reply struct{ s *session }

func (r reply) post(e event) {
	select {
	case <-r.s.ended:
	case r.s.events <- e:
	default:
		// The channel holds more events than a prompt can produce
		// before it is read: drop the extra.
	}
}

// keyReply is the KeyReply of one keyed session.
type keyReply struct{ s *session }

// Completed copies its arguments: the platform's arrays are only lent for
// the call.
func (r keyReply) Completed(iv, output []byte) {
	reply(r).post(event{kind: evCompleted, iv: clone(iv), out: clone(output)})
}
func (r keyReply) NotRecognized() { reply(r).post(event{kind: evNotRecognized}) }
func (r keyReply) Failed(code int, message string) {
	reply(r).post(event{kind: evFailed, code: code, msg: message})
}
func (r keyReply) KeyFailed(code int, message string) {
	reply(r).post(event{kind: evKeyFailed, code: code, msg: message})
}

// clone copies b; nil and empty both become an empty, non-nil slice.
func clone(b []byte) []byte { return append([]byte{}, b...) }

func (r reply) Succeeded()     { r.post(event{kind: evSucceeded}) }
func (r reply) NotRecognized() { r.post(event{kind: evNotRecognized}) }
func (r reply) Failed(code int, message string) {
	r.post(event{kind: evFailed, code: code, msg: message})
}

// end closes s and dismisses its prompt if it is up; sh.mu is held.
func (sh *promptShim) end(s *session, dismiss bool) {
	if s.over {
		return
	}
	s.over = true
	close(s.ended)
	if s.timer != nil {
		s.timer.Stop()
	}
	if dismiss && s.showing {
		sh.dev.dismiss()
	}
	s.showing = false
	if sh.sess == s {
		sh.sess = nil
	}
}

// Close ends the authentication in progress, dismissing its prompt.
func (sh *promptShim) Close() {
	sh.mu.Lock()
	defer sh.mu.Unlock()
	if sh.sess != nil {
		sh.end(sh.sess, true)
	}
}

// Status reads the platform's facts.
func (sh *promptShim) Status(ctx context.Context) (native.Status, error) {
	if ctx.Err() != nil {
		return native.Status{}, native.Canceled(ctx)
	}
	return sh.dev.status(), nil
}

// Authenticate runs one attempt (see the package doc).
func (sh *promptShim) Authenticate(ctx context.Context, p native.Prompt) error {
	if ctx.Err() != nil {
		return native.Canceled(ctx)
	}
	sh.mu.Lock()
	s := sh.sess
	if s != nil && s.keyed {
		// The prompt of a key operation is not an earlier attempt of
		// this authentication: it goes away, and this one starts anew.
		sh.end(s, true)
		s = nil
	}
	if s != nil && s.timer != nil && !s.timer.Stop() {
		// The grace period is over and the prompt is being dismissed:
		// this attempt needs a new one.
		sh.end(s, true)
		s = nil
	}
	if p.Attempt <= 1 || s == nil {
		// A new authentication: a prompt still up from an earlier one
		// goes away first.
		if s != nil {
			sh.end(s, true)
		}
		s = &session{events: make(chan event, 16), ended: make(chan struct{})}
		sh.sess = s
		s.showing = true
		sh.mu.Unlock()
		if err := sh.dev.show(p, reply{s}); err != nil {
			sh.mu.Lock()
			s.showing = false
			sh.end(s, false)
			sh.mu.Unlock()
			return &native.Error{Code: native.NotInteractive, Message: "The authentication prompt cannot be shown.", Err: err}
		}
	} else {
		if s.exhausted {
			// The platform already ran out of attempts (iOS): the
			// plugin's remaining attempts fail without a prompt.
			if p.Attempt >= p.MaxAttempts {
				sh.end(s, false)
			} else {
				sh.wait(s)
			}
			sh.mu.Unlock()
			return failure(native.AuthenticationFailed, "")
		}
		sh.mu.Unlock()
	}
	last := p.Attempt >= p.MaxAttempts

	select {
	case <-ctx.Done():
		sh.mu.Lock()
		sh.end(s, true)
		sh.mu.Unlock()
		return native.Canceled(ctx)
	case <-s.ended:
		return failure(native.SystemCancel, "Another authentication replaced this prompt.")
	case e := <-s.events:
		sh.mu.Lock()
		defer sh.mu.Unlock()
		switch e.kind {
		case evSucceeded:
			s.showing = false
			sh.end(s, false)
			return nil
		case evNotRecognized:
			if last {
				sh.end(s, true)
			} else {
				sh.wait(s)
			}
			return failure(native.AuthenticationFailed, "")
		default:
			s.showing = false
			err := sh.dev.failure(e.code, e.msg)
			if err.Code == native.AuthenticationFailed && !last {
				s.exhausted = true
				sh.wait(s)
			} else {
				sh.end(s, false)
			}
			return err
		}
	}
}

// wait keeps s for the next attempt, ending it if none comes within the
// grace period; sh.mu is held.
func (sh *promptShim) wait(s *session) {
	s.timer = time.AfterFunc(sh.grace, func() {
		sh.mu.Lock()
		defer sh.mu.Unlock()
		sh.end(s, true)
	})
}

// keyed runs the prompt of one key operation: show starts it (reporting
// to the KeyReply it gets), and the session lasts until the key's result
// (evCompleted), a key failure (evKeyFailed, returned for the caller to
// map), a prompt error (mapped here), p.MaxAttempts samples that were not
// recognized (at least one; the prompt is then dismissed), the end of ctx
// (dismissed, appCancel) or another prompt replacing it (systemCancel).
// One call is one authentication, so no prompt outlives it.
func (sh *promptShim) keyed(ctx context.Context, p native.Prompt, show func(KeyReply) error) (event, error) {
	if ctx.Err() != nil {
		return event{}, native.Canceled(ctx)
	}
	s := &session{events: make(chan event, 16), ended: make(chan struct{}), keyed: true, showing: true}
	sh.mu.Lock()
	if old := sh.sess; old != nil {
		sh.end(old, true)
	}
	sh.sess = s
	sh.mu.Unlock()
	if err := show(keyReply{s}); err != nil {
		sh.mu.Lock()
		s.showing = false
		sh.end(s, false)
		sh.mu.Unlock()
		return event{}, &native.Error{Code: native.NotInteractive, Message: "The authentication prompt cannot be shown.", Err: err}
	}
	attempts := max(p.MaxAttempts, 1)
	misses := 0
	for {
		select {
		case <-ctx.Done():
			sh.mu.Lock()
			sh.end(s, true)
			sh.mu.Unlock()
			return event{}, native.Canceled(ctx)
		case <-s.ended:
			return event{}, failure(native.SystemCancel, "Another authentication replaced this prompt.")
		case e := <-s.events:
			switch e.kind {
			case evNotRecognized:
				if misses++; misses < attempts {
					continue
				}
				sh.mu.Lock()
				sh.end(s, true)
				sh.mu.Unlock()
				return event{}, failure(native.AuthenticationFailed, "")
			case evFailed:
				sh.mu.Lock()
				s.showing = false
				sh.end(s, false)
				sh.mu.Unlock()
				return event{}, sh.dev.failure(e.code, e.msg)
			default: // evCompleted, evKeyFailed: the prompt is over
				sh.mu.Lock()
				s.showing = false
				sh.end(s, false)
				sh.mu.Unlock()
				return e, nil
			}
		}
	}
}
