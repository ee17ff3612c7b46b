package schema

import (
	_ "embed"
	"errors"
	"fmt"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"sync"

	"github.com/capguard/capguard/acl"
	"github.com/capguard/capguard/internal/doc"
	"github.com/capguard/capguard/internal/fsutil"
)

//go:embed tauri/capability-schema.json
var fixedJSON []byte

// fixedParts holds the fixed part of every format, parsed and edited once.
var fixedParts [len(formatsArray)]struct {
	once sync.Once
	root *doc.Node
}

// formatsArray sizes fixedParts; init checks it against formats.
var formatsArray [6]struct{}

func init() {
	if len(formats) != len(formatsArray) {
		panic("schema: format table size mismatch")
	}
}

// fixedPart returns the fixed part of format i. The tree is shared and
// must not be changed.
func fixedPart(i int) *doc.Node {
	fp := &fixedParts[i]
	fp.once.Do(func() {
		root, err := doc.ParseJSON(fixedJSON)
		if err != nil {
			panic("schema: embedded capability schema: " + err.Error())
		}
		for _, f := range formats[1 : i+1] {
			for _, e := range f.edits {
				n, ok := root.Lookup(e.pointer)
				if !ok || n.Kind != doc.String || !strings.Contains(n.Text, e.old) {
					panic(fmt.Sprintf("schema: format %s: edit of %s does not apply", f.name, e.pointer))
				}
				n.Text = strings.Replace(n.Text, e.old, e.new, 1)
			}
		}
		fp.root = root
	})
	return fp.root
}

// GenerateOptions tune Generate.
type GenerateOptions struct {
	// Format is the tauri-utils version whose layout to write ("2.3.1",
	// "2.8"); empty means Latest. See Formats.
	Format string
}

// Generate returns the capability schema that tauri-build writes to
// gen/schemas/<target>-schema.json (and desktop-schema.json or
// mobile-schema.json) for the given manifests, byte for byte: draft-07,
// the CapabilityFile root, every permission identifier of every manifest
// (default, then sets, then permissions, each in identifier order, keyed
// as capabilities name them), the plugins' scope schemas attached to the
// allow and deny lists of their scoped permission entries, pretty-printed
// as serde_json does, without a final newline.
//
// The target only picks the file name (see FileNames): tauri-build writes
// the same text for any target, from the manifests of that build.
//
// A manifest's global scope schema that the schemars crate could not read
// is an error wrapping acl.ErrInvalid (Tauri's build panics on it).
func Generate(ms acl.Manifests, opts GenerateOptions) ([]byte, error) {
	fi, err := pickFormat(opts.Format)
	if err != nil {
		return nil, fmt.Errorf("%w: %v", acl.ErrInvalid, err)
	}
	g := &generator{format: formats[fi], ms: ms, keys: ms.Keys()}
	if err := g.prepare(); err != nil {
		return nil, err
	}
	w := doc.NewWriter(true)
	g.writeFixed(w, fixedPart(fi), "")
	return w.Bytes(), nil
}

// FileNames returns the names of the two files tauri-build writes for a
// target: "<target>-schema.json" and "desktop-schema.json" or
// "mobile-schema.json".
func FileNames(t acl.Target) (platform, family string) {
	family = "desktop-schema.json"
	if t.IsMobile() {
		family = "mobile-schema.json"
	}
	return t.String() + "-schema.json", family
}

// WriteFiles writes data to dir as the two files of FileNames(t), each
// only when its content changes, each atomically. It returns the paths it
// wrote.
func WriteFiles(dir string, t acl.Target, data []byte) ([]string, error) {
	platform, family := FileNames(t)
	var written []string
	for _, name := range []string{platform, family} {
		p := filepath.Join(dir, name)
		changed, err := fsutil.WriteIfChanged(p, data)
		if err != nil {
			return written, err
		}
		if changed {
			written = append(written, p)
		}
	}
	return written, nil
}

type generator struct {
	format format
	ms     acl.Manifests
	keys   []string
	// ids holds the identifier entries of each manifest, in schema order.
	ids map[string][]idEntry
	// scoped lists the manifests with a global scope schema, in key order.
	scoped []scopedPlugin
	// defs are the definitions the scope schemas bring, in the order
	// Tauri adds them (a later one with the same name replaces an earlier
	// one in place).
	defs []definition
}

type idEntry struct {
	id          string
	description *string
}

type scopedPlugin struct {
	key  string
	root *doc.Node // the scope schema, minus $schema and definitions
}

type definition struct {
	name   string
	schema *doc.Node // nil for the fixed definitions, written from the fixed part
}

// rootSkip are the root keys of a scope schema that schemars' RootSchema
// consumes itself.
var rootSkip = map[string]bool{"$schema": true, "definitions": true}

func (g *generator) prepare() error {
	g.ids = make(map[string][]idEntry, len(g.keys))
	for _, k := range g.keys {
		g.ids[k] = g.entries(k, g.ms[k])
	}
	for _, k := range g.keys {
		raw := g.ms[k].GlobalScopeSchema
		if raw == nil {
			continue
		}
		fail := func(err error) error {
			ptr := "/" + doc.PointerToken(k) + "/global_scope_schema"
			var se *schemaError
			if errors.As(err, &se) {
				ptr += se.pointer
				err = errors.New(se.msg)
			}
			return fmt.Errorf("%w: acl-manifests.json %s: plugin %q has a scope schema that Tauri cannot read: %v", acl.ErrInvalid, ptr, acl.DisplayKey(k), err)
		}
		root, err := doc.ParseJSON(raw)
		if err != nil {
			return fail(err)
		}
		if root.Kind != doc.Object {
			return fail(badSchema("", "expected a JSON Schema object, found %s", root.Kind))
		}
		if err := checkSchema(root, "", rootSkip); err != nil {
			return fail(err)
		}
		if s := root.Get("$schema"); s != nil && s.Kind != doc.String && s.Kind != doc.Null {
			return fail(badSchema("/$schema", "expected a string, found %s", s.Kind))
		}
		if d := root.Get("definitions"); d != nil {
			if d.Kind != doc.Object {
				return fail(badSchema("/definitions", "expected an object of schemas, found %s", d.Kind))
			}
			for _, m := range members(d) {
				if err := checkSchema(m.Value, "/definitions/"+doc.PointerToken(m.Key), nil); err != nil {
					return fail(err)
				}
				g.defs = append(g.defs, definition{name: m.Key, schema: m.Value})
			}
		}
		g.scoped = append(g.scoped, scopedPlugin{key: k, root: root})
	}
	return nil
}

// entries lists the identifiers a capability may name from manifest m:
// the default set, the sets and the permissions (each in identifier
// order), with their descriptions as the schema shows them. Command
// permissions that newer manifests generate on demand (Manifest.Commands)
// are listed among the permissions, as the permission files that older
// plugins ship would list them.
func (g *generator) entries(key string, m *acl.Manifest) []idEntry {
	var out []idEntry
	if m.Default != nil {
		d := g.setDescription(m.Default.Description, m.Default.Permissions, "default permission set")
		out = append(out, idEntry{qualified(key, "default"), &d})
	}
	for _, name := range sortedKeys(m.Sets) {
		s := m.Sets[name]
		d := g.setDescription(s.Description, s.Permissions, "permission set")
		out = append(out, idEntry{qualified(key, s.Identifier), &d})
	}
	perms := make(map[string]idEntry, len(m.Permissions))
	for name, p := range m.Permissions {
		perms[name] = idEntry{qualified(key, p.Identifier), p.Description}
	}
	for _, c := range m.Commands {
		slug := strings.ReplaceAll(c, "_", "-")
		for _, verb := range []string{"allow", "deny"} {
			name := verb + "-" + slug
			if _, ok := perms[name]; ok {
				continue
			}
			text := "Enables the " + c + " command without any pre-configured scope."
			if verb == "deny" {
				text = "Denies the " + c + " command without any pre-configured scope."
			}
			perms[name] = idEntry{qualified(key, name), &text}
		}
	}
	for _, name := range sortedKeys(perms) {
		out = append(out, perms[name])
	}
	return out
}

// setDescription is a set's description as the schema shows it: from
// tauri-utils 2.3.1 on, followed by the list of what the set includes.
func (g *generator) setDescription(desc string, perms []string, what string) string {
	if !g.format.markdown || len(perms) == 0 {
		return desc
	}
	var b strings.Builder
	b.WriteString(desc)
	b.WriteString("\n#### This " + what + " includes:\n\n")
	for i, p := range perms {
		if i > 0 {
			b.WriteByte('\n')
		}
		b.WriteString("- `" + p + "`")
	}
	return b.String()
}

func qualified(key, name string) string {
	if key == acl.AppKey {
		return name
	}
	return key + ":" + name
}

func sortedKeys[V any](m map[string]V) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	return keys
}

func (g *generator) writeEntry(w *doc.Writer, e idEntry) {
	w.BeginObject()
	if e.description != nil {
		w.Key("description")
		w.Str(*e.description)
	}
	w.Key("type")
	w.Str("string")
	w.Key("const")
	w.Str(e.id)
	if e.description != nil && g.format.markdown {
		w.Key("markdownDescription")
		w.Str(*e.description)
	}
	w.EndObject()
}

// The places in the fixed part where the app's data goes.
const (
	definitionsPtr     = "/definitions"
	identifierListPtr  = "/definitions/Identifier/oneOf"
	scopedEntriesPtr   = "/definitions/PermissionEntry/anyOf/1/allOf"
	fallbackPropsPtr   = scopedEntriesPtr + "/0/properties"
	fallbackIdentifier = fallbackPropsPtr + "/identifier"
)

// writeFixed writes a node of the fixed part, filling in the app's data
// at the places above.
func (g *generator) writeFixed(w *doc.Writer, n *doc.Node, ptr string) {
	switch {
	case ptr == identifierListPtr:
		w.BeginArray()
		for _, k := range g.keys {
			for _, e := range g.ids[k] {
				g.writeEntry(w, e)
			}
		}
		w.EndArray()
		return
	case ptr == scopedEntriesPtr:
		w.BeginArray()
		for _, sp := range g.scoped {
			g.writeScopeBlock(w, sp, n)
		}
		for i, it := range n.Items {
			g.writeFixed(w, it, ptr+"/"+strconv.Itoa(i))
		}
		w.EndArray()
		return
	case ptr == definitionsPtr:
		g.writeDefinitions(w, n)
		return
	}
	switch n.Kind {
	case doc.Object:
		w.BeginObject()
		for _, m := range n.Members {
			w.Key(m.Key)
			g.writeFixed(w, m.Value, ptr+"/"+doc.PointerToken(m.Key))
		}
		w.EndObject()
	case doc.Array:
		w.BeginArray()
		for i, it := range n.Items {
			g.writeFixed(w, it, ptr+"/"+strconv.Itoa(i))
		}
		w.EndArray()
	default:
		w.Node(n)
	}
}

// writeDefinitions writes the fixed definitions, then those of the scope
// schemas, as an ordered map that the scope definitions extend.
func (g *generator) writeDefinitions(w *doc.Writer, fixed *doc.Node) {
	order := make([]definition, 0, len(fixed.Members)+len(g.defs))
	at := make(map[string]int, cap(order))
	for _, m := range fixed.Members {
		at[m.Key] = len(order)
		order = append(order, definition{name: m.Key})
	}
	for _, d := range g.defs {
		if i, ok := at[d.name]; ok {
			order[i] = d
			continue
		}
		at[d.name] = len(order)
		order = append(order, d)
	}
	w.BeginObject()
	for _, d := range order {
		w.Key(d.name)
		if d.schema == nil {
			g.writeFixed(w, fixed.Get(d.name), definitionsPtr+"/"+doc.PointerToken(d.name))
			continue
		}
		writeSchema(w, d.schema, nil)
	}
	w.EndObject()
}

// writeScopeBlock writes the allOf item that attaches a plugin's scope
// schema to the allow and deny lists of entries naming its permissions.
func (g *generator) writeScopeBlock(w *doc.Writer, sp scopedPlugin, allOf *doc.Node) {
	w.BeginObject()
	w.Key("if")
	w.BeginObject()
	w.Key("properties")
	w.BeginObject()
	w.Key("identifier")
	w.BeginObject()
	w.Key("anyOf")
	w.BeginArray()
	for _, e := range g.ids[sp.key] {
		g.writeEntry(w, e)
	}
	w.EndArray()
	w.EndObject()
	w.EndObject()
	w.EndObject()
	w.Key("then")
	w.BeginObject()
	w.Key("properties")
	w.BeginObject()
	for _, list := range []string{"allow", "deny"} {
		w.Key(list)
		w.BeginObject()
		w.Key("items")
		writeSchema(w, sp.root, rootSkip)
		w.EndObject()
	}
	w.EndObject()
	w.EndObject()
	w.Key("properties")
	w.BeginObject()
	w.Key("identifier")
	id, _ := allOf.Lookup("/0/properties/identifier")
	g.writeFixed(w, id, fallbackIdentifier)
	w.EndObject()
	w.EndObject()
}
