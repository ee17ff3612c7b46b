package shim_test

import (
	"context"
	"fmt"

	"github.com/capguard/capguard/native"
	"github.com/capguard/capguard/native/mobile"
	"github.com/capguard/capguard/native/mobile/shim"
)

// demoAndroid plays the Kotlin shim: a fingerprint reader that recognizes
// the user at once.
type demoAndroid struct{}

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
