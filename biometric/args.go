package biometric

import (
	"encoding/json"
	"math"
	"strings"

	"github.com/capguard/capguard/internal/doc"
)

// quote writes s as a JSON string the way serde_json does.
func quote(s string) string { return doc.Quote(strings.ToValidUTF8(s, "\uFFFD")) }

// decodeAuthenticate reads the arguments the JavaScript guest sends to
// authenticate: {reason, ...options}. It is as lenient as the platforms
// where the JavaScript API must keep working, and strict where a mistake
// would otherwise pass unnoticed:
//
//   - reason is required, a non-empty string (MaxReasonLen);
//   - the options are optional, and null stands for absent;
//   - strings must be strings and booleans booleans (no coercion);
//   - maxAttemps must be a whole number; as on Android, values below 1
//     count as 1, and values above MaxAttemptsLimit are lowered to it;
//   - unknown fields are ignored, as the JavaScript side may add more
//     (note that the correctly spelled "maxAttempts" is one of them, as
//     upstream).
//
// Lengths are checked later by AuthOptions.prompt, with the Go API's
// rules.
func decodeAuthenticate(raw json.RawMessage) (string, AuthOptions, error) {
	var o AuthOptions
	if len(raw) == 0 {
		raw = json.RawMessage("{}")
	}
	root, err := doc.ParseJSON(raw)
	if err != nil {
		return "", o, invalid("", "the arguments are not valid JSON: %v", err)
	}
	if root.Kind != doc.Object {
		return "", o, invalid("", "expected an object of arguments, found %s", root.Kind)
	}
	field := func(key string) *doc.Node {
		n := root.Get(key)
		if n == nil || n.Kind == doc.Null {
			return nil
		}
		return n
	}
	str := func(key string) (*string, error) {
		n := field(key)
		if n == nil {
			return nil, nil
		}
		if n.Kind != doc.String {
			return nil, invalid(key, "expected a string, found %s", n.Kind)
		}
		s := n.Text
		return &s, nil
	}
	boolean := func(key string) (*bool, error) {
		n := field(key)
		if n == nil {
			return nil, nil
		}
		if n.Kind != doc.Bool {
			return nil, invalid(key, "expected a boolean, found %s", n.Kind)
		}
		b := n.Bool
		return &b, nil
	}

	reason, err := str("reason")
	if err != nil {
		return "", o, err
	}
	if reason == nil {
		return "", o, invalid("reason", "missing required key reason")
	}
	if *reason == "" {
		return "", o, invalid("reason", "the reason must not be empty: it tells the user why the app asks")
	}
	for _, f := range []struct {
		key string
		dst *string
	}{{"cancelTitle", &o.CancelTitle}, {"title", &o.Title}, {"subtitle", &o.Subtitle}} {
		s, err := str(f.key)
		if err != nil {
			return "", o, err
		}
		if s != nil {
			*f.dst = *s
		}
	}
	if o.FallbackTitle, err = str("fallbackTitle"); err != nil {
		return "", o, err
	}
	allow, err := boolean("allowDeviceCredential")
	if err != nil {
		return "", o, err
	}
	o.AllowDeviceCredential = allow != nil && *allow
	if o.ConfirmationRequired, err = boolean("confirmationRequired"); err != nil {
		return "", o, err
	}
	if n := field("maxAttemps"); n != nil {
		if n.Kind != doc.Number {
			return "", o, invalid("maxAttemps", "expected a number, found %s", n.Kind)
		}
		f := n.Float()
		if math.IsNaN(f) || math.IsInf(f, 0) || f != math.Trunc(f) {
			return "", o, invalid("maxAttemps", "expected a whole number of attempts, found %s", n.Text)
		}
		o.MaxAttempts = int(max(1, min(f, MaxAttemptsLimit)))
	}
	return *reason, o, nil
}
