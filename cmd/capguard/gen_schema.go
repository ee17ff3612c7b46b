package main

import (
	"errors"
	"fmt"
	"path/filepath"
	"strings"

	"github.com/capguard/capguard/acl"
	"github.com/capguard/capguard/schema"
	"github.com/spf13/cobra"
)

func init() { genCommands = append(genCommands, newGenSchemaCmd) }

func newGenSchemaCmd() *cobra.Command {
	var manifests, target, out, version string
	c := &cobra.Command{
		Use:   "schema [DIR | --manifests FILE] [--target T] [--out DIR] [--format-version V]",
		Short: "Write the capability schema tauri-build writes (<target>-schema.json and desktop-/mobile-schema.json)",
		Long: `Write the JSON Schema that tauri-build generates for capability files, byte
for byte: gen/schemas/<target>-schema.json and its copy desktop-schema.json
(or mobile-schema.json for android and iOS), from the manifests of a build
(DIR/gen/schemas/acl-manifests.json, or --manifests FILE).

Files are written to --out DIR, by default DIR/gen/schemas; each file is
only rewritten when its content changes. With --manifests and no DIR or
--out, the schema goes to stdout. Nothing is written when the manifests
are invalid.

The layout follows the app's Tauri version: without --format-version the
command reads the tauri-utils release from DIR/Cargo.lock (or the nearest
Cargo.lock above DIR, or above the --manifests file), says which layout it
picked, and fails on a release it does not know (newer than ` + schema.NewestKnown + `).
Without any Cargo.lock it writes the newest layout and says so.
--format-version V overrides: give a tauri-utils release (` + strings.Join(schema.Formats(), ", ") + `
are the layouts, each named by the first release that writes it).`,
		Args: maxArgs(1),
		RunE: func(c *cobra.Command, args []string) error {
			t, err := acl.ParseTarget(target)
			if err != nil {
				return usageError("--target: %v", strings.TrimPrefix(err.Error(), acl.ErrInvalid.Error()+": "))
			}
			if _, err := schema.FormatFor(version); err != nil {
				return usageError("--format-version: %v", err)
			}
			var ms acl.Manifests
			switch {
			case manifests != "":
				if ms, err = acl.ReadManifests(manifests); err != nil {
					return err
				}
				if out == "" && len(args) == 1 {
					out = filepath.Join(args[0], "gen", "schemas")
				}
			default:
				app, err := loadApp(args, t)
				if err != nil {
					return err
				}
				if app.Manifests == nil {
					return usageError("%s has no gen/schemas/acl-manifests.json; pass --manifests FILE", app.Dir)
				}
				ms = app.Manifests
				if out == "" && len(args) == 1 {
					out = filepath.Join(args[0], "gen", "schemas")
				}
			}
			if version == "" {
				from := filepath.Dir(manifests)
				if len(args) == 1 {
					from = args[0]
				} else if manifests == "" {
					from = ""
				}
				if version, err = lockedVersion(c, from); err != nil {
					return err
				}
			}
			data, err := schema.Generate(ms, schema.GenerateOptions{Format: version})
			if err != nil {
				return err
			}
			if out == "" {
				_, err = c.OutOrStdout().Write(data)
				return err
			}
			written, err := schema.WriteFiles(out, t, data)
			for _, w := range written {
				fmt.Fprintf(c.OutOrStdout(), "wrote %s\n", w)
			}
			return err
		},
	}
	f := c.Flags()
	f.StringVar(&manifests, "manifests", "", "acl-manifests.json to generate from (default: DIR/gen/schemas/acl-manifests.json)")
	f.StringVar(&target, "target", "linux", "target of the build: linux, macOS, windows (desktop-schema.json) or android, iOS (mobile-schema.json)")
	f.StringVarP(&out, "out", "o", "", "folder to write the two files to (default: DIR/gen/schemas; stdout without DIR)")
	f.StringVar(&version, "format-version", "", "tauri-utils version whose schema layout to write (default: the newest)")
	return c
}

// lockedVersion picks the schema layout from the Cargo.lock of the app in
// dir (or above it) and says on stderr which one; "" (the newest) when
// there is no Cargo.lock or no dir (the embedded example app).
func lockedVersion(c *cobra.Command, dir string) (string, error) {
	if dir == "" {
		return "", nil
	}
	lock, err := schema.FindLock(dir)
	if errors.Is(err, schema.ErrNoLock) {
		fmt.Fprintf(c.ErrOrStderr(), "capguard gen schema: no Cargo.lock in %s or above it: writing the newest layout (tauri-utils %s and later); pass --format-version for an older Tauri\n", dir, schema.Latest)
		return "", nil
	}
	if err == nil {
		var format string
		if format, err = schema.LockedFormat(lock); err == nil {
			fmt.Fprintf(c.ErrOrStderr(), "capguard gen schema: %s pins tauri-utils %s: writing the layout of tauri-utils %s and later\n", lock.File, lock.TauriUtils, format)
			return lock.TauriUtils, nil
		}
	}
	// An unreadable Cargo.lock or an unknown release: invalid input (exit 1),
	// nothing written.
	return "", &exitError{code: 1, err: err}
}
