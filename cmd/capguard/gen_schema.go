package main

import (
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

--format-version picks the layout of an older Tauri: give the tauri-utils
version of the app's Cargo.lock (` + strings.Join(schema.Formats(), ", ") + ` are the
layouts; the newest, for tauri-utils 2.5.0 and later, is the default).`,
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
