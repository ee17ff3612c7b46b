package capguard_test

import (
	"context"
	"encoding/json"
	"fmt"

	"github.com/capguard/capguard"
	"github.com/capguard/capguard/acl"
	"github.com/capguard/capguard/examples"
	"github.com/capguard/capguard/ipc"
	"github.com/capguard/capguard/native/sim"
)

// An app's guarded IPC in one call: the example app (windows "main" and
// "settings"), the biometric plugin on a simulated fingerprint reader,
// and the app's own open_vault command, which the example's capguard.json
// gives a step-up: it runs only once the user is recognized by a prompt
// ("Unlock your vault"). Each invocation prints what the frontend's
// promise resolves or rejects with.
func Example() {
	device := sim.Ready()
	device.Script = []sim.Step{{Outcome: sim.NoMatch}, {Outcome: sim.Match}, {Outcome: sim.UserCancel}}
	reader := sim.New(device)
	app, err := capguard.LoadFS(examples.App(), examples.AppDir, acl.Linux, reader)
	if err != nil {
		panic(err)
	}
	err = app.Router.Handle("open_vault", ipc.HandlerFunc(func(ctx context.Context, inv *ipc.Invocation) (any, error) {
		return map[string]any{"items": 3}, nil
	}))
	if err != nil {
		panic(err)
	}

	invoke := func(window, command, args string) {
		out, err := app.Invoke(context.Background(), &ipc.Invocation{
			Command: command,
			Window:  window,
			Origin:  acl.LocalOrigin,
			Args:    json.RawMessage(args),
		})
		if err != nil {
			fmt.Printf("%-8s %-29s rejects %s\n", window, command, ipc.RejectValue(err))
			return
		}
		fmt.Printf("%-8s %-29s resolves %s\n", window, command, out)
	}
	invoke("settings", "plugin:biometric|status", `{}`)
	invoke("settings", "plugin:biometric|authenticate", `{"reason":"Open the vault"}`)
	invoke("main", "plugin:biometric|authenticate", `{"reason":"Open the vault"}`) // no-match, then match
	invoke("main", "open_vault", `{}`)                                             // step-up prompt: cancelled
	invoke("main", "open_vault", `{}`)                                             // step-up prompt: match
	invoke("main", "open_vault", `{}`)                                             // remembered for 60 s: no prompt
	invoke("main", "plugin:biometric|authenticate", `{"title":"Vault"}`)
	fmt.Println("prompts:", reader.Count(sim.MethodAuthenticate))
	// Output:
	// settings plugin:biometric|status       resolves {"isAvailable":true,"biometryType":1}
	// settings plugin:biometric|authenticate rejects "Command plugin:biometric|authenticate not allowed by ACL"
	// main     plugin:biometric|authenticate resolves null
	// main     open_vault                    rejects {"message":"Authentication was canceled by the user.","code":"userCancel"}
	// main     open_vault                    resolves {"items":3}
	// main     open_vault                    resolves {"items":3}
	// main     plugin:biometric|authenticate rejects {"message":"invalid args `reason` for command `authenticate`: missing required key reason"}
	// prompts: 4
}
