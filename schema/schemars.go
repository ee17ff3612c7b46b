package schema

import (
	"fmt"
	"math"
	"sort"
	"strconv"

	"github.com/capguard/capguard/internal/doc"
)

// Plugins hand Tauri their scope schema as JSON; tauri-build reads it back
// into the schema model of the schemars crate (0.8, with ordered maps) and
// writes it again. That round trip fixes the key order of every schema
// object, drops some values and turns every number bound into a float.
// schemaWriter reproduces it: it writes a JSON Schema node the way a
// schemars Schema serializes.

// schemaError is a scope schema that schemars would refuse to read (Tauri
// panics on it: "invalid JSON schema for plugin ...").
type schemaError struct {
	pointer string
	msg     string
}

func (e *schemaError) Error() string {
	if e.pointer == "" {
		return e.msg
	}
	return e.pointer + ": " + e.msg
}

func badSchema(ptr, format string, args ...any) error {
	return &schemaError{pointer: ptr, msg: fmt.Sprintf(format, args...)}
}

// The keywords schemars knows, in the order in which it writes them. Every
// other key is an extension, written last in the order read.
type keyword struct {
	name string
	kind kwKind
}

type kwKind uint8

const (
	kwString       kwKind = iota // Option<String>: null is absent
	kwValue                      // Option<Value>, null kept
	kwTrue                       // bool written only when true
	kwValues                     // Vec<Value>, written when non-empty
	kwValueList                  // Option<Vec<Value>>
	kwTypes                      // Option<SingleOrVec<InstanceType>>
	kwSchema                     // Option<Box<Schema>>
	kwSchemas                    // Option<Vec<Schema>>
	kwSchemaOrList               // Option<SingleOrVec<Schema>>
	kwFloat                      // Option<f64>
	kwUint32                     // Option<u32>
	kwBool                       // Option<bool>
	kwStringSet                  // Set<String>, written when non-empty
	kwSchemaMap                  // Map<String, Schema>, written when non-empty
)

var keywords = []keyword{
	// metadata
	{"$id", kwString}, {"title", kwString}, {"description", kwString}, {"default", kwValue},
	{"deprecated", kwTrue}, {"readOnly", kwTrue}, {"writeOnly", kwTrue}, {"examples", kwValues},
	// type, format, enum, const
	{"type", kwTypes}, {"format", kwString}, {"enum", kwValueList}, {"const", kwValue},
	// subschemas
	{"allOf", kwSchemas}, {"anyOf", kwSchemas}, {"oneOf", kwSchemas},
	{"not", kwSchema}, {"if", kwSchema}, {"then", kwSchema}, {"else", kwSchema},
	// numbers
	{"multipleOf", kwFloat}, {"maximum", kwFloat}, {"exclusiveMaximum", kwFloat},
	{"minimum", kwFloat}, {"exclusiveMinimum", kwFloat},
	// strings
	{"maxLength", kwUint32}, {"minLength", kwUint32}, {"pattern", kwString},
	// arrays
	{"items", kwSchemaOrList}, {"additionalItems", kwSchema}, {"maxItems", kwUint32},
	{"minItems", kwUint32}, {"uniqueItems", kwBool}, {"contains", kwSchema},
	// objects
	{"maxProperties", kwUint32}, {"minProperties", kwUint32}, {"required", kwStringSet},
	{"properties", kwSchemaMap}, {"patternProperties", kwSchemaMap},
	{"additionalProperties", kwSchema}, {"propertyNames", kwSchema},
	// reference
	{"$ref", kwString},
}

var keywordIndex = func() map[string]int {
	m := make(map[string]int, len(keywords))
	for i, k := range keywords {
		m[k.name] = i
	}
	return m
}()

var instanceTypes = map[string]bool{"null": true, "boolean": true, "object": true, "array": true, "number": true, "string": true, "integer": true}

// members returns the members of an object node with repeated keys
// resolved as serde does for a map (the last value, at the first place).
func members(n *doc.Node) []doc.Member {
	seen := make(map[string]int, len(n.Members))
	out := make([]doc.Member, 0, len(n.Members))
	for _, m := range n.Members {
		if i, ok := seen[m.Key]; ok {
			out[i].Value = m.Value
			continue
		}
		seen[m.Key] = len(out)
		out = append(out, m)
	}
	return out
}

// checkSchema reports whether n is something schemars reads as a Schema.
// skip names keys of the top object that are consumed elsewhere (the
// root's "$schema" and "definitions").
func checkSchema(n *doc.Node, ptr string, skip map[string]bool) error {
	switch n.Kind {
	case doc.Bool:
		return nil
	case doc.Object:
	default:
		return badSchema(ptr, "expected a schema (an object or a boolean), found %s", n.Kind)
	}
	for _, m := range members(n) {
		if skip[m.Key] {
			continue
		}
		if i, ok := keywordIndex[m.Key]; ok {
			if err := checkKeyword(keywords[i], m.Value, ptr+"/"+doc.PointerToken(m.Key)); err != nil {
				return err
			}
		}
	}
	return nil
}

// numKeywords is len(keywords), as a constant for the per-object table.
const numKeywords = 41

func init() {
	if len(keywords) != numKeywords {
		panic("schema: keyword table size mismatch: " + strconv.Itoa(len(keywords)))
	}
}

// writeSchema writes n, which checkSchema accepted, as a schemars Schema.
func writeSchema(w *doc.Writer, n *doc.Node, skip map[string]bool) {
	if n.Kind == doc.Bool {
		w.Bool(n.Bool)
		return
	}
	var known [numKeywords]*doc.Node
	var extensions []doc.Member
	for _, m := range members(n) {
		if skip[m.Key] {
			continue
		}
		if i, ok := keywordIndex[m.Key]; ok {
			known[i] = m.Value
			continue
		}
		extensions = append(extensions, m)
	}
	w.BeginObject()
	for i, v := range known {
		if v != nil {
			writeKeyword(w, keywords[i], v)
		}
	}
	for _, m := range extensions {
		w.Key(m.Key)
		writeValue(w, m.Value)
	}
	w.EndObject()
}

func checkKeyword(k keyword, v *doc.Node, ptr string) error {
	isNull := v.Kind == doc.Null
	switch k.kind {
	case kwString:
		if !isNull && v.Kind != doc.String {
			return badSchema(ptr, "expected a string, found %s", v.Kind)
		}
	case kwValue:
	case kwTrue, kwBool:
		if v.Kind != doc.Bool && !(k.kind == kwBool && isNull) {
			return badSchema(ptr, "expected a boolean, found %s", v.Kind)
		}
	case kwValues, kwValueList:
		if v.Kind != doc.Array && !(k.kind == kwValueList && isNull) {
			return badSchema(ptr, "expected an array, found %s", v.Kind)
		}
	case kwTypes:
		switch v.Kind {
		case doc.Null:
		case doc.String:
			if !instanceTypes[v.Text] {
				return badSchema(ptr, "unknown type %q (expected null, boolean, object, array, number, string or integer)", v.Text)
			}
		case doc.Array:
			for i, it := range v.Items {
				if it.Kind != doc.String || !instanceTypes[it.Text] {
					return badSchema(ptr+"/"+strconv.Itoa(i), "expected a type name (null, boolean, object, array, number, string or integer)")
				}
			}
		default:
			return badSchema(ptr, "expected a type name or a list of them, found %s", v.Kind)
		}
	case kwSchema:
		if !isNull {
			return checkSchema(v, ptr, nil)
		}
	case kwSchemas:
		if isNull {
			return nil
		}
		if v.Kind != doc.Array {
			return badSchema(ptr, "expected a list of schemas, found %s", v.Kind)
		}
		for i, it := range v.Items {
			if err := checkSchema(it, ptr+"/"+strconv.Itoa(i), nil); err != nil {
				return err
			}
		}
	case kwSchemaOrList:
		switch v.Kind {
		case doc.Null:
		case doc.Array:
			for i, it := range v.Items {
				if err := checkSchema(it, ptr+"/"+strconv.Itoa(i), nil); err != nil {
					return err
				}
			}
		default:
			return checkSchema(v, ptr, nil)
		}
	case kwFloat:
		if !isNull && v.Kind != doc.Number {
			return badSchema(ptr, "expected a number, found %s", v.Kind)
		}
	case kwUint32:
		if isNull {
			return nil
		}
		if v.Kind != doc.Number || !v.Int {
			return badSchema(ptr, "expected a non-negative integer, found %s", v.Kind)
		}
		if n, err := strconv.ParseUint(v.Text, 10, 32); err != nil || n > math.MaxUint32 {
			return badSchema(ptr, "expected an integer from 0 to %d, found %s", uint32(math.MaxUint32), v.Text)
		}
	case kwStringSet:
		if v.Kind != doc.Array {
			return badSchema(ptr, "expected a list of strings, found %s", v.Kind)
		}
		for i, it := range v.Items {
			if it.Kind != doc.String {
				return badSchema(ptr+"/"+strconv.Itoa(i), "expected a string, found %s", it.Kind)
			}
		}
	case kwSchemaMap:
		if v.Kind != doc.Object {
			return badSchema(ptr, "expected an object of schemas, found %s", v.Kind)
		}
		for _, m := range members(v) {
			if err := checkSchema(m.Value, ptr+"/"+doc.PointerToken(m.Key), nil); err != nil {
				return err
			}
		}
	}
	return nil
}

// writeKeyword writes one checked keyword, or nothing when schemars would
// leave it out.
func writeKeyword(w *doc.Writer, k keyword, v *doc.Node) {
	isNull := v.Kind == doc.Null
	switch k.kind {
	case kwString, kwFloat, kwUint32, kwBool, kwValueList, kwTypes, kwSchema, kwSchemas, kwSchemaOrList:
		if isNull {
			return
		}
	case kwTrue:
		if !v.Bool {
			return
		}
	case kwValues, kwStringSet:
		if len(v.Items) == 0 {
			return
		}
	case kwSchemaMap:
		if len(v.Members) == 0 {
			return
		}
	}
	w.Key(k.name)
	switch k.kind {
	case kwString:
		w.Str(v.Text)
	case kwValue, kwValues, kwValueList, kwTypes:
		writeValue(w, v)
	case kwTrue, kwBool:
		w.Bool(v.Bool)
	case kwSchema:
		writeSchema(w, v, nil)
	case kwSchemas:
		w.BeginArray()
		for _, it := range v.Items {
			writeSchema(w, it, nil)
		}
		w.EndArray()
	case kwSchemaOrList:
		if v.Kind != doc.Array {
			writeSchema(w, v, nil)
			return
		}
		w.BeginArray()
		for _, it := range v.Items {
			writeSchema(w, it, nil)
		}
		w.EndArray()
	case kwFloat:
		w.Float(v.Float())
	case kwUint32:
		w.Raw(v.Text)
	case kwStringSet:
		// An ordered set: the first occurrence of each string, in order.
		seen := make(map[string]bool, len(v.Items))
		w.BeginArray()
		for _, it := range v.Items {
			if !seen[it.Text] {
				seen[it.Text] = true
				w.Str(it.Text)
			}
		}
		w.EndArray()
	case kwSchemaMap:
		w.BeginObject()
		for _, m := range members(v) {
			w.Key(m.Key)
			writeSchema(w, m.Value, nil)
		}
		w.EndObject()
	}
}

// writeValue writes a plain JSON value the way a serde_json::Value
// serializes without the preserve_order feature: object keys in byte
// order, repeated keys resolved to their last value.
func writeValue(w *doc.Writer, n *doc.Node) {
	switch n.Kind {
	case doc.Array:
		w.BeginArray()
		for _, it := range n.Items {
			writeValue(w, it)
		}
		w.EndArray()
	case doc.Object:
		ms := members(n)
		sort.SliceStable(ms, func(i, j int) bool { return ms[i].Key < ms[j].Key })
		w.BeginObject()
		for _, m := range ms {
			w.Key(m.Key)
			writeValue(w, m.Value)
		}
		w.EndObject()
	default:
		w.Node(n)
	}
}
