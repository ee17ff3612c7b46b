package main

import (
	"errors"
	"fmt"
	"strings"

	"github.com/capguard/capguard/acl"
	"github.com/capguard/capguard/acldiff"
	"github.com/spf13/cobra"
)

func init() { register(newDiffCmd) }

func newDiffCmd() *cobra.Command {
	var format, failOn, repo string
	var targets []string
	c := &cobra.Command{
		Use:   "diff OLD NEW [--target T] [--format text|markdown|json|github] [--fail-on widened|any] [--repo DIR]",
		Short: "What a change grants: the difference in effective access between two versions of an app",
		Long: `Compare what two versions of a Tauri app allow. Each side is a src-tauri
directory or a git revision of the repository in --repo: REV (its
src-tauri folder) or REV:path/to/src-tauri (path from the top of the
repository), read from git objects without a checkout.

Both sides are resolved for each target (default: every target a
capability of either side names; a capability without platforms names
the desktop targets) and compared by effective access, not by text:
calls (command, execution context, window or webview pattern) that become
possible or impossible, scope values added or removed, deny entries that
appear or disappear, remote URL patterns and plugins that gain or lose all
access, each with the capability permission entry that causes it.
Reordering, reformatting, moving a capability to another file or replacing
permissions by a set that holds exactly them reports "unchanged".

Formats: text (grouped by window, then plugin), markdown (a pull-request
comment), json (docs/diff.md), github (workflow annotations on the lines
that widen the access).

Exit status: 0, or 1 with --fail-on widened when something widened (or
with --fail-on any when anything changed) or when a side's files are
invalid; 2 on a usage, git or I/O error.`,
		Args: func(c *cobra.Command, args []string) error {
			if len(args) != 2 {
				return usageError("%s takes two arguments, OLD and NEW; got %d", c.CommandPath(), len(args))
			}
			return nil
		},
		RunE: func(c *cobra.Command, args []string) error {
			f := acldiff.Format(format)
			ok := false
			for _, x := range acldiff.Formats {
				ok = ok || f == x
			}
			if !ok {
				return usageError("--format must be text, markdown, json or github, not %q", format)
			}
			if failOn != "" && failOn != "widened" && failOn != "any" {
				return usageError("--fail-on must be widened or any, not %q", failOn)
			}
			var ts []acl.Target
			for _, list := range targets {
				for _, s := range strings.Split(list, ",") {
					t, err := acl.ParseTarget(strings.TrimSpace(s))
					if err != nil {
						return usageError("--target: %v", strings.TrimPrefix(err.Error(), acl.ErrInvalid.Error()+": "))
					}
					ts = append(ts, t)
				}
			}
			var sides [2]acldiff.Side
			for i, spec := range args {
				s, err := acldiff.Open(spec, repo)
				if errors.Is(err, acldiff.ErrSpec) {
					return usageError("%v", err)
				}
				if err != nil {
					return err
				}
				sides[i] = s
			}
			report, err := acldiff.Compare(sides[0], sides[1], ts)
			if errors.Is(err, acldiff.ErrNoManifests) {
				return usageError("%v", err)
			}
			if err != nil {
				return err
			}
			if err := report.Write(c.OutOrStdout(), f); err != nil {
				return err
			}
			if failOn == "widened" && report.Widened > 0 || failOn == "any" && report.Verdict != acldiff.Unchanged {
				return &exitError{code: 1, err: fmt.Errorf("%w: the access %s (--fail-on %s)", errDenied, report.Verdict, failOn)}
			}
			return nil
		},
	}
	fl := c.Flags()
	fl.StringVar(&format, "format", "text", "output format: text, markdown, json or github")
	fl.StringVar(&failOn, "fail-on", "", "exit 1 when the access widened (widened) or changed at all (any)")
	fl.StringSliceVar(&targets, "target", nil, "target(s) to compare: linux, macOS, windows, android, iOS (default: those the capabilities name)")
	fl.StringVar(&repo, "repo", ".", "the git repository (or a folder in its work tree) that revisions are read from")
	return c
}
