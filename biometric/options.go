package biometric

import (
	"errors"
	"fmt"
	"strings"
	"unicode"
	"unicode/utf8"

	"github.com/capguard/capguard/native"
)

// Limits on the arguments of authenticate. The platforms set none, but a
// prompt is a short dialog: text beyond these lengths is cut off by the
// system UI at best, and at worst a page uses it to fill the user's screen.
// Lengths count Unicode code points.
const (
	// MaxReasonLen bounds reason, the sentence that says why the app asks.
	MaxReasonLen = 500
	// MaxTitleLen bounds title, subtitle, cancelTitle and fallbackTitle.
	MaxTitleLen = 100
	// DefaultMaxAttempts is the number of attempts when maxAttemps is
	// absent (Android's default).
	DefaultMaxAttempts = 3
	// MaxAttemptsLimit is the largest number of attempts; larger values of
	// maxAttemps from JavaScript are lowered to it.
	MaxAttemptsLimit = 10
)

// ErrInvalidArgs is matched (errors.Is) by the error of an authenticate
// call whose arguments are invalid. Over IPC the promise rejects with
// {"message": "..."} (no code), as Tauri's mobile plugins reject arguments
// they cannot parse.
var ErrInvalidArgs = errors.New("invalid arguments")

// AuthOptions are the options of an authentication, as Tauri's Rust
// AuthOptions (plus maxAttemps, which only the JavaScript side has).
// Empty strings leave the platform's text in place.
type AuthOptions struct {
	// AllowDeviceCredential lets the user authenticate with the device's
	// passcode, PIN or password instead of biometry (Android and iOS).
	AllowDeviceCredential bool
	// CancelTitle labels the cancel button (Android and iOS).
	CancelTitle string
	// FallbackTitle labels the fallback button (iOS). Nil keeps the
	// system's label; a pointer to "" hides the button, as on iOS.
	FallbackTitle *string
	// Title and Subtitle head the prompt (Android).
	Title    string
	Subtitle string
	// ConfirmationRequired asks for an explicit confirmation after a
	// passive (face) match (Android); nil means true, Android's default.
	ConfirmationRequired *bool
	// MaxAttempts is how many unrecognized samples end the authentication
	// with authenticationFailed: 0 means DefaultMaxAttempts, otherwise 1
	// to MaxAttemptsLimit. (Upstream Tauri ignores it; capguard honours it.)
	MaxAttempts int
}

// argsError is an invalid argument of a command; its text follows
// Tauri's "invalid args `<key>` for command `<cmd>`: <detail>".
type argsError struct {
	command, key, detail string
}

func (e *argsError) Error() string {
	if e.key == "" {
		return fmt.Sprintf("invalid args for command `%s`: %s", e.command, e.detail)
	}
	return fmt.Sprintf("invalid args `%s` for command `%s`: %s", e.key, e.command, e.detail)
}

func (e *argsError) Unwrap() error { return ErrInvalidArgs }

// MarshalJSON is the rejection of a mobile plugin that cannot parse its
// arguments: {"message": "..."}.
func (e *argsError) MarshalJSON() ([]byte, error) {
	return []byte(`{"message":` + quote(e.Error()) + `}`), nil
}

func invalid(key, format string, args ...any) error {
	return &argsError{command: "authenticate", key: key, detail: fmt.Sprintf(format, args...)}
}

// prompt validates the options and returns the device's view of them.
func (o AuthOptions) prompt(reason string) (native.Prompt, error) {
	if err := checkText("reason", reason, MaxReasonLen); err != nil {
		return native.Prompt{}, err
	}
	if strings.TrimFunc(reason, unicode.IsSpace) == "" {
		return native.Prompt{}, invalid("reason", "the reason must not be empty: it tells the user why the app asks")
	}
	for _, f := range []struct {
		key, val string
	}{{"cancelTitle", o.CancelTitle}, {"title", o.Title}, {"subtitle", o.Subtitle}} {
		if err := checkText(f.key, f.val, MaxTitleLen); err != nil {
			return native.Prompt{}, err
		}
	}
	if o.FallbackTitle != nil {
		if err := checkText("fallbackTitle", *o.FallbackTitle, MaxTitleLen); err != nil {
			return native.Prompt{}, err
		}
	}
	max := o.MaxAttempts
	switch {
	case max == 0:
		max = DefaultMaxAttempts
	case max < 1 || max > MaxAttemptsLimit:
		return native.Prompt{}, invalid("maxAttemps", "%d attempts is out of range: allow from 1 to %d", max, MaxAttemptsLimit)
	}
	confirm := true
	if o.ConfirmationRequired != nil {
		confirm = *o.ConfirmationRequired
	}
	var fallback *string
	if o.FallbackTitle != nil {
		s := *o.FallbackTitle
		fallback = &s
	}
	return native.Prompt{
		Reason:                reason,
		Title:                 o.Title,
		Subtitle:              o.Subtitle,
		CancelTitle:           o.CancelTitle,
		FallbackTitle:         fallback,
		AllowDeviceCredential: o.AllowDeviceCredential,
		ConfirmationRequired:  confirm,
		MaxAttempts:           max,
	}, nil
}

func checkText(key, s string, limit int) error {
	if !utf8.ValidString(s) {
		return invalid(key, "the text is not valid UTF-8")
	}
	if n := utf8.RuneCountInString(s); n > limit {
		return invalid(key, "the text is %d characters long; the limit is %d", n, limit)
	}
	return nil
}
