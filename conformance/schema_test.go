package conformance

import (
	"bytes"
	"crypto/sha256"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"

	"github.com/capguard/capguard/acl"
	"github.com/capguard/capguard/internal/conformance"
	"github.com/capguard/capguard/schema"
)

// schemaInput is one corpus app's manifests.
type schemaInput struct {
	app  string
	file string
	ms   acl.Manifests
}

func schemaInputs(t *testing.T) []schemaInput {
	t.Helper()
	var out []schemaInput
	for _, app := range conformance.Apps(t) {
		file := conformance.Path(t, "apps", app, "src-tauri", "gen", "schemas", "acl-manifests.json")
		ms, err := acl.ReadManifests(file)
		if err != nil {
			t.Fatalf("%s: %v", app, err)
		}
		out = append(out, schemaInput{app: app, file: file, ms: ms})
	}
	return out
}

// tauriSchemas asks every oracle build for the capability schema of every
// corpus app's manifests: version → app → schema text. The builds run two
// at a time, one batch process each.
func tauriSchemas(t *testing.T, inputs []schemaInput) map[string]map[string]string {
	t.Helper()
	versions := oracleVersions(t)
	out := make(map[string]map[string]string, len(versions))
	var mu sync.Mutex
	var wg sync.WaitGroup
	errs := make(chan string, len(versions)*len(inputs))
	slots := make(chan struct{}, 2) // the machines have two cores
	for _, v := range versions {
		o := oracleFor(t, v)
		wg.Add(1)
		go func() {
			defer wg.Done()
			slots <- struct{}{}
			defer func() { <-slots }()
			m := map[string]string{}
			for _, in := range inputs {
				a := o.do(t, map[string]any{"op": "schema", "manifests": in.file, "target": "linux"})
				if !a.OK {
					errs <- fmt.Sprintf("tauri-utils %s, %s: %s", v, in.app, a.Error)
					continue
				}
				m[in.app] = a.Schema
			}
			mu.Lock()
			out[v] = m
			mu.Unlock()
		}()
	}
	wg.Wait()
	close(errs)
	for e := range errs {
		t.Error(e)
	}
	return out
}

// TestSchemaLayoutsByVersion generates the capability schema of every
// corpus app's manifests with every tauri-utils 2.x release the oracle is
// built for, groups the releases into layouts by their output, and requires
// capguard's layout table to reproduce each release's output byte for
// byte (schema.FormatFor picks the layout from the release).
func TestSchemaLayoutsByVersion(t *testing.T) {
	inputs := schemaInputs(t)
	theirs := tauriSchemas(t, inputs)
	versions := oracleVersions(t)

	// Group consecutive releases with identical output.
	var layouts [][]string
	var last [32]byte
	for i, v := range versions {
		h := sha256.New()
		for _, in := range inputs {
			fmt.Fprintf(h, "%s\x00%s\x00", in.app, theirs[v][in.app])
		}
		var sum [32]byte
		copy(sum[:], h.Sum(nil))
		if i == 0 || sum != last {
			layouts = append(layouts, nil)
		}
		layouts[len(layouts)-1] = append(layouts[len(layouts)-1], v)
		last = sum
	}
	var desc []string
	for _, l := range layouts {
		desc = append(desc, l[0]+"–"+l[len(l)-1])
	}
	t.Logf("schema layouts of tauri-utils %s–%s by output over %d apps: %d layouts: %s",
		versions[0], versions[len(versions)-1], len(inputs), len(layouts), strings.Join(desc, ", "))

	reproduced := 0
	for _, v := range versions {
		format, err := schema.FormatFor(v)
		if err != nil {
			t.Errorf("tauri-utils %s: %v", v, err)
			continue
		}
		bad := 0
		for _, in := range inputs {
			mine, err := schema.Generate(in.ms, schema.GenerateOptions{Format: v})
			if err != nil {
				t.Errorf("tauri-utils %s, %s: %v", v, in.app, err)
				continue
			}
			if !bytes.Equal(mine, []byte(theirs[v][in.app])) {
				bad++
				if bad == 1 {
					dir := t.TempDir()
					os.WriteFile(filepath.Join(dir, "tauri.json"), []byte(theirs[v][in.app]), 0o644)
					os.WriteFile(filepath.Join(dir, "capguard.json"), mine, 0o644)
					t.Errorf("tauri-utils %s (capguard layout %s), %s: schema differs from Tauri's at byte %d: diff %s/tauri.json %s/capguard.json",
						v, format, in.app, firstDiff(mine, []byte(theirs[v][in.app])), dir, dir)
				}
			}
		}
		if bad == 0 {
			reproduced++
		} else {
			t.Errorf("tauri-utils %s: %d of %d apps' schemas differ", v, bad, len(inputs))
		}
	}
	t.Logf("schemas: %d of %d tauri-utils releases reproduced byte for byte for all %d apps", reproduced, len(versions), len(inputs))
}

func firstDiff(a, b []byte) int {
	for i := range min(len(a), len(b)) {
		if a[i] != b[i] {
			return i
		}
	}
	return min(len(a), len(b))
}
