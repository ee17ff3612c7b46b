package schema

import (
	"bytes"
	"encoding/json"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/capguard/capguard/acl"
	"github.com/capguard/capguard/internal/doc"
)

// testManifests are a small app: a plugin with a default set, a set, a
// permission without description and a scope schema; a core plugin; and
// the app's own permissions.
func testManifests(t testing.TB) acl.Manifests {
	t.Helper()
	ms, err := parseTestManifests()
	if err != nil {
		t.Fatal(err)
	}
	return ms
}

func parseTestManifests() (acl.Manifests, error) {
	return acl.ParseManifests("acl-manifests.json", []byte(`{
	"__app-acl__": {"default_permission": null, "permissions": {
		"allow-open-vault": {"identifier": "allow-open-vault", "description": "Opens the vault.", "commands": {"allow": ["open_vault"], "deny": []}}
	}, "permission_sets": {}, "global_scope_schema": null},
	"core:window": {"default_permission": {"identifier": "default", "description": "Window defaults.", "permissions": ["allow-close"]},
		"permissions": {"allow-close": {"identifier": "allow-close", "description": "Enables close.", "commands": {"allow": ["close"], "deny": []}}},
		"permission_sets": {}, "global_scope_schema": null},
	"fs": {"default_permission": {"identifier": "default", "description": "FS defaults.\n", "permissions": ["read-all", "scope-home"]},
		"permissions": {
			"scope-home": {"identifier": "scope-home", "scope": {"allow": [{"path": "$HOME/**"}]}},
			"read-all": {"identifier": "read-all", "description": "Reads.", "commands": {"allow": ["read"], "deny": []}}
		},
		"permission_sets": {"allow-home": {"identifier": "allow-home", "description": "Home access.", "permissions": ["read-all", "scope-home"]},
			"empty": {"identifier": "empty", "description": "Nothing.", "permissions": []}},
		"global_scope_schema": {"$schema": "http://json-schema.org/draft-07/schema#", "title": "FsScope",
			"type": "object", "required": ["path"], "properties": {"path": {"type": "string", "minLength": 1}},
			"additionalProperties": false}}
}`))
}

// identifierEntries reads the Identifier alternatives of a schema text.
func identifierEntries(t *testing.T, text []byte) []map[string]string {
	var s struct {
		Definitions struct {
			Identifier struct {
				OneOf []map[string]string `json:"oneOf"`
			} `json:"Identifier"`
		} `json:"definitions"`
	}
	if err := json.Unmarshal(text, &s); err != nil {
		t.Fatal(err)
	}
	return s.Definitions.Identifier.OneOf
}

func TestGenerateEmptyManifestsIsTheFixedPart(t *testing.T) {
	got, err := Generate(acl.Manifests{}, GenerateOptions{})
	if err != nil {
		t.Fatal(err)
	}
	root, err := doc.ParseJSON(fixedJSON)
	if err != nil {
		t.Fatal(err)
	}
	w := doc.NewWriter(true)
	w.Node(root)
	if string(got) != w.String() {
		t.Errorf("schema of no manifests differs from the fixed part:\n%s", firstDiff(got, w.Bytes()))
	}
	if !strings.Contains(string(got), `"oneOf": []`) || strings.HasSuffix(string(got), "\n") {
		t.Errorf("expected an empty oneOf and no final newline")
	}
}

func TestGenerateIdentifierEntries(t *testing.T) {
	got, err := Generate(testManifests(t), GenerateOptions{})
	if err != nil {
		t.Fatal(err)
	}
	entries := identifierEntries(t, got)
	var consts []string
	for _, e := range entries {
		consts = append(consts, e["const"])
	}
	// Manifest keys in byte order (__app-acl__ before core:window before
	// fs), then default, sets, permissions, each in identifier order.
	want := []string{"allow-open-vault", "core:window:default", "core:window:allow-close",
		"fs:default", "fs:allow-home", "fs:empty", "fs:read-all", "fs:scope-home"}
	if strings.Join(consts, " ") != strings.Join(want, " ") {
		t.Fatalf("identifiers:\n got %v\nwant %v", consts, want)
	}
	for _, tc := range []struct {
		id, description string
	}{
		{"fs:default", "FS defaults.\n\n#### This default permission set includes:\n\n- `read-all`\n- `scope-home`"},
		{"fs:allow-home", "Home access.\n#### This permission set includes:\n\n- `read-all`\n- `scope-home`"},
		{"fs:empty", "Nothing."},
		{"fs:scope-home", ""},
		{"allow-open-vault", "Opens the vault."},
	} {
		t.Run(tc.id, func(t *testing.T) {
			for _, e := range entries {
				if e["const"] != tc.id {
					continue
				}
				if e["description"] != tc.description || e["markdownDescription"] != tc.description {
					t.Errorf("description %q, markdownDescription %q, want %q", e["description"], e["markdownDescription"], tc.description)
				}
				if _, has := e["description"]; has != (tc.description != "") {
					t.Errorf("description present: %v", has)
				}
				return
			}
			t.Fatalf("%s not listed", tc.id)
		})
	}
}

func TestGenerateOldFormats(t *testing.T) {
	ms := testManifests(t)
	for _, tc := range []struct {
		format            string
		markdown, typo    bool
		oldWindows, older bool
	}{
		{"2.5.0", true, false, false, false},
		{"2.3.1", true, true, false, false},
		{"2.3.0", false, true, false, false},
		{"2.1.0", false, true, true, false},
		{"2.0.0", false, true, true, true},
	} {
		t.Run(tc.format, func(t *testing.T) {
			got, err := Generate(ms, GenerateOptions{Format: tc.format})
			if err != nil {
				t.Fatal(err)
			}
			text := string(got)
			if has := strings.Contains(text, "markdownDescription"); has != tc.markdown {
				t.Errorf("markdownDescription present: %v", has)
			}
			if has := strings.Contains(text, "This default permission set includes"); has != tc.markdown {
				t.Errorf("permission lists present: %v", has)
			}
			if has := strings.Contains(text, "programatic"); has != tc.typo {
				t.Errorf(`"programatic" present: %v`, has)
			}
			if has := strings.Contains(text, "On multiwebview windows, prefer [`Self::webviews`] for"); has != tc.oldWindows {
				t.Errorf("old windows text present: %v", has)
			}
			if has := strings.Contains(text, `}] }, \"platforms\"`); has != tc.older {
				t.Errorf("2.0.0 example text present: %v", has)
			}
		})
	}
}

func TestGenerateScopeBlock(t *testing.T) {
	got, err := Generate(testManifests(t), GenerateOptions{})
	if err != nil {
		t.Fatal(err)
	}
	var s struct {
		Definitions map[string]json.RawMessage `json:"definitions"`
	}
	if err := json.Unmarshal(got, &s); err != nil {
		t.Fatal(err)
	}
	var entry struct {
		AnyOf []struct {
			AllOf []struct {
				If   map[string]map[string]map[string][]map[string]string `json:"if"`
				Then struct {
					Properties map[string]json.RawMessage `json:"properties"`
				} `json:"then"`
				Properties map[string]json.RawMessage `json:"properties"`
			} `json:"allOf"`
		} `json:"anyOf"`
	}
	if err := json.Unmarshal(s.Definitions["PermissionEntry"], &entry); err != nil {
		t.Fatal(err)
	}
	allOf := entry.AnyOf[1].AllOf
	if len(allOf) != 2 {
		t.Fatalf("expected one scope block and the fallback, got %d items", len(allOf))
	}
	ids := allOf[0].If["properties"]["identifier"]["anyOf"]
	if len(ids) != 5 || ids[0]["const"] != "fs:default" {
		t.Errorf("the scope block lists %d identifiers, first %q; want the 5 of fs", len(ids), ids[0]["const"])
	}
	// schemars order: title, type, required, properties, additionalProperties;
	// minLength 1 stays an integer (u32); $schema is dropped.
	want := `{"items":{"title":"FsScope","type":"object","required":["path"],"properties":{"path":{"type":"string","minLength":1}},"additionalProperties":false}}`
	for _, list := range []string{"allow", "deny"} {
		var compact bytes.Buffer
		if err := json.Compact(&compact, allOf[0].Then.Properties[list]); err != nil {
			t.Fatal(err)
		}
		if compact.String() != want {
			t.Errorf("then.%s:\n got %s\nwant %s", list, compact.String(), want)
		}
	}
	if _, ok := allOf[1].Properties["allow"]; !ok {
		t.Errorf("the fallback lost its allow property")
	}
}

// TestSchemarsRoundTrip checks the rewriting of scope schemas, one
// schemars rule per case.
func TestSchemarsRoundTrip(t *testing.T) {
	for _, tc := range []struct {
		name, in, want string
	}{
		{"key order", `{"properties":{"b":true,"a":false},"type":"object","description":"d","title":"t","$ref":"#/x","anyOf":[true]}`,
			`{"title":"t","description":"d","type":"object","anyOf":[true],"properties":{"b":true,"a":false},"$ref":"#/x"}`},
		{"number bounds become floats", `{"minimum":0,"maximum":1e3,"multipleOf":0.5,"maxLength":10}`,
			`{"multipleOf":0.5,"maximum":1000.0,"minimum":0.0,"maxLength":10}`},
		{"nulls of options are dropped, default and const kept", `{"title":null,"default":null,"const":null,"format":null,"items":null}`,
			`{"default":null,"const":null}`},
		{"false flags and empty lists are dropped", `{"deprecated":false,"readOnly":true,"examples":[],"required":[],"properties":{}}`,
			`{"readOnly":true}`},
		{"required is a set", `{"required":["b","a","b"]}`, `{"required":["b","a"]}`},
		{"extensions last, in order, values sorted", `{"zz":{"b":1,"a":2},"aa":1,"type":"string"}`,
			`{"type":"string","zz":{"a":2,"b":1},"aa":1}`},
		{"items single or list", `{"items":[{"type":"string"},true],"additionalItems":false}`,
			`{"items":[{"type":"string"},true],"additionalItems":false}`},
		{"repeated key keeps the last value", `{"title":"a","title":"b"}`, `{"title":"b"}`},
	} {
		t.Run(tc.name, func(t *testing.T) {
			n, err := doc.ParseJSON([]byte(tc.in))
			if err != nil {
				t.Fatal(err)
			}
			if err := checkSchema(n, "", nil); err != nil {
				t.Fatal(err)
			}
			w := doc.NewWriter(false)
			writeSchema(w, n, nil)
			if w.String() != tc.want {
				t.Errorf("\n got %s\nwant %s", w.String(), tc.want)
			}
		})
	}
}

func TestGenerateRejectsUnreadableScopeSchemas(t *testing.T) {
	for _, tc := range []struct {
		name, scope, where string
	}{
		{"not an object", `[1]`, "/fs/global_scope_schema"},
		{"unknown type", `{"type":"text"}`, "/fs/global_scope_schema/type"},
		{"negative maxLength", `{"maxLength":-1}`, "/fs/global_scope_schema/maxLength"},
		{"fractional minItems", `{"minItems":1.5}`, "/fs/global_scope_schema/minItems"},
		{"schema of the wrong type", `{"properties":{"a":"string"}}`, "/fs/global_scope_schema/properties/a"},
		{"required of numbers", `{"required":[1]}`, "/fs/global_scope_schema/required/0"},
		{"definitions not an object", `{"definitions":[]}`, "/fs/global_scope_schema/definitions"},
		{"bad definition", `{"definitions":{"A":{"anyOf":{}}}}`, "/fs/global_scope_schema/definitions/A/anyOf"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			ms := acl.Manifests{"fs": {Permissions: map[string]*acl.Permission{}, Sets: map[string]*acl.PermissionSet{}, GlobalScopeSchema: json.RawMessage(tc.scope)}}
			_, err := Generate(ms, GenerateOptions{})
			if err == nil {
				t.Fatal("Generate succeeded")
			}
			if !errors.Is(err, acl.ErrInvalid) || !strings.Contains(err.Error(), tc.where+":") || !strings.Contains(err.Error(), `plugin "fs"`) {
				t.Errorf("error %q: want acl.ErrInvalid naming plugin \"fs\" and %s", err, tc.where)
			}
			if _, err := Compile(ms, CompileOptions{}); err == nil {
				t.Errorf("Compile succeeded")
			}
		})
	}
}

func TestWriteFilesOnlyWhenChanged(t *testing.T) {
	dir := t.TempDir()
	data := []byte(`{"a": 1}`)
	written, err := WriteFiles(dir, acl.Linux, data)
	if err != nil {
		t.Fatal(err)
	}
	if len(written) != 2 || filepath.Base(written[0]) != "linux-schema.json" || filepath.Base(written[1]) != "desktop-schema.json" {
		t.Fatalf("first write: %v", written)
	}
	if written, _ = WriteFiles(dir, acl.Linux, data); len(written) != 0 {
		t.Errorf("unchanged content rewritten: %v", written)
	}
	if err := os.WriteFile(filepath.Join(dir, "desktop-schema.json"), []byte("old"), 0o644); err != nil {
		t.Fatal(err)
	}
	if written, _ = WriteFiles(dir, acl.Linux, data); len(written) != 1 || filepath.Base(written[0]) != "desktop-schema.json" {
		t.Errorf("after editing desktop-schema.json: %v", written)
	}
	if written, _ = WriteFiles(dir, acl.IOS, data); len(written) != 2 || filepath.Base(written[1]) != "mobile-schema.json" {
		t.Errorf("iOS: %v", written)
	}
	for _, name := range []string{"linux-schema.json", "desktop-schema.json", "iOS-schema.json", "mobile-schema.json"} {
		if b, err := os.ReadFile(filepath.Join(dir, name)); err != nil || string(b) != string(data) {
			t.Errorf("%s: %q, %v", name, b, err)
		}
	}
}
