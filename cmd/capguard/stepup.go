package main

import (
	"fmt"
	"io"

	"github.com/capguard/capguard/acl"
	"github.com/capguard/capguard/examples"
	"github.com/capguard/capguard/policy"
)

// capguard.json in check: the obligations that capguard's extension file
// adds to an allowed call. acl_cmds.go calls checkExtension; without a
// capguard.json in DIR it changes nothing.

// loadExtension reads DIR/capguard.json, or the embedded example app's
// when no DIR is given. It returns nil when there is none.
func loadExtension(args []string) (*acl.Extension, error) {
	if len(args) == 0 {
		return acl.LoadExtensionFS(examples.App(), examples.AppDir)
	}
	return acl.LoadExtension(args[0])
}

// checkExtension finds the obligations DIR/capguard.json adds to the call
// check decides (allowed is the verdict so far) and returns a function
// that prints them. The file is checked against the manifests first
// (a command no permission names is an error at its position).
func checkExtension(args []string, r *acl.Resolved, req acl.Request, allowed bool) (func(io.Writer), error) {
	none := func(io.Writer) {}
	ext, err := loadExtension(args)
	if err != nil || ext == nil {
		return none, err
	}
	if err := ext.Check(r.Manifests); err != nil {
		return none, err
	}
	if !allowed {
		return none, nil
	}
	var obs []policy.Obligation
	for _, rule := range ext.Obligations {
		if rule.MatchesCommand(req.Command) && rule.MatchesLabel(req.Window, req.Webview) {
			obs = append(obs, policy.Obligation{Type: rule.Type, MaxAgeS: rule.MaxAgeS, Reason: rule.Reason, Binding: rule.Binding})
		}
	}
	return func(out io.Writer) {
		fmt.Fprintln(out)
		if len(obs) == 0 {
			fmt.Fprintf(out, "%s: no obligations\n", ext.File)
			return
		}
		fmt.Fprintf(out, "%s: allowed once these obligations are met:\n", ext.File)
		for _, o := range obs {
			fmt.Fprintln(out, "  "+obligationText(o))
		}
	}, nil
}
