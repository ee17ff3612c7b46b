package native

import (
	"context"
	"fmt"
	"unicode/utf8"
)

// Binding says what a device's word is worth: what releases a sealed
// secret, or makes a step-up signature, once the user is recognized.
type Binding string

// The two bindings.
const (
	// BoundByKey: the secret is decrypted, or the challenge signed, by a
	// key operation that the platform runs only inside this
	// authentication (Android's Keystore through a CryptoObject, an iOS
	// Keychain item with .biometryCurrentSet, the simulator's keys). A
	// process that fakes the success callback gets no plaintext and no
	// signature.
	BoundByKey Binding = "key"
	// BoundByEvent: the release follows the device's report that the user
	// was recognized (Linux: fprintd's verify-match). The secret may still
	// be sealed at rest by a key (a TPM), but a process that can forge
	// that report, or read the process's memory, gets the secret.
	BoundByEvent Binding = "event"
)

// Valid tells whether b is one of the two bindings.
func (b Binding) Valid() bool { return b == BoundByKey || b == BoundByEvent }

// The limits of a record, the same on every device, checked by
// CheckRecord before a device sees the call.
const (
	// MaxDomainLen is the longest domain, in bytes.
	MaxDomainLen = 64
	// MaxNameLen is the longest name, in bytes.
	MaxNameLen = 256
	// MaxDataLen is the most data one record holds, in bytes.
	MaxDataLen = 64 << 10
)

// Vault is a device that keeps secrets, each sealed by a key of the device
// that a fresh authentication unlocks. A record is named by a domain (a
// namespace such as "com.example.vault", [A-Za-z0-9._-]) and a name within
// it; the data is opaque bytes (the plugin stores the page's string).
//
// Every method gets names that CheckRecord accepted. Every method must be
// safe for concurrent use; the plugin runs one prompt at a time per device
// (SetData, GetData and Signer.Sign share the device with Authenticate).
//
// Errors carry a Code: the authentication codes of Authenticate, and
//
//   - DataNotFound: no such record (GetData);
//   - DataNeedsReenrollment: the record's key was invalidated (a new
//     biometric enrollment, the key deleted behind the app's back); the
//     device has removed the record, which cannot be recovered;
//   - DecryptionFailed: the record exists but does not open (corrupted,
//     truncated, sealed under another domain or name); it is left as it is;
//   - InvalidInput: a record the device cannot take;
//   - InternalError: anything else.
//
// A failure never touches another record.
type Vault interface {
	// VaultBinding says how the device releases a secret.
	VaultBinding() Binding

	// SetData seals data as the record (domain, name), replacing any
	// record of that name atomically: after a failure the previous record
	// is still there, unchanged. A device whose key needs an
	// authentication to encrypt (Android's AES key, the simulator's)
	// prompts with p; others ignore it.
	SetData(ctx context.Context, p Prompt, domain, name string, data []byte) error

	// GetData authenticates the user with p and returns the record's data,
	// decrypted by the key that authentication unlocked. One call is one
	// authentication: the device may take up to p.MaxAttempts samples
	// within it, and answers AuthenticationFailed after the last one. When
	// ctx is done it dismisses its prompt and returns AppCancel.
	GetData(ctx context.Context, p Prompt, domain, name string) ([]byte, error)

	// HasData tells whether the record exists, without prompting.
	HasData(ctx context.Context, domain, name string) (bool, error)

	// RemoveData deletes the record, without prompting; removing a record
	// that does not exist is not an error.
	RemoveData(ctx context.Context, domain, name string) error
}

// Signer is a device that holds a step-up key: an EC P-256 key pair whose
// private half signs only inside a fresh authentication (Android: a
// Keystore key with setUserAuthenticationRequired(true) and
// setUserAuthenticationParameters(0, BIOMETRIC_STRONG), used through a
// CryptoObject). The public half leaves the device once, at enrollment,
// and the guard verifies every signature with it in Go: a device (or a
// hooked process) that reports a success it cannot sign for is refused.
type Signer interface {
	// SignerBinding says whether signing is bound to the authentication
	// (BoundByKey) or only follows the device's report (BoundByEvent).
	SignerBinding() Binding

	// StepUpKey returns the public half of the step-up key, PKIX DER
	// (x509.MarshalPKIXPublicKey) of an EC P-256 key. With create, a
	// device without a key makes one first (no prompt); without it, such
	// a device answers DataNotFound.
	StepUpKey(ctx context.Context, create bool) ([]byte, error)

	// Sign authenticates the user with p and signs challenge with the
	// step-up key: ECDSA over SHA-256(challenge), ASN.1 DER, as Java's
	// SHA256withECDSA signs. One call is one authentication, as in
	// Vault.GetData. A key invalidated by a new enrollment answers
	// DataNeedsReenrollment, and the device deletes it.
	Sign(ctx context.Context, p Prompt, challenge []byte) ([]byte, error)

	// DeleteStepUpKey deletes the step-up key, if there is one.
	DeleteStepUpKey(ctx context.Context) error
}

// CheckRecord checks a record's domain and name as every device does: a
// domain of 1 to MaxDomainLen characters of [A-Za-z0-9._-], a name of 1 to
// MaxNameLen bytes of valid UTF-8 without control characters. The error
// has code InvalidInput.
func CheckRecord(domain, name string) error {
	switch {
	case domain == "":
		return NewError(InvalidInput, "The domain must not be empty.")
	case len(domain) > MaxDomainLen:
		return NewError(InvalidInput, fmt.Sprintf("The domain is %d bytes long; at most %d are allowed.", len(domain), MaxDomainLen))
	case name == "":
		return NewError(InvalidInput, "The name must not be empty.")
	case len(name) > MaxNameLen:
		return NewError(InvalidInput, fmt.Sprintf("The name is %d bytes long; at most %d are allowed.", len(name), MaxNameLen))
	case !utf8.ValidString(name):
		return NewError(InvalidInput, "The name is not valid UTF-8.")
	}
	for i := 0; i < len(domain); i++ {
		c := domain[i]
		if !(c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '.' || c == '_' || c == '-') {
			return NewError(InvalidInput, fmt.Sprintf("The domain may hold only letters, digits, '.', '_' and '-'; found %q at byte %d.", rune(c), i))
		}
	}
	for i, r := range name {
		if r < 0x20 || r == 0x7f || (r >= 0x80 && r < 0xa0) {
			return NewError(InvalidInput, fmt.Sprintf("The name holds the control character %U at byte %d.", r, i))
		}
	}
	return nil
}

// CheckData checks the size of a record's data (at most MaxDataLen
// bytes); the error has code InvalidInput.
func CheckData(data []byte) error {
	if len(data) > MaxDataLen {
		return NewError(InvalidInput, fmt.Sprintf("The data is %d bytes long; at most %d are allowed.", len(data), MaxDataLen))
	}
	return nil
}

// RecordAAD is the additional authenticated data that binds a sealed
// record to its place: the format version, the domain and the name, each
// length-prefixed so that no two different records share it. Devices that
// seal with an AEAD (AES-256-GCM) pass it with every encryption and
// decryption, so that a ciphertext moved to another record, or left from
// another format, does not open.
//
//	"capguard-vault" 0x00 version(1 byte) len(domain)(2 bytes, big endian) domain len(name)(2 bytes) name
func RecordAAD(version byte, domain, name string) []byte {
	b := make([]byte, 0, 14+1+1+2+len(domain)+2+len(name))
	b = append(b, "capguard-vault"...)
	b = append(b, 0, version)
	b = append(b, byte(len(domain)>>8), byte(len(domain)))
	b = append(b, domain...)
	b = append(b, byte(len(name)>>8), byte(len(name)))
	b = append(b, name...)
	return b
}
