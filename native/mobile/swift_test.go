package mobile

import (
	"go/types"
	"os"
	"regexp"
	"slices"
	"strings"
	"testing"
)

// The Swift shim is not compiled here (no Xcode). This test keeps it in
// step with the Go interface it implements, as far as text can: for every
// method of IOS, and of KeyReply as the shim calls it, the Swift file
// declares (or calls) the name gomobile's Objective-C binding gives it,
// with the argument labels that binding imports into Swift (the first
// argument unlabelled, the others by their Go names), `throws` exactly
// when the Go method returns an error, and a result exactly when it
// returns a value.

const swiftFile = "ios/CapguardBiometric.swift"

var swiftFuncRE = regexp.MustCompile(`(?s)func\s+(\w+)\s*\(([^)]*)\)\s*(throws)?\s*(->\s*[\w?]+)?\s*\{`)

// swiftLabels is the argument labels of a Swift parameter list.
func swiftLabels(params string) []string {
	var labels []string
	for _, p := range strings.Split(params, ",") {
		p = strings.TrimSpace(p)
		if p == "" {
			continue
		}
		names := strings.Fields(strings.TrimSpace(p[:strings.Index(p, ":")]))
		labels = append(labels, names[0])
	}
	return labels
}

func TestSwiftShimFollowsTheIOSInterface(t *testing.T) {
	b, err := os.ReadFile(swiftFile)
	if err != nil {
		t.Fatal(err)
	}
	src := string(b)
	funcs := map[string][]string{} // name -> the matched declarations
	for _, m := range swiftFuncRE.FindAllStringSubmatch(src, -1) {
		funcs[m[1]] = m
	}
	pkg := thisPackage(t)
	iface := pkg.Scope().Lookup("IOS").Type().Underlying().(*types.Interface)
	if iface.NumMethods() < 14 {
		t.Fatalf("IOS has %d methods", iface.NumMethods())
	}
	for m := range iface.Methods() {
		sig := m.Type().(*types.Signature)
		name := lowerFirst(m.Name())
		decl, ok := funcs[name]
		if !ok {
			t.Errorf("%s declares no func %s (IOS.%s)", swiftFile, name, m.Name())
			continue
		}
		var want []string
		for i := range sig.Params().Len() {
			if i == 0 {
				want = append(want, "_")
			} else {
				want = append(want, sig.Params().At(i).Name())
			}
		}
		if got := swiftLabels(decl[2]); !slices.Equal(got, want) {
			t.Errorf("func %s has labels %q, gomobile imports %q", name, got, want)
		}
		res := sig.Results()
		throws := res.Len() > 0 && isError(res.At(res.Len()-1).Type())
		if (decl[3] == "throws") != throws {
			t.Errorf("func %s: throws is %v, the Go method returns an error: %v", name, decl[3] == "throws", throws)
		}
		value := res.Len() == 2 || (res.Len() == 1 && !throws)
		if (decl[4] != "") != value {
			t.Errorf("func %s: result %q, the Go method returns a value: %v", name, decl[4], value)
		}
	}
	// The replies, as the shim calls them.
	for _, call := range []string{
		"reply.completed(", "reply.keyFailed(", "reply.failed(", "reply.succeeded()",
		"output:", "message:",
	} {
		if !strings.Contains(src, call) {
			t.Errorf("%s never calls %s", swiftFile, call)
		}
	}
	for m := range pkg.Scope().Lookup("KeyReply").Type().Underlying().(*types.Interface).Methods() {
		if m.Name() == "NotRecognized" {
			continue // iOS runs its own attempts and never reports one
		}
		if !strings.Contains(src, "."+lowerFirst(m.Name())+"(") {
			t.Errorf("%s never calls KeyReply.%s", swiftFile, m.Name())
		}
	}
	// What the Keychain and the Secure Enclave are asked for.
	for _, want := range []string{
		"kSecClassGenericPassword", ".biometryCurrentSet", "kSecAttrAccessibleWhenPasscodeSetThisDeviceOnly",
		"kSecUseAuthenticationContext", "localizedReason", "kSecAttrTokenIDSecureEnclave", ".privateKeyUsage",
		".ecdsaSignatureMessageX962SHA256", "interactionNotAllowed", "touchIDAuthenticationAllowableReuseDuration = 0",
	} {
		if !strings.Contains(src, want) {
			t.Errorf("%s does not use %s", swiftFile, want)
		}
	}
}
