package main

import (
	"os"
	"path/filepath"
	"sort"
	"strings"

	"github.com/capguard/capguard/acl"
	"github.com/capguard/capguard/examples"
	"github.com/spf13/cobra"
)

// aclInputs are the flags shared by resolve, check and who: where the
// manifests and capabilities come from, and for which target.
type aclInputs struct {
	manifests    string
	plugins      []string
	appPerms     string
	capabilities []string
	target       string
}

func (in *aclInputs) register(c *cobra.Command) {
	f := c.Flags()
	f.StringVar(&in.manifests, "manifests", "", "acl-manifests.json to use (default: DIR/gen/schemas/acl-manifests.json)")
	f.StringArrayVar(&in.plugins, "plugin", nil, "build the manifest of plugin NAME from its permission folder: NAME=DIR (repeatable)")
	f.StringVar(&in.appPerms, "app", "", "the app's own permission folder, keyed __app-acl__ (with --plugin)")
	f.StringArrayVar(&in.capabilities, "capabilities", nil, "capability file or folder to use instead of DIR's (repeatable)")
	f.StringVar(&in.target, "target", "linux", "target platform: linux, macOS, windows, android or iOS")
}

// loaded is what the inputs resolve to.
type loaded struct {
	app       *acl.App // nil when capabilities come from --capabilities only
	manifests acl.Manifests
	caps      acl.CapabilitySet
	target    acl.Target
}

// loadApp reads DIR, or the embedded example app when args is empty.
func loadApp(args []string, target acl.Target) (*acl.App, error) {
	if len(args) == 0 {
		return acl.LoadAppFS(examples.App(), examples.AppDir, target)
	}
	return acl.LoadApp(args[0], target)
}

// buildManifests reads permission folders given as NAME=DIR, plus the
// app's own folder under AppKey.
func buildManifests(plugins []string, appDir string) (acl.Manifests, error) {
	ms := acl.Manifests{}
	for _, p := range plugins {
		name, dir, ok := strings.Cut(p, "=")
		if !ok || name == "" || dir == "" {
			return nil, usageError("--plugin %q: expected NAME=DIR", p)
		}
		if _, dup := ms[name]; dup {
			return nil, usageError("--plugin %s given twice", name)
		}
		files, err := acl.LoadPermissionDir(dir)
		if err != nil {
			return nil, err
		}
		ms[name] = acl.NewManifest(files, nil)
	}
	if appDir != "" {
		files, err := acl.LoadPermissionDir(appDir)
		if err != nil {
			return nil, err
		}
		ms[acl.AppKey] = acl.NewManifest(files, nil)
	}
	return ms, nil
}

func (in *aclInputs) load(args []string) (*loaded, error) {
	t, err := acl.ParseTarget(in.target)
	if err != nil {
		return nil, usageError("--target: %v", strings.TrimPrefix(err.Error(), acl.ErrInvalid.Error()+": "))
	}
	if in.manifests != "" && len(in.plugins) > 0 {
		return nil, usageError("--manifests and --plugin cannot be used together")
	}
	out := &loaded{target: t}
	if len(in.capabilities) > 0 {
		if out.caps, err = acl.LoadCapabilities(in.capabilities...); err != nil {
			return nil, err
		}
	}
	needApp := out.caps == nil || (in.manifests == "" && len(in.plugins) == 0)
	if needApp {
		if out.app, err = loadApp(args, t); err != nil {
			return nil, err
		}
		if out.caps == nil {
			out.caps = out.app.Capabilities
		}
	}
	switch {
	case in.manifests != "":
		out.manifests, err = acl.ReadManifests(in.manifests)
	case len(in.plugins) > 0 || in.appPerms != "":
		out.manifests, err = buildManifests(in.plugins, in.appPerms)
	default:
		out.manifests = out.app.Manifests
		if out.manifests == nil {
			return nil, usageError("%s has no gen/schemas/acl-manifests.json; pass --manifests FILE or --plugin NAME=DIR", out.app.Dir)
		}
	}
	if err != nil {
		return nil, err
	}
	return out, nil
}

func (l *loaded) resolve() (*acl.Resolved, error) {
	return acl.Resolve(l.manifests, l.caps, l.target)
}

func maxArgs(n int) cobra.PositionalArgs {
	return func(c *cobra.Command, args []string) error {
		if len(args) > n {
			return usageError("%s takes at most %d argument(s), got %d: %s", c.CommandPath(), n, len(args), strings.Join(args, " "))
		}
		return nil
	}
}

func sortStrings(s []string) { sort.Strings(s) }

// appConfigs are the files that make a folder a Tauri app (src-tauri).
var appConfigs = []string{"tauri.conf.json", "tauri.conf.json5", "Tauri.toml"}

func isTauriApp(dir string) bool {
	for _, n := range appConfigs {
		if st, err := os.Stat(filepath.Join(dir, n)); err == nil && !st.IsDir() {
			return true
		}
	}
	return false
}

// findApp looks for the app a command without a path means: start's
// src-tauri folder, or the first folder from start upwards that holds a
// Tauri configuration. It returns "" when there is none, and how it was
// found.
func findApp(start string) (dir, how string, err error) {
	abs, err := filepath.Abs(start)
	if err != nil {
		return "", "", err
	}
	if sub := filepath.Join(abs, "src-tauri"); isTauriApp(sub) {
		return sub, "the src-tauri folder of the current directory", nil
	}
	for d := abs; ; d = filepath.Dir(d) {
		if isTauriApp(d) {
			if d == abs {
				return d, "the current directory", nil
			}
			return d, "the nearest folder above the current directory with a Tauri configuration", nil
		}
		if d == filepath.Dir(d) {
			return "", "", nil
		}
	}
}

// relPath is p relative to the current directory when it is inside it,
// for messages.
func relPath(p string) string {
	wd, err := os.Getwd()
	if err != nil {
		return p
	}
	if r, err := filepath.Rel(wd, p); err == nil && !strings.HasPrefix(r, "..") {
		return r
	}
	return p
}
