package shim_test

import (
	"context"
	"fmt"
	"os"

	"github.com/capguard/capguard/native"
	"github.com/capguard/capguard/native/mobile"
	"github.com/capguard/capguard/native/mobile/shim"
)

// demoAndroid plays the Kotlin shim: a fingerprint reader that recognizes
// the user at once, and a software keystore (keystore_test.go).
type demoAndroid struct{ *demoKeystore }

func (demoAndroid) Features() int        { return mobile.FeatureFingerprint }
func (demoAndroid) CanAuthenticate() int { return 0 } // BIOMETRIC_SUCCESS
func (demoAndroid) DeviceSecure() bool   { return true }
func (demoAndroid) Show(title, subtitle, description, negative string, authenticators int, confirm bool, r mobile.Reply) error {
	fmt.Printf("prompt %q / %q, button %q\n", title, description, negative)
	go r.Succeeded() // onAuthenticationSucceeded, on the UI thread
	return nil
}
func (demoAndroid) Dismiss() {}

// Example registers a platform, as the host app does at start-up, and
// uses it through the shim, as the biometric plugin (biometric.New(shim.New()))
// does.
func Example() {
	if err := mobile.RegisterAndroid(demoAndroid{}); err != nil {
		panic(err)
	}
	defer mobile.Unregister()

	s := shim.New()
	st, _ := s.Status(context.Background())
	fmt.Println(st.Type, st.Available, st.Enrolled)
	err := s.Authenticate(context.Background(), native.Prompt{Reason: "Open the vault", Attempt: 1, MaxAttempts: 3})
	fmt.Println(err)
	// Output:
	// touchID true true
	// prompt "Fingerprint Authentication" / "Open the vault", button "Cancel"
	// <nil>
}

// The registered platform is also the plugin's vault and signer: the
// biometric core finds them by asserting the shim it was given.
func Example_vault() {
	dir, err := os.MkdirTemp("", "capguard-example-")
	if err != nil {
		panic(err)
	}
	defer os.RemoveAll(dir)
	if err := mobile.RegisterAndroid(demoAndroid{newDemoKeystore(dir)}); err != nil {
		panic(err)
	}
	defer mobile.Unregister()

	var device native.Shim = shim.New()
	vault, _ := device.(native.Vault)
	signer, _ := device.(native.Signer)
	fmt.Println(vault.VaultBinding(), signer.SignerBinding())

	ctx := context.Background()
	p := native.Prompt{Reason: "Unlock your vault", Attempt: 1, MaxAttempts: 3}
	if err := vault.SetData(ctx, p, "com.example.vault", "token", []byte("s3cret")); err != nil {
		panic(err)
	}
	data, err := vault.GetData(ctx, p, "com.example.vault", "token")
	fmt.Printf("%s %v\n", data, err)

	pub, _ := signer.StepUpKey(ctx, true) // PKIX DER, registered with the guard once
	sig, err := signer.Sign(ctx, p, []byte("challenge"))
	fmt.Println(len(pub) > 0, len(sig) > 0, err)
	// Output:
	// key key
	// s3cret <nil>
	// true true <nil>
}
