package gen

import (
	"encoding/json"
	"errors"
	"fmt"
	"os"

	"github.com/capguard/capguard/acl"
	"github.com/capguard/capguard/internal/doc"
)

// ParseGlobalScopeSchema checks a plugin's global scope schema (the JSON
// that schemars writes for the plugin's scope entry type, and that Tauri
// passes from the plugin's build to the app's) and returns it as compact
// JSON in serde_json's spelling, keys in the order written: the form
// acl.NewManifest and acl-manifests.json expect. The schema must be a JSON
// object. name is used in error messages.
func ParseGlobalScopeSchema(name string, data []byte) (json.RawMessage, error) {
	if len(data) > acl.MaxFileSize {
		return nil, &acl.Error{Pos: acl.Position{File: name}, Err: acl.ErrTooLarge,
			Msg: fmt.Sprintf("%s is larger than %d MiB", name, acl.MaxFileSize>>20)}
	}
	n, err := doc.ParseJSON(data)
	if err != nil {
		var se *doc.SyntaxError
		if errors.As(err, &se) {
			return nil, &acl.Error{Pos: acl.Position{File: name, Line: se.Pos.Line, Col: se.Pos.Col}, Err: acl.ErrSyntax,
				Msg: "invalid JSON: " + se.Msg}
		}
		return nil, &acl.Error{Pos: acl.Position{File: name}, Err: acl.ErrSyntax, Msg: err.Error()}
	}
	if n.Kind != doc.Object {
		return nil, &acl.Error{Pos: acl.Position{File: name, Line: n.Pos.Line, Col: n.Pos.Col}, Err: acl.ErrInvalid,
			Msg: fmt.Sprintf("a global scope schema must be a JSON Schema object, found %s", n.Kind)}
	}
	w := doc.NewWriter(false)
	w.Node(n)
	return json.RawMessage(w.Bytes()), nil
}

// ReadGlobalScopeSchema reads a global scope schema file (see
// ParseGlobalScopeSchema).
func ReadGlobalScopeSchema(path string) (json.RawMessage, error) {
	st, err := os.Stat(path)
	if err != nil {
		return nil, err
	}
	if st.Size() > acl.MaxFileSize {
		return nil, &acl.Error{Pos: acl.Position{File: path}, Err: acl.ErrTooLarge,
			Msg: fmt.Sprintf("%s is larger than %d MiB", path, acl.MaxFileSize>>20)}
	}
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	return ParseGlobalScopeSchema(path, data)
}
