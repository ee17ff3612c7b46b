package main

import (
	"errors"
	"fmt"
	"io"
	"strings"
	"text/tabwriter"

	"github.com/capguard/capguard/acl"
	"github.com/capguard/capguard/policy"
	"github.com/spf13/cobra"
)

// errDenied makes check exit with 1 without printing an error.
var errDenied = errors.New("denied")

func init() {
	register(newResolveCmd)
	register(newCheckCmd)
	register(newWhoCmd)
}

func newResolveCmd() *cobra.Command {
	var in aclInputs
	var format string
	c := &cobra.Command{
		Use:   "resolve [DIR]",
		Short: "Resolve capabilities into the runtime ACL Tauri builds",
		Long: `Resolve the capabilities of DIR (a src-tauri directory; default: the
embedded example app) against the manifests into the ACL Tauri uses at run
time: for every command, which windows and webviews may call it from which
context, with which scope.

--format json prints the format of Tauri's resolver fixtures; text prints a
table.`,
		Args: maxArgs(1),
		RunE: func(c *cobra.Command, args []string) error {
			if format != "json" && format != "text" {
				return usageError("--format must be json or text, not %q", format)
			}
			l, err := in.load(args)
			if err != nil {
				return err
			}
			r, err := l.resolve()
			if err != nil {
				return err
			}
			if format == "json" {
				_, err = c.OutOrStdout().Write(acl.MarshalResolved(r))
				return err
			}
			return writeResolvedText(c.OutOrStdout(), r)
		},
	}
	in.register(c)
	c.Flags().StringVar(&format, "format", "text", "output format: text or json")
	return c
}

func writeResolvedText(out io.Writer, r *acl.Resolved) error {
	for i, part := range []struct {
		title string
		m     map[string][]*acl.ResolvedCommand
	}{{"ALLOWED", r.Allowed}, {"DENIED", r.Denied}} {
		if i > 0 {
			fmt.Fprintln(out)
		}
		tw := tabwriter.NewWriter(out, 0, 4, 2, ' ', 0)
		fmt.Fprintf(tw, "%s COMMAND\tCONTEXT\tWINDOWS\tWEBVIEWS\tSCOPE\tCAPABILITY\tPERMISSION\n", part.title)
		keys := make([]string, 0, len(part.m))
		for k := range part.m {
			keys = append(keys, k)
		}
		sortStrings(keys)
		for _, cmd := range keys {
			for _, e := range part.m[cmd] {
				scope := "-"
				if e.ScopeID != 0 {
					scope = fmt.Sprintf("#%d", e.ScopeID)
				}
				fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\t%s\t%s\n", cmd, e.Context, globs(e.Windows), globs(e.Webviews), scope, e.Capability, e.PermissionRef())
			}
		}
		if err := tw.Flush(); err != nil {
			return err
		}
		if len(keys) == 0 {
			fmt.Fprintln(out, "(none)")
		}
	}
	if len(r.CommandScopes)+len(r.GlobalScopes) > 0 {
		fmt.Fprintln(out)
	}
	for id := uint64(1); id <= uint64(len(r.CommandScopes)); id++ {
		s := r.CommandScopes[id]
		fmt.Fprintf(out, "scope #%d: allow %s, deny %s\n", id, values(s.Allow), values(s.Deny))
	}
	keys := make([]string, 0, len(r.GlobalScopes))
	for k := range r.GlobalScopes {
		keys = append(keys, k)
	}
	sortStrings(keys)
	for _, k := range keys {
		s := r.GlobalScopes[k]
		fmt.Fprintf(out, "global scope of %s: allow %s, deny %s\n", k, values(s.Allow), values(s.Deny))
	}
	return nil
}

func globs(gs []*acl.Glob) string {
	if len(gs) == 0 {
		return "-"
	}
	parts := make([]string, len(gs))
	for i, g := range gs {
		parts[i] = g.String()
	}
	return strings.Join(parts, ",")
}

func values(vs []acl.Value) string {
	parts := make([]string, len(vs))
	for i, v := range vs {
		parts[i] = v.String()
	}
	return "[" + strings.Join(parts, ", ") + "]"
}

// labelFlags are the caller's window, webview and origin.
type labelFlags struct {
	window, webview, origin string
}

func (l *labelFlags) register(c *cobra.Command) {
	c.Flags().StringVar(&l.window, "window", "", "the caller's window label (required)")
	c.Flags().StringVar(&l.webview, "webview", "", "the caller's webview label (default: the window label)")
	c.Flags().StringVar(&l.origin, "origin", "local", "where the page comes from: local, or its URL")
}

func (l *labelFlags) parse() (acl.Origin, error) {
	if l.window == "" {
		return acl.Origin{}, usageError("--window is required")
	}
	if l.webview == "" {
		l.webview = l.window
	}
	o, err := acl.ParseOrigin(l.origin)
	if err != nil {
		return acl.Origin{}, usageError("--origin: %v", strings.TrimPrefix(err.Error(), acl.ErrInvalid.Error()+": "))
	}
	return o, nil
}

func newCheckCmd() *cobra.Command {
	var in aclInputs
	var lf labelFlags
	c := &cobra.Command{
		Use:   "check [DIR] --window W [--webview V] [--origin local|URL] COMMAND",
		Short: "Say whether a window may call a command, and why",
		Long: `Decide one IPC call as Tauri would and explain the decision. COMMAND is
the IPC command name: "plugin:<plugin>|<command>" or a bare app command.
Exit status: 0 allowed, 1 denied (or invalid input), 2 usage error.

Deny entries ignore window and webview labels, as in Tauri: a deny in a
capability for one window denies the command to every window of the same
execution context. check names the capability whose deny applied.

--add-capability FILE decides as the app would after adding FILE at run
time (App.AddCapability, Tauri's add_capability); a capability added so
is named "(added at run time from FILE)".`,
		Args: func(c *cobra.Command, args []string) error {
			if len(args) < 1 || len(args) > 2 {
				return usageError("check takes [DIR] COMMAND (got %d arguments)", len(args))
			}
			return nil
		},
		RunE: func(c *cobra.Command, args []string) error {
			origin, err := lf.parse()
			if err != nil {
				return err
			}
			command := args[len(args)-1]
			l, err := in.load(args[:len(args)-1])
			if err != nil {
				return err
			}
			r, err := l.resolve()
			if err != nil {
				return err
			}
			r, added, err := withRuntime(c, r)
			if err != nil {
				return err
			}
			d := r.Decide(acl.Request{Command: command, Window: lf.window, Webview: lf.webview, Origin: origin})
			allowed, afterDecision, err := checkPolicy(c, r, acl.Request{Command: command, Window: lf.window, Webview: lf.webview, Origin: origin}, d.Allowed)
			if err != nil {
				return err
			}
			afterExtension, err := checkExtension(args[:len(args)-1], r, acl.Request{Command: command, Window: lf.window, Webview: lf.webview, Origin: origin}, allowed)
			if err != nil {
				return err
			}
			writeDecision(c.OutOrStdout(), command, lf, origin, d, added)
			if d.Allowed {
				writeGrantScopes(c.OutOrStdout(), r, []acl.Grant{{Command: command, Via: d.Matches}})
			}
			afterDecision(c.OutOrStdout())
			afterExtension(c.OutOrStdout())
			if !allowed {
				return &exitError{code: 1, err: errDenied}
			}
			return nil
		},
	}
	in.register(c)
	lf.register(c)
	addPolicyFlag(c)
	addRuntimeFlag(c)
	return c
}

func writeDecision(out io.Writer, command string, lf labelFlags, origin acl.Origin, d acl.Decision, added *policy.Version) {
	verdict := "denied"
	if d.Allowed {
		verdict = "allowed"
	}
	fmt.Fprintf(out, "%s: %s from window %q, webview %q, origin %s\n", verdict, command, lf.window, lf.webview, origin)
	for _, m := range d.Matches {
		line := fmt.Sprintf("  granted by capability %s, permission %s", quotedCapability(added, m), m.PermissionRef())
		if m.ScopeID != 0 {
			line += fmt.Sprintf(", scope #%d", m.ScopeID)
		}
		if p := m.Position(); !p.IsZero() {
			line += " (" + p.String() + ")"
		}
		fmt.Fprintln(out, line)
	}
	for _, m := range d.DeniedBy {
		line := fmt.Sprintf("  denied by capability %s, permission %s", quotedCapability(added, m), m.PermissionRef())
		if p := m.Position(); !p.IsZero() {
			line += " (" + p.String() + ")"
		}
		fmt.Fprintln(out, line)
	}
	if !d.Allowed || d.LegacyDenied {
		fmt.Fprintln(out)
		for _, line := range strings.Split(d.Message, "\n") {
			fmt.Fprintln(out, strings.TrimRight("  "+line, " "))
		}
	}
}

func newWhoCmd() *cobra.Command {
	var in aclInputs
	var lf labelFlags
	c := &cobra.Command{
		Use:   "who [DIR] --window W [--webview V] [--origin local|URL]",
		Short: "List every command a window may call, and through which capability",
		Long: `List every command a window may call from an origin, and through which
capability, permission and scope. --add-capability FILE lists them as they
are after the app adds FILE at run time; such a capability is named
"(added at run time from FILE)".`,
		Args: maxArgs(1),
		RunE: func(c *cobra.Command, args []string) error {
			origin, err := lf.parse()
			if err != nil {
				return err
			}
			l, err := in.load(args)
			if err != nil {
				return err
			}
			r, err := l.resolve()
			if err != nil {
				return err
			}
			r, added, err := withRuntime(c, r)
			if err != nil {
				return err
			}
			grants, afterTable, err := policyGrants(c, r, lf.window, lf.webview, origin, r.Effective(lf.window, lf.webview, origin))
			if err != nil {
				return err
			}
			out := c.OutOrStdout()
			defer afterTable(out)
			fmt.Fprintf(out, "window %q, webview %q, origin %s may call %d command(s)\n", lf.window, lf.webview, origin, len(grants))
			if len(grants) == 0 {
				return nil
			}
			tw := tabwriter.NewWriter(out, 0, 4, 2, ' ', 0)
			fmt.Fprintln(tw, "COMMAND\tCAPABILITY\tPERMISSION\tSCOPE")
			for _, g := range grants {
				for i, v := range g.Via {
					cmd := g.Command
					if i > 0 {
						cmd = ""
					}
					scope := "-"
					if v.ScopeID != 0 {
						scope = fmt.Sprintf("#%d", v.ScopeID)
					}
					fmt.Fprintf(tw, "%s\t%s\t%s\t%s\n", cmd, capabilityName(added, v), v.PermissionRef(), scope)
				}
			}
			if err := tw.Flush(); err != nil {
				return err
			}
			writeGrantScopes(out, r, grants)
			return nil
		},
	}
	in.register(c)
	lf.register(c)
	addPolicyFlag(c)
	addRuntimeFlag(c)
	return c
}
