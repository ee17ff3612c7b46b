package gen

import (
	"github.com/capguard/capguard/acl"
	"github.com/capguard/capguard/internal/doc"
)

// PermissionSchema renders schemas/schema.json: the draft-07 JSON Schema of
// a permission file, as Tauri derives it from its PermissionFile type, with
// the plugin's own part added: a PermissionKind definition that enumerates
// every identifier a set of the plugin may name (each file's "default",
// then its sets, then its permissions, files in the given order), and the
// set's permissions typed as PermissionKind. The text is pretty-printed
// JSON without a final newline, as serde_json writes it.
func PermissionSchema(files []*acl.PermissionFile) []byte {
	w := doc.NewWriter(true)
	permissionFileSchema(permissionKinds(files)).write(w)
	return w.Bytes()
}

// permissionKinds lists the identifiers a set may name, with descriptions.
func permissionKinds(files []*acl.PermissionFile) array {
	var kinds array
	add := func(id string, description *string) {
		var o object
		if description != nil {
			o = append(o, member{"description", *description})
		}
		kinds = append(kinds, append(o, member{"type", "string"}, member{"const", id}))
	}
	for _, f := range files {
		if f.Default != nil {
			add("default", f.Default.Description)
		}
		for i := range f.Sets {
			add(f.Sets[i].Identifier, &f.Sets[i].Description)
		}
		for i := range f.Permissions {
			add(f.Permissions[i].Identifier, f.Permissions[i].Description)
		}
	}
	return kinds
}

// The schema is built as a tree of ordered objects, arrays, strings and
// numbers, then written in one pass.
type (
	object []member
	member struct {
		key   string
		value any // string, float64, object or array
	}
	array []any
)

func writeValue(w *doc.Writer, v any) {
	switch v := v.(type) {
	case string:
		w.Str(v)
	case float64:
		w.Float(v)
	case object:
		v.write(w)
	case array:
		w.BeginArray()
		for _, it := range v {
			writeValue(w, it)
		}
		w.EndArray()
	default:
		panic("gen: unexpected schema value")
	}
}

func (o object) write(w *doc.Writer) {
	w.BeginObject()
	for _, m := range o {
		w.Key(m.key)
		writeValue(w, m.value)
	}
	w.EndObject()
}

// ref points at a definition.
func ref(def string) object { return object{{"$ref", "#/definitions/" + def}} }

// described prepends a description to a schema.
func described(description string, schema ...member) object {
	return append(object{{"description", description}}, schema...)
}

// The doc-comment texts of Tauri's ACL types, which schemars copies into
// the schema (paragraph lines joined by spaces).
const (
	descVersion    = "The version of the permission."
	descIdentifier = "A unique identifier for the permission."
	descSetPerms   = "All permissions this set contains."
)

// optional is a value that may also be null, in schemars' spelling.
func optional(typ string) member { return member{"type", array{typ, "null"}} }

func stringList() object { return object{{"type", "array"}, {"items", object{{"type", "string"}}}} }

// versionProperty is the optional positive version of a permission.
func versionProperty() object {
	return described(descVersion, optional("integer"), member{"format", "uint64"}, member{"minimum", 1.0})
}

func permissionFileSchema(kinds array) object {
	return object{
		{"$schema", "http://json-schema.org/draft-07/schema#"},
		{"title", "PermissionFile"},
		{"description", "Permission file that can define a default permission, a set of permissions or a list of inlined permissions."},
		{"type", "object"},
		{"properties", object{
			{"default", described("The default permission set for the plugin",
				member{"anyOf", array{ref("DefaultPermission"), object{{"type", "null"}}}})},
			{"set", described("A list of permissions sets defined",
				member{"type", "array"}, member{"items", ref("PermissionSet")})},
			{"permission", described("A list of inlined permissions",
				member{"default", array{}}, member{"type", "array"}, member{"items", ref("Permission")})},
		}},
		{"definitions", object{
			{"DefaultPermission", defaultPermissionSchema()},
			{"PermissionSet", permissionSetSchema()},
			{"Permission", permissionSchema()},
			{"Commands", commandsSchema()},
			{"Scopes", scopesSchema()},
			{"Value", valueSchema()},
			{"Number", numberSchema()},
			{"Target", targetSchema()},
			{"PermissionKind", object{{"type", "string"}, {"oneOf", kinds}}},
		}},
	}
}

func defaultPermissionSchema() object {
	return described("The default permission set of the plugin.\n\nWorks similarly to a permission with the \"default\" identifier.",
		member{"type", "object"},
		member{"required", array{"permissions"}},
		member{"properties", object{
			{"version", versionProperty()},
			{"description", described("Human-readable description of what the permission does. Tauri convention is to use <h4> headings in markdown content for Tauri documentation generation purposes.",
				optional("string"))},
			{"permissions", described(descSetPerms, stringList()...)},
		}})
}

func permissionSetSchema() object {
	return described("A set of direct permissions grouped together under a new name.",
		member{"type", "object"},
		member{"required", array{"description", "identifier", "permissions"}},
		member{"properties", object{
			{"identifier", described(descIdentifier, member{"type", "string"})},
			{"description", described("Human-readable description of what the permission does.", member{"type", "string"})},
			// The plugin's part: a set names the plugin's own permissions.
			{"permissions", described(descSetPerms, member{"type", "array"}, member{"items", ref("PermissionKind")})},
		}})
}

func permissionSchema() object {
	return described("Descriptions of explicit privileges of commands.\n\nIt can enable commands to be accessible in the frontend of the application.\n\nIf the scope is defined it can be used to fine grain control the access of individual or multiple commands.",
		member{"type", "object"},
		member{"required", array{"identifier"}},
		member{"properties", object{
			{"version", versionProperty()},
			{"identifier", described(descIdentifier, member{"type", "string"})},
			{"description", described("Human-readable description of what the permission does. Tauri internal convention is to use <h4> headings in markdown content for Tauri documentation generation purposes.",
				optional("string"))},
			{"commands", described("Allowed or denied commands when using this permission.",
				member{"default", object{{"allow", array{}}, {"deny", array{}}}},
				member{"allOf", array{ref("Commands")}})},
			{"scope", described("Allowed or denied scoped when using this permission.",
				member{"allOf", array{ref("Scopes")}})},
			{"platforms", described("Target platforms this permission applies. By default all platforms are affected by this permission.",
				optional("array"), member{"items", ref("Target")})},
		}})
}

func commandsSchema() object {
	list := func(description string) object {
		return described(description, append(object{{"default", array{}}}, stringList()...)...)
	}
	return described("Allowed and denied commands inside a permission.\n\nIf two commands clash inside of `allow` and `deny`, it should be denied by default.",
		member{"type", "object"},
		member{"properties", object{
			{"allow", list("Allowed command.")},
			{"deny", list("Denied command, which takes priority.")},
		}})
}

func scopesSchema() object {
	values := func(description string) object {
		return described(description, optional("array"), member{"items", ref("Value")})
	}
	return described("An argument for fine grained behavior control of Tauri commands.\n\nIt can be of any serde serializable type and is used to allow or prevent certain actions inside a Tauri command. The configured scope is passed to the command and will be enforced by the command implementation.\n\n## Example\n\n```json { \"allow\": [{ \"path\": \"$HOME/**\" }], \"deny\": [{ \"path\": \"$HOME/secret.txt\" }] } ```",
		member{"type", "object"},
		member{"properties", object{
			{"allow", values("Data that defines what is allowed by the scope.")},
			{"deny", values("Data that defines what is denied by the scope. This should be prioritized by validation logic.")},
		}})
}

func valueSchema() object {
	return described("All supported ACL values.", member{"anyOf", array{
		described("Represents a null JSON value.", member{"type", "null"}),
		described("Represents a [`bool`].", member{"type", "boolean"}),
		described("Represents a valid ACL [`Number`].", member{"allOf", array{ref("Number")}}),
		described("Represents a [`String`].", member{"type", "string"}),
		described("Represents a list of other [`Value`]s.", member{"type", "array"}, member{"items", ref("Value")}),
		described("Represents a map of [`String`] keys to [`Value`]s.", member{"type", "object"}, member{"additionalProperties", ref("Value")}),
	}})
}

func numberSchema() object {
	return described("A valid ACL number.", member{"anyOf", array{
		described("Represents an [`i64`].", member{"type", "integer"}, member{"format", "int64"}),
		described("Represents a [`f64`].", member{"type", "number"}, member{"format", "double"}),
	}})
}

// targetSchema enumerates the platforms in Tauri's declaration order, each
// described by its doc comment.
func targetSchema() object {
	descriptions := map[acl.Target]string{
		acl.MacOS: "MacOS.", acl.Windows: "Windows.", acl.Linux: "Linux.", acl.Android: "Android.", acl.IOS: "iOS.",
	}
	var variants array
	for _, t := range acl.Targets {
		variants = append(variants, described(descriptions[t], member{"type", "string"}, member{"enum", array{t.String()}}))
	}
	return described("Platform target.", member{"oneOf", variants})
}
