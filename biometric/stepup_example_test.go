package biometric_test

import (
	"context"
	"fmt"
	"time"

	"github.com/capguard/capguard/acl"
	"github.com/capguard/capguard/biometric"
	"github.com/capguard/capguard/ipc"
	"github.com/capguard/capguard/native/sim"
	"github.com/capguard/capguard/policy"
)

// ExampleStepUp meets an obligation "a biometric authentication at most
// five minutes old" for three calls of one window: the first prompts, the
// second is met by the remembered success, the third (six minutes later)
// prompts again.
func ExampleStepUp() {
	device := sim.New(sim.Ready())
	now := time.Date(2026, 5, 4, 9, 0, 0, 0, time.UTC)
	stepUp := biometric.NewStepUp(biometric.New(device),
		biometric.WithClock(func() time.Time { return now }),
		biometric.OnStepUp(func(ev biometric.StepUpEvent) {
			fmt.Printf("%s from %s: %s\n", ev.Command, ev.Window, ev.Outcome)
		}))
	// On a guard: ipc.WithObligation(policy.ObligationBiometric, stepUp.Meet).
	o := policy.Obligation{Type: policy.ObligationBiometric, MaxAgeS: 300, Reason: "Unlock your vault"}
	call := &ipc.Invocation{Command: "open_vault", Window: "main", Webview: "main", Origin: acl.LocalOrigin}
	for _, wait := range []time.Duration{0, time.Minute, 6 * time.Minute} {
		now = now.Add(wait)
		if err := stepUp.Meet(context.Background(), call, o); err != nil {
			fmt.Println(err)
		}
	}
	fmt.Println("prompts:", device.Count(sim.MethodAuthenticate))
	// Output:
	// open_vault from main: prompted
	// open_vault from main: remembered
	// open_vault from main: prompted
	// prompts: 2
}
