package acl

import (
	"path/filepath"
	"testing"

	"github.com/capguard/capguard/internal/conformance"
)

// largestApp returns the corpus app whose resolved ACL has the most
// entries on linux.
func largestApp(b *testing.B) (string, *App) {
	var best *App
	bestName, most := "", -1
	for _, name := range conformance.Apps(b) {
		app, err := LoadApp(conformance.Path(b, "apps", name, "src-tauri"), Linux)
		if err != nil {
			b.Fatal(err)
		}
		r, err := Resolve(app.Manifests, app.Capabilities, Linux)
		if err != nil {
			continue
		}
		n := 0
		for _, e := range r.Allowed {
			n += len(e)
		}
		if n > most {
			best, bestName, most = app, name, n
		}
	}
	return bestName, best
}

func BenchmarkResolve(b *testing.B) {
	b.Run("largest-app", func(b *testing.B) {
		name, app := largestApp(b)
		b.Logf("largest app: %s", name)
		b.ReportAllocs()
		for b.Loop() {
			if _, err := Resolve(app.Manifests, app.Capabilities, Linux); err != nil {
				b.Fatal(err)
			}
		}
	})
	b.Run("plugins-workspace-defaults", func(b *testing.B) {
		ms := Manifests{}
		c := &Capability{Identifier: "all", Local: true, Windows: []string{"*"}}
		for _, p := range conformance.Plugins(b) {
			files, err := LoadPermissionDir(filepath.Join(conformance.Root(b), "plugins-workspace", p, "permissions"))
			if err != nil {
				b.Fatal(err)
			}
			ms[p] = NewManifest(files, nil)
		}
		for _, p := range conformance.Plugins(b) {
			if ms[p].Default == nil {
				continue
			}
			e := PermissionEntry{Identifier: MustIdentifier(p + ":default")}
			// positioner's default names "set-tray-icon-state", which no file
			// defines (the generated one is "allow-set-tray-icon-state"): Tauri
			// cannot resolve positioner:default either. Leave it out.
			if _, err := Resolve(ms, CapabilitySet{"one": {Identifier: "one", Local: true, Permissions: []PermissionEntry{e}}}, Linux); err != nil {
				b.Logf("left out %s:default: %v", p, err)
				continue
			}
			c.Permissions = append(c.Permissions, e)
		}
		caps := CapabilitySet{"all": c}
		b.ReportAllocs()
		for b.Loop() {
			if _, err := Resolve(ms, caps, Linux); err != nil {
				b.Fatal(err)
			}
		}
	})
	b.Run("set-chain-40", func(b *testing.B) {
		ms, caps := chainManifests(40), capWith("p:s0")
		b.ReportAllocs()
		for b.Loop() {
			if _, err := Resolve(ms, caps, Linux); err != nil {
				b.Fatal(err)
			}
		}
	})
}

func BenchmarkLoadApp(b *testing.B) {
	name, _ := largestApp(b)
	dir := conformance.Path(b, "apps", name, "src-tauri")
	b.ReportAllocs()
	for b.Loop() {
		if _, err := LoadApp(dir, Linux); err != nil {
			b.Fatal(err)
		}
	}
}
