package mobile_test

import (
	"context"
	"fmt"

	"github.com/capguard/capguard/native"
	"github.com/capguard/capguard/native/mobile"
	"github.com/capguard/capguard/native/mobile/shim"
)

// demoIOS plays the Swift shim on a Face ID device whose user cancels.
type demoIOS struct{}

func (demoIOS) BiometryType() int              { return 2 } // LABiometryType.faceID
func (demoIOS) CanEvaluate(policy int) int     { return 0 }
func (demoIOS) FaceIDUsageDescription() string { return "Unlock your vault." }
func (demoIOS) Evaluate(policy int, reason, fallback string, setFallback bool, cancel string, setCancel bool, r mobile.Reply) error {
	go r.Failed(-2, "Canceled by user.") // LAError.userCancel
	return nil
}
func (demoIOS) Invalidate() {}

// ExampleRegisterIOS registers the Swift side (played here by Go) and
// shows how a raw LAError code reaches the plugin.
func ExampleRegisterIOS() {
	if err := mobile.RegisterIOS(demoIOS{}); err != nil {
		panic(err)
	}
	defer mobile.Unregister()
	err := shim.New().Authenticate(context.Background(), native.Prompt{Reason: "Open the vault", Attempt: 1, MaxAttempts: 3})
	fmt.Println(err)
	// Output: Canceled by user. (userCancel)
}
