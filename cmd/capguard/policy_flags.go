package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"strings"

	"github.com/capguard/capguard/acl"
	"github.com/capguard/capguard/policy"
	"github.com/capguard/capguard/policy/rego"
	"github.com/spf13/cobra"
)

// The --policy flag of check and who: Rego user policies (package
// policy/rego) applied on top of the ACL. acl_cmds.go calls the three
// hooks below; without --policy they change nothing.

const policyFlagName = "policy"

// addPolicyFlag registers --policy on a command.
func addPolicyFlag(c *cobra.Command) {
	c.Flags().String(policyFlagName, "", "Rego policy: a .rego file or a folder of them (*_test.rego left out); its deny rules deny calls the ACL allows, its obligations are reported")
}

// policyEngine builds the Rego engine for --policy, or returns nil when the
// flag is absent or empty.
func policyEngine(c *cobra.Command, r *acl.Resolved) (*rego.Engine, string, error) {
	path, _ := c.Flags().GetString(policyFlagName)
	if path == "" {
		return nil, "", nil
	}
	mods, err := rego.LoadModules(path)
	if err != nil {
		return nil, "", fmt.Errorf("--policy %s: %w", path, err)
	}
	e, err := rego.New(cmdContext(c), r, mods...)
	if err != nil {
		return nil, "", err
	}
	return e, path, nil
}

func cmdContext(c *cobra.Command) context.Context {
	if ctx := c.Context(); ctx != nil {
		return ctx
	}
	return context.Background()
}

func toPolicyRequest(req acl.Request) policy.Request {
	return policy.Request{Command: req.Command, Window: req.Window, Webview: req.Webview, Origin: req.Origin}
}

// evalError makes a failed policy evaluation an invalid-input exit (1).
func evalError(path string, err error) error {
	if errors.Is(err, rego.ErrEval) {
		return &exitError{code: 1, err: fmt.Errorf("--policy %s: %w", path, err)}
	}
	return err
}

// checkPolicy applies --policy to the call check decides (tableAllowed is
// the ACL's answer). It returns whether the call is allowed and a function
// that prints, after the ACL's decision, the policy's verdict, denials and
// obligations. Policy errors come before anything is printed.
func checkPolicy(c *cobra.Command, r *acl.Resolved, req acl.Request, tableAllowed bool) (bool, func(io.Writer), error) {
	none := func(io.Writer) {}
	e, path, err := policyEngine(c, r)
	if err != nil || e == nil {
		return tableAllowed, none, err
	}
	d, err := e.Decide(cmdContext(c), toPolicyRequest(req))
	if err != nil {
		return false, none, evalError(path, err)
	}
	return d.Allowed, func(out io.Writer) {
		fmt.Fprintln(out)
		switch {
		case d.Allowed:
			fmt.Fprintf(out, "policy %s: allowed", path)
			if len(d.Obligations) == 0 {
				fmt.Fprintln(out, ", no obligations")
				return
			}
			fmt.Fprintln(out, ", once these obligations are met:")
			for _, o := range d.Obligations {
				fmt.Fprintln(out, "  "+obligationText(o))
			}
		case tableAllowed:
			fmt.Fprintf(out, "policy %s: denied\n", path)
			for _, line := range strings.Split(strings.TrimPrefix(d.Reason, "denied by policy: "), "; ") {
				fmt.Fprintln(out, "  "+line)
			}
		default:
			fmt.Fprintf(out, "policy %s: denied (the ACL denies the call; a policy can only add denials)\n", path)
		}
	}, nil
}

// obligationText describes an obligation for people.
func obligationText(o policy.Obligation) string {
	var b strings.Builder
	if o.Type == policy.ObligationBiometric && o.Signed() {
		b.WriteString("biometric (signed): a signature of this call by the registered step-up key, which only a fresh biometric authentication unlocks")
	} else if o.Type == policy.ObligationBiometric {
		b.WriteString("biometric (event-bound): a biometric authentication of the user")
		if o.MaxAgeS > 0 {
			fmt.Fprintf(&b, " at most %d s old", o.MaxAgeS)
		} else {
			b.WriteString(" for this call")
		}
	} else {
		b.WriteString(o.Type)
		if o.MaxAgeS > 0 {
			fmt.Fprintf(&b, " (max age %d s)", o.MaxAgeS)
		}
	}
	if o.Reason != "" {
		fmt.Fprintf(&b, " (%q)", o.Reason)
	}
	return b.String()
}

// policyGrants applies --policy to who's list: it drops the commands the
// policy denies and returns a function that prints, after the table, the
// commands it dropped and the obligations of the ones it kept.
func policyGrants(c *cobra.Command, r *acl.Resolved, window, webview string, origin acl.Origin, grants []acl.Grant) ([]acl.Grant, func(io.Writer), error) {
	none := func(io.Writer) {}
	e, path, err := policyEngine(c, r)
	if err != nil || e == nil {
		return grants, none, err
	}
	var kept []acl.Grant
	var notes []string
	ctx := cmdContext(c)
	for _, g := range grants {
		d, err := e.Decide(ctx, policy.Request{Command: g.Command, Window: window, Webview: webview, Origin: origin})
		if err != nil {
			return nil, none, evalError(path, err)
		}
		if !d.Allowed {
			notes = append(notes, fmt.Sprintf("  %s: denied: %s", g.Command, strings.TrimPrefix(d.Reason, "denied by policy: ")))
			continue
		}
		kept = append(kept, g)
		for _, o := range d.Obligations {
			notes = append(notes, fmt.Sprintf("  %s: obligation: %s", g.Command, obligationText(o)))
		}
	}
	return kept, func(out io.Writer) {
		fmt.Fprintln(out)
		if len(notes) == 0 {
			fmt.Fprintf(out, "policy %s: no denials, no obligations\n", path)
			return
		}
		fmt.Fprintf(out, "policy %s:\n", path)
		for _, n := range notes {
			fmt.Fprintln(out, n)
		}
	}, nil
}
