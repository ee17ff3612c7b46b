package main

import (
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"

	"github.com/capguard/capguard/acl"
	"github.com/capguard/capguard/examples"
	"github.com/capguard/capguard/schema"
	"github.com/spf13/cobra"
)

func init() { register(newValidateCmd) }

func newValidateCmd() *cobra.Command {
	var manifests, format string
	var targets []string
	var strict bool
	c := &cobra.Command{
		Use:   "validate [PATH...] [--manifests FILE] [--target T] [--format text|json|github|sarif] [--strict]",
		Short: "Validate capability files the way Tauri's build does, and more",
		Long: `Validate the capabilities of Tauri apps without compiling Rust: with the
capability schema tauri-build generates (JSON Schema errors mapped to
file:line:col), and with checks a schema cannot express: unknown
permissions (with the closest identifiers), permissions of plugins the app
does not use, duplicate capability identifiers, tauri.conf.json naming a
missing capability, invalid window globs and remote URL patterns, scope
entries a plugin's scope schema rejects; and warnings for capabilities that
match no window, permissions listed twice, fields Tauri ignores, and
capabilities that let remote pages call native commands.

PATH is a src-tauri directory (its capabilities/, tauri.conf.json and
gen/schemas/acl-manifests.json are used) or capability files and folders
of them (then --manifests is required). Without PATH, the app is found:
./src-tauri, or the nearest folder from the current directory upwards
with a tauri.conf.json (or .json5, or Tauri.toml); the standard error
says which was used. Only with no app anywhere is the embedded example
app validated, saying so.

A capability file that the configuration's app.security.capabilities
list leaves out has no effect: a warning says so.

Like Tauri, only capabilities that apply to the target the manifests were
built for are checked against them; the target is read from the
gen/schemas/<target>-schema.json that lists the same permissions, or given
with --target. The others are checked for their form, with a note.

Exit status: 0 when there is no error (warnings are allowed unless
--strict), 1 when there are errors (or warnings with --strict), 2 on a
usage or I/O error.`,
		RunE: func(c *cobra.Command, args []string) error {
			f := schema.Format(format)
			switch f {
			case schema.FormatText, schema.FormatJSON, schema.FormatGitHub, schema.FormatSARIF:
			default:
				return usageError("--format must be text, json, github or sarif, not %q", format)
			}
			opts := schema.Options{ManifestsFile: manifests}
			for _, list := range targets {
				for _, s := range strings.Split(list, ",") {
					t, err := acl.ParseTarget(strings.TrimSpace(s))
					if err != nil {
						return usageError("--target: %v", strings.TrimPrefix(err.Error(), acl.ErrInvalid.Error()+": "))
					}
					opts.Targets = append(opts.Targets, t)
				}
			}
			report, err := runValidate(args, opts, c.ErrOrStderr())
			if err != nil {
				if errors.Is(err, schema.ErrNoManifests) {
					return usageError("%v", err)
				}
				return err
			}
			if err := report.Write(c.OutOrStdout(), f); err != nil {
				return err
			}
			if report.Failed(strict) {
				what := "errors"
				if report.Count(schema.Error) == 0 {
					what = "warnings (--strict)"
				}
				return &exitError{code: 1, err: fmt.Errorf("%w: validation found %s", errDenied, what)}
			}
			return nil
		},
	}
	fl := c.Flags()
	fl.StringVar(&manifests, "manifests", "", "acl-manifests.json to check against (required for capability files; default for a directory: DIR/gen/schemas/acl-manifests.json)")
	fl.StringSliceVar(&targets, "target", nil, "target(s) the manifests were built for: linux, macOS, windows, android, iOS (default: read from gen/schemas)")
	fl.StringVar(&format, "format", "text", "output format: text, json, github (workflow annotations) or sarif (SARIF 2.1.0)")
	fl.BoolVar(&strict, "strict", false, "fail on warnings too")
	return c
}

// isAppDir tells whether a directory is a src-tauri directory rather than
// a folder of capability files.
func isAppDir(dir string) bool {
	for _, name := range []string{"tauri.conf.json", "tauri.conf.json5", "Tauri.toml", filepath.Join("gen", "schemas"), "capabilities"} {
		if _, err := os.Stat(filepath.Join(dir, name)); err == nil {
			return true
		}
	}
	return false
}

// runValidate validates each src-tauri directory on its own and the
// capability files together, and merges the reports.
func runValidate(args []string, opts schema.Options, notes io.Writer) (*schema.Report, error) {
	if len(args) == 0 {
		if opts.ManifestsFile != "" {
			return nil, usageError("--manifests needs capability files or a src-tauri directory to validate")
		}
		dir, how, err := findApp(".")
		if err != nil {
			return nil, err
		}
		if dir == "" {
			fmt.Fprintf(notes, "capguard: no Tauri app here (no ./src-tauri, no tauri.conf.json from the current directory upwards): validating the embedded example app %s\n", examples.AppDir)
			return schema.ValidateAppFS(examples.App(), examples.AppDir, opts)
		}
		fmt.Fprintf(notes, "capguard: validating the app at %s (%s)\n", relPath(dir), how)
		args = []string{relPath(dir)}
	}
	report := &schema.Report{}
	var files []string
	for _, p := range args {
		st, err := os.Stat(p)
		if err != nil {
			return nil, err
		}
		if st.IsDir() && isAppDir(p) {
			r, err := schema.ValidateApp(p, opts)
			if err != nil {
				return nil, err
			}
			report.Merge(r)
			continue
		}
		files = append(files, p)
	}
	if len(files) > 0 {
		if opts.ManifestsFile == "" {
			return nil, usageError("%s: capability files need --manifests FILE (the app's gen/schemas/acl-manifests.json); a src-tauri directory brings its own", strings.Join(files, ", "))
		}
		r, err := schema.ValidateFiles(files, opts)
		if err != nil {
			return nil, err
		}
		report.Merge(r)
	}
	return report, nil
}
