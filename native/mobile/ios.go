package mobile

import (
	"context"
	"crypto/ecdsa"
	"errors"
	"fmt"
	"sync"

	"github.com/capguard/capguard/native"
)

// iosShim is a registered iOS platform: the evaluation of Authenticate,
// a vault of Keychain items that only the currently enrolled biometry
// opens, and a step-up key in the Secure Enclave (see the package doc).
type iosShim struct {
	*promptShim
	dev *iosDevice

	// mu serializes the decisions about items and the key: set or
	// replace, drop an invalidated one, make the key.
	mu sync.Mutex
}

var (
	_ native.Shim   = (*iosShim)(nil)
	_ native.Vault  = (*iosShim)(nil)
	_ native.Signer = (*iosShim)(nil)
)

func newIOSShim(i IOS) *iosShim {
	d := &iosDevice{p: i}
	return &iosShim{promptShim: newShim(d), dev: d}
}

// OSStatus values of the Security framework.
const (
	errSecSuccess               = 0
	errSecUserCanceled          = -128
	errSecNotAvailable          = -25291
	errSecAuthFailed            = -25293
	errSecDuplicateItem         = -25299
	errSecItemNotFound          = -25300
	errSecInteractionNotAllowed = -25308
	errSecDecode                = -26275
	errSecMissingEntitlement    = -34018
)

// iosItemCodes maps the OSStatus of a Keychain or Secure Enclave call.
var iosItemCodes = map[int]native.Code{
	errSecUserCanceled:          native.UserCancel,
	errSecAuthFailed:            native.AuthenticationFailed,
	errSecItemNotFound:          native.DataNotFound,
	errSecInteractionNotAllowed: native.NotInteractive,
	errSecNotAvailable:          native.BiometryNotAvailable,
	errSecDecode:                native.DecryptionFailed,
}

// iosItemMessages are the texts of the statuses that have their own.
var iosItemMessages = map[int]string{
	errSecUserCanceled:          "Authentication was canceled by the user.",
	errSecAuthFailed:            "Biometric not recognized.",
	errSecItemNotFound:          msgNotFound,
	errSecInteractionNotAllowed: "The authentication prompt cannot be shown.",
	errSecNotAvailable:          "The Keychain is not available.",
	errSecDecode:                "The Keychain item does not decode.",
	errSecMissingEntitlement:    "The app lacks the Keychain entitlement (keychain-access-groups).",
}

// iosItemError is the error of a Keychain call that answered status:
// internalError for a status it does not know (and for 0, which is no
// error code).
func iosItemError(status int, platform string) *native.Error {
	code, ok := iosItemCodes[status]
	if !ok {
		code = native.InternalError
	}
	msg := iosItemMessages[status]
	if msg == "" {
		msg = fmt.Sprintf("The Keychain failed (OSStatus %d).", status)
	}
	return withCause(code, msg, platform)
}

// markerService is the Keychain service of the markers: an item without
// access control, one per record set through this vault, that tells a
// record gone by a new enrollment from one never set. ':' is no domain
// character, so no domain's service is a marker's.
func markerService(domain string) string { return "capguard.stored:" + domain }

// VaultBinding is BoundByKey: the item's data is released only through a
// Keychain query that the current biometry authorized.
func (i *iosShim) VaultBinding() native.Binding { return native.BoundByKey }

// SignerBinding is BoundByKey: the Secure Enclave signs only after the
// current biometry authorized the key's use.
func (i *iosShim) SignerBinding() native.Binding { return native.BoundByKey }

// cancelTitle returns the cancel title of p for a Keychain prompt.
func cancelTitle(p native.Prompt) (string, bool) { return p.CancelTitle, p.CancelTitle != "" }

// SetData adds the record as a protected Keychain item; an existing one
// is replaced by SecItemUpdate (atomic, and iOS may prompt for it with
// p.Reason); an existing item that no longer matches (invalidated by a
// new enrollment) is deleted and added anew.
func (i *iosShim) SetData(ctx context.Context, p native.Prompt, domain, name string, data []byte) error {
	if err := native.CheckRecord(domain, name); err != nil {
		return err
	}
	if err := native.CheckData(data); err != nil {
		return err
	}
	if ctx.Err() != nil {
		return native.Canceled(ctx)
	}
	i.mu.Lock()
	defer i.mu.Unlock()
	switch status := i.dev.p.AddItem(domain, name, data, true); status {
	case errSecSuccess:
	case errSecDuplicateItem:
		title, set := cancelTitle(p)
		ev, err := i.keyed(ctx, p, func(r KeyReply) error {
			return i.dev.p.UpdateItem(domain, name, data, p.Reason, title, set, r)
		})
		if err != nil {
			return err
		}
		if ev.kind == evKeyFailed {
			if ev.code != errSecItemNotFound {
				return iosItemError(ev.code, ev.msg)
			}
			if st := i.dev.p.DeleteItem(domain, name); st != errSecSuccess && st != errSecItemNotFound {
				return iosItemError(st, "")
			}
			if st := i.dev.p.AddItem(domain, name, data, true); st != errSecSuccess {
				return iosItemError(st, "")
			}
		}
	default:
		return iosItemError(status, "")
	}
	// The marker only refines the code of a later invalidation
	// (dataNeedsReenrollment rather than dataNotFound): a failure to add
	// it does not undo the stored record.
	_ = i.dev.p.AddItem(markerService(domain), name, []byte{recordVersion}, false)
	return nil
}

// marked tells whether the record's marker exists.
func (i *iosShim) marked(domain, name string) bool {
	return i.dev.p.ItemStatus(markerService(domain), name) == errSecSuccess
}

// GetData reads the item with a prompt. An item that is not found while
// its marker is there was invalidated by a new enrollment (iOS makes an
// item of .biometryCurrentSet unreachable): dataNeedsReenrollment, and
// the item and the marker are deleted.
func (i *iosShim) GetData(ctx context.Context, p native.Prompt, domain, name string) ([]byte, error) {
	if err := native.CheckRecord(domain, name); err != nil {
		return nil, err
	}
	title, set := cancelTitle(p)
	ev, err := i.keyed(ctx, p, func(r KeyReply) error {
		return i.dev.p.ReadItem(domain, name, p.Reason, title, set, r)
	})
	if err != nil {
		return nil, err
	}
	if ev.kind == evCompleted {
		return ev.out, nil
	}
	if ev.code == errSecItemNotFound {
		i.mu.Lock()
		defer i.mu.Unlock()
		if i.marked(domain, name) {
			i.dev.p.DeleteItem(domain, name)
			i.dev.p.DeleteItem(markerService(domain), name)
			return nil, withCause(native.DataNeedsReenrollment, msgInvalidated, ev.msg)
		}
	}
	return nil, iosItemError(ev.code, ev.msg)
}

// HasData tells, without prompting, whether the item exists, or its
// marker does (an item invalidated by a new enrollment: GetData then
// reports it).
func (i *iosShim) HasData(ctx context.Context, domain, name string) (bool, error) {
	if ctx.Err() != nil {
		return false, native.Canceled(ctx)
	}
	if err := native.CheckRecord(domain, name); err != nil {
		return false, err
	}
	switch st := i.dev.p.ItemStatus(domain, name); st {
	case errSecSuccess, errSecInteractionNotAllowed:
		return true, nil
	case errSecItemNotFound:
	default:
		return false, iosItemError(st, "")
	}
	switch st := i.dev.p.ItemStatus(markerService(domain), name); st {
	case errSecSuccess:
		return true, nil
	case errSecItemNotFound:
		return false, nil
	default:
		return false, iosItemError(st, "")
	}
}

// RemoveData deletes the item and its marker.
func (i *iosShim) RemoveData(ctx context.Context, domain, name string) error {
	if ctx.Err() != nil {
		return native.Canceled(ctx)
	}
	if err := native.CheckRecord(domain, name); err != nil {
		return err
	}
	i.mu.Lock()
	defer i.mu.Unlock()
	for _, service := range []string{domain, markerService(domain)} {
		if st := i.dev.p.DeleteItem(service, name); st != errSecSuccess && st != errSecItemNotFound {
			return iosItemError(st, "")
		}
	}
	return nil
}

// stepUpKey returns the step-up key as PKIX DER and the key, or nil when
// there is none.
func (i *iosShim) stepUpKey() ([]byte, *ecdsa.PublicKey, error) {
	raw, err := i.dev.p.StepUpPublicKey(stepUpAlias)
	if err != nil {
		return nil, nil, platformError("read the step-up key", err)
	}
	if len(raw) == 0 {
		return nil, nil, nil
	}
	der, err := x963ToPKIX(raw)
	if err != nil {
		return nil, nil, err
	}
	pub, err := parseStepUpKey(der)
	if err != nil {
		return nil, nil, err
	}
	return der, pub, nil
}

// StepUpKey returns the Secure Enclave key's public half as PKIX DER
// (iOS gives X9.63), making the key with create.
func (i *iosShim) StepUpKey(ctx context.Context, create bool) ([]byte, error) {
	if ctx.Err() != nil {
		return nil, native.Canceled(ctx)
	}
	i.mu.Lock()
	defer i.mu.Unlock()
	return stepUpKeyOrMake(i.stepUpKey, func() error {
		if st := i.dev.p.CreateStepUpKey(stepUpAlias); st != errSecSuccess {
			return iosItemError(st, "")
		}
		return nil
	}, create)
}

// Sign prompts and has the Secure Enclave sign challenge, then checks the
// signature with the key's public half. A key that was there before the
// prompt but is not found by the signing call was invalidated by a new
// enrollment: dataNeedsReenrollment, and the key is deleted.
func (i *iosShim) Sign(ctx context.Context, p native.Prompt, challenge []byte) ([]byte, error) {
	pub, err := signingKey(i.stepUpKey, challenge)
	if err != nil {
		return nil, err
	}
	title, set := cancelTitle(p)
	ev, err := i.keyed(ctx, p, func(r KeyReply) error {
		return i.dev.p.SignWithStepUpKey(stepUpAlias, challenge, p.Reason, title, set, r)
	})
	if err != nil {
		return nil, err
	}
	if ev.kind == evKeyFailed {
		if ev.code == errSecItemNotFound {
			i.mu.Lock()
			defer i.mu.Unlock()
			e := withCause(native.DataNeedsReenrollment, msgStepUpRevoked, ev.msg)
			if st := i.dev.p.DeleteStepUpKey(stepUpAlias); st != errSecSuccess && st != errSecItemNotFound {
				e.Err = errors.Join(e.Err, fmt.Errorf("deleting the key: OSStatus %d", st))
			}
			return nil, e
		}
		return nil, iosItemError(ev.code, ev.msg)
	}
	if err := verifySignature(pub, challenge, ev.out); err != nil {
		return nil, err
	}
	return ev.out, nil
}

// DeleteStepUpKey deletes the Secure Enclave key.
func (i *iosShim) DeleteStepUpKey(ctx context.Context) error {
	if ctx.Err() != nil {
		return native.Canceled(ctx)
	}
	i.mu.Lock()
	defer i.mu.Unlock()
	if st := i.dev.p.DeleteStepUpKey(stepUpAlias); st != errSecSuccess && st != errSecItemNotFound {
		return iosItemError(st, "")
	}
	return nil
}
