package policy_test

import (
	"context"
	"errors"
	"fmt"

	"github.com/capguard/capguard/acl"
	"github.com/capguard/capguard/examples"
	"github.com/capguard/capguard/policy"
)

// A store that refuses a new version which drops capguard.json's step-up
// rule, unless someone confirms it; the refusal names what would go.
func ExampleConfirmRemoval() {
	app, err := acl.LoadAppFS(examples.App(), examples.AppDir, acl.Linux)
	if err != nil {
		panic(err)
	}
	resolved, err := acl.Resolve(app.Manifests, app.Capabilities, acl.Linux)
	if err != nil {
		panic(err)
	}
	ext, err := acl.LoadExtensionFS(examples.App(), examples.AppDir)
	if err != nil {
		panic(err)
	}
	confirmed := false
	store, err := policy.NewStore(context.Background(), policy.Static(&policy.Input{Resolved: resolved, Extension: ext}),
		policy.ConfirmRemoval(func(_ context.Context, next *policy.Version) error {
			if !confirmed {
				return errors.New("not confirmed")
			}
			return nil
		}))
	if err != nil {
		panic(err)
	}
	// The same capabilities without capguard.json.
	_, err = store.Load(context.Background(), &policy.Input{Resolved: resolved})
	fmt.Println(errors.Is(err, policy.ErrRemoval), store.Current().Seq)
	fmt.Println(err)
	confirmed = true
	v, err := store.Load(context.Background(), &policy.Input{Resolved: resolved})
	fmt.Println(err, v.Seq, v.Removed.Obligations)
	// Output:
	// true 1
	// reload failed, keeping version 1: the new version removes capabilities or obligations (obligations open_vault from windows main: biometric (max age 60 s, "Unlock your vault"); plugin:biometry|remove_data from windows main: biometric, signed (max age 0 s, "Delete a stored secret")): not confirmed
	// <nil> 2 [open_vault from windows main: biometric (max age 60 s, "Unlock your vault") plugin:biometry|remove_data from windows main: biometric, signed (max age 0 s, "Delete a stored secret")]
}
