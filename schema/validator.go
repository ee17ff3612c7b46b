package schema

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"reflect"
	"sort"
	"strings"
	"sync"

	"github.com/capguard/capguard/acl"
	"github.com/capguard/capguard/internal/doc"
	"github.com/santhosh-tekuri/jsonschema/v6"
	"golang.org/x/text/message"
)

// Validator checks capability files against one set of manifests: with
// the capability schema that Generate writes for them, compiled once by
// jsonschema/v6, and with the checks a schema cannot express. It is safe
// for concurrent use.
type Validator struct {
	manifests acl.Manifests
	text      []byte
	// ids are the permission identifiers the schema lists, sorted; known
	// holds them as a set.
	ids   []string
	known map[string]bool
	// scoped are the manifest keys with a scope schema, in the order of
	// their blocks in PermissionEntry.
	scoped []string
	// capability validates one capability; loose validates one capability
	// without checking identifiers and scopes (for capabilities of other
	// targets than the manifests were built for); file validates a whole
	// capability file.
	capability, loose, file *jsonschema.Schema
	exact                   bool
	explainer               *explainer
	// patterns memoizes the verdicts on window globs and remote URL
	// patterns (compiling a URL pattern takes tens of microseconds):
	// "g"+pattern or "u"+pattern to the error text, "" when valid.
	patterns sync.Map
}

// checkPattern compiles a glob (remote false) or a remote URL pattern
// once per validator and returns its error text, or "".
func (v *Validator) checkPattern(pattern string, remote bool) string {
	key := "g" + pattern
	if remote {
		key = "u" + pattern
	}
	if msg, ok := v.patterns.Load(key); ok {
		return msg.(string)
	}
	var err error
	if remote {
		_, err = acl.CompileRemote(pattern)
	} else {
		_, err = acl.CompileGlob(pattern)
	}
	msg := ""
	if err != nil {
		msg = strings.TrimPrefix(err.Error(), acl.ErrInvalid.Error()+": ")
	}
	v.patterns.Store(key, msg)
	return msg
}

// CompileOptions tune Compile.
type CompileOptions struct {
	// Exact compiles the generated schema exactly as written. By default
	// Compile rewrites every oneOf/anyOf whose alternatives are all
	// {"type": "string", "const": ...} (the permission identifiers) into a
	// set lookup that accepts and rejects exactly the same values: the
	// thousands of alternatives otherwise make compiling take tens of
	// milliseconds and validating one file milliseconds.
	Exact bool
}

// schemaURL is the name under which the generated schema is compiled.
const schemaURL = "capguard:capability-schema.json"

// Compile generates the capability schema of the manifests (in the newest
// format) and compiles it for validation.
func Compile(ms acl.Manifests, opts CompileOptions) (*Validator, error) {
	g := &generator{format: formats[0], ms: ms, keys: ms.Keys()}
	if err := g.prepare(); err != nil {
		return nil, err
	}
	w := doc.NewWriter(true)
	g.writeFixed(w, fixedPart(0), "")
	v := &Validator{manifests: ms, text: w.Bytes(), known: map[string]bool{}, exact: opts.Exact}
	for _, k := range g.keys {
		for _, e := range g.ids[k] {
			if !v.known[e.id] {
				v.known[e.id] = true
				v.ids = append(v.ids, e.id)
			}
		}
	}
	sort.Strings(v.ids)
	for _, sp := range g.scoped {
		v.scoped = append(v.scoped, sp.key)
	}
	if err := v.compile(); err != nil {
		return nil, err
	}
	return v, nil
}

// Schema returns the generated schema text (newest format).
func (v *Validator) Schema() []byte {
	if v == nil {
		return nil
	}
	return v.text
}

// Manifests returns the manifests the validator checks against.
func (v *Validator) Manifests() acl.Manifests {
	if v == nil {
		return nil
	}
	return v.manifests
}

// Known tells whether a capability may name the permission identifier id.
func (v *Validator) Known(id string) bool { return v != nil && v.known[id] }

func (v *Validator) compile() error {
	full, err := jsonschema.UnmarshalJSON(bytes.NewReader(v.text))
	if err != nil {
		return fmt.Errorf("schema: reading the generated schema: %w", err)
	}
	// The loose schema: the same text with any string as an identifier
	// and no scope blocks, i.e. Tauri's schema of an app without plugins.
	loose, err := jsonschema.UnmarshalJSON(bytes.NewReader(fixedJSON))
	if err != nil {
		return fmt.Errorf("schema: reading the fixed schema: %w", err)
	}
	defs := loose.(map[string]any)["definitions"].(map[string]any)
	defs["Identifier"] = map[string]any{"type": "string"}
	if !v.exact {
		// Value accepts every JSON value: null, booleans, numbers (any
		// number is an integer or a number; the int64/double formats are
		// annotations in draft-07), strings, and arrays and objects of
		// Values. Unless a plugin replaced it, it is the schema true.
		if fd, ok := full.(map[string]any)["definitions"].(map[string]any); ok && reflect.DeepEqual(fd["Value"], defs["Value"]) {
			fd["Value"] = true
		}
		rewriteConstLists(full)
		collapseRefs(full)
	}
	v.explainer = &explainer{doc: full}
	c := jsonschema.NewCompiler()
	c.DefaultDraft(jsonschema.Draft7)
	c.RegisterVocabulary(constSetVocabulary())
	if err := c.AddResource(schemaURL, full); err != nil {
		return fmt.Errorf("schema: %w", err)
	}
	if err := c.AddResource(schemaURL+".loose", loose); err != nil {
		return fmt.Errorf("schema: %w", err)
	}
	for _, x := range []struct {
		into **jsonschema.Schema
		loc  string
	}{
		{&v.file, schemaURL},
		{&v.capability, schemaURL + "#/definitions/Capability"},
		{&v.loose, schemaURL + ".loose#/definitions/Capability"},
	} {
		s, err := c.Compile(x.loc)
		if err != nil {
			// A plugin scope schema that is valid for schemars but not a
			// valid JSON Schema (a bad regex, a dangling $ref).
			return fmt.Errorf("%w: the capability schema of these manifests does not compile: %v", acl.ErrInvalid, err)
		}
		*x.into = s
	}
	return nil
}

// constSetKeyword replaces a list of string-constant alternatives.
const constSetKeyword = "x-capguard-const-set"

// rewriteConstLists replaces, everywhere in a schema document, a oneOf or
// anyOf whose alternatives each accept exactly one string ({"type":
// "string", "const": "..."} or {"type": "string", "enum": ["..."]}, with
// only descriptions besides) by constSetKeyword, which the constSet
// extension evaluates with a map lookup.
func rewriteConstLists(n any) {
	switch n := n.(type) {
	case map[string]any:
		for _, kw := range []string{"oneOf", "anyOf"} {
			list, ok := n[kw].([]any)
			if !ok || len(list) == 0 {
				continue
			}
			values := make([]any, 0, len(list))
			for _, it := range list {
				s, ok := onlyString(it)
				if !ok {
					values = nil
					break
				}
				values = append(values, s)
			}
			if values != nil {
				delete(n, kw)
				n[constSetKeyword] = map[string]any{"exactlyOne": kw == "oneOf", "values": values}
			}
		}
		for _, v := range n {
			rewriteConstLists(v)
		}
	case []any:
		for _, v := range n {
			rewriteConstLists(v)
		}
	}
}

// collapseRefs replaces, everywhere in a draft-07 schema document,
// {"allOf": [{"$ref": R}], ...annotations} by {"$ref": R}: the same
// constraint one level shallower (schemars writes a described reference
// that way, and draft-07 ignores the annotations next to a $ref).
func collapseRefs(n any) {
	switch n := n.(type) {
	case map[string]any:
		if list, ok := n["allOf"].([]any); ok && len(list) == 1 {
			inner, ok := list[0].(map[string]any)
			_, hasRef := n["$ref"]
			if ok && len(inner) == 1 && !hasRef && onlyAnnotations(n, "allOf") {
				if ref, ok := inner["$ref"].(string); ok {
					delete(n, "allOf")
					n["$ref"] = ref
				}
			}
		}
		for _, v := range n {
			collapseRefs(v)
		}
	case []any:
		for _, v := range n {
			collapseRefs(v)
		}
	}
}

// onlyAnnotations tells whether a schema object has no keywords but
// annotations, besides except.
func onlyAnnotations(m map[string]any, except string) bool {
	for k := range m {
		switch k {
		case except, "description", "title", "markdownDescription", "default", "examples":
		default:
			return false
		}
	}
	return true
}

// onlyString returns the one string a schema accepts, when it is of the
// form {"type": "string", "const": s} or {"type": "string", "enum": [s]}
// plus annotations.
func onlyString(schema any) (string, bool) {
	m, ok := schema.(map[string]any)
	if !ok || m["type"] != "string" {
		return "", false
	}
	var value string
	found := false
	for k, v := range m {
		switch k {
		case "type", "description", "markdownDescription", "title":
		case "const":
			s, ok := v.(string)
			if !ok || found {
				return "", false
			}
			value, found = s, true
		case "enum":
			list, ok := v.([]any)
			if !ok || len(list) != 1 || found {
				return "", false
			}
			s, ok := list[0].(string)
			if !ok {
				return "", false
			}
			value, found = s, true
		default:
			return "", false
		}
	}
	return value, found
}

func constSetVocabulary() *jsonschema.Vocabulary {
	meta, err := jsonschema.UnmarshalJSON(strings.NewReader(`{"properties": {"` + constSetKeyword + `": {
		"type": "object", "required": ["exactlyOne", "values"],
		"properties": {"exactlyOne": {"type": "boolean"}, "values": {"type": "array", "items": {"type": "string"}}}}}}`))
	if err != nil {
		panic(err)
	}
	c := jsonschema.NewCompiler()
	if err := c.AddResource("capguard:const-set-vocabulary", meta); err != nil {
		panic(err)
	}
	sch := c.MustCompile("capguard:const-set-vocabulary")
	return &jsonschema.Vocabulary{
		URL:    "capguard:const-set-vocabulary",
		Schema: sch,
		Compile: func(_ *jsonschema.CompilerContext, obj map[string]any) (jsonschema.SchemaExt, error) {
			spec, ok := obj[constSetKeyword].(map[string]any)
			if !ok {
				return nil, nil
			}
			values, _ := spec["values"].([]any)
			s := &constSet{exactlyOne: spec["exactlyOne"] == true, counts: make(map[string]int, len(values))}
			for _, v := range values {
				if s.counts[v.(string)] == 0 {
					s.values = append(s.values, v.(string))
				}
				s.counts[v.(string)]++
			}
			return s, nil
		},
	}
}

// constSet accepts a string that occurs among the constants: exactly once
// for a oneOf, at least once for an anyOf.
type constSet struct {
	exactlyOne bool
	counts     map[string]int
	values     []string // in schema order, without repeats
}

func (s *constSet) Validate(ctx *jsonschema.ValidatorContext, v any) {
	str, isString := v.(string)
	n := 0
	if isString {
		n = s.counts[str]
	}
	if n == 1 || n > 1 && !s.exactlyOne {
		return
	}
	ctx.AddError(&notInSet{got: v, isString: isString, several: n > 1, exactlyOne: s.exactlyOne, values: s.values})
}

// notInSet is the error of a constSet.
type notInSet struct {
	got        any
	isString   bool
	several    bool
	exactlyOne bool
	values     []string
}

func (k *notInSet) KeywordPath() []string {
	if k.exactlyOne {
		return []string{"oneOf"}
	}
	return []string{"anyOf"}
}

func (k *notInSet) LocalizedString(p *message.Printer) string {
	switch {
	case !k.isString:
		return p.Sprintf("got %s, want string", jsonType(k.got))
	case k.several:
		return p.Sprintf("%q matches several alternatives", k.got)
	}
	return p.Sprintf("%q is not one of the listed values", k.got)
}

func jsonType(v any) string {
	switch v.(type) {
	case nil:
		return "null"
	case bool:
		return "boolean"
	case string:
		return "string"
	case []any:
		return "array"
	case map[string]any:
		return "object"
	}
	return "number"
}

// instance turns a parsed node into the value jsonschema validates:
// objects (a repeated key keeps its last value, as serde reads maps),
// arrays, strings, json.Number, booleans and nil. TOML datetimes become
// their text; JSON5's NaN and Infinity become float64.
func instance(n *doc.Node) any {
	switch n.Kind {
	case doc.Null:
		return nil
	case doc.Bool:
		return n.Bool
	case doc.String, doc.Datetime:
		return n.Text
	case doc.Number:
		f := n.Float()
		if math.IsNaN(f) || math.IsInf(f, 0) {
			return f
		}
		return json.Number(doc.NumberText(n))
	case doc.Array:
		out := make([]any, len(n.Items))
		for i, it := range n.Items {
			out[i] = instance(it)
		}
		return out
	case doc.Object:
		out := make(map[string]any, len(n.Members))
		for _, m := range n.Members {
			out[m.Key] = instance(m.Value)
		}
		return out
	}
	return nil
}

// SchemaAccepts validates a whole capability file (JSON, JSON5 or TOML,
// by the extension of name) with the generated schema alone, as an
// editor or a stock JSON Schema validator would: every capability
// against the manifests, whatever its platforms. It returns the schema's
// verdict, and an error when the file does not parse.
func (v *Validator) SchemaAccepts(name string, data []byte) (bool, error) {
	if v == nil || v.file == nil {
		return false, errors.New("schema: SchemaAccepts: no validator (a nil or zero *Validator)")
	}
	fc := &fileCheck{v: v, name: name}
	root, ok := fc.parse(data)
	if !ok {
		return false, fmt.Errorf("%w: %s", acl.ErrSyntax, fc.out[0])
	}
	return v.file.Validate(instance(root)) == nil, nil
}
