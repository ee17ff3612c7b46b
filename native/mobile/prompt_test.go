package mobile

import (
	"context"
	"errors"
	"sync"
	"testing"
	"time"

	"github.com/capguard/capguard/native"
)

// A scripted reply event, as the host shim would send it.
type step struct {
	kind int // evSucceeded, evNotRecognized, evFailed
	code int
	msg  string
}

var (
	succeed       = step{kind: evSucceeded}
	notRecognized = step{kind: evNotRecognized}
)

func fail(code int, msg string) step { return step{kind: evFailed, code: code, msg: msg} }

// play sends the steps to r from another goroutine, as a platform's UI
// thread would.
func play(r Reply, steps []step) {
	go func() {
		for _, s := range steps {
			switch s.kind {
			case evSucceeded:
				r.Succeeded()
			case evNotRecognized:
				r.NotRecognized()
			default:
				r.Failed(s.code, s.msg)
			}
		}
	}()
}

// showCall records the arguments of Android.Show.
type showCall struct {
	title, subtitle, description, negative string
	authenticators                         int
	confirmation                           bool
}

// fakeAndroid is an Android platform whose prompt plays a script.
type fakeAndroid struct {
	features, can int
	secure        bool
	script        []step
	showErr       error

	mu        sync.Mutex
	shows     []showCall
	dismissed int
	replies   []Reply
	shown     chan struct{}

	// The key half (fakekeys_test.go).
	dir         string              // StorageDir
	keys        map[string]*softKey // AndroidKeyStore
	keyStoreErr error               // HasKey's error
	publicKey   []byte              // PublicKey's answer, when set
	keyScript   []keyStep           // what every keyed prompt plays
	generated   []string            // aliases of GenerateSecretKey/GenerateSigningKey
	deleted     []string            // aliases of DeleteKey
	keyCalls    []keyCall
	keyReplies  []KeyReply
}

func (f *fakeAndroid) Features() int        { return f.features }
func (f *fakeAndroid) CanAuthenticate() int { return f.can }
func (f *fakeAndroid) DeviceSecure() bool   { return f.secure }

func (f *fakeAndroid) Show(title, subtitle, description, negative string, authenticators int, confirmation bool, r Reply) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.showErr != nil {
		return f.showErr
	}
	f.shows = append(f.shows, showCall{title, subtitle, description, negative, authenticators, confirmation})
	f.replies = append(f.replies, r)
	play(r, f.script)
	if f.shown != nil {
		f.shown <- struct{}{}
	}
	return nil
}

func (f *fakeAndroid) Dismiss() {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.dismissed++
}

func (f *fakeAndroid) counts() (shows, dismissed int) {
	f.mu.Lock()
	defer f.mu.Unlock()
	return len(f.shows), f.dismissed
}

// evaluateCall records the arguments of IOS.Evaluate.
type evaluateCall struct {
	policy           int
	reason, fallback string
	setFallback      bool
	cancelTitle      string
	setCancel        bool
}

// fakeIOS is an iOS platform whose evaluation plays a script.
type fakeIOS struct {
	typ, bio, owner int
	usage           string
	script          []step

	mu          sync.Mutex
	evaluations []evaluateCall
	invalidated int
	shown       chan struct{}

	// The key half (fakekeys_test.go).
	items        map[string]*item    // the Keychain
	seKeys       map[string]*softKey // the Secure Enclave
	itemCalls    []itemCall
	statusOf     map[string]int // forced answers of AddItem ("add") and ItemStatus ("status")
	rawPublicKey []byte         // StepUpPublicKey's answer, when set
	keyScript    []keyStep      // what every prompting Keychain call plays
}

func (f *fakeIOS) BiometryType() int { return f.typ }
func (f *fakeIOS) CanEvaluate(policy int) int {
	if policy == PolicyDeviceOwner {
		return f.owner
	}
	return f.bio
}
func (f *fakeIOS) FaceIDUsageDescription() string { return f.usage }

func (f *fakeIOS) Evaluate(policy int, reason, fallback string, setFallback bool, cancelTitle string, setCancel bool, r Reply) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.evaluations = append(f.evaluations, evaluateCall{policy, reason, fallback, setFallback, cancelTitle, setCancel})
	play(r, f.script)
	if f.shown != nil {
		f.shown <- struct{}{}
	}
	return nil
}

func (f *fakeIOS) Invalidate() {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.invalidated++
}

// attempts runs the plugin's loop: attempts until success, an error other
// than authenticationFailed, or max; it returns each attempt's code.
func attempts(t *testing.T, sh native.Shim, p native.Prompt, max int) []native.Code {
	t.Helper()
	var codes []native.Code
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	p.MaxAttempts = max
	for a := 1; a <= max; a++ {
		p.Attempt = a
		err := sh.Authenticate(ctx, p)
		if ctx.Err() != nil {
			t.Fatal("Authenticate hung")
		}
		c, _ := native.CodeOf(err)
		if err != nil && c == "" {
			t.Fatalf("error without a code: %v", err)
		}
		codes = append(codes, c)
		if c != native.AuthenticationFailed {
			break
		}
	}
	return codes
}

func codesEqual(a, b []native.Code) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if a[i] != b[i] {
			return false
		}
	}
	return true
}

func TestAndroidAttempts(t *testing.T) {
	const ok = native.Code("")
	for _, tc := range []struct {
		name      string
		script    []step
		max       int
		want      []native.Code
		dismissed int
	}{
		{"match", []step{succeed}, 3, []native.Code{ok}, 0},
		{"two misses then match, one prompt", []step{notRecognized, notRecognized, succeed}, 3,
			[]native.Code{native.AuthenticationFailed, native.AuthenticationFailed, ok}, 0},
		{"misses up to the limit dismiss the prompt", []step{notRecognized, notRecognized, notRecognized}, 3,
			[]native.Code{native.AuthenticationFailed, native.AuthenticationFailed, native.AuthenticationFailed}, 1},
		{"one attempt allowed", []step{notRecognized, succeed}, 1, []native.Code{native.AuthenticationFailed}, 1},
		{"cancel button", []step{fail(13, "Cancel")}, 3, []native.Code{native.UserCancel}, 0},
		{"miss then lockout", []step{notRecognized, fail(7, "Too many attempts.")}, 3,
			[]native.Code{native.AuthenticationFailed, native.BiometryLockout}, 0},
		{"system cancel", []step{fail(5, "")}, 3, []native.Code{native.SystemCancel}, 0},
	} {
		t.Run(tc.name, func(t *testing.T) {
			f := &fakeAndroid{features: FeatureFingerprint, secure: true, script: tc.script}
			sh := newShim(&androidDevice{p: f})
			got := attempts(t, sh, native.Prompt{Reason: "r"}, tc.max)
			if !codesEqual(got, tc.want) {
				t.Errorf("attempts = %q, want %q", got, tc.want)
			}
			shows, dismissed := f.counts()
			if shows != 1 || dismissed != tc.dismissed {
				t.Errorf("%d prompts shown, %d dismissed; want 1 and %d", shows, dismissed, tc.dismissed)
			}
		})
	}
}

func TestAndroidMessages(t *testing.T) {
	f := &fakeAndroid{features: FeatureFingerprint, script: []step{fail(13, "Annuler")}}
	err := newShim(&androidDevice{p: f}).Authenticate(context.Background(), native.Prompt{Reason: "r", Attempt: 1, MaxAttempts: 3})
	var e *native.Error
	if !errors.As(err, &e) || e.Code != native.UserCancel || e.Message != "Cancel button was pressed" {
		t.Errorf("negative button = %#v", err)
	}
	f = &fakeAndroid{features: FeatureFingerprint, script: []step{fail(7, "Trop de tentatives.")}}
	err = newShim(&androidDevice{p: f}).Authenticate(context.Background(), native.Prompt{Reason: "r", Attempt: 1, MaxAttempts: 3})
	if !errors.As(err, &e) || e.Code != native.BiometryLockout || e.Message != "Trop de tentatives." {
		t.Errorf("lockout = %#v: want the platform's message", err)
	}
}

func TestAndroidPromptContent(t *testing.T) {
	for _, tc := range []struct {
		name     string
		features int
		secure   bool
		prompt   native.Prompt
		want     showCall
	}{
		{"defaults", FeatureFingerprint, true, native.Prompt{Reason: "Open the vault", ConfirmationRequired: true},
			showCall{"Fingerprint Authentication", "", "Open the vault", "Cancel", AuthenticatorBiometricWeak, true}},
		{"face default title", FeatureFace, false, native.Prompt{Reason: "r"},
			showCall{"Face Authentication", "", "r", "Cancel", AuthenticatorBiometricWeak, false}},
		{"no feature", 0, false, native.Prompt{Reason: "r"},
			showCall{"Authenticate", "", "r", "Cancel", AuthenticatorBiometricWeak, false}},
		{"texts", FeatureFingerprint, false, native.Prompt{Reason: "r", Title: "T", Subtitle: "S", CancelTitle: "Not now"},
			showCall{"T", "S", "r", "Not now", AuthenticatorBiometricWeak, false}},
		{"device credential on a secure device: no negative button", FeatureFingerprint, true,
			native.Prompt{Reason: "r", CancelTitle: "Not now", AllowDeviceCredential: true},
			showCall{"Fingerprint Authentication", "", "r", "", AuthenticatorBiometricWeak | AuthenticatorDeviceCredential, false}},
		{"device credential without one set: biometry only", FeatureFingerprint, false,
			native.Prompt{Reason: "r", AllowDeviceCredential: true},
			showCall{"Fingerprint Authentication", "", "r", "Cancel", AuthenticatorBiometricWeak, false}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			f := &fakeAndroid{features: tc.features, secure: tc.secure, script: []step{succeed}}
			tc.prompt.Attempt, tc.prompt.MaxAttempts = 1, 1
			if err := newShim(&androidDevice{p: f}).Authenticate(context.Background(), tc.prompt); err != nil {
				t.Fatal(err)
			}
			if len(f.shows) != 1 || f.shows[0] != tc.want {
				t.Errorf("Show(%+v), want %+v", f.shows, tc.want)
			}
		})
	}
	if AuthenticatorBiometricWeak != 255 || AuthenticatorDeviceCredential != 32768 {
		t.Error("authenticator bits differ from BiometricManager.Authenticators")
	}
}

func TestIOSAttempts(t *testing.T) {
	const ok = native.Code("")
	for _, tc := range []struct {
		name   string
		script []step
		want   []native.Code
	}{
		{"match", []step{succeed}, []native.Code{ok}},
		// iOS runs its own attempts: its failure ends the authentication
		// after one prompt, however many attempts the plugin allows.
		{"authenticationFailed ends it", []step{fail(-1, "Application retry limit exceeded.")},
			[]native.Code{native.AuthenticationFailed, native.AuthenticationFailed, native.AuthenticationFailed}},
		{"userCancel", []step{fail(-2, "Canceled by user.")}, []native.Code{native.UserCancel}},
		{"userFallback", []step{fail(-3, "Fallback authentication mechanism selected.")}, []native.Code{native.UserFallback}},
		{"biometryLockout", []step{fail(-8, "")}, []native.Code{native.BiometryLockout}},
		{"notInteractive", []step{fail(-1004, "")}, []native.Code{native.NotInteractive}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			f := &fakeIOS{typ: 1, script: tc.script}
			got := attempts(t, newShim(&iosDevice{p: f}), native.Prompt{Reason: "r"}, 3)
			if !codesEqual(got, tc.want) {
				t.Errorf("attempts = %q, want %q", got, tc.want)
			}
			if len(f.evaluations) != 1 || f.invalidated != 0 {
				t.Errorf("%d evaluations, %d invalidations; want 1 and 0", len(f.evaluations), f.invalidated)
			}
		})
	}
}

func TestIOSEvaluation(t *testing.T) {
	empty, title := "", "Use code"
	for _, tc := range []struct {
		name   string
		prompt native.Prompt
		want   evaluateCall
	}{
		{"biometrics", native.Prompt{Reason: "r"}, evaluateCall{PolicyBiometrics, "r", "", false, "", false}},
		{"device owner", native.Prompt{Reason: "r", AllowDeviceCredential: true}, evaluateCall{PolicyDeviceOwner, "r", "", false, "", false}},
		{"titles", native.Prompt{Reason: "r", FallbackTitle: &title, CancelTitle: "No"}, evaluateCall{PolicyBiometrics, "r", "Use code", true, "No", true}},
		{"empty fallback hides the button", native.Prompt{Reason: "r", FallbackTitle: &empty}, evaluateCall{PolicyBiometrics, "r", "", true, "", false}},
		{"empty fallback with passcode keeps the system's", native.Prompt{Reason: "r", FallbackTitle: &empty, AllowDeviceCredential: true},
			evaluateCall{PolicyDeviceOwner, "r", "", false, "", false}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			f := &fakeIOS{typ: 2, usage: "x", script: []step{succeed}}
			tc.prompt.Attempt, tc.prompt.MaxAttempts = 1, 1
			if err := newShim(&iosDevice{p: f}).Authenticate(context.Background(), tc.prompt); err != nil {
				t.Fatal(err)
			}
			if len(f.evaluations) != 1 || f.evaluations[0] != tc.want {
				t.Errorf("Evaluate(%+v), want %+v", f.evaluations, tc.want)
			}
		})
	}
}

func TestCancelDismisses(t *testing.T) {
	for _, tc := range []struct {
		name string
		dev  func(shown chan struct{}) (device, func() int)
	}{
		{"android", func(shown chan struct{}) (device, func() int) {
			f := &fakeAndroid{features: FeatureFingerprint, shown: shown}
			return &androidDevice{p: f}, func() int { _, d := f.counts(); return d }
		}},
		{"ios", func(shown chan struct{}) (device, func() int) {
			f := &fakeIOS{typ: 1, shown: shown}
			return &iosDevice{p: f}, func() int { f.mu.Lock(); defer f.mu.Unlock(); return f.invalidated }
		}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			shown := make(chan struct{}, 1)
			dev, dismissed := tc.dev(shown)
			sh := newShim(dev)
			ctx, cancel := context.WithCancel(context.Background())
			done := make(chan error, 1)
			go func() { done <- sh.Authenticate(ctx, native.Prompt{Reason: "r", Attempt: 1, MaxAttempts: 3}) }()
			<-shown
			cancel()
			err := <-done
			if !errors.Is(err, native.AppCancel) || !errors.Is(err, context.Canceled) {
				t.Errorf("err = %v, want appCancel caused by context.Canceled", err)
			}
			if dismissed() != 1 {
				t.Errorf("prompt dismissed %d times, want 1", dismissed())
			}
			// The platform's late answer to the dismissal is ignored.
			sh.mu.Lock()
			pending := sh.sess
			sh.mu.Unlock()
			if pending != nil {
				t.Error("the session outlived the cancellation")
			}
		})
	}
}

func TestLateRepliesAreIgnored(t *testing.T) {
	f := &fakeAndroid{features: FeatureFingerprint, script: []step{succeed}}
	sh := newShim(&androidDevice{p: f})
	p := native.Prompt{Reason: "r", Attempt: 1, MaxAttempts: 1}
	if err := sh.Authenticate(context.Background(), p); err != nil {
		t.Fatal(err)
	}
	old := f.replies[0]
	// A new authentication whose prompt stays silent; the old prompt's
	// reply says "succeeded" late: it must not authenticate anyone.
	f.script = nil
	f.shown = make(chan struct{}, 1)
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- sh.Authenticate(ctx, p) }()
	<-f.shown
	old.Succeeded()
	old.Failed(5, "late")
	select {
	case err := <-done:
		t.Fatalf("a stale reply ended the new prompt: %v", err)
	case <-time.After(100 * time.Millisecond):
	}
	cancel()
	if err := <-done; !errors.Is(err, native.AppCancel) {
		t.Errorf("err = %v, want appCancel", err)
	}
}

func TestAbandonedPromptIsDismissed(t *testing.T) {
	f := &fakeAndroid{features: FeatureFingerprint, script: []step{notRecognized}}
	sh := newShim(&androidDevice{p: f})
	sh.grace = 10 * time.Millisecond
	err := sh.Authenticate(context.Background(), native.Prompt{Reason: "r", Attempt: 1, MaxAttempts: 3})
	if !errors.Is(err, native.AuthenticationFailed) {
		t.Fatalf("err = %v", err)
	}
	// The plugin does not come back for attempt 2.
	deadline := time.Now().Add(5 * time.Second)
	for {
		if _, d := f.counts(); d == 1 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatal("the prompt left open between attempts was never dismissed")
		}
		time.Sleep(5 * time.Millisecond)
	}
	// A late attempt 2 shows a new prompt rather than waiting forever.
	f.mu.Lock()
	f.script = []step{succeed}
	f.mu.Unlock()
	if err := sh.Authenticate(context.Background(), native.Prompt{Reason: "r", Attempt: 2, MaxAttempts: 3}); err != nil {
		t.Fatalf("late attempt: %v", err)
	}
	if shows, _ := f.counts(); shows != 2 {
		t.Errorf("%d prompts shown, want 2", shows)
	}
}

func TestShowFails(t *testing.T) {
	f := &fakeAndroid{features: FeatureFingerprint, showErr: errors.New("no activity")}
	err := newShim(&androidDevice{p: f}).Authenticate(context.Background(), native.Prompt{Reason: "r", Attempt: 1, MaxAttempts: 1})
	if !errors.Is(err, native.NotInteractive) || !errors.Is(err, f.showErr) {
		t.Errorf("err = %v, want notInteractive caused by the platform's error", err)
	}
}

func TestReplacedPlatformEndsItsPrompt(t *testing.T) {
	f := &fakeAndroid{features: FeatureFingerprint, shown: make(chan struct{}, 1)}
	sh := newShim(&androidDevice{p: f})
	done := make(chan error, 1)
	go func() {
		done <- sh.Authenticate(context.Background(), native.Prompt{Reason: "r", Attempt: 1, MaxAttempts: 1})
	}()
	<-f.shown
	sh.Close()
	if err := <-done; !errors.Is(err, native.SystemCancel) {
		t.Errorf("err = %v, want systemCancel", err)
	}
	if _, d := f.counts(); d != 1 {
		t.Errorf("dismissed %d times, want 1", d)
	}
}

func TestStatus(t *testing.T) {
	a := newShim(&androidDevice{p: &fakeAndroid{features: FeatureFingerprint, can: 11, secure: true}})
	st, err := a.Status(context.Background())
	if err != nil || st.Type != native.TouchID || !st.Available || st.Enrolled || !st.DeviceCredential {
		t.Errorf("android Status = %+v, %v", st, err)
	}
	i := newShim(&iosDevice{p: &fakeIOS{typ: 2, bio: 0, owner: -5}})
	st, err = i.Status(context.Background())
	if err != nil || st.Type != native.FaceID || st.Available || st.DeviceCredential || st.Message != msgNoFaceIDUsage {
		t.Errorf("ios Status = %+v, %v", st, err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if _, err := a.Status(ctx); !errors.Is(err, native.AppCancel) {
		t.Errorf("Status with a cancelled context = %v", err)
	}
}

func TestRegister(t *testing.T) {
	if err := RegisterAndroid(nil); err == nil {
		t.Error("RegisterAndroid(nil) succeeded")
	}
	if err := RegisterIOS(nil); err == nil {
		t.Error("RegisterIOS(nil) succeeded")
	}
}
