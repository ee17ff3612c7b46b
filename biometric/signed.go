package biometric

import (
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/sha256"
	"crypto/x509"
	"encoding/binary"
	"fmt"
	"time"

	"github.com/capguard/capguard/ipc"
	"github.com/capguard/capguard/native"
	"github.com/capguard/capguard/policy"
)

// Signed step-up: the guard does not take the device's word. For each call
// whose obligation is signed (policy.BindingSigned) it issues a Challenge
// bound to that call (command, arguments, window, webview, origin, a fresh
// nonce and an expiry), the device signs it with its step-up key, which
// signs only inside a fresh authentication (native.Signer), and the guard
// verifies the signature in Go with the public key registered at
// enrollment. A device that reports success without signing, a replayed
// signature, and a signature made for another call, window or origin are
// refused with invalidSignature.

// DefaultChallengeTTL is how long a signed step-up's challenge stays valid:
// the time the user has to answer the prompt.
const DefaultChallengeTTL = 2 * time.Minute

// MaxPendingChallenges bounds the challenges issued and not yet verified:
// beyond it Issue refuses, so that no flood of calls can grow the table.
const MaxPendingChallenges = 1024

// challengeTag starts every challenge's bytes: the purpose and the format.
const challengeTag = "capguard-stepup-v1"

// WithChallengeTTL sets how long a signed challenge stays valid
// (DefaultChallengeTTL; at least one second).
func WithChallengeTTL(d time.Duration) StepUpOption {
	return func(s *StepUp) { s.ttl = max(d, time.Second) }
}

// WithStepUpKey registers the public half of the device's step-up key
// (PKIX DER, as StepUp.EnrollKey returns it and as the app keeps it from
// enrollment on). A key that does not parse leaves none registered, and
// signed obligations then fail.
func WithStepUpKey(der []byte) StepUpOption {
	return func(s *StepUp) { _ = s.RegisterKey(der) }
}

// Challenge is what the device signs for one call under a signed
// obligation. Its Bytes are the message the step-up key signs (ECDSA
// P-256 over SHA-256 of Bytes).
type Challenge struct {
	Command string
	Window  string
	Webview string
	Origin  string
	// Args is the SHA-256 of the call's arguments, as the handler gets
	// them.
	Args [32]byte
	// Nonce is fresh for every challenge: a challenge is never issued
	// twice, and is accepted once.
	Nonce [16]byte
	// Expiry is when the challenge stops being accepted.
	Expiry time.Time
}

// Bytes returns the message the device signs: the tag
// "capguard-stepup-v1", a zero byte, and the SHA-256 of the challenge's
// fields, each string length-prefixed so that no two challenges share it.
func (c Challenge) Bytes() []byte {
	h := sha256.New()
	var n [8]byte
	for _, s := range []string{c.Command, c.Window, c.Webview, c.Origin} {
		binary.BigEndian.PutUint64(n[:], uint64(len(s)))
		h.Write(n[:])
		h.Write([]byte(s))
	}
	h.Write(c.Args[:])
	h.Write(c.Nonce[:])
	binary.BigEndian.PutUint64(n[:], uint64(c.Expiry.UnixNano()))
	h.Write(n[:])
	return h.Sum(append([]byte(challengeTag), 0))
}

// signedState is the StepUp's signed step-up: the registered key and the
// challenges issued and not yet verified. It lives under StepUp.mu.
type signedState struct {
	key     *ecdsa.PublicKey
	pending map[[16]byte]Challenge
}

// RegisterKey registers the public half of the step-up key (PKIX DER of
// an EC P-256 key), replacing the registered one. It is the app's own
// call, made at enrollment or at start-up with the key it kept: a page
// cannot reach it.
func (s *StepUp) RegisterKey(der []byte) error {
	if s == nil {
		return errNoStepUp
	}
	k, err := x509.ParsePKIXPublicKey(der)
	if err != nil {
		return &Error{Code: InvalidInput, Message: "The step-up key is not a PKIX public key.", Err: err}
	}
	pub, ok := k.(*ecdsa.PublicKey)
	if !ok || pub.Curve != elliptic.P256() {
		return &Error{Code: InvalidInput, Message: fmt.Sprintf("The step-up key is a %T, not an EC P-256 key.", k)}
	}
	s.mu.Lock()
	s.signed.key = pub
	s.mu.Unlock()
	return nil
}

// EnrollKey asks the device for its step-up key (making one when it has
// none), registers it and returns its public half (PKIX DER) for the app
// to keep: at the next start, WithStepUpKey or RegisterKey with the kept
// key, rather than trusting the device again. After a new biometric
// enrollment the device invalidates the key (signed obligations fail with
// dataNeedsReenrollment) and EnrollKey makes a new one.
func (s *StepUp) EnrollKey(ctx context.Context) ([]byte, error) {
	if !s.ready() {
		return nil, errNoStepUp
	}
	signer, ok := s.b.shim.(native.Signer)
	if !ok {
		return nil, &Error{Code: BiometryNotAvailable, Message: "This device has no step-up key to sign with."}
	}
	der, err := signer.StepUpKey(ctx, true)
	if err != nil {
		return nil, failureKnown(err, InternalError)
	}
	if err := s.RegisterKey(der); err != nil {
		return nil, err
	}
	return der, nil
}

// Issue makes the challenge of one call under a signed obligation and
// records it as pending: Verify accepts it once, before its expiry.
func (s *StepUp) Issue(inv *ipc.Invocation) (Challenge, error) {
	if s == nil || inv == nil {
		return Challenge{}, errNoStepUp
	}
	c := Challenge{
		Command: inv.Command,
		Window:  inv.Window,
		Webview: inv.Webview,
		Origin:  inv.Origin.String(),
		Args:    sha256.Sum256(inv.Args),
	}
	_, _ = rand.Read(c.Nonce[:]) // crypto/rand.Read never fails (Go 1.24+)
	now := s.now()
	c.Expiry = now.Add(s.ttl)
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.signed.pending == nil {
		s.signed.pending = map[[16]byte]Challenge{}
	}
	if len(s.signed.pending) >= MaxPendingChallenges {
		for n, p := range s.signed.pending {
			if !now.Before(p.Expiry) {
				delete(s.signed.pending, n)
			}
		}
		if len(s.signed.pending) >= MaxPendingChallenges {
			return Challenge{}, &Error{Code: SystemCancel, Message: "Too many step-up challenges are waiting for a signature."}
		}
	}
	s.signed.pending[c.Nonce] = c
	return c, nil
}

// Verify accepts sig as the signature of challenge c by the registered
// step-up key, once: c must be pending (issued by Issue and not yet
// verified: a replay is refused), equal to what was issued, unexpired, and
// the signature must verify. Every refusal has code invalidSignature and
// consumes the challenge.
func (s *StepUp) Verify(c Challenge, sig []byte) error {
	if s == nil {
		return errNoStepUp
	}
	s.mu.Lock()
	issued, pending := s.signed.pending[c.Nonce]
	delete(s.signed.pending, c.Nonce)
	key := s.signed.key
	s.mu.Unlock()
	refuse := func(msg string) error { return &Error{Code: InvalidSignature, Message: msg} }
	switch {
	case key == nil:
		return refuse("No step-up key is registered: enroll one (StepUp.EnrollKey) before requiring signed step-up.")
	case !pending:
		return refuse("The challenge was not issued, or was already used: a signature is accepted once.")
	case issued != c:
		return refuse("The challenge differs from the one issued for this call.")
	case !s.now().Before(c.Expiry):
		return refuse("The challenge expired before it was signed.")
	}
	digest := sha256.Sum256(c.Bytes())
	if !ecdsa.VerifyASN1(key, digest[:], sig) {
		return refuse("The signature does not verify with the registered step-up key: the device reported a success it did not sign, or signed another call.")
	}
	return nil
}

// meetSigned meets a signed obligation: one prompt, one challenge, one
// signature verified here.
func (s *StepUp) meetSigned(ctx context.Context, inv *ipc.Invocation, o policy.Obligation) error {
	ev := StepUpEvent{Command: inv.Command, Window: inv.Window, Webview: inv.Webview, Origin: inv.Origin.String(), Obligation: o, Binding: policy.BindingSigned}
	signer, ok := s.b.shim.(native.Signer)
	if !ok {
		return s.report(ev, StepUpFailed, &Error{Code: BiometryNotAvailable, Message: "This device has no step-up key to sign with."})
	}
	s.mu.Lock()
	registered := s.signed.key != nil
	s.mu.Unlock()
	if !registered {
		return s.report(ev, StepUpFailed, &Error{Code: InvalidSignature, Message: "No step-up key is registered: enroll one (StepUp.EnrollKey) before requiring signed step-up."})
	}
	reason := o.Reason
	if reason == "" {
		reason = DefaultObligationReason
	}
	p, err := vaultPrompt(reason, s.opts)
	if err != nil {
		return s.report(ev, StepUpFailed, err)
	}
	var (
		c   Challenge
		sig []byte
	)
	err = s.b.withDevice(ctx, p, func(p native.Prompt) error {
		// The challenge is issued once the device is ours, so that its
		// lifetime is the prompt's, not the queue's.
		var err error
		if c, err = s.Issue(inv); err != nil {
			return err
		}
		sig, err = signer.Sign(ctx, p, c.Bytes())
		return err
	})
	if err != nil {
		if c.Nonce != ([16]byte{}) {
			s.mu.Lock()
			delete(s.signed.pending, c.Nonce)
			s.mu.Unlock()
		}
		return s.report(ev, StepUpFailed, err)
	}
	if err := s.Verify(c, sig); err != nil {
		return s.report(ev, StepUpFailed, err)
	}
	return s.report(ev, StepUpSigned, nil)
}
