package biometric_test

import (
	"context"
	"errors"
	"fmt"

	"github.com/capguard/capguard/biometric"
	"github.com/capguard/capguard/native/sim"
)

// The Go API, on a simulated fingerprint reader that does not recognize
// the first touch and then sees the user cancel.
func ExampleBiometric_Authenticate() {
	device := sim.Ready()
	device.Script = []sim.Step{{Outcome: sim.NoMatch}, {Outcome: sim.UserCancel}}
	b := biometric.New(sim.New(device))

	status, _ := b.Status(context.Background())
	fmt.Printf("available: %v, type: %d\n", status.IsAvailable, status.BiometryType)

	err := b.Authenticate(context.Background(), "Open the vault", biometric.AuthOptions{MaxAttempts: 3})
	switch {
	case err == nil:
		fmt.Println("authenticated")
	case errors.Is(err, biometric.UserCancel):
		fmt.Println("the user cancelled")
	default:
		fmt.Println("failed:", err)
	}
	// Output:
	// available: true, type: 1
	// the user cancelled
}

// Status of a device without an enrolled biometric, as the JavaScript
// checkStatus() receives it.
func ExampleBiometric_Status() {
	device := sim.Ready()
	device.Enrolled = false
	status, _ := biometric.New(sim.New(device)).Status(context.Background())
	fmt.Printf("%+v\n", status)
	// Output:
	// {IsAvailable:false BiometryType:touchID Error:Biometrics not enrolled. ErrorCode:biometryNotEnrolled}
}
