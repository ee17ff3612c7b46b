package main

import (
	"fmt"
	"os"
	"strconv"

	"github.com/capguard/capguard/acl"
	"github.com/capguard/capguard/policy"
	"github.com/spf13/cobra"
)

// The --add-capability flag of invoke, check and who: capability files
// added at run time (App.AddCapability, Tauri's Manager::add_capability)
// on top of what DIR's files grant, each file one addition, in order.

const addCapabilityFlag = "add-capability"

const addCapabilityUsage = "capability file (JSON, JSON5 or TOML) to add at run time, as the app's code would with App.AddCapability / Tauri's add_capability (repeatable, in order)"

func addRuntimeFlag(c *cobra.Command) {
	c.Flags().StringArray(addCapabilityFlag, nil, addCapabilityUsage)
}

// runtimeTexts reads the --add-capability files: a missing file is a
// usage error.
func runtimeTexts(c *cobra.Command) (names []string, texts [][]byte, err error) {
	files, _ := c.Flags().GetStringArray(addCapabilityFlag)
	for _, f := range files {
		data, err := os.ReadFile(f)
		if err != nil {
			if os.IsNotExist(err) {
				return nil, nil, usageError("--%s: %v", addCapabilityFlag, err)
			}
			return nil, nil, err
		}
		names, texts = append(names, f), append(texts, data)
	}
	return names, texts, nil
}

// withRuntime adds the --add-capability files to r the way the app's store
// does, and returns the version they make (nil without the flag): its
// Resolved decides, and IsRuntime tells its added capabilities apart.
func withRuntime(c *cobra.Command, r *acl.Resolved) (*acl.Resolved, *policy.Version, error) {
	names, texts, err := runtimeTexts(c)
	if err != nil || len(names) == 0 {
		return r, nil, err
	}
	ctx := cmdContext(c)
	s, err := policy.NewStore(ctx, policy.Static(&policy.Input{Resolved: r}))
	if err != nil {
		return nil, nil, err
	}
	for i, name := range names {
		if _, err := s.AddCapabilityText(ctx, name, texts[i]); err != nil {
			return nil, nil, &exitError{code: 1, err: fmt.Errorf("--%s %s: %w", addCapabilityFlag, name, err)}
		}
	}
	v := s.Current()
	return v.Resolved, v, nil
}

// capabilityName is a capability as who and check print it: its
// identifier, and for one added at run time, that it was and from where.
func capabilityName(v *policy.Version, e *acl.ResolvedCommand) string {
	return e.Capability + runtimeNote(v, e)
}

// quotedCapability is capabilityName with the identifier quoted.
func quotedCapability(v *policy.Version, e *acl.ResolvedCommand) string {
	return strconv.Quote(e.Capability) + runtimeNote(v, e)
}

func runtimeNote(v *policy.Version, e *acl.ResolvedCommand) string {
	if v.IsRuntime(e.From) {
		return " (added at run time from " + e.From.Source.File + ")"
	}
	return ""
}
