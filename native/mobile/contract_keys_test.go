package mobile

import (
	"bytes"
	"context"
	"fmt"
	"os"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"testing"

	"github.com/capguard/capguard/native"
)

// The key half of contract.json, checked from Go: the names and sizes Go
// uses, what every KeyError means, and the prompt of a key operation.

func TestContractKeystore(t *testing.T) {
	ks := loadContract(t).Keystore
	if ks.VaultAliasPrefix != vaultAliasPrefix || ks.StepUpAlias != stepUpAlias {
		t.Errorf("aliases %q/%q, Go uses %q/%q", ks.VaultAliasPrefix, ks.StepUpAlias, vaultAliasPrefix, stepUpAlias)
	}
	if ks.RecordVersion != recordVersion {
		t.Errorf("record version %d, Go writes %d", ks.RecordVersion, recordVersion)
	}
	if ks.SecretKey.IVBytes != gcmIVLen || ks.SecretKey.TagBits != 8*gcmTagLen {
		t.Errorf("GCM IV %d bytes and tag %d bits, Go checks %d and %d", ks.SecretKey.IVBytes, ks.SecretKey.TagBits, gcmIVLen, 8*gcmTagLen)
	}
	a := ks.Authentication
	if !a.UserAuthenticationRequired || a.TimeoutSeconds != 0 || a.Type != "AUTH_BIOMETRIC_STRONG" || !a.InvalidatedByBiometricEnrollment {
		t.Errorf("the contract weakens the keys' authentication: %+v", a)
	}
	if got := loadContract(t).Gomobile.Constants[a.PromptAuthenticators]; got != AuthenticatorBiometricStrong {
		t.Errorf("the keyed prompt's authenticators %s = %d, Go passes %d", a.PromptAuthenticators, got, AuthenticatorBiometricStrong)
	}
	if AuthenticatorBiometricStrong&AuthenticatorDeviceCredential != 0 {
		t.Error("the keyed prompt's authenticators include the device credential")
	}
}

func TestContractKeyErrors(t *testing.T) {
	c := loadContract(t)
	if len(c.KeyErrors) == 0 {
		t.Fatal("contract lists no key errors")
	}
	seen := map[int]bool{}
	for _, row := range c.KeyErrors {
		t.Run(row.Constant, func(t *testing.T) {
			v, ok := c.Gomobile.Constants[row.Constant]
			if !ok {
				t.Fatalf("%s is no constant of the contract", row.Constant)
			}
			seen[int(v)] = true
			o := androidKeyOutcome(int(v))
			if o.vault != native.Code(row.Vault) || o.signer != native.Code(row.Signer) || o.dropsKey != row.DropsKey {
				t.Errorf("androidKeyOutcome(%d) = vault %q signer %q drops %v; contract says %q %q %v",
					v, o.vault, o.signer, o.dropsKey, row.Vault, row.Signer, row.DropsKey)
			}
			for _, code := range []native.Code{o.vault, o.signer} {
				if !code.Known() {
					t.Errorf("%q is no known code", code)
				}
			}
			if o.vaultMsg == "" || o.signerMsg == "" {
				t.Error("no message")
			}
		})
	}
	for raw := range androidKeyErrors {
		if !seen[raw] {
			t.Errorf("keys.go maps key error %d, which contract.json does not list", raw)
		}
	}
	u := c.KeyErrorUnknown
	if len(u.Examples) == 0 {
		t.Fatal("contract gives no unknown key errors")
	}
	for _, raw := range u.Examples {
		if seen[raw] {
			t.Errorf("unknown example %d is a listed key error", raw)
		}
		if o := androidKeyOutcome(raw); o.vault != native.Code(u.Vault) || o.signer != native.Code(u.Signer) || o.dropsKey != u.DropsKey {
			t.Errorf("androidKeyOutcome(%d) = %+v, contract says %+v", raw, o, u)
		}
	}
}

// The prompt of a key operation, as Go hands it to ShowWithKey.
func TestContractKeyedPrompts(t *testing.T) {
	c := loadContract(t)
	if len(c.KeyedPrompts) == 0 {
		t.Fatal("contract lists no keyed prompts")
	}
	for _, row := range c.KeyedPrompts {
		t.Run(row.Name, func(t *testing.T) {
			f := &fakeAndroid{features: row.Device.Features, secure: row.Device.DeviceSecure, dir: t.TempDir()}
			f.keyScript = []keyStep{kSucceed}
			sh := newAndroidShim(f)
			if err := sh.SetData(context.Background(), row.prompt(), "d", "n", []byte("x")); err != nil {
				t.Fatal(err)
			}
			calls := f.calls()
			if len(calls) != 1 {
				t.Fatalf("%d keyed prompts, want 1", len(calls))
			}
			k := calls[0]
			got := showCall{k.title, k.subtitle, k.description, k.negative, k.authenticators, k.confirmation}
			if got != row.Show {
				t.Errorf("ShowWithKey(%+v)\ncontract says %+v", got, row.Show)
			}
			if k.op != OperationEncrypt || k.alias != vaultAliasPrefix+"d" || !bytes.Equal(k.aad, native.RecordAAD(recordVersion, "d", "n")) {
				t.Errorf("ShowWithKey op %d alias %q aad %q", k.op, k.alias, k.aad)
			}
		})
	}
}

// The README's tables of key errors and OSStatus codes are the code's.
func TestReadmeListsTheKeyCodes(t *testing.T) {
	c := loadContract(t)
	b, err := os.ReadFile("README.md")
	if err != nil {
		t.Fatal(err)
	}
	keyRow := regexp.MustCompile("(?m)^\\| (\\d+) `(KeyError\\w+)` \\| [^|]* \\| (\\w+) \\| (\\w+) \\|")
	var got, want []string
	for _, m := range keyRow.FindAllStringSubmatch(string(b), -1) {
		got = append(got, strings.Join(m[1:], " "))
	}
	for _, r := range c.KeyErrors {
		want = append(want, fmt.Sprintf("%d %s %s %s", c.Gomobile.Constants[r.Constant], r.Constant, r.Vault, r.Signer))
	}
	if !slices.Equal(got, want) {
		t.Errorf("README.md's KeyError table:\n%s\ncontract.json:\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
	}

	statusRow := regexp.MustCompile("(?m)^\\| (-\\d+) `(errSec\\w+)` \\| (\\w+)")
	rows := statusRow.FindAllStringSubmatch(string(b), -1)
	if len(rows) != len(iosItemCodes) {
		t.Errorf("README.md lists %d OSStatus codes, ios.go maps %d", len(rows), len(iosItemCodes))
	}
	for _, m := range rows {
		status, _ := strconv.Atoi(m[1])
		if got := iosItemError(status, "").Code; string(got) != m[3] {
			t.Errorf("README.md: %s %s is %s; ios.go says %s", m[1], m[2], m[3], got)
		}
	}
}
