package sim

import (
	"context"
	"crypto/aes"
	"crypto/cipher"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/sha256"
	"crypto/x509"

	"github.com/capguard/capguard/native"
)

// The simulator keeps secrets and signs step-up challenges the way a
// phone's keystore does, with software keys held in memory:
//
//   - one AES-256-GCM key per domain, and one EC P-256 step-up key, each
//     usable only inside an attempt that matched (Match): SetData and
//     GetData encrypt and decrypt, Sign signs, within the authentication;
//   - the records hold only ciphertext and nonce, sealed with
//     native.RecordAAD, so a record moved to another name does not open;
//   - Enroll plays a new biometric enrollment: every key is invalidated, as
//     setInvalidatedByBiometricEnrollment(true) does on Android, and the
//     next use of one answers dataNeedsReenrollment and deletes it with its
//     records;
//   - DeleteKey, CorruptRecord and TruncateRecord break things behind the
//     app's back, for tests of what the plugin reports;
//   - the HookedSuccess outcome plays a hooked success callback: the
//     attempt reports success without the user and without unlocking any
//     key. Authenticate then succeeds (that is what an event-bound check
//     believes), GetData and SetData fail because no key was unlocked, and
//     Sign returns bytes that are not a signature.

// recordVersion is the format version bound into every record's AAD.
const recordVersion = 1

// Texts of the simulated keystore.
const (
	msgNotFound     = "No data is stored under this domain and name."
	msgInvalidated  = "The key of this data was invalidated by a new biometric enrollment; the data was removed and must be stored again."
	msgKeyGone      = "The key of this data no longer exists; the data was removed and must be stored again."
	msgCorrupt      = "The stored data does not decrypt: it is corrupted or truncated."
	msgNotUnlocked  = "The key was not unlocked by an authentication (a success was reported without one)."
	msgNoSignerKey  = "No step-up key exists on this device."
	msgSignerRevoke = "The step-up key was invalidated by a new biometric enrollment and has been deleted; enroll a new one."
)

// simKey is a software key with the generation of the enrollment it was
// made under: a key whose generation is older than the device's is
// invalidated.
type simKey struct {
	aead       cipher.AEAD
	generation int
}

// record is one sealed secret.
type record struct {
	nonce, sealed []byte
}

type recordID struct{ domain, name string }

// vaultState is the simulator's keystore; it lives under Sim.mu.
type vaultState struct {
	generation int // bumped by Enroll
	keys       map[string]*simKey
	records    map[recordID]record
	signer     *ecdsa.PrivateKey
	signerGen  int
}

var (
	_ native.Vault  = (*Sim)(nil)
	_ native.Signer = (*Sim)(nil)
)

// VaultBinding reports BoundByKey: the simulator's keys work only inside
// a matched attempt.
func (s *Sim) VaultBinding() native.Binding { return native.BoundByKey }

// SignerBinding reports BoundByKey.
func (s *Sim) SignerBinding() native.Binding { return native.BoundByKey }

// session runs one authentication of a vault or signer operation: up to
// p.MaxAttempts attempts (at least one), each consuming a scripted outcome
// as Authenticate does. It returns the outcome of the attempt that ended
// the session (Match or HookedSuccess) and nil, or the error of the last
// attempt.
func (s *Sim) session(ctx context.Context, m Method, p native.Prompt) (Outcome, int, error) {
	attempts := max(p.MaxAttempts, 1)
	for attempt := 1; ; attempt++ {
		p.Attempt, p.MaxAttempts = attempt, attempts
		o, idx, err := s.attempt(ctx, m, p)
		if err == nil {
			return o, idx, nil
		}
		if code, _ := native.CodeOf(err); code == native.AuthenticationFailed && attempt < attempts {
			continue
		}
		return o, idx, err
	}
}

// SetData prompts and, once the user is recognized, seals data under the
// domain's key (made on first use) and replaces the record.
func (s *Sim) SetData(ctx context.Context, p native.Prompt, domain, name string, data []byte) error {
	if err := checkRecord(domain, name); err != nil {
		return s.logged(MethodSetData, err)
	}
	if err := native.CheckData(data); err != nil {
		return s.logged(MethodSetData, err)
	}
	o, idx, err := s.session(ctx, MethodSetData, p)
	if err != nil {
		return err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if o == HookedSuccess {
		return s.end(idx, native.NewError(native.InternalError, msgNotUnlocked))
	}
	v := s.vault()
	k, err := s.key(domain, true)
	if err != nil {
		return s.end(idx, err)
	}
	nonce := make([]byte, k.aead.NonceSize())
	if _, err := rand.Read(nonce); err != nil {
		return s.end(idx, &native.Error{Code: native.InternalError, Message: "No randomness for the nonce.", Err: err})
	}
	sealed := k.aead.Seal(nil, nonce, data, native.RecordAAD(recordVersion, domain, name))
	v.records[recordID{domain, name}] = record{nonce: nonce, sealed: sealed}
	return s.end(idx, nil)
}

// GetData prompts and, once the user is recognized, opens the record with
// the domain's key.
func (s *Sim) GetData(ctx context.Context, p native.Prompt, domain, name string) ([]byte, error) {
	if err := checkRecord(domain, name); err != nil {
		return nil, s.logged(MethodGetData, err)
	}
	s.mu.Lock()
	_, exists := s.vault().records[recordID{domain, name}]
	s.mu.Unlock()
	if !exists {
		return nil, s.logged(MethodGetData, native.NewError(native.DataNotFound, msgNotFound))
	}
	o, idx, err := s.session(ctx, MethodGetData, p)
	if err != nil {
		return nil, err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if o == HookedSuccess {
		return nil, s.end(idx, native.NewError(native.InternalError, msgNotUnlocked))
	}
	v := s.vault()
	r, ok := v.records[recordID{domain, name}]
	if !ok { // removed while the prompt was showing
		return nil, s.end(idx, native.NewError(native.DataNotFound, msgNotFound))
	}
	k, err := s.key(domain, false)
	if err != nil {
		return nil, s.end(idx, err)
	}
	plain, err := k.aead.Open(nil, r.nonce, r.sealed, native.RecordAAD(recordVersion, domain, name))
	if err != nil {
		return nil, s.end(idx, &native.Error{Code: native.DecryptionFailed, Message: msgCorrupt, Err: err})
	}
	return plain, s.end(idx, nil)
}

// HasData tells whether the record exists. It does not prompt.
func (s *Sim) HasData(ctx context.Context, domain, name string) (bool, error) {
	if err := checkRecord(domain, name); err != nil {
		return false, s.logged(MethodHasData, err)
	}
	s.mu.Lock()
	_, ok := s.vault().records[recordID{domain, name}]
	s.mu.Unlock()
	return ok, s.logged(MethodHasData, nil)
}

// RemoveData deletes the record. It does not prompt; a missing record is
// not an error.
func (s *Sim) RemoveData(ctx context.Context, domain, name string) error {
	if err := checkRecord(domain, name); err != nil {
		return s.logged(MethodRemoveData, err)
	}
	s.mu.Lock()
	delete(s.vault().records, recordID{domain, name})
	s.mu.Unlock()
	return s.logged(MethodRemoveData, nil)
}

// StepUpKey returns the public half of the step-up key, making one with
// create.
func (s *Sim) StepUpKey(ctx context.Context, create bool) ([]byte, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	v := s.vault()
	if v.signer != nil && v.signerGen < v.generation {
		v.signer = nil // invalidated by an enrollment
	}
	if v.signer == nil {
		if !create {
			return nil, s.loggedLocked(MethodStepUpKey, native.NewError(native.DataNotFound, msgNoSignerKey))
		}
		k, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
		if err != nil {
			return nil, s.loggedLocked(MethodStepUpKey, &native.Error{Code: native.InternalError, Message: "No key could be made.", Err: err})
		}
		v.signer, v.signerGen = k, v.generation
	}
	der, err := x509.MarshalPKIXPublicKey(&v.signer.PublicKey)
	if err != nil {
		return nil, s.loggedLocked(MethodStepUpKey, &native.Error{Code: native.InternalError, Message: "The public key could not be encoded.", Err: err})
	}
	return der, s.loggedLocked(MethodStepUpKey, nil)
}

// Sign prompts and, once the user is recognized, signs challenge with the
// step-up key (ECDSA P-256 over SHA-256, ASN.1 DER). After HookedSuccess it
// returns random bytes and no error: what a hooked shim would claim.
func (s *Sim) Sign(ctx context.Context, p native.Prompt, challenge []byte) ([]byte, error) {
	s.mu.Lock()
	v := s.vault()
	hasKey := v.signer != nil
	s.mu.Unlock()
	if !hasKey {
		return nil, s.logged(MethodSign, native.NewError(native.DataNotFound, msgNoSignerKey))
	}
	o, idx, err := s.session(ctx, MethodSign, p)
	if err != nil {
		return nil, err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if o == HookedSuccess {
		fake := make([]byte, 72)
		_, _ = rand.Read(fake)
		return fake, s.end(idx, nil)
	}
	if v.signer == nil {
		return nil, s.end(idx, native.NewError(native.DataNotFound, msgNoSignerKey))
	}
	if v.signerGen < v.generation {
		v.signer = nil
		return nil, s.end(idx, native.NewError(native.DataNeedsReenrollment, msgSignerRevoke))
	}
	digest := sha256.Sum256(challenge)
	sig, err := ecdsa.SignASN1(rand.Reader, v.signer, digest[:])
	if err != nil {
		return nil, s.end(idx, &native.Error{Code: native.InternalError, Message: "The challenge could not be signed.", Err: err})
	}
	return sig, s.end(idx, nil)
}

// DeleteStepUpKey deletes the step-up key.
func (s *Sim) DeleteStepUpKey(ctx context.Context) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.vault().signer = nil
	return s.loggedLocked(MethodDeleteStepUpKey, nil)
}

// Enroll plays a change of the enrolled biometrics (a finger added or
// removed): every key made before it is invalidated. Records stay until
// their next use, which answers dataNeedsReenrollment and removes them.
func (s *Sim) Enroll() {
	s.mu.Lock()
	s.vault().generation++
	s.mu.Unlock()
}

// DeleteKey deletes the key of a domain behind the app's back (as a user
// clearing the keystore would); its records then answer
// dataNeedsReenrollment and are removed.
func (s *Sim) DeleteKey(domain string) {
	s.mu.Lock()
	delete(s.vault().keys, domain)
	s.mu.Unlock()
}

// CorruptRecord flips one bit of a record's ciphertext; TruncateRecord cuts
// it short. Both report whether the record existed.
func (s *Sim) CorruptRecord(domain, name string) bool {
	return s.alter(domain, name, func(r *record) { r.sealed[len(r.sealed)/2] ^= 0x40 })
}

// TruncateRecord cuts a record's ciphertext to half its length.
func (s *Sim) TruncateRecord(domain, name string) bool {
	return s.alter(domain, name, func(r *record) { r.sealed = r.sealed[:len(r.sealed)/2] })
}

func (s *Sim) alter(domain, name string, f func(*record)) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	r, ok := s.vault().records[recordID{domain, name}]
	if ok {
		r.sealed = append([]byte(nil), r.sealed...)
		f(&r)
		s.vault().records[recordID{domain, name}] = r
	}
	return ok
}

// Records returns how many records the simulator holds.
func (s *Sim) Records() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return len(s.vault().records)
}

// vault returns the keystore, made on first use; s.mu is held.
func (s *Sim) vault() *vaultState {
	if s.v == nil {
		s.v = &vaultState{keys: map[string]*simKey{}, records: map[recordID]record{}}
	}
	return s.v
}

// key returns the domain's key, making one with create. A key invalidated
// by an enrollment, or missing while records of the domain exist, removes
// the domain's records and answers dataNeedsReenrollment; s.mu is held.
func (s *Sim) key(domain string, create bool) (*simKey, error) {
	v := s.vault()
	k := v.keys[domain]
	if k != nil && k.generation < v.generation {
		delete(v.keys, domain)
		s.dropDomain(domain)
		if !create {
			return nil, native.NewError(native.DataNeedsReenrollment, msgInvalidated)
		}
		k = nil
	}
	if k == nil {
		if !create {
			s.dropDomain(domain)
			return nil, native.NewError(native.DataNeedsReenrollment, msgKeyGone)
		}
		raw := make([]byte, 32)
		if _, err := rand.Read(raw); err != nil {
			return nil, &native.Error{Code: native.InternalError, Message: "No key could be made.", Err: err}
		}
		block, err := aes.NewCipher(raw)
		if err != nil {
			return nil, &native.Error{Code: native.InternalError, Message: "No key could be made.", Err: err}
		}
		aead, err := cipher.NewGCM(block)
		if err != nil {
			return nil, &native.Error{Code: native.InternalError, Message: "No key could be made.", Err: err}
		}
		k = &simKey{aead: aead, generation: v.generation}
		v.keys[domain] = k
	}
	return k, nil
}

// dropDomain removes every record of a domain; s.mu is held.
func (s *Sim) dropDomain(domain string) {
	for id := range s.v.records {
		if id.domain == domain {
			delete(s.v.records, id)
		}
	}
}

// checkRecord is native.CheckRecord.
func checkRecord(domain, name string) error { return native.CheckRecord(domain, name) }

// logged records a call that ended without an attempt and returns err.
func (s *Sim) logged(m Method, err error) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.loggedLocked(m, err)
}

// loggedLocked is logged with s.mu held.
func (s *Sim) loggedLocked(m Method, err error) error {
	now := s.cfg.Now()
	c := Call{Method: m, Start: now, End: now}
	if code, ok := native.CodeOf(err); ok {
		c.Code = code
	}
	s.record(c)
	return err
}

// end sets the result code of the attempt idx ended by a key operation and
// returns err; s.mu is held.
func (s *Sim) end(idx int, err error) error {
	if c := s.entry(idx); c != nil {
		c.Code = ""
		if code, ok := native.CodeOf(err); ok {
			c.Code = code
		}
		c.End = s.cfg.Now()
	}
	return err
}
