package main

import (
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strings"

	"github.com/capguard/capguard/acl"
	"github.com/capguard/capguard/acldiff"
	"github.com/spf13/cobra"
)

func init() { register(newDiffCmd) }

// failOnValues are the thresholds of --fail-on.
var failOnValues = []string{"critical", "high", "medium", "low", "widened", "any"}

func newDiffCmd() *cobra.Command {
	var format, failOn, repo string
	var targets, plugins []string
	var expand bool
	c := &cobra.Command{
		Use:   "diff [OLD [NEW]] [--target T] [--format text|markdown|json|github] [--fail-on critical|high|medium|low|widened|any] [--repo DIR] [--plugin NAME=DIR] [--expand]",
		Short: "What a change grants: the difference in effective access between two versions of an app, riskiest first",
		Long: `Compare what two versions of a Tauri app allow. Each side is a src-tauri
directory or a git revision of the repository in --repo: REV or
REV:path/to/src-tauri (path from the top of the repository), read from git
objects without a checkout. For REV alone, the app is the one found from
the current directory (./src-tauri, or the nearest folder upwards with a
tauri.conf.json), at the same place in the revision, else the revision's
src-tauri folder. Without NEW, NEW is that app's folder on disk; without
OLD and NEW, OLD is HEAD: "capguard diff" shows what the uncommitted
changes grant. A revision without the app folder is an app without
capabilities: everything the other side grants is new.

Each side is resolved per target the way Tauri's build would (the app's
manifest rebuilt from permissions/, warning when the committed
gen/schemas/acl-manifests.json is stale; what a side's manifests lack is
taken from the other side's, with a warning; an entry neither side can
resolve is listed once as not compared). The comparison is by coverage,
not text: "main-*" covers "main-?", "https://*.example.com" covers
"https://app.example.com", "http://*:*" covers "http://*"; fs paths,
opener URLs and shell programs are compared the way their plugins read
them. Each widening is rated critical, high, medium or low from the table
in docs/diff.md (a permission file can declare its own risk with
capguard.risk); the report opens with the top risks.

Formats: text (grouped by window, then plugin), markdown (a pull-request
comment or job summary), json (docs/diff.md), github (one workflow
annotation per capability entry, worst first, within GitHub's limits).

Exit status: 0; 1 with --fail-on when the threshold is reached (a risk
level: a widening rated at least that; widened: any widening; any: any
change), and also when an entry of the new side could not be compared
(it may widen: fail closed), or when a side's files are invalid; 2 on a
usage, git or I/O error.`,
		Args: func(c *cobra.Command, args []string) error {
			if len(args) > 2 {
				return usageError("%s takes at most two arguments, OLD and NEW; got %d", c.CommandPath(), len(args))
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
			if failOn != "" && !containsStr(failOnValues, failOn) {
				return usageError("--fail-on must be one of %s, not %q", strings.Join(failOnValues, ", "), failOn)
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
			pl := map[string]string{}
			for _, p := range plugins {
				name, dir, ok := strings.Cut(p, "=")
				if !ok || name == "" || dir == "" {
					return usageError("--plugin %q: expected NAME=DIR (the plugin's permission folder, relative to the app's folder)", p)
				}
				if _, dup := pl[name]; dup {
					return usageError("--plugin %s given twice", name)
				}
				pl[name] = dir
			}
			sides, err := openSides(args, repo, pl, c.ErrOrStderr())
			if err != nil {
				return err
			}
			report, err := acldiff.CompareWith(sides[0], sides[1], acldiff.Options{Targets: ts, Plugins: pl})
			if errors.Is(err, acldiff.ErrNoApp) {
				return usageError("%v", err)
			}
			if err != nil {
				return err
			}
			if err := report.WriteWith(c.OutOrStdout(), f, acldiff.WriteOptions{Expand: expand}); err != nil {
				return err
			}
			if why := failed(report, failOn); why != "" {
				fmt.Fprintf(c.ErrOrStderr(), "capguard diff: %s (--fail-on %s)\n", why, failOn)
				return &exitError{code: 1, err: fmt.Errorf("%w: %s (--fail-on %s)", errDenied, why, failOn)}
			}
			return nil
		},
	}
	fl := c.Flags()
	fl.StringVar(&format, "format", "text", "output format: text, markdown, json or github")
	fl.StringVar(&failOn, "fail-on", "", "exit 1 when a widening is rated at least critical, high, medium or low, when anything widened (widened), or changed at all (any)")
	fl.StringSliceVar(&targets, "target", nil, "target(s) to compare: linux, macOS, windows, android, iOS (default: those the capabilities name)")
	fl.StringVar(&repo, "repo", ".", "the git repository (or a folder in its work tree) that revisions are read from")
	fl.StringArrayVar(&plugins, "plugin", nil, "rebuild plugin NAME's manifest from its permission folder DIR (relative to the app's folder) on each side: NAME=DIR (repeatable)")
	fl.BoolVar(&expand, "expand", false, "text format: list every command of a rolled-up entry such as core:default")
	return c
}

func containsStr(list []string, s string) bool {
	for _, x := range list {
		if x == s {
			return true
		}
	}
	return false
}

// failed says why the report reaches the --fail-on threshold ("" when it
// does not).
func failed(r *acldiff.Report, failOn string) string {
	if failOn == "" {
		return ""
	}
	if adds := r.UncomparedAdditions(); len(adds) > 0 {
		return fmt.Sprintf("%d %s of the new side could not be compared and may widen the access (%s)", len(adds), plural(len(adds), "entry", "entries"), adds[0].Reason)
	}
	switch failOn {
	case "any":
		if r.Verdict != acldiff.Unchanged {
			return "the access " + string(r.Verdict)
		}
	case "widened":
		if r.Widened > 0 {
			return "the access " + string(r.Verdict)
		}
	default:
		level, _ := acldiff.ParseRisk(failOn)
		n := 0
		for k, v := range r.RiskCounts() {
			if k.AtLeast(level) {
				n += v
			}
		}
		if n > 0 {
			return fmt.Sprintf("%d %s rated %s or worse (worst: %s)", n, plural(n, "widening", "widenings"), level, r.WorstRisk())
		}
	}
	return ""
}

func plural(n int, one, many string) string {
	if n == 1 {
		return one
	}
	return many
}

// openSides opens OLD and NEW, with the defaults of a missing NEW (the
// app found on disk) and a missing OLD (HEAD), and the app's path inside
// the repository for a revision given without one.
func openSides(args []string, repo string, plugins map[string]string, notes io.Writer) ([2]acldiff.Side, error) {
	var sides [2]acldiff.Side
	appDir, how := "", ""
	needApp := len(args) < 2
	for _, a := range args {
		if !strings.Contains(a, ":") && !isDir(a) {
			needApp = true
		}
	}
	if needApp {
		var err error
		if appDir, how, err = findApp("."); err != nil {
			return sides, err
		}
	}
	if len(args) < 2 && appDir == "" {
		return sides, usageError("no Tauri app here (no ./src-tauri, no tauri.conf.json from the current directory upwards): give OLD and NEW, e.g. capguard diff main HEAD, from inside the app's repository")
	}
	opt := acldiff.OpenOptions{Repo: repo, Plugins: plugins}
	if appDir != "" {
		if top, err := gitTop(repo); err == nil {
			real := appDir
			if r, err := filepath.EvalSymlinks(appDir); err == nil {
				real = r
			}
			if rel, err := filepath.Rel(top, real); err == nil && !strings.HasPrefix(rel, "..") {
				opt.Path = filepath.ToSlash(rel)
			}
		}
		fmt.Fprintf(notes, "capguard: comparing the app at %s (%s)\n", relPath(appDir), how)
	}
	specs := append([]string{}, args...)
	switch len(specs) {
	case 0:
		specs = []string{"HEAD", relPath(appDir)}
	case 1:
		specs = append(specs, relPath(appDir))
	}
	for i, spec := range specs {
		s, err := acldiff.Open(spec, opt)
		if errors.Is(err, acldiff.ErrSpec) {
			return sides, usageError("%v", err)
		}
		if err != nil {
			return sides, err
		}
		sides[i] = s
	}
	return sides, nil
}

func isDir(p string) bool {
	st, err := os.Stat(p)
	return err == nil && st.IsDir()
}

// gitTop is the top folder of the work tree repo belongs to.
func gitTop(repo string) (string, error) {
	out, err := exec.Command("git", "-C", repo, "rev-parse", "--show-toplevel").Output()
	if err != nil {
		return "", err
	}
	top, err := filepath.Abs(strings.TrimSpace(string(out)))
	if err != nil {
		return "", err
	}
	if r, err := filepath.EvalSymlinks(top); err == nil {
		top = r
	}
	return top, nil
}
