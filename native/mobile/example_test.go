package mobile_test

import (
	"context"
	"fmt"

	"github.com/capguard/capguard/native"
	"github.com/capguard/capguard/native/mobile"
	"github.com/capguard/capguard/native/mobile/shim"
)

// demoIOS plays the Swift shim on a Face ID device whose user cancels.
type demoIOS struct{ noKeychain }

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

// noKeychain is the key half of a demo platform without a Keychain: every
// call answers errSecNotAvailable (-25291).
type noKeychain struct{}

func (noKeychain) AddItem(service, account string, data []byte, requireBiometry bool) int {
	return -25291
}
func (noKeychain) UpdateItem(service, account string, data []byte, reason, cancelTitle string, setCancel bool, r mobile.KeyReply) error {
	go r.KeyFailed(-25291, "")
	return nil
}
func (noKeychain) ReadItem(service, account, reason, cancelTitle string, setCancel bool, r mobile.KeyReply) error {
	go r.KeyFailed(-25291, "")
	return nil
}
func (noKeychain) ItemStatus(service, account string) int     { return -25291 }
func (noKeychain) DeleteItem(service, account string) int     { return -25291 }
func (noKeychain) CreateStepUpKey(tag string) int             { return -25291 }
func (noKeychain) StepUpPublicKey(tag string) ([]byte, error) { return nil, nil }
func (noKeychain) DeleteStepUpKey(tag string) int             { return -25291 }
func (noKeychain) SignWithStepUpKey(tag string, message []byte, reason, cancelTitle string, setCancel bool, r mobile.KeyReply) error {
	go r.KeyFailed(-25291, "")
	return nil
}
