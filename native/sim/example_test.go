package sim_test

import (
	"context"
	"fmt"

	"github.com/capguard/capguard/native"
	"github.com/capguard/capguard/native/sim"
)

// A scripted device: the first touch is not recognized, the second is,
// and the call log tells what the device saw.
func Example() {
	cfg, err := sim.ParseScript("device.json", []byte(`{
  "biometryType": "faceID",
  "script": ["no-match", "match"],
  "default": "user-cancel"
}`))
	if err != nil {
		panic(err)
	}
	device := sim.New(cfg)
	for attempt := 1; attempt <= 3; attempt++ {
		err := device.Authenticate(context.Background(), native.Prompt{Reason: "Open the vault", Attempt: attempt, MaxAttempts: 3})
		code, _ := native.CodeOf(err)
		fmt.Printf("attempt %d: err=%v code=%q\n", attempt, err, code)
	}
	for _, c := range device.Calls() {
		fmt.Printf("%s %s code=%q\n", c.Method, c.Outcome, c.Code)
	}
	// Output:
	// attempt 1: err=Biometric not recognized. (authenticationFailed) code="authenticationFailed"
	// attempt 2: err=<nil> code=""
	// attempt 3: err=Authentication was canceled by the user. (userCancel) code="userCancel"
	// authenticate no-match code="authenticationFailed"
	// authenticate match code=""
	// authenticate user-cancel code="userCancel"
}
