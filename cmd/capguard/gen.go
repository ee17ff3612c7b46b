package main

import (
	"github.com/capguard/capguard/acl"
	"github.com/capguard/capguard/internal/fsutil"
	"github.com/spf13/cobra"
)

func init() { register(newGenCmd) }

// genCommands are the subcommands of "gen"; files add theirs from init.
var genCommands = []func() *cobra.Command{newGenCapabilitiesCmd, newGenManifestsCmd}

func newGenCmd() *cobra.Command {
	gen := &cobra.Command{
		Use:   "gen",
		Short: "Write the files Tauri's build generates",
	}
	for _, c := range genCommands {
		gen.AddCommand(c())
	}
	return gen
}

func newGenCapabilitiesCmd() *cobra.Command {
	var target string
	c := &cobra.Command{
		Use:   "capabilities [DIR]",
		Short: "Print the gen/schemas/capabilities.json that tauri-build writes for a src-tauri directory",
		Long: `Print the gen/schemas/capabilities.json that tauri-build writes for DIR (a
src-tauri directory): every capability of DIR/capabilities/**, compact
JSON keyed by identifier, byte for byte as Tauri writes it.`,
		Args: maxArgs(1),
		RunE: func(c *cobra.Command, args []string) error {
			t, err := acl.ParseTarget(target)
			if err != nil {
				return usageError("--target: %v", err)
			}
			app, err := loadApp(args, t)
			if err != nil {
				return err
			}
			_, err = c.OutOrStdout().Write(acl.MarshalCapabilities(app.Files))
			return err
		},
	}
	c.Flags().StringVar(&target, "target", "linux", "target platform (picks the platform config overlay)")
	return c
}

func newGenManifestsCmd() *cobra.Command {
	var plugins, scopes []string
	var appDir, out string
	c := &cobra.Command{
		Use:   "manifests --plugin NAME=DIR... [--app DIR] [--out FILE]",
		Short: "Build acl-manifests.json from permission folders",
		Long: `Build the gen/schemas/acl-manifests.json that tauri-build writes, from the
permission folders of plugins (--plugin NAME=DIR, repeatable) and of the
app itself (--app DIR, keyed __app-acl__). Every *.toml and *.json below a
folder is read, in Tauri's order. --global-scope-schema NAME=FILE attaches a
plugin's scope schema to its manifest. Without --out the JSON goes to stdout; with
it, the file is only rewritten when its content changes.`,
		Args: maxArgs(0),
		RunE: func(c *cobra.Command, args []string) error {
			if len(plugins) == 0 && appDir == "" {
				return usageError("give at least one --plugin NAME=DIR or --app DIR")
			}
			ms, err := buildManifests(plugins, appDir)
			if err != nil {
				return err
			}
			if err := attachScopeSchemas(ms, scopes); err != nil {
				return err
			}
			data := acl.MarshalManifests(ms)
			if out == "" {
				_, err = c.OutOrStdout().Write(data)
				return err
			}
			_, err = fsutil.WriteIfChanged(out, data)
			return err
		},
	}
	c.Flags().StringArrayVar(&plugins, "plugin", nil, "plugin permission folder: NAME=DIR (repeatable)")
	c.Flags().StringVar(&appDir, "app", "", "the app's own permission folder (keyed __app-acl__)")
	c.Flags().StringArrayVar(&scopes, "global-scope-schema", nil, "JSON schema of a plugin's global scope entries: NAME=FILE (repeatable)")
	c.Flags().StringVarP(&out, "out", "o", "", "write to FILE instead of stdout")
	return c
}
