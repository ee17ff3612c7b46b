package mobile

import (
	"crypto/aes"
	"crypto/cipher"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/sha256"
	"crypto/x509"
	"errors"
)

// The fakes of this file play the key halves of the Kotlin and Swift
// shims in Go, with real software keys: a key works only when the test's
// script lets the prompt succeed (ks(succeed)), exactly as the Keystore
// runs a CryptoObject's operation only after a BiometricPrompt success.

// keyStep is a scripted event of a keyed prompt.
type keyStep struct {
	kind    int // ksSucceed, ksNotRecognized, ksFail, ksForge, ksKeyFail
	code    int
	msg     string
	iv, out []byte // ksForge
}

const (
	ksSucceed = iota
	ksNotRecognized
	ksFail
	ksForge   // Completed with made-up bytes: a hooked shim
	ksKeyFail // KeyFailed(code) after the prompt
)

var (
	kSucceed       = keyStep{kind: ksSucceed}
	kNotRecognized = keyStep{kind: ksNotRecognized}
)

func kFail(code int, msg string) keyStep { return keyStep{kind: ksFail, code: code, msg: msg} }
func kKeyFail(code int) keyStep          { return keyStep{kind: ksKeyFail, code: code, msg: "platform words"} }
func kForge(iv, out []byte) keyStep      { return keyStep{kind: ksForge, iv: iv, out: out} }

// softKey is a software key of the fake keystores.
type softKey struct {
	aead        cipher.AEAD
	priv        *ecdsa.PrivateKey
	invalidated bool
}

func newSecretKey() *softKey {
	k := make([]byte, 32)
	_, _ = rand.Read(k)
	block, err := aes.NewCipher(k)
	if err != nil {
		panic(err)
	}
	aead, err := cipher.NewGCM(block)
	if err != nil {
		panic(err)
	}
	return &softKey{aead: aead}
}

func newSigningKey() *softKey {
	priv, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		panic(err)
	}
	return &softKey{priv: priv}
}

// keyCall records the arguments of Android.ShowWithKey.
type keyCall struct {
	op                                     int
	alias                                  string
	iv, aad, input                         []byte
	title, subtitle, description, negative string
	authenticators                         int
	confirmation                           bool
}

// run does the operation of call with k, as the Kotlin shim does after
// an authorized success, and reports it.
func (k *softKey) run(op int, iv, aad, input []byte, r KeyReply) {
	switch op {
	case OperationEncrypt:
		nonce := make([]byte, gcmIVLen)
		_, _ = rand.Read(nonce)
		r.Completed(nonce, k.aead.Seal(nil, nonce, input, aad))
	case OperationDecrypt:
		plain, err := k.aead.Open(nil, iv, input, aad)
		if err != nil {
			r.KeyFailed(KeyErrorBadData, "Tag mismatch")
			return
		}
		r.Completed(nil, plain)
	case OperationSign:
		d := sha256.Sum256(input)
		sig, err := ecdsa.SignASN1(rand.Reader, k.priv, d[:])
		if err != nil {
			r.KeyFailed(KeyErrorRefused, err.Error())
			return
		}
		r.Completed(nil, sig)
	default:
		r.KeyFailed(KeyErrorRefused, "no such operation")
	}
}

// playKeyed plays steps to r from another goroutine; ksSucceed calls
// succeed, which runs the operation and reports it.
func playKeyed(r KeyReply, steps []keyStep, succeed func()) {
	go func() {
		for _, s := range steps {
			switch s.kind {
			case ksSucceed:
				succeed()
			case ksNotRecognized:
				r.NotRecognized()
			case ksFail:
				r.Failed(s.code, s.msg)
			case ksForge:
				r.Completed(s.iv, s.out)
			case ksKeyFail:
				r.KeyFailed(s.code, s.msg)
			}
		}
	}()
}

// fakeAndroid's key half: AndroidKeyStore with software keys, and the
// record directory.

func (f *fakeAndroid) StorageDir() string {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.dir
}

func (f *fakeAndroid) keystore() map[string]*softKey {
	if f.keys == nil {
		f.keys = map[string]*softKey{}
	}
	return f.keys
}

func (f *fakeAndroid) HasKey(alias string) (bool, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	_, ok := f.keystore()[alias]
	return ok, f.keyStoreErr
}

func (f *fakeAndroid) GenerateSecretKey(alias string) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.generated = append(f.generated, alias)
	f.keystore()[alias] = newSecretKey()
	return nil
}

func (f *fakeAndroid) GenerateSigningKey(alias string) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.generated = append(f.generated, alias)
	f.keystore()[alias] = newSigningKey()
	return nil
}

func (f *fakeAndroid) PublicKey(alias string) ([]byte, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	k := f.keystore()[alias]
	if k == nil || k.priv == nil {
		return nil, nil
	}
	if f.publicKey != nil {
		return f.publicKey, nil
	}
	return x509.MarshalPKIXPublicKey(&k.priv.PublicKey)
}

func (f *fakeAndroid) DeleteKey(alias string) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.deleted = append(f.deleted, alias)
	delete(f.keystore(), alias)
	return nil
}

// ShowWithKey plays the Kotlin shim: a key that is missing or
// invalidated fails before any prompt (Cipher.init), otherwise the
// prompt plays the key script.
func (f *fakeAndroid) ShowWithKey(op int, alias string, iv, aad, input []byte, title, subtitle, description, negative string, authenticators int, confirmation bool, r KeyReply) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.showErr != nil {
		return f.showErr
	}
	f.keyCalls = append(f.keyCalls, keyCall{op, alias, clone(iv), clone(aad), clone(input), title, subtitle, description, negative, authenticators, confirmation})
	f.keyReplies = append(f.keyReplies, r)
	k := f.keystore()[alias]
	switch {
	case k == nil:
		r.KeyFailed(KeyErrorMissing, "no key "+alias)
	case k.invalidated:
		r.KeyFailed(KeyErrorInvalidated, "Key permanently invalidated")
	default:
		iv, aad, input := clone(iv), clone(aad), clone(input)
		playKeyed(r, f.keyScript, func() { k.run(op, iv, aad, input, r) })
	}
	if f.shown != nil {
		f.shown <- struct{}{}
	}
	return nil
}

// enroll plays a new biometric enrollment: every key is invalidated.
func (f *fakeAndroid) enroll() {
	f.mu.Lock()
	defer f.mu.Unlock()
	for _, k := range f.keystore() {
		k.invalidated = true
	}
}

// deleteBehindBack deletes a key without the shim knowing.
func (f *fakeAndroid) deleteBehindBack(alias string) {
	f.mu.Lock()
	defer f.mu.Unlock()
	delete(f.keystore(), alias)
}

func (f *fakeAndroid) calls() []keyCall {
	f.mu.Lock()
	defer f.mu.Unlock()
	return append([]keyCall(nil), f.keyCalls...)
}

func (f *fakeAndroid) setKeyScript(steps ...keyStep) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.keyScript = steps
}

// fakeIOS's key half: a Keychain of generic-password items and a Secure
// Enclave of one key, with software keys.

type item struct {
	data        []byte
	protected   bool
	invalidated bool // .biometryCurrentSet after a new enrollment
}

type itemCall struct {
	method, service, account string
	reason, cancelTitle      string
	setCancel                bool
}

func itemKey(service, account string) string { return service + "\x00" + account }

func (f *fakeIOS) chain() map[string]*item {
	if f.items == nil {
		f.items = map[string]*item{}
		f.seKeys = map[string]*softKey{}
	}
	return f.items
}

func (f *fakeIOS) record(c itemCall) {
	f.itemCalls = append(f.itemCalls, c)
}

func (f *fakeIOS) AddItem(service, account string, data []byte, requireBiometry bool) int {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.record(itemCall{method: "add", service: service, account: account})
	if st, ok := f.statusOf["add"]; ok {
		return st
	}
	if _, ok := f.chain()[itemKey(service, account)]; ok {
		return errSecDuplicateItem // an invalidated item still holds its place
	}
	f.chain()[itemKey(service, account)] = &item{data: clone(data), protected: requireBiometry}
	return errSecSuccess
}

func (f *fakeIOS) ItemStatus(service, account string) int {
	f.mu.Lock()
	defer f.mu.Unlock()
	if st, ok := f.statusOf["status"]; ok {
		return st
	}
	it := f.chain()[itemKey(service, account)]
	switch {
	case it == nil || it.invalidated:
		return errSecItemNotFound
	case it.protected:
		return errSecInteractionNotAllowed
	}
	return errSecSuccess
}

func (f *fakeIOS) DeleteItem(service, account string) int {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.record(itemCall{method: "delete", service: service, account: account})
	if _, ok := f.chain()[itemKey(service, account)]; !ok {
		return errSecItemNotFound
	}
	delete(f.chain(), itemKey(service, account))
	return errSecSuccess
}

// prompted runs a Keychain call that may prompt: the key script decides;
// ksSucceed calls done, which reports.
func (f *fakeIOS) prompted(r KeyReply, done func()) {
	playKeyed(r, f.keyScript, done)
	if f.shown != nil {
		f.shown <- struct{}{}
	}
}

func (f *fakeIOS) UpdateItem(service, account string, data []byte, reason, cancelTitle string, setCancel bool, r KeyReply) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.record(itemCall{"update", service, account, reason, cancelTitle, setCancel})
	data = clone(data)
	f.prompted(r, func() {
		f.mu.Lock()
		it := f.chain()[itemKey(service, account)]
		ok := it != nil && !it.invalidated
		if ok {
			it.data = data
		}
		f.mu.Unlock()
		if ok {
			r.Completed(nil, nil)
		} else {
			r.KeyFailed(errSecItemNotFound, "The specified item could not be found in the keychain.")
		}
	})
	return nil
}

func (f *fakeIOS) ReadItem(service, account, reason, cancelTitle string, setCancel bool, r KeyReply) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.record(itemCall{"read", service, account, reason, cancelTitle, setCancel})
	f.prompted(r, func() {
		f.mu.Lock()
		it := f.chain()[itemKey(service, account)]
		var data []byte
		ok := it != nil && !it.invalidated
		if ok {
			data = clone(it.data)
		}
		f.mu.Unlock()
		if ok {
			r.Completed(nil, data)
		} else {
			r.KeyFailed(errSecItemNotFound, "The specified item could not be found in the keychain.")
		}
	})
	return nil
}

func (f *fakeIOS) CreateStepUpKey(tag string) int {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.chain()
	f.record(itemCall{method: "createKey", service: tag})
	f.seKeys[tag] = newSigningKey()
	return errSecSuccess
}

func (f *fakeIOS) StepUpPublicKey(tag string) ([]byte, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.chain()
	if f.rawPublicKey != nil {
		return f.rawPublicKey, nil
	}
	k := f.seKeys[tag]
	if k == nil {
		return nil, nil
	}
	return k.priv.PublicKey.Bytes() // X9.63, as SecKeyCopyExternalRepresentation
}

func (f *fakeIOS) DeleteStepUpKey(tag string) int {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.chain()
	f.record(itemCall{method: "deleteKey", service: tag})
	if f.seKeys[tag] == nil {
		return errSecItemNotFound
	}
	delete(f.seKeys, tag)
	return errSecSuccess
}

func (f *fakeIOS) SignWithStepUpKey(tag string, message []byte, reason, cancelTitle string, setCancel bool, r KeyReply) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.chain()
	f.record(itemCall{"sign", tag, "", reason, cancelTitle, setCancel})
	message = clone(message)
	f.prompted(r, func() {
		f.mu.Lock()
		k := f.seKeys[tag]
		ok := k != nil && !k.invalidated
		f.mu.Unlock()
		if !ok {
			r.KeyFailed(errSecItemNotFound, "key not found")
			return
		}
		k.run(OperationSign, nil, nil, message, r)
	})
	return nil
}

// enroll plays a new enrollment on iOS: items of .biometryCurrentSet and
// the Secure Enclave key become unreachable.
func (f *fakeIOS) enroll() {
	f.mu.Lock()
	defer f.mu.Unlock()
	for _, it := range f.chain() {
		if it.protected {
			it.invalidated = true
		}
	}
	for _, k := range f.seKeys {
		k.invalidated = true
	}
}

func (f *fakeIOS) methods() []string {
	f.mu.Lock()
	defer f.mu.Unlock()
	var m []string
	for _, c := range f.itemCalls {
		m = append(m, c.method+" "+c.service)
	}
	return m
}

var errKeystore = errors.New("keystore: the service is gone")
