package schema

import (
	"fmt"
	"regexp"
	"sort"
	"strconv"
	"strings"

	"github.com/capguard/capguard/internal/doc"
	"github.com/santhosh-tekuri/jsonschema/v6"
	"github.com/santhosh-tekuri/jsonschema/v6/kind"
	"golang.org/x/text/language"
	"golang.org/x/text/message"
)

var printer = message.NewPrinter(language.English)

// problem is one schema violation, located in the validated instance.
type problem struct {
	ptr string // JSON pointer into the instance
	// atKey: point at the key of the last step of ptr (an unexpected
	// property), not at its value.
	atKey bool
	msg   string
	// wrongType: the value has another JSON type than this alternative
	// wants, so the alternative was meant for another kind of value.
	wrongType bool
	// want lists the types or constants the value should have been, for
	// merging the errors of alternatives.
	want []string
	// identifier: an unknown permission identifier, which the identifier
	// check reports with suggestions instead.
	identifier bool
	// unique: a uniqueItems failure, reported as a duplicate-permission
	// warning instead.
	unique bool
	// missing names a required property that is absent.
	missing []string
	// schema is the keyword location, to tell scope schema errors apart.
	schema string
}

func pointer(loc []string) string {
	if len(loc) == 0 {
		return ""
	}
	var b strings.Builder
	for _, t := range loc {
		b.WriteByte('/')
		b.WriteString(doc.PointerToken(t))
	}
	return b.String()
}

// explain turns a jsonschema error tree into problems. Where alternatives
// (anyOf, oneOf) all fail, it keeps the alternatives meant for the
// value's JSON type, and when several remain, merges them into one
// problem that lists what each wanted.
func (x *explainer) explain(e *jsonschema.ValidationError) []problem {
	switch k := e.ErrorKind.(type) {
	case *kind.Schema, *kind.Group, *kind.AllOf, *kind.Reference:
		var out []problem
		for _, c := range e.Causes {
			out = append(out, x.explain(c)...)
		}
		return out
	case *kind.AnyOf:
		return x.alternatives(e)
	case *kind.OneOf:
		if len(k.Subschemas) == 0 {
			return x.alternatives(e)
		}
	}
	return []problem{leaf(e)}
}

func leaf(e *jsonschema.ValidationError) problem {
	p := problem{ptr: pointer(e.InstanceLocation), schema: e.SchemaURL}
	switch k := e.ErrorKind.(type) {
	case *kind.Type:
		p.wrongType = true
		p.want = k.Want
		p.msg = fmt.Sprintf("expected %s, found %s", typeList(k.Want), article(k.Got))
	case *kind.Required:
		p.missing = k.Missing
		q := make([]string, len(k.Missing))
		for i, m := range k.Missing {
			q[i] = strconv.Quote(m)
		}
		if len(q) == 1 {
			p.msg = "missing required field " + q[0]
		} else {
			p.msg = "missing required fields " + strings.Join(q, ", ")
		}
	case *kind.AdditionalProperties:
		if len(k.Properties) > 0 {
			p.ptr += "/" + doc.PointerToken(k.Properties[0])
			p.atKey = true
		}
		q := make([]string, len(k.Properties))
		for i, m := range k.Properties {
			q[i] = strconv.Quote(m)
		}
		if len(q) == 1 {
			p.msg = "field " + q[0] + " is not allowed here"
		} else {
			p.msg = "fields " + strings.Join(q, ", ") + " are not allowed here"
		}
	case *kind.Enum:
		for _, w := range k.Want {
			p.want = append(p.want, display(w))
		}
		p.msg = "expected " + orList(p.want) + ", found " + display(k.Got)
	case *kind.Const:
		p.want = []string{display(k.Want)}
		p.msg = "expected " + display(k.Want) + ", found " + display(k.Got)
	case *kind.UniqueItems:
		p.unique = true
		p.ptr += "/" + strconv.Itoa(k.Duplicates[1])
		p.msg = fmt.Sprintf("items %d and %d are equal", k.Duplicates[0], k.Duplicates[1])
	case *kind.MinLength:
		p.msg = fmt.Sprintf("expected at least %d character%s, found %d", k.Want, plural(k.Want), k.Got)
	case *kind.MaxLength:
		p.msg = fmt.Sprintf("expected at most %d character%s, found %d", k.Want, plural(k.Want), k.Got)
	case *kind.MinItems:
		p.msg = fmt.Sprintf("expected at least %d item%s, found %d", k.Want, plural(k.Want), k.Got)
	case *kind.MaxItems:
		p.msg = fmt.Sprintf("expected at most %d item%s, found %d", k.Want, plural(k.Want), k.Got)
	case *kind.Pattern:
		p.msg = fmt.Sprintf("%s does not match the pattern %q", display(k.Got), k.Want)
	case *notInSet:
		if !k.isString {
			p.wrongType = true
			p.want = []string{"string"}
			p.msg = fmt.Sprintf("expected a string, found %s", article(jsonType(k.got)))
			break
		}
		p.identifier = strings.Contains(e.SchemaURL, "/definitions/Identifier")
		p.msg = k.LocalizedString(printer)
		if !k.several && len(k.values) <= 10 {
			for _, v := range k.values {
				p.want = append(p.want, strconv.Quote(v))
			}
			got := k.got.(string)
			p.msg = "expected " + orList(p.want) + ", found " + strconv.Quote(got)
			for _, v := range k.values {
				if strings.EqualFold(v, got) {
					p.msg += " (did you mean " + strconv.Quote(v) + "?)"
				}
			}
		}
	default:
		p.msg = e.ErrorKind.LocalizedString(printer)
	}
	return p
}

func (x *explainer) alternatives(e *jsonschema.ValidationError) []problem {
	var branches [][]problem
	for _, c := range e.Causes {
		branches = append(branches, x.explain(c))
	}
	at := pointer(e.InstanceLocation)
	// Alternatives that want another JSON type at this very place were
	// written for another kind of value: leave them out.
	var kept [][]problem
	var keptURL []string
	var types []string
	for i, b := range branches {
		other := false
		for _, p := range b {
			if p.wrongType && p.ptr == at {
				other = true
				types = appendNew(types, p.want...)
			}
		}
		if !other {
			kept = append(kept, b)
			keptURL = append(keptURL, e.Causes[i].SchemaURL)
		}
	}
	switch {
	case len(kept) == 1:
		return kept[0]
	case len(kept) == 0:
		found := "something else"
		for _, b := range branches {
			for _, p := range b {
				if p.wrongType && p.ptr == at {
					if _, f, ok := strings.Cut(p.msg, ", found "); ok {
						found = f
					}
				}
			}
		}
		return []problem{{ptr: at, wrongType: true, want: types, schema: e.SchemaURL,
			msg: "expected " + typeList(types) + ", found " + found}}
	}
	// Several alternatives fit the type. When each wants one of some
	// values (the Target enum), say which values are allowed.
	var values []string
	allValues := true
	for _, b := range kept {
		if len(b) != 1 || b[0].ptr != at || len(b[0].want) == 0 || b[0].wrongType {
			allValues = false
			break
		}
		values = appendNew(values, b[0].want...)
	}
	if allValues {
		_, found, _ := strings.Cut(kept[0][0].msg, ", found ")
		return []problem{{ptr: at, want: values, schema: e.SchemaURL, msg: "expected " + orList(values) + ", found " + found}}
	}
	// Otherwise say what keeps the value out of each form.
	var b strings.Builder
	fmt.Fprintf(&b, "it fits none of the %d forms allowed here", len(kept))
	for i, br := range kept {
		if i == 0 {
			b.WriteString(": ")
		} else {
			b.WriteString("; ")
		}
		fmt.Fprintf(&b, "form %d", i+1)
		if fields := x.fieldsOf(keptURL[i]); fields != "" {
			b.WriteString(" (" + fields + ")")
		}
		for j, p := range br {
			if j > 0 {
				b.WriteString(",")
			}
			rel := strings.TrimPrefix(p.ptr, at)
			switch {
			case p.atKey && rel != "":
				b.WriteString(" does not allow " + strconv.Quote(lastToken(rel)))
			case len(p.missing) > 0 && rel == "":
				b.WriteString(" needs " + quoteAll(p.missing))
			case rel != "":
				b.WriteString(" wants " + fieldPath(rel) + ": " + p.msg)
			default:
				b.WriteString(" wants " + p.msg)
			}
		}
	}
	return []problem{{ptr: at, schema: e.SchemaURL, msg: b.String()}}
}

// explainer turns validation errors into problems; doc is the compiled
// schema document, to describe the forms of an anyOf.
type explainer struct {
	doc any
}

// fieldsOf lists the properties of the schema at a keyword location:
// "fields args, cmd, name".
func (x *explainer) fieldsOf(url string) string {
	_, frag, ok := strings.Cut(url, "#")
	if !ok || x == nil {
		return ""
	}
	cur := x.doc
	if frag != "" {
		for _, tok := range strings.Split(strings.TrimPrefix(frag, "/"), "/") {
			tok = strings.ReplaceAll(strings.ReplaceAll(tok, "~1", "/"), "~0", "~")
			switch c := cur.(type) {
			case map[string]any:
				cur = c[tok]
			case []any:
				i, err := strconv.Atoi(tok)
				if err != nil || i < 0 || i >= len(c) {
					return ""
				}
				cur = c[i]
			default:
				return ""
			}
		}
	}
	m, ok := cur.(map[string]any)
	if !ok {
		return ""
	}
	props, ok := m["properties"].(map[string]any)
	if !ok || len(props) == 0 {
		return ""
	}
	names := make([]string, 0, len(props))
	for k := range props {
		names = append(names, k)
	}
	sort.Strings(names)
	return "fields " + strings.Join(names, ", ")
}

func lastToken(ptr string) string {
	i := strings.LastIndexByte(ptr, '/')
	return strings.ReplaceAll(strings.ReplaceAll(ptr[i+1:], "~1", "/"), "~0", "~")
}

func quoteAll(list []string) string {
	q := make([]string, len(list))
	for i, s := range list {
		q[i] = strconv.Quote(s)
	}
	return strings.Join(q, ", ")
}

func plural(n int) string {
	if n == 1 {
		return ""
	}
	return "s"
}

func appendNew(list []string, items ...string) []string {
	for _, it := range items {
		found := false
		for _, x := range list {
			if x == it {
				found = true
				break
			}
		}
		if !found {
			list = append(list, it)
		}
	}
	return list
}

func article(t string) string {
	switch t {
	case "null":
		return "null"
	case "array", "object", "integer":
		return "an " + t
	}
	return "a " + t
}

func typeList(types []string) string {
	a := make([]string, len(types))
	for i, t := range types {
		a[i] = article(t)
	}
	return orList(a)
}

func orList(items []string) string {
	switch len(items) {
	case 0:
		return "nothing"
	case 1:
		return items[0]
	}
	return strings.Join(items[:len(items)-1], ", ") + " or " + items[len(items)-1]
}

func display(v any) string {
	switch v := v.(type) {
	case string:
		return strconv.Quote(v)
	case nil:
		return "null"
	case []any:
		return "an array"
	case map[string]any:
		return "an object"
	}
	return fmt.Sprint(v)
}

// scopeBlock finds the index of the scope block of PermissionEntry that a
// keyword location lies in.
var scopeBlock = regexp.MustCompile(`/definitions/PermissionEntry/anyOf/1/allOf/(\d+)/then/properties/(allow|deny)`)
