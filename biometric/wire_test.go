package biometric_test

import (
	"context"
	"encoding/json"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/capguard/capguard/biometric"
	"github.com/capguard/capguard/native"
	"github.com/capguard/capguard/native/sim"
)

// The rejection objects the simulated device produces, as the JavaScript
// client receives them.
const (
	rejNoMatch      = `{"message":"Biometric not recognized.","code":"authenticationFailed"}`
	rejUserCancel   = `{"message":"Authentication was canceled by the user.","code":"userCancel"}`
	rejSystemCancel = `{"message":"Authentication was canceled by the system.","code":"systemCancel"}`
	rejLockout      = `{"message":"Biometry is locked out after too many failed attempts.","code":"biometryLockout"}`
	rejTimeout      = `{"message":"Authentication timed out.","code":"systemCancel"}`
	rejFallback     = `{"message":"The user chose the fallback option.","code":"userFallback"}`
	rejAppCancel    = `{"message":"Authentication was canceled by the application.","code":"appCancel"}`
)

func steps(os ...sim.Outcome) []sim.Step {
	out := make([]sim.Step, len(os))
	for i, o := range os {
		out[i] = sim.Step{Outcome: o}
	}
	return out
}

// TestAuthenticateWire plays every scripted outcome (and the device
// states) through the guard and the plugin, and checks the exact JSON the
// JavaScript client receives and how many attempts reached the device.
func TestAuthenticateWire(t *testing.T) {
	const reason = `{"reason":"Open the vault"}`
	for _, tc := range []struct {
		name     string
		edit     func(*sim.Config)
		args     string
		timeout  time.Duration
		resolved bool
		body     string
		attempts int
	}{
		{"match", nil, reason, 0, true, `null`, 1},
		{"no-match three times", func(c *sim.Config) { c.Default = sim.NoMatch }, reason, 0, false, rejNoMatch, 3},
		{"no-match then match", func(c *sim.Config) { c.Script = steps(sim.NoMatch) }, reason, 0, true, `null`, 2},
		{"no-match with maxAttemps 1", func(c *sim.Config) { c.Script = steps(sim.NoMatch) }, `{"reason":"r","maxAttemps":1}`, 0, false, rejNoMatch, 1},
		{"no-match with maxAttemps 5", func(c *sim.Config) { c.Default = sim.NoMatch }, `{"reason":"r","maxAttemps":5}`, 0, false, rejNoMatch, 5},
		{"user-cancel", func(c *sim.Config) { c.Script = steps(sim.UserCancel) }, reason, 0, false, rejUserCancel, 1},
		{"user-cancel after a no-match", func(c *sim.Config) { c.Script = steps(sim.NoMatch, sim.UserCancel) }, reason, 0, false, rejUserCancel, 2},
		{"system-cancel", func(c *sim.Config) { c.Script = steps(sim.SystemCancel) }, reason, 0, false, rejSystemCancel, 1},
		{"lockout", func(c *sim.Config) { c.Script = steps(sim.Lockout) }, reason, 0, false, rejLockout, 1},
		{"timeout", func(c *sim.Config) { c.Script = steps(sim.Timeout) }, reason, 0, false, rejTimeout, 1},
		{"fallback", func(c *sim.Config) { c.Script = steps(sim.Fallback) }, reason, 0, false, rejFallback, 1},
		{"hang until the call's deadline", func(c *sim.Config) { c.Script = steps(sim.Hang) }, reason, 20 * time.Millisecond, false, rejAppCancel, 1},
		{"lockout after two misses", func(c *sim.Config) { c.Default, c.LockoutAfter = sim.NoMatch, 2 }, reason, 0, false, rejLockout, 3},
		{"no sensor", func(c *sim.Config) { c.Type, c.Available = native.None, false }, reason, 0, false,
			`{"message":"No biometric on this device.","code":"biometryNotAvailable"}`, 0},
		{"sensor unavailable", func(c *sim.Config) { c.Available = false }, reason, 0, false,
			`{"message":"Biometry unavailable.","code":"biometryNotAvailable"}`, 0},
		{"not enrolled", func(c *sim.Config) { c.Enrolled = false }, reason, 0, false,
			`{"message":"Biometrics not enrolled.","code":"biometryNotEnrolled"}`, 0},
		{"not enrolled, device credential allowed", func(c *sim.Config) { c.Enrolled = false }, `{"reason":"r","allowDeviceCredential":true}`, 0, true, `null`, 1},
		{"not enrolled, no passcode", func(c *sim.Config) { c.Enrolled, c.DeviceCredential = false, false }, `{"reason":"r","allowDeviceCredential":true}`, 0, false,
			`{"message":"Biometry is not usable and no device passcode is set.","code":"passcodeNotSet"}`, 0},
	} {
		t.Run(tc.name, func(t *testing.T) {
			cfg := sim.Ready()
			if tc.edit != nil {
				tc.edit(&cfg)
			}
			p := newPlugin(t, cfg)
			ctx := context.Background()
			if tc.timeout > 0 {
				var cancel context.CancelFunc
				ctx, cancel = context.WithTimeout(ctx, tc.timeout)
				defer cancel()
			}
			resolved, body, _ := p.call(ctx, "authenticate", tc.args)
			if resolved != tc.resolved || body != tc.body {
				t.Errorf("got resolved=%v %s\nwant resolved=%v %s", resolved, body, tc.resolved, tc.body)
			}
			if n := p.sim.Count(sim.MethodAuthenticate); n != tc.attempts {
				t.Errorf("%d attempts reached the device, want %d", n, tc.attempts)
			}
			for i, c := range p.sim.Calls() {
				if c.Method == sim.MethodAuthenticate && c.Prompt.Attempt != attemptNumber(p.sim.Calls(), i) {
					t.Errorf("call %d has Attempt %d", i, c.Prompt.Attempt)
				}
			}
			if p.sim.Active() != 0 {
				t.Error("a prompt is still showing")
			}
		})
	}
}

// attemptNumber counts the authenticate calls up to and including call i.
func attemptNumber(calls []sim.Call, i int) int {
	n := 0
	for _, c := range calls[:i+1] {
		if c.Method == sim.MethodAuthenticate {
			n++
		}
	}
	return n
}

func TestStatusWire(t *testing.T) {
	for _, tc := range []struct {
		name string
		edit func(*sim.Config)
		body string
	}{
		{"touchID", nil, `{"isAvailable":true,"biometryType":1}`},
		{"faceID", func(c *sim.Config) { c.Type = native.FaceID }, `{"isAvailable":true,"biometryType":2}`},
		{"iris", func(c *sim.Config) { c.Type = native.Iris }, `{"isAvailable":true,"biometryType":3}`},
		{"no sensor", func(c *sim.Config) { c.Type, c.Available = native.None, false },
			`{"isAvailable":false,"biometryType":0,"error":"No biometric on this device.","errorCode":"biometryNotAvailable"}`},
		{"unavailable", func(c *sim.Config) { c.Available = false },
			`{"isAvailable":false,"biometryType":1,"error":"Biometry unavailable.","errorCode":"biometryNotAvailable"}`},
		{"not enrolled", func(c *sim.Config) { c.Type, c.Enrolled = native.FaceID, false },
			`{"isAvailable":false,"biometryType":2,"error":"Biometrics not enrolled.","errorCode":"biometryNotEnrolled"}`},
	} {
		t.Run(tc.name, func(t *testing.T) {
			cfg := sim.Ready()
			if tc.edit != nil {
				tc.edit(&cfg)
			}
			p := newPlugin(t, cfg)
			// Arguments are ignored, as the Tauri command takes none.
			resolved, body, err := p.call(context.Background(), "status", `{"unexpected":[1,2]}`)
			if !resolved || body != tc.body {
				t.Errorf("got %v %s (%v)\nwant %s", resolved, body, err, tc.body)
			}
			if p.sim.Count(sim.MethodStatus) != 1 || p.sim.Count(sim.MethodAuthenticate) != 0 {
				t.Errorf("device calls: %+v", p.sim.Calls())
			}
		})
	}
}

func TestStatusLockedOut(t *testing.T) {
	cfg := sim.Ready()
	cfg.Script = steps(sim.Lockout)
	cfg.LockoutFor = time.Hour
	p := newPlugin(t, cfg)
	if _, body, _ := p.call(context.Background(), "authenticate", `{"reason":"r"}`); body != rejLockout {
		t.Fatalf("authenticate: %s", body)
	}
	_, body, _ := p.call(context.Background(), "status", ``)
	if want := `{"isAvailable":false,"biometryType":1,"error":"Biometry is locked out.","errorCode":"biometryLockout"}`; body != want {
		t.Errorf("got  %s\nwant %s", body, want)
	}
}

// brokenDevice is a device whose status query fails, as a D-Bus service
// that is down.
type brokenDevice struct{ prompts int }

func (*brokenDevice) Status(context.Context) (native.Status, error) {
	return native.Status{}, errors.New("fprintd is not running")
}

func (d *brokenDevice) Authenticate(context.Context, native.Prompt) error {
	d.prompts++
	return native.NewError(native.SystemCancel, "unreachable")
}

func TestStatusOfABrokenDevice(t *testing.T) {
	dev := &brokenDevice{}
	b := biometric.New(dev)
	st, err := b.Status(context.Background())
	want := biometric.Status{BiometryType: biometric.None, Error: "fprintd is not running", ErrorCode: biometric.BiometryNotAvailable}
	if err != nil || st != want {
		t.Errorf("got %+v, %v; want %+v", st, err, want)
	}
	err = b.Authenticate(context.Background(), "r", biometric.AuthOptions{})
	if !errors.Is(err, biometric.BiometryNotAvailable) || !strings.Contains(err.Error(), "fprintd") || dev.prompts != 0 {
		t.Errorf("authenticate on a broken device: %v (%d prompts)", err, dev.prompts)
	}
	// With the device credential allowed, the device gets to try.
	err = b.Authenticate(context.Background(), "r", biometric.AuthOptions{AllowDeviceCredential: true})
	if !errors.Is(err, biometric.SystemCancel) || dev.prompts != 1 {
		t.Errorf("device credential on a broken device: %v (%d prompts)", err, dev.prompts)
	}
}

// TestPromptOptionsReachTheDevice checks how the JavaScript options turn
// into the device's prompt.
func TestPromptOptionsReachTheDevice(t *testing.T) {
	empty := ""
	hello := "Use password"
	for _, tc := range []struct {
		name string
		args string
		want native.Prompt
	}{
		{"defaults", `{"reason":"Open"}`, native.Prompt{Reason: "Open", ConfirmationRequired: true, MaxAttempts: 3}},
		{"every option", `{"reason":"Open","allowDeviceCredential":true,"cancelTitle":"No","fallbackTitle":"Use password","title":"Vault","subtitle":"Unlock","confirmationRequired":false,"maxAttemps":4}`,
			native.Prompt{Reason: "Open", Title: "Vault", Subtitle: "Unlock", CancelTitle: "No", FallbackTitle: &hello, AllowDeviceCredential: true, ConfirmationRequired: false, MaxAttempts: 4}},
		{"empty fallback title hides the button", `{"reason":"Open","fallbackTitle":""}`, native.Prompt{Reason: "Open", FallbackTitle: &empty, ConfirmationRequired: true, MaxAttempts: 3}},
		{"null is absent", `{"reason":"Open","title":null,"fallbackTitle":null,"allowDeviceCredential":null,"confirmationRequired":null,"maxAttemps":null}`,
			native.Prompt{Reason: "Open", ConfirmationRequired: true, MaxAttempts: 3}},
		{"unknown fields ignored", `{"reason":"Open","maxAttempts":7,"future":{"x":1}}`, native.Prompt{Reason: "Open", ConfirmationRequired: true, MaxAttempts: 3}},
		{"maxAttemps 0 is 1, as on Android", `{"reason":"Open","maxAttemps":0}`, native.Prompt{Reason: "Open", ConfirmationRequired: true, MaxAttempts: 1}},
		{"negative maxAttemps is 1", `{"reason":"Open","maxAttemps":-4}`, native.Prompt{Reason: "Open", ConfirmationRequired: true, MaxAttempts: 1}},
		{"large maxAttemps is lowered", `{"reason":"Open","maxAttemps":1e9}`, native.Prompt{Reason: "Open", ConfirmationRequired: true, MaxAttempts: biometric.MaxAttemptsLimit}},
		{"whole float maxAttemps", `{"reason":"Open","maxAttemps":2.0}`, native.Prompt{Reason: "Open", ConfirmationRequired: true, MaxAttempts: 2}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			p := newPlugin(t, sim.Ready())
			if ok, body, err := p.call(context.Background(), "authenticate", tc.args); !ok {
				t.Fatalf("%s (%v)", body, err)
			}
			calls := p.sim.Calls()
			last := calls[len(calls)-1]
			want := tc.want
			want.Attempt = 1
			if !promptEqual(last.Prompt, want) {
				t.Errorf("prompt %+v (fallback %v)\nwant   %+v (fallback %v)", last.Prompt, deref(last.Prompt.FallbackTitle), want, deref(want.FallbackTitle))
			}
		})
	}
}

func deref(s *string) any {
	if s == nil {
		return nil
	}
	return *s
}

func promptEqual(a, b native.Prompt) bool {
	fa, fb := a.FallbackTitle, b.FallbackTitle
	a.FallbackTitle, b.FallbackTitle = nil, nil
	return a == b && (fa == nil) == (fb == nil) && (fa == nil || *fa == *fb)
}

func TestInvalidArguments(t *testing.T) {
	long := strings.Repeat("é", biometric.MaxReasonLen+1)
	for _, tc := range []struct {
		name string
		args string
		msg  string
	}{
		{"no arguments", ``, "invalid args `reason` for command `authenticate`: missing required key reason"},
		{"missing reason", `{"title":"t"}`, "invalid args `reason` for command `authenticate`: missing required key reason"},
		{"null reason", `{"reason":null}`, "invalid args `reason` for command `authenticate`: missing required key reason"},
		{"empty reason", `{"reason":""}`, "invalid args `reason` for command `authenticate`: the reason must not be empty: it tells the user why the app asks"},
		{"blank reason", `{"reason":" \t\n"}`, "invalid args `reason` for command `authenticate`: the reason must not be empty: it tells the user why the app asks"},
		{"reason number", `{"reason":5}`, "invalid args `reason` for command `authenticate`: expected a string, found a number"},
		{"reason too long", `{"reason":"` + long + `"}`, "invalid args `reason` for command `authenticate`: the text is 501 characters long; the limit is 500"},
		{"title too long", `{"reason":"r","title":"` + strings.Repeat("x", 101) + `"}`, "invalid args `title` for command `authenticate`: the text is 101 characters long; the limit is 100"},
		{"fallbackTitle too long", `{"reason":"r","fallbackTitle":"` + strings.Repeat("x", 101) + `"}`, "invalid args `fallbackTitle` for command `authenticate`: the text is 101 characters long; the limit is 100"},
		{"subtitle type", `{"reason":"r","subtitle":["a"]}`, "invalid args `subtitle` for command `authenticate`: expected a string, found an array"},
		{"cancelTitle type", `{"reason":"r","cancelTitle":false}`, "invalid args `cancelTitle` for command `authenticate`: expected a string, found a boolean"},
		{"allowDeviceCredential type", `{"reason":"r","allowDeviceCredential":"yes"}`, "invalid args `allowDeviceCredential` for command `authenticate`: expected a boolean, found a string"},
		{"confirmationRequired type", `{"reason":"r","confirmationRequired":1}`, "invalid args `confirmationRequired` for command `authenticate`: expected a boolean, found a number"},
		{"maxAttemps string", `{"reason":"r","maxAttemps":"3"}`, "invalid args `maxAttemps` for command `authenticate`: expected a number, found a string"},
		{"maxAttemps fraction", `{"reason":"r","maxAttemps":2.5}`, "invalid args `maxAttemps` for command `authenticate`: expected a whole number of attempts, found 2.5"},
		{"not an object", `["r"]`, "invalid args for command `authenticate`: expected an object of arguments, found an array"},
		{"not JSON", `{"reason":`, "invalid args for command `authenticate`: the arguments are not valid JSON: "},
	} {
		t.Run(tc.name, func(t *testing.T) {
			p := newPlugin(t, sim.Ready())
			ok, body, err := p.call(context.Background(), "authenticate", tc.args)
			if ok || !errors.Is(err, biometric.ErrInvalidArgs) {
				t.Fatalf("got %v %s (%v), want invalid arguments", ok, body, err)
			}
			if !strings.HasPrefix(err.Error(), tc.msg) {
				t.Errorf("message %q\nwant      %q", err.Error(), tc.msg)
			}
			if want := `{"message":` + jsonString(err.Error()) + `}`; body != want {
				t.Errorf("rejection %s, want %s", body, want)
			}
			if n := len(p.sim.Calls()); n != 0 {
				t.Errorf("invalid arguments reached the device (%d calls)", n)
			}
		})
	}
}

func jsonString(s string) string {
	var b strings.Builder
	enc := json.NewEncoder(&b)
	enc.SetEscapeHTML(false)
	if err := enc.Encode(s); err != nil {
		panic(err)
	}
	return strings.TrimSuffix(b.String(), "\n")
}
