package schema_test

import (
	"fmt"
	"os"
	"strings"
	"testing/fstest"

	"github.com/capguard/capguard/acl"
	"github.com/capguard/capguard/schema"
)

const manifestsJSON = `{"fs": {"default_permission": {"identifier": "default", "description": "Read the app folders.", "permissions": ["allow-read"]},
 "permissions": {"allow-read": {"identifier": "allow-read", "description": "Enables the read command.", "commands": {"allow": ["read"], "deny": []}}},
 "permission_sets": {}, "global_scope_schema": null}}`

// Generate writes the schema that tauri-build writes to
// gen/schemas/desktop-schema.json for these manifests.
func ExampleGenerate() {
	ms, err := acl.ParseManifests("acl-manifests.json", []byte(manifestsJSON))
	if err != nil {
		panic(err)
	}
	text, err := schema.Generate(ms, schema.GenerateOptions{})
	if err != nil {
		panic(err)
	}
	for _, line := range strings.Split(string(text), "\n") {
		if strings.Contains(line, `"const"`) {
			fmt.Println(strings.TrimSpace(line))
		}
	}
	platform, family := schema.FileNames(acl.Linux)
	fmt.Println(platform, family)
	// Output:
	// "const": "fs:default",
	// "const": "fs:allow-read",
	// linux-schema.json desktop-schema.json
}

// A Validator is compiled once per set of manifests and checks capability
// files, with positions.
func ExampleValidator_CheckFile() {
	ms, err := acl.ParseManifests("acl-manifests.json", []byte(manifestsJSON))
	if err != nil {
		panic(err)
	}
	v, err := schema.Compile(ms, schema.CompileOptions{})
	if err != nil {
		panic(err)
	}
	file := []byte(`{
  "identifier": "main",
  "windows": ["main"],
  "permissions": ["fs:default", "fs:alow-read"]
}`)
	for _, f := range v.CheckFile("capabilities/main.json", file, []acl.Target{acl.Linux}).Findings {
		fmt.Println(f)
	}
	// Output:
	// capabilities/main.json:4:33: error: unknown permission "fs:alow-read" for fs; did you mean "fs:allow-read"?
}

// ValidateAppFS validates a src-tauri directory: its capability files,
// the capability list of tauri.conf.json, against the manifests of its
// last build.
func ExampleValidateAppFS() {
	app := fstest.MapFS{
		"gen/schemas/acl-manifests.json": {Data: []byte(manifestsJSON)},
		"capabilities/main.json":         {Data: []byte(`{"identifier": "main", "windows": ["main"], "permissions": ["fs:default"]}`)},
		"tauri.conf.json":                {Data: []byte(`{"app": {"security": {"capabilities": ["main", "settings"]}}}`)},
	}
	r, err := schema.ValidateAppFS(app, "src-tauri", schema.Options{Targets: []acl.Target{acl.Linux}})
	if err != nil {
		panic(err)
	}
	if err := r.WriteText(os.Stdout); err != nil {
		panic(err)
	}
	fmt.Println("fails the build:", r.Failed(false))
	// Output:
	// src-tauri/tauri.conf.json:1:48: error: capability with identifier "settings" not found in src-tauri/capabilities
	//     1 | {"app": {"security": {"capabilities": ["main", "settings"]}}}
	//       |                                                ^
	// 1 error, 0 warnings, 0 notes (manifests checked as built for linux)
	// fails the build: true
}
