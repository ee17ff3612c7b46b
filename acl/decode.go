package acl

import (
	"fmt"
	"sort"
	"strconv"
	"strings"

	"github.com/capguard/capguard/internal/doc"
)

// decoder turns parsed documents into model values, with an error at the
// exact place of every wrong value. It follows serde's rules as Tauri's
// types declare them: unknown fields are ignored, a missing field gets its
// default where Tauri has one, null is accepted only where Tauri has an
// Option.
type decoder struct {
	file string
	root *doc.Node
}

func (d *decoder) source(ptr string) Source { return Source{File: d.file, Pointer: ptr, root: d.root} }

func (d *decoder) errAt(n *doc.Node, ptr string, kind error, format string, args ...any) error {
	return errorAt(posOf(d.file, n.Pos, ptr), kind, fmt.Sprintf(format, args...))
}

func fieldPath(ptr string) string {
	if ptr == "" {
		return "the document"
	}
	parts := strings.Split(ptr[1:], "/")
	var b strings.Builder
	for i, p := range parts {
		p = strings.ReplaceAll(strings.ReplaceAll(p, "~1", "/"), "~0", "~")
		if _, err := strconv.Atoi(p); err == nil {
			b.WriteString("[" + p + "]")
			continue
		}
		if i > 0 {
			b.WriteByte('.')
		}
		b.WriteString(p)
	}
	return b.String()
}

func (d *decoder) wrongType(n *doc.Node, ptr, want string) error {
	return d.errAt(n, ptr, ErrInvalid, "%s: expected %s, found %s", fieldPath(ptr), want, describeNode(n))
}

func describeNode(n *doc.Node) string {
	switch n.Kind {
	case doc.String:
		return fmt.Sprintf("the string %s", strconv.Quote(truncate(n.Text, 40)))
	case doc.Number:
		return "the number " + n.Text
	case doc.Bool:
		return "the boolean " + strconv.FormatBool(n.Bool)
	}
	return n.Kind.String()
}

func truncate(s string, n int) string {
	if len(s) <= n {
		return s
	}
	return s[:n] + "…"
}

// fields checks that n is an object and that no key is repeated (serde
// rejects a duplicate field of a struct); it returns the members by key.
func (d *decoder) fields(n *doc.Node, ptr, what string, known ...string) (map[string]*doc.Node, error) {
	if n.Kind != doc.Object {
		return nil, d.wrongType(n, ptr, what)
	}
	out := make(map[string]*doc.Node, len(n.Members))
	for _, m := range n.Members {
		if _, dup := out[m.Key]; dup && contains(known, m.Key) {
			return nil, errorAt(posOf(d.file, m.KeyPos, ptr+"/"+doc.PointerToken(m.Key)), ErrInvalid,
				fmt.Sprintf("%s: duplicate field %q", fieldPath(ptr), m.Key))
		}
		out[m.Key] = m.Value
	}
	return out, nil
}

func contains(list []string, s string) bool {
	for _, x := range list {
		if x == s {
			return true
		}
	}
	return false
}

func (d *decoder) missing(n *doc.Node, ptr, field string) error {
	return d.errAt(n, ptr, ErrInvalid, "%s: missing field %q", fieldPath(ptr), field)
}

func (d *decoder) str(n *doc.Node, ptr string) (string, error) {
	if n.Kind != doc.String {
		return "", d.wrongType(n, ptr, "a string")
	}
	return n.Text, nil
}

// optStr reads an Option<String>: null and absence are both None.
func (d *decoder) optStr(n *doc.Node, ptr string) (*string, error) {
	if n == nil || n.Kind == doc.Null {
		return nil, nil
	}
	s, err := d.str(n, ptr)
	if err != nil {
		return nil, err
	}
	return &s, nil
}

func (d *decoder) boolean(n *doc.Node, ptr string) (bool, error) {
	if n.Kind != doc.Bool {
		return false, d.wrongType(n, ptr, "a boolean")
	}
	return n.Bool, nil
}

// strList reads a Vec<String>. The result is never nil.
func (d *decoder) strList(n *doc.Node, ptr string) ([]string, error) {
	if n.Kind != doc.Array {
		return nil, d.wrongType(n, ptr, "a list of strings")
	}
	out := make([]string, 0, len(n.Items))
	for i, it := range n.Items {
		s, err := d.str(it, ptr+"/"+strconv.Itoa(i))
		if err != nil {
			return nil, err
		}
		out = append(out, s)
	}
	return out, nil
}

// version reads an Option<NonZeroU64>.
func (d *decoder) version(n *doc.Node, ptr string) (uint64, error) {
	if n == nil || n.Kind == doc.Null {
		return 0, nil
	}
	if n.Kind != doc.Number || !n.Int {
		return 0, d.wrongType(n, ptr, "a positive integer")
	}
	v, err := strconv.ParseUint(n.Text, 10, 64)
	if err != nil || v == 0 {
		return 0, d.errAt(n, ptr, ErrInvalid, "%s: expected a positive integer (at least 1), found %s", fieldPath(ptr), n.Text)
	}
	return v, nil
}

// optValues reads an Option<Vec<Value>>: nil when absent or null, non-nil
// (possibly empty) otherwise.
func (d *decoder) optValues(n *doc.Node, ptr string, viaJSON bool) ([]Value, error) {
	if n == nil || n.Kind == doc.Null {
		return nil, nil
	}
	if n.Kind != doc.Array {
		return nil, d.wrongType(n, ptr, "a list of scope values")
	}
	out := make([]Value, len(n.Items))
	for i, it := range n.Items {
		out[i] = valueFromNode(it, viaJSON)
	}
	return out, nil
}

// platforms reads an Option<Vec<Target>>.
func (d *decoder) platforms(n *doc.Node, ptr string) ([]Target, error) {
	if n == nil || n.Kind == doc.Null {
		return nil, nil
	}
	if n.Kind != doc.Array {
		return nil, d.wrongType(n, ptr, "a list of platforms")
	}
	out := make([]Target, 0, len(n.Items))
	for i, it := range n.Items {
		p := ptr + "/" + strconv.Itoa(i)
		s, err := d.str(it, p)
		if err != nil {
			return nil, err
		}
		t, err := ParseTarget(s)
		if err != nil {
			return nil, d.errAt(it, p, ErrInvalid, "%s: %s", fieldPath(p), strings.TrimPrefix(err.Error(), ErrInvalid.Error()+": "))
		}
		out = append(out, t)
	}
	return out, nil
}

func (d *decoder) scopes(f map[string]*doc.Node, ptr string, viaJSON bool) (Scopes, error) {
	var s Scopes
	var err error
	if s.Allow, err = d.optValues(f["allow"], ptr+"/allow", viaJSON); err != nil {
		return s, err
	}
	if s.Deny, err = d.optValues(f["deny"], ptr+"/deny", viaJSON); err != nil {
		return s, err
	}
	return s, nil
}

func (d *decoder) commands(n *doc.Node, ptr string) (Commands, error) {
	c := Commands{Allow: []string{}, Deny: []string{}}
	if n == nil {
		return c, nil
	}
	f, err := d.fields(n, ptr, "an object with allow and deny lists", "allow", "deny")
	if err != nil {
		return c, err
	}
	if v := f["allow"]; v != nil {
		if c.Allow, err = d.strList(v, ptr+"/allow"); err != nil {
			return c, err
		}
	}
	if v := f["deny"]; v != nil {
		if c.Deny, err = d.strList(v, ptr+"/deny"); err != nil {
			return c, err
		}
	}
	return c, nil
}

var permissionFields = []string{"version", "identifier", "description", "commands", "scope", "platforms"}

func (d *decoder) permission(n *doc.Node, ptr string) (Permission, error) {
	p := Permission{Source: d.source(ptr)}
	f, err := d.fields(n, ptr, "a permission (an object with an identifier)", permissionFields...)
	if err != nil {
		return p, err
	}
	if p.Version, err = d.version(f["version"], ptr+"/version"); err != nil {
		return p, err
	}
	id := f["identifier"]
	if id == nil {
		return p, d.missing(n, ptr, "identifier")
	}
	if p.Identifier, err = d.str(id, ptr+"/identifier"); err != nil {
		return p, err
	}
	if p.Description, err = d.optStr(f["description"], ptr+"/description"); err != nil {
		return p, err
	}
	if p.Commands, err = d.commands(f["commands"], ptr+"/commands"); err != nil {
		return p, err
	}
	if sc := f["scope"]; sc != nil {
		sf, err := d.fields(sc, ptr+"/scope", "an object with allow and deny lists", "allow", "deny")
		if err != nil {
			return p, err
		}
		if p.Scope, err = d.scopes(sf, ptr+"/scope", false); err != nil {
			return p, err
		}
	}
	if p.Platforms, err = d.platforms(f["platforms"], ptr+"/platforms"); err != nil {
		return p, err
	}
	p.Risk, p.RiskReason = declaredRisk(f["capguard"])
	return p, nil
}

// declaredRisk reads the capguard member of a permission, which Tauri
// ignores: a string risk is returned as written, anything else in its
// place as a description in parentheses (the diff reports both kinds of
// unknown level; a file Tauri accepts is never rejected for it).
func declaredRisk(n *doc.Node) (risk, reason string) {
	if n == nil {
		return "", ""
	}
	if n.Kind != doc.Object {
		return "(" + describeNode(n) + ")", ""
	}
	if r := n.Get("risk"); r != nil {
		risk = "(" + describeNode(r) + ")"
		if r.Kind == doc.String {
			risk = r.Text
		}
	}
	if w := n.Get("reason"); w != nil && w.Kind == doc.String {
		reason = w.Text
	}
	return risk, reason
}

func (d *decoder) set(n *doc.Node, ptr string) (PermissionSet, error) {
	s := PermissionSet{Source: d.source(ptr)}
	f, err := d.fields(n, ptr, "a permission set (an object with identifier, description and permissions)", "identifier", "description", "permissions")
	if err != nil {
		return s, err
	}
	for _, field := range []string{"identifier", "description", "permissions"} {
		if f[field] == nil {
			return s, d.missing(n, ptr, field)
		}
	}
	if s.Identifier, err = d.str(f["identifier"], ptr+"/identifier"); err != nil {
		return s, err
	}
	if s.Description, err = d.str(f["description"], ptr+"/description"); err != nil {
		return s, err
	}
	if s.Permissions, err = d.strList(f["permissions"], ptr+"/permissions"); err != nil {
		return s, err
	}
	return s, nil
}

func (d *decoder) permissionFile(n *doc.Node) (*PermissionFile, error) {
	pf := &PermissionFile{Source: d.source("")}
	f, err := d.fields(n, "", "a permission file (a table with default, set and permission)", "default", "set", "permission", "commands")
	if err != nil {
		return nil, err
	}
	if def := f["default"]; def != nil && def.Kind != doc.Null {
		df, err := d.fields(def, "/default", "a default permission (a table with permissions)", "version", "description", "permissions")
		if err != nil {
			return nil, err
		}
		dp := &DefaultPermission{Source: d.source("/default")}
		if dp.Version, err = d.version(df["version"], "/default/version"); err != nil {
			return nil, err
		}
		if dp.Description, err = d.optStr(df["description"], "/default/description"); err != nil {
			return nil, err
		}
		if df["permissions"] == nil {
			return nil, d.missing(def, "/default", "permissions")
		}
		if dp.Permissions, err = d.strList(df["permissions"], "/default/permissions"); err != nil {
			return nil, err
		}
		pf.Default = dp
	}
	if sets := f["set"]; sets != nil {
		if sets.Kind != doc.Array {
			return nil, d.wrongType(sets, "/set", "a list of permission sets ([[set]])")
		}
		for i, it := range sets.Items {
			s, err := d.set(it, "/set/"+strconv.Itoa(i))
			if err != nil {
				return nil, err
			}
			pf.Sets = append(pf.Sets, s)
		}
	}
	if perms := f["permission"]; perms != nil {
		if perms.Kind != doc.Array {
			return nil, d.wrongType(perms, "/permission", "a list of permissions ([[permission]])")
		}
		for i, it := range perms.Items {
			p, err := d.permission(it, "/permission/"+strconv.Itoa(i))
			if err != nil {
				return nil, err
			}
			pf.Permissions = append(pf.Permissions, p)
		}
	}
	if cmds := f["commands"]; cmds != nil {
		if pf.Commands, err = d.strList(cmds, "/commands"); err != nil {
			return nil, err
		}
	}
	return pf, nil
}

var capabilityFields = []string{"identifier", "description", "remote", "local", "windows", "webviews", "permissions", "platforms"}

func (d *decoder) capability(n *doc.Node, ptr string) (*Capability, error) {
	c := &Capability{Local: true, Source: d.source(ptr)}
	f, err := d.fields(n, ptr, "a capability (an object with identifier and permissions)", capabilityFields...)
	if err != nil {
		return nil, err
	}
	for _, field := range []string{"identifier", "permissions"} {
		if f[field] == nil {
			return nil, d.missing(n, ptr, field)
		}
	}
	if c.Identifier, err = d.str(f["identifier"], ptr+"/identifier"); err != nil {
		return nil, err
	}
	if v := f["description"]; v != nil {
		if c.Description, err = d.str(v, ptr+"/description"); err != nil {
			return nil, err
		}
	}
	if v := f["remote"]; v != nil && v.Kind != doc.Null {
		rf, err := d.fields(v, ptr+"/remote", "an object with a urls list", "urls")
		if err != nil {
			return nil, err
		}
		if rf["urls"] == nil {
			return nil, d.missing(v, ptr+"/remote", "urls")
		}
		urls, err := d.strList(rf["urls"], ptr+"/remote/urls")
		if err != nil {
			return nil, err
		}
		c.Remote = &Remote{URLs: urls}
	}
	if v := f["local"]; v != nil {
		if c.Local, err = d.boolean(v, ptr+"/local"); err != nil {
			return nil, err
		}
	}
	if v := f["windows"]; v != nil {
		if c.Windows, err = d.strList(v, ptr+"/windows"); err != nil {
			return nil, err
		}
	}
	if v := f["webviews"]; v != nil {
		if c.Webviews, err = d.strList(v, ptr+"/webviews"); err != nil {
			return nil, err
		}
	}
	perms := f["permissions"]
	if perms.Kind != doc.Array {
		return nil, d.wrongType(perms, ptr+"/permissions", "a list of permissions")
	}
	c.Permissions = make([]PermissionEntry, 0, len(perms.Items))
	for i, it := range perms.Items {
		e, err := d.permissionEntry(it, ptr+"/permissions/"+strconv.Itoa(i))
		if err != nil {
			return nil, err
		}
		c.Permissions = append(c.Permissions, e)
	}
	if c.Platforms, err = d.platforms(f["platforms"], ptr+"/platforms"); err != nil {
		return nil, err
	}
	return c, nil
}

func (d *decoder) identifier(n *doc.Node, ptr string) (Identifier, error) {
	s, err := d.str(n, ptr)
	if err != nil {
		return Identifier{}, err
	}
	id, err := ParseIdentifier(s)
	if err != nil {
		return Identifier{}, errorAt(posOf(d.file, n.Pos, ptr), ErrInvalidIdentifier,
			fieldPath(ptr)+": "+strings.TrimPrefix(err.Error(), ErrInvalidIdentifier.Error()+" "))
	}
	return id, nil
}

func (d *decoder) permissionEntry(n *doc.Node, ptr string) (PermissionEntry, error) {
	switch n.Kind {
	case doc.String:
		id, err := d.identifier(n, ptr)
		return PermissionEntry{Identifier: id}, err
	case doc.Object:
		f, err := d.fields(n, ptr, "", "identifier", "allow", "deny")
		if err != nil {
			return PermissionEntry{}, err
		}
		if f["identifier"] == nil {
			return PermissionEntry{}, d.missing(n, ptr, "identifier")
		}
		id, err := d.identifier(f["identifier"], ptr+"/identifier")
		if err != nil {
			return PermissionEntry{}, err
		}
		sc, err := d.scopes(f, ptr, true)
		return PermissionEntry{Identifier: id, Extended: true, Scope: sc}, err
	}
	return PermissionEntry{}, d.wrongType(n, ptr, `a permission identifier or an object with "identifier" and optional "allow"/"deny"`)
}

// capabilityFile reads the three shapes of a capability file: one
// capability, a list, or an object with a "capabilities" list.
func (d *decoder) capabilityFile(n *doc.Node) ([]*Capability, error) {
	var items []*doc.Node
	var base string
	switch n.Kind {
	case doc.Array:
		items = n.Items
	case doc.Object:
		if list := n.Get("capabilities"); list != nil {
			if list.Kind != doc.Array {
				return nil, d.wrongType(list, "/capabilities", "a list of capabilities")
			}
			items, base = list.Items, "/capabilities"
		} else {
			c, err := d.capability(n, "")
			if err != nil {
				return nil, err
			}
			return []*Capability{c}, nil
		}
	default:
		return nil, d.wrongType(n, "", `a capability, a list of capabilities, or an object with a "capabilities" list`)
	}
	out := make([]*Capability, 0, len(items))
	for i, it := range items {
		c, err := d.capability(it, base+"/"+strconv.Itoa(i))
		if err != nil {
			return nil, err
		}
		out = append(out, c)
	}
	return out, nil
}

func sortedUnique(s []string) []string {
	if len(s) == 0 {
		return nil
	}
	out := append([]string(nil), s...)
	sort.Strings(out)
	j := 1
	for i := 1; i < len(out); i++ {
		if out[i] != out[j-1] {
			out[j] = out[i]
			j++
		}
	}
	return out[:j]
}
