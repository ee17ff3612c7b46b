package mobile

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"

	"github.com/capguard/capguard/native"
)

// contract.json lists what crosses the Go<->Kotlin boundary; the
// Robolectric tests in android/ read the same file. These tests check the
// Go side against it.

// contract is contract.json.
type contract struct {
	About    string `json:"about"`
	Gomobile struct {
		GoPackage   string              `json:"goPackage"`
		JavaPackage string              `json:"javaPackage"`
		JavaClass   string              `json:"javaClass"`
		Interfaces  map[string][]string `json:"interfaces"`
		Functions   []string            `json:"functions"`
		Constants   map[string]int64    `json:"constants"`
	} `json:"gomobile"`
	Features []struct {
		Constant       string `json:"constant"`
		PackageManager string `json:"packageManager"`
		Type           string `json:"type"`
	} `json:"features"`
	Authenticators []struct {
		Constant string `json:"constant"`
		Android  string `json:"android"`
	} `json:"authenticators"`
	CanAuthenticateAsks string `json:"canAuthenticateAsks"`
	CanAuthenticate     []struct {
		Android   string `json:"android"`
		Value     int    `json:"value"`
		Framework bool   `json:"framework"`
		Note      string `json:"note"`
		Status    struct {
			Available bool   `json:"available"`
			Enrolled  bool   `json:"enrolled"`
			Message   string `json:"message"`
			Type      string `json:"type"`
		} `json:"status"`
	} `json:"canAuthenticate"`
	PromptErrors []struct {
		Android   string `json:"android"`
		Value     int    `json:"value"`
		Framework bool   `json:"framework"`
		Code      string `json:"code"`
		Message   string `json:"message"`
		Note      string `json:"note"`
	} `json:"promptErrors"`
	PromptErrorNoCode struct {
		Value int    `json:"value"`
		Code  string `json:"code"`
		Note  string `json:"note"`
	} `json:"promptErrorNoCode"`
	PromptErrorUnknown struct {
		Code     string `json:"code"`
		Examples []int  `json:"examples"`
	} `json:"promptErrorUnknown"`
	Keystore struct {
		Note             string `json:"note"`
		Provider         string `json:"provider"`
		VaultAliasPrefix string `json:"vaultAliasPrefix"`
		StepUpAlias      string `json:"stepUpAlias"`
		RecordVersion    int    `json:"recordVersion"`
		SecretKey        struct {
			Algorithm      string   `json:"algorithm"`
			KeySize        int      `json:"keySize"`
			Transformation string   `json:"transformation"`
			BlockMode      string   `json:"blockMode"`
			Padding        string   `json:"padding"`
			Purposes       []string `json:"purposes"`
			IVBytes        int      `json:"ivBytes"`
			TagBits        int      `json:"tagBits"`
		} `json:"secretKey"`
		SigningKey struct {
			Algorithm string   `json:"algorithm"`
			Curve     string   `json:"curve"`
			Signature string   `json:"signature"`
			Purposes  []string `json:"purposes"`
			Digests   []string `json:"digests"`
		} `json:"signingKey"`
		Authentication struct {
			UserAuthenticationRequired       bool   `json:"userAuthenticationRequired"`
			TimeoutSeconds                   int    `json:"timeoutSeconds"`
			Type                             string `json:"type"`
			TypeValue                        int    `json:"typeValue"`
			InvalidatedByBiometricEnrollment bool   `json:"invalidatedByBiometricEnrollment"`
			PromptAuthenticators             string `json:"promptAuthenticators"`
		} `json:"authentication"`
	} `json:"keystore"`
	KeyErrors []struct {
		Constant string `json:"constant"`
		When     string `json:"when"`
		Vault    string `json:"vault"`
		Signer   string `json:"signer"`
		DropsKey bool   `json:"dropsKey"`
	} `json:"keyErrors"`
	KeyErrorUnknown struct {
		Vault    string `json:"vault"`
		Signer   string `json:"signer"`
		DropsKey bool   `json:"dropsKey"`
		Examples []int  `json:"examples"`
	} `json:"keyErrorUnknown"`
	Prompts      []promptRow `json:"prompts"`
	KeyedPrompts []promptRow `json:"keyedPrompts"`
}

// promptRow is a prompt case: options and device, and the arguments Go
// hands to Android.Show (or ShowWithKey).
type promptRow struct {
	Name   string `json:"name"`
	Device struct {
		Features     int  `json:"features"`
		DeviceSecure bool `json:"deviceSecure"`
	} `json:"device"`
	Options struct {
		Reason                string `json:"reason"`
		Title                 string `json:"title"`
		Subtitle              string `json:"subtitle"`
		CancelTitle           string `json:"cancelTitle"`
		AllowDeviceCredential bool   `json:"allowDeviceCredential"`
		ConfirmationRequired  bool   `json:"confirmationRequired"`
	} `json:"options"`
	Show showCall `json:"show"`
}

// prompt is the row's options as a native.Prompt.
func (row promptRow) prompt() native.Prompt {
	o := row.Options
	return native.Prompt{
		Reason:                o.Reason,
		Title:                 o.Title,
		Subtitle:              o.Subtitle,
		CancelTitle:           o.CancelTitle,
		AllowDeviceCredential: o.AllowDeviceCredential,
		ConfirmationRequired:  o.ConfirmationRequired,
		Attempt:               1,
		MaxAttempts:           3,
	}
}

// UnmarshalJSON reads the contract's spelling of Android.Show's arguments.
func (s *showCall) UnmarshalJSON(b []byte) error {
	var v struct {
		Title                string `json:"title"`
		Subtitle             string `json:"subtitle"`
		Description          string `json:"description"`
		NegativeButton       string `json:"negativeButton"`
		Authenticators       int    `json:"authenticators"`
		ConfirmationRequired bool   `json:"confirmationRequired"`
	}
	dec := json.NewDecoder(bytes.NewReader(b))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&v); err != nil {
		return err
	}
	*s = showCall{v.Title, v.Subtitle, v.Description, v.NegativeButton, v.Authenticators, v.ConfirmationRequired}
	return nil
}

const contractFile = "contract.json"

var (
	contractOnce sync.Once
	contractData contract
	contractErr  error
)

// loadContract reads contract.json, refusing fields it does not know.
func loadContract(t *testing.T) *contract {
	t.Helper()
	contractOnce.Do(func() {
		b, err := os.ReadFile(contractFile)
		if err != nil {
			contractErr = err
			return
		}
		dec := json.NewDecoder(bytes.NewReader(b))
		dec.DisallowUnknownFields()
		if err := dec.Decode(&contractData); err != nil {
			contractErr = jsonError(contractFile, b, err)
		}
	})
	if contractErr != nil {
		t.Fatal(contractErr)
	}
	return &contractData
}

// jsonError puts the line and column of a decoding error in front of it.
func jsonError(name string, b []byte, err error) error {
	var off int64 = -1
	var se *json.SyntaxError
	var te *json.UnmarshalTypeError
	switch {
	case errors.As(err, &se):
		off = se.Offset
	case errors.As(err, &te):
		off = te.Offset
	}
	if off < 0 || off > int64(len(b)) {
		return fmt.Errorf("%s: %w", name, err)
	}
	line := 1 + bytes.Count(b[:off], []byte("\n"))
	col := int(off) - bytes.LastIndexByte(b[:off], '\n')
	return fmt.Errorf("%s:%d:%d: %w", name, line, col, err)
}

func TestContractPromptErrors(t *testing.T) {
	c := loadContract(t)
	if len(c.PromptErrors) == 0 {
		t.Fatal("contract lists no prompt errors")
	}
	d := &androidDevice{}
	seen := map[int]bool{}
	for _, row := range c.PromptErrors {
		t.Run(row.Android, func(t *testing.T) {
			if seen[row.Value] {
				t.Fatalf("value %d listed twice", row.Value)
			}
			seen[row.Value] = true
			want := native.Code(row.Code)
			if !want.Valid() {
				t.Fatalf("contract code %q is not one of the plugin's", row.Code)
			}
			if got := androidPromptCode(row.Value); got != want {
				t.Errorf("androidPromptCode(%d) = %q, contract says %q", row.Value, got, want)
			}
			wantMsg := row.Message
			if wantMsg == "" {
				wantMsg = "Platform words."
			}
			if e := d.failure(row.Value, "Platform words."); e.Code != want || e.Message != wantMsg {
				t.Errorf("failure(%d) = %q %q, want %q %q", row.Value, e.Code, e.Message, want, wantMsg)
			}
		})
	}
	// Go maps nothing that the contract leaves out.
	for raw := range androidPromptCodes {
		if !seen[raw] {
			t.Errorf("codes.go maps Android code %d, which contract.json does not list", raw)
		}
	}
	noCode := native.Code(c.PromptErrorNoCode.Code)
	if e := d.failure(c.PromptErrorNoCode.Value, ""); e.Code != noCode || e.Message == "" {
		t.Errorf("failure(%d) = %+v, contract says %q with a default message", c.PromptErrorNoCode.Value, e, noCode)
	}
	if len(c.PromptErrorUnknown.Examples) == 0 {
		t.Error("contract gives no unknown prompt codes")
	}
	for _, raw := range c.PromptErrorUnknown.Examples {
		if seen[raw] || raw == c.PromptErrorNoCode.Value {
			t.Errorf("unknown example %d is a listed code", raw)
		}
		if got := androidPromptCode(raw); got != native.Code(c.PromptErrorUnknown.Code) {
			t.Errorf("androidPromptCode(%d) = %q, contract says %q", raw, got, c.PromptErrorUnknown.Code)
		}
	}
}

func TestContractStatus(t *testing.T) {
	c := loadContract(t)
	if len(c.CanAuthenticate) == 0 {
		t.Fatal("contract lists no canAuthenticate answers")
	}
	seen := map[int]bool{}
	for _, row := range c.CanAuthenticate {
		t.Run(row.Android, func(t *testing.T) {
			seen[row.Value] = true
			typ := native.TouchID
			if row.Status.Type != "" {
				var ok bool
				if typ, ok = native.ParseBiometryType(row.Status.Type); !ok {
					t.Fatalf("unknown type %q", row.Status.Type)
				}
			}
			for _, secure := range []bool{false, true} {
				want := native.Status{
					Type:             typ,
					Available:        row.Status.Available,
					Enrolled:         row.Status.Enrolled,
					DeviceCredential: secure,
					Message:          row.Status.Message,
				}
				if got := androidStatus(FeatureFingerprint, row.Value, secure); got != want {
					t.Errorf("androidStatus(fingerprint, %d, %v)\n got  %+v\n want %+v", row.Value, secure, got, want)
				}
			}
		})
	}
	for raw := range androidStatusMessages {
		if !seen[raw] {
			t.Errorf("codes.go has a status message for canAuthenticate %d, which contract.json does not list", raw)
		}
	}
	if !seen[androidBiometricSuccess] {
		t.Error("contract does not list BIOMETRIC_SUCCESS")
	}
}

func TestContractFeaturesAndAuthenticators(t *testing.T) {
	c := loadContract(t)
	consts := c.Gomobile.Constants
	if len(c.Features) != 3 {
		t.Fatalf("contract lists %d features, want 3", len(c.Features))
	}
	for _, f := range c.Features {
		bit, ok := consts[f.Constant]
		if !ok {
			t.Errorf("feature %s is no constant of the contract", f.Constant)
			continue
		}
		want, ok := native.ParseBiometryType(f.Type)
		if !ok {
			t.Errorf("feature %s: unknown type %q", f.Constant, f.Type)
		}
		if got := androidType(int(bit)); got != want {
			t.Errorf("androidType(%s=%d) = %v, contract says %v", f.Constant, bit, got, want)
		}
	}
	if c.CanAuthenticateAsks != "BIOMETRIC_WEAK" {
		t.Errorf("the shim asks canAuthenticate(%s); Go's status reads it as BIOMETRIC_WEAK's answer", c.CanAuthenticateAsks)
	}
	byName := map[string]int64{}
	for _, a := range c.Authenticators {
		byName[a.Android] = consts[a.Constant]
	}
	if byName["BIOMETRIC_WEAK"] != AuthenticatorBiometricWeak || byName["DEVICE_CREDENTIAL"] != AuthenticatorDeviceCredential {
		t.Errorf("authenticators %v disagree with AuthenticatorBiometricWeak=%d, AuthenticatorDeviceCredential=%d", byName, AuthenticatorBiometricWeak, AuthenticatorDeviceCredential)
	}
}

func TestContractPrompts(t *testing.T) {
	c := loadContract(t)
	if len(c.Prompts) == 0 {
		t.Fatal("contract lists no prompts")
	}
	for _, row := range c.Prompts {
		t.Run(row.Name, func(t *testing.T) {
			f := &fakeAndroid{features: row.Device.Features, secure: row.Device.DeviceSecure}
			if err := (&androidDevice{p: f}).show(row.prompt(), nil); err != nil {
				t.Fatal(err)
			}
			f.mu.Lock()
			defer f.mu.Unlock()
			if len(f.shows) != 1 {
				t.Fatalf("%d calls of Show, want 1", len(f.shows))
			}
			if f.shows[0] != row.Show {
				t.Errorf("Show(%+v)\ncontract says %+v", f.shows[0], row.Show)
			}
		})
	}
}

// The README's table of Android codes is the contract's.
func TestReadmeListsTheContractsAndroidCodes(t *testing.T) {
	c := loadContract(t)
	b, err := os.ReadFile("README.md")
	if err != nil {
		t.Fatal(err)
	}
	row := regexp.MustCompile("(?m)^\\| (-?\\d+) \\| `(\\w+)` \\| (\\w+) \\|")
	var got []string
	for _, m := range row.FindAllStringSubmatch(string(b), -1) {
		got = append(got, m[1]+" "+m[2]+" "+m[3])
	}
	var want []string
	for _, e := range c.PromptErrors {
		want = append(want, strconv.Itoa(e.Value)+" "+e.Android+" "+e.Code)
	}
	if !slices.Equal(got, want) {
		t.Errorf("README.md's Android table:\n%s\ncontract.json:\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
	}
}
