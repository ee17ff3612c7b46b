package capwails_test

import (
	"encoding/json"
	"os"
	"os/exec"
	"path/filepath"
	"reflect"
	"testing"
)

// TestCoreEventPermissions checks capwails's core:event permission folder
// against Tauri: its generated files are up to date (capguard gen plugin
// --check, Tauri's build rules), and the manifest built from it, as the
// example app's acl-manifests.json holds it, is the core:event manifest
// of a real Tauri app's build (../shared/conformance), apart from the
// default set's description, which is ours.
func TestCoreEventPermissions(t *testing.T) {
	check := exec.Command("go", "run", "./cmd/capguard", "gen", "plugin", "integrations/wails/core-event", "--name", "event", "--commands", "listen,unlisten,emit,emit_to", "--check")
	check.Dir = "../.." // the root module, which has the command
	if out, err := check.CombinedOutput(); err != nil {
		t.Fatalf("the core:event permission files are out of date: %v\n%s", err, out)
	}
	load := func(path string) map[string]any {
		data, err := os.ReadFile(path)
		if err != nil {
			t.Fatalf("%v (the conformance data lives in ../shared/conformance beside the repository)", err)
		}
		var m map[string]map[string]any
		if err := json.Unmarshal(data, &m); err != nil {
			t.Fatal(err)
		}
		ev, ok := m["core:event"]
		if !ok {
			t.Fatalf("%s has no core:event manifest", path)
		}
		delete(ev["default_permission"].(map[string]any), "description")
		return ev
	}
	ours := load("../../examples/wails-vault/app/gen/schemas/acl-manifests.json")
	tauri := load(filepath.Join("../../../shared/conformance/apps/aeharding__wingover/src-tauri/gen/schemas/acl-manifests.json"))
	if !reflect.DeepEqual(ours, tauri) {
		a, _ := json.MarshalIndent(ours, "", " ")
		b, _ := json.MarshalIndent(tauri, "", " ")
		t.Errorf("core:event differs from Tauri's:\nours  %s\ntauri %s", a, b)
	}
}
