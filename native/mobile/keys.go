package mobile

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/sha256"
	"crypto/x509"
	"errors"
	"fmt"

	"github.com/capguard/capguard/native"
)

// What Android's and iOS's key paths share: the names of the keys, the
// limits of a challenge, the texts of the outcomes, and the checks that Go
// runs on what a platform hands back.

const (
	// vaultAliasPrefix + domain is the AndroidKeyStore alias of a
	// domain's AES key.
	vaultAliasPrefix = "capguard.vault."
	// stepUpAlias is the alias (Android) and application tag (iOS) of the
	// step-up key.
	stepUpAlias = "capguard.stepup"
	// maxChallengeLen is the longest challenge Sign takes.
	maxChallengeLen = native.MaxDataLen
)

// vaultAlias is the alias of domain's key.
func vaultAlias(domain string) string { return vaultAliasPrefix + domain }

// Texts of the key outcomes.
const (
	msgInvalidated    = "The key of this data was invalidated by a new biometric enrollment; the data was removed and must be stored again."
	msgKeyGone        = "The key of this data no longer exists; the data was removed and must be stored again."
	msgBadData        = "The stored data does not decrypt: it is corrupted, truncated or sealed for another record."
	msgRefused        = "The key refused the operation: it was not unlocked by this authentication."
	msgForeignResult  = "The authentication reported a success without the key this prompt unlocks (a forged or hooked callback); nothing was released."
	msgNoStepUpKey    = "No step-up key exists on this device."
	msgStepUpRevoked  = "The step-up key was invalidated by a new biometric enrollment and has been deleted; enroll a new one."
	msgBadSignature   = "The device returned bytes that are not a signature of the challenge by its step-up key."
	msgRemovedMidway  = "The data was removed while the prompt was showing."
	msgNotFound       = "No data is stored under this domain and name."
	msgWrongShape     = "The device returned a result of the wrong size for this operation; nothing was stored or released."
	msgBadStepUpKey   = "The device's step-up key is not an EC P-256 public key."
	msgEmptyChallenge = "The challenge to sign is empty."
)

// keyOutcome is what a key error of a platform means for the vault and
// for the signer, and whether the key is gone for good (then it is
// deleted, and for the vault the records it sealed are removed).
type keyOutcome struct {
	vault, signer native.Code
	vaultMsg      string
	signerMsg     string
	dropsKey      bool
}

// androidKeyErrors maps the Kotlin shim's KeyError codes.
var androidKeyErrors = map[int]keyOutcome{
	KeyErrorMissing:       {native.DataNeedsReenrollment, native.DataNotFound, msgKeyGone, msgNoStepUpKey, true},
	KeyErrorInvalidated:   {native.DataNeedsReenrollment, native.DataNeedsReenrollment, msgInvalidated, msgStepUpRevoked, true},
	KeyErrorBadData:       {native.DecryptionFailed, native.InternalError, msgBadData, msgRefused, false},
	KeyErrorRefused:       {native.InternalError, native.InternalError, msgRefused, msgRefused, false},
	KeyErrorForeignResult: {native.InternalError, native.InternalError, msgForeignResult, msgForeignResult, false},
}

// androidKeyOutcome returns the outcome of a KeyError code: an
// InternalError that keeps the key for a code it does not know.
func androidKeyOutcome(code int) keyOutcome {
	if o, ok := androidKeyErrors[code]; ok {
		return o
	}
	msg := fmt.Sprintf("The key failed (key error %d).", code)
	return keyOutcome{native.InternalError, native.InternalError, msg, msg, false}
}

// platformError is the InternalError of a platform call that threw.
func platformError(what string, err error) error {
	return &native.Error{Code: native.InternalError, Message: "The platform failed to " + what + ".", Err: err}
}

// withCause returns an *Error with the platform's own words as its
// (unsent) cause.
func withCause(code native.Code, msg, platform string) *native.Error {
	e := native.NewError(code, msg)
	if platform != "" {
		e.Err = errors.New(platform)
	}
	return e
}

// checkChallenge checks a challenge before a prompt.
func checkChallenge(challenge []byte) error {
	if len(challenge) == 0 {
		return native.NewError(native.InvalidInput, msgEmptyChallenge)
	}
	if len(challenge) > maxChallengeLen {
		return native.NewError(native.InvalidInput, fmt.Sprintf("The challenge is %d bytes long; at most %d are allowed.", len(challenge), maxChallengeLen))
	}
	return nil
}

// parseStepUpKey reads a PKIX DER public key that must be EC P-256.
func parseStepUpKey(der []byte) (*ecdsa.PublicKey, error) {
	k, err := x509.ParsePKIXPublicKey(der)
	if err != nil {
		return nil, &native.Error{Code: native.InternalError, Message: msgBadStepUpKey, Err: err}
	}
	pub, ok := k.(*ecdsa.PublicKey)
	if !ok || pub.Curve != elliptic.P256() {
		return nil, native.NewError(native.InternalError, msgBadStepUpKey)
	}
	return pub, nil
}

// x963ToPKIX turns iOS's external representation of an EC P-256 public
// key (0x04, X, Y: 65 bytes) into PKIX DER.
func x963ToPKIX(raw []byte) ([]byte, error) {
	pub, err := ecdsa.ParseUncompressedPublicKey(elliptic.P256(), raw)
	if err != nil {
		return nil, &native.Error{Code: native.InternalError, Message: msgBadStepUpKey, Err: err}
	}
	der, err := x509.MarshalPKIXPublicKey(pub)
	if err != nil {
		return nil, &native.Error{Code: native.InternalError, Message: msgBadStepUpKey, Err: err}
	}
	return der, nil
}

// verifySignature checks, before a signature leaves the device layer,
// that it is the step-up key's signature of challenge: a platform (or a
// hooked shim) that reports a success it did not sign is refused here
// already, not only by the guard.
func verifySignature(pub *ecdsa.PublicKey, challenge, sig []byte) error {
	digest := sha256.Sum256(challenge)
	if !ecdsa.VerifyASN1(pub, digest[:], sig) {
		return native.NewError(native.InvalidSignature, msgBadSignature)
	}
	return nil
}

// stepUpReader reads a platform's step-up key: its PKIX DER and the key,
// or nil and nil when there is none.
type stepUpReader func() ([]byte, *ecdsa.PublicKey, error)

// stepUpKeyOrMake is StepUpKey on either platform, under the platform's
// key lock: the key's PKIX DER, made first with create (makeKey returns
// an error with its code), DataNotFound without.
func stepUpKeyOrMake(read stepUpReader, makeKey func() error, create bool) ([]byte, error) {
	der, _, err := read()
	if err != nil || der != nil {
		return der, err
	}
	if !create {
		return nil, native.NewError(native.DataNotFound, msgNoStepUpKey)
	}
	if err := makeKey(); err != nil {
		return nil, err
	}
	der, _, err = read()
	if err == nil && der == nil {
		err = native.NewError(native.InternalError, "The step-up key was made but has no public key.")
	}
	return der, err
}

// signingKey is what Sign checks on either platform before a prompt: the
// challenge, and that there is a step-up key (DataNotFound otherwise),
// whose public half verifies the signature afterwards.
func signingKey(read stepUpReader, challenge []byte) (*ecdsa.PublicKey, error) {
	if err := checkChallenge(challenge); err != nil {
		return nil, err
	}
	der, pub, err := read()
	if err != nil {
		return nil, err
	}
	if der == nil {
		return nil, native.NewError(native.DataNotFound, msgNoStepUpKey)
	}
	return pub, nil
}
