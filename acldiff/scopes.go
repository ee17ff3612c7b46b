package acldiff

import (
	"fmt"
	"reflect"
	"sort"
	"strconv"
	"strings"

	"github.com/capguard/capguard/acl"
)

// Scope values are compared by what they let through, where capguard
// knows how the plugin reads them:
//
//   - http: a URL pattern ("url", or the value itself as a string), read
//     as the plugin does (WHATWG URL pattern; a missing path, search or
//     hash matches anything);
//   - fs: a path glob ("path", or the value as a string) with a literal
//     separator and a literal leading dot, as Tauri's fs scope matches on
//     Unix; a leading $VARIABLE is a base folder (Tauri's path
//     variables), compared by name;
//   - opener: "url" a glob with default options, "path" a path glob as
//     for fs, each with the same "app";
//   - shell: a program entry (name, cmd, sidecar) whose args are the same,
//     or true (any arguments) on the covering side.
//
// Any other value is compared as written (canonical JSON).

// scopeField returns the string at key of an object value, or the value
// itself when it is a string.
func scopeField(v acl.Value, key string) (string, bool) {
	if v.Kind() == acl.StringValue {
		return v.Str(), true
	}
	if v.Kind() != acl.MapValue {
		return "", false
	}
	f, ok := v.Get(key)
	if !ok || f.Kind() != acl.StringValue {
		return "", false
	}
	return f.Str(), true
}

// rest is the canonical text of an object value without key: the fields
// that must be equal for one value to cover another.
func rest(v acl.Value, key string) string {
	if v.Kind() != acl.MapValue {
		return ""
	}
	var kept []acl.MapEntry
	for _, e := range v.Entries() {
		if e.Key != key {
			kept = append(kept, e)
		}
	}
	return canonical(acl.Map(kept...))
}

// valueCovered tells whether everything scope value v lets through is let
// through by one of others, for the plugin whose scope they are (its
// manifest key).
func valueCovered(plugin string, v acl.Value, others valueSet, pc *patternCache) coverage {
	cv := canonical(v)
	if _, ok := others[cv]; ok {
		return coverage{covered: true}
	}
	if len(others) == 0 {
		return coverage{} // nothing to cover it: no example needed
	}
	key := plugin + "\x00" + cv + "\x00" + strconv.Itoa(pc.valueIndex(others).id)
	if plugin == "fs" || plugin == "opener" {
		key += "\x00" + pc.pathOpts().key()
	}
	if c, ok := pc.values[key]; ok {
		return c
	}
	c := valueCoverage(plugin, v, others, pc)
	pc.values[key] = c
	return c
}

func valueCoverage(plugin string, v acl.Value, others valueSet, pc *patternCache) coverage {
	switch plugin {
	case "http":
		return urlValueCovered(v, others, pc)
	case "fs":
		return pc.valueIndex(others).pathCovered(v, "path", pc.pathOpts())
	case "opener":
		if u, ok := scopeField(v, "url"); ok && v.Kind() == acl.MapValue {
			var qs []*pattern
			for _, o := range others {
				if ou, ok := scopeField(o, "url"); ok && o.Kind() == acl.MapValue && rest(o, "url") == rest(v, "url") {
					qs = append(qs, globPattern(ou, matchOpts{}))
				}
			}
			if _, err := acl.CompileGlob(u); err != nil {
				return coverage{undecided: fmt.Sprintf("%q is not a valid glob", u)}
			}
			return includes(globPattern(u, matchOpts{}), qs)
		}
		return pc.valueIndex(others).pathCovered(v, "path", pc.pathOpts())
	case "shell":
		return shellValueCovered(v, others)
	}
	return coverage{undecided: fmt.Sprintf("compared as written: capguard does not know how plugin %s reads its scope", acl.DisplayKey(plugin))}
}

func urlValueCovered(v acl.Value, others valueSet, pc *patternCache) coverage {
	s, ok := scopeField(v, "url")
	if !ok {
		return coverage{undecided: "not a URL scope value: compared as written"}
	}
	p, why := pc.url(s)
	if p == nil {
		return coverage{undecided: why}
	}
	x := pc.valueIndex(others)
	if x.urls == nil {
		var qs []*urlPattern
		for _, o := range others {
			if os, ok := scopeField(o, "url"); ok {
				if q, _ := pc.url(os); q != nil {
					qs = append(qs, q)
				}
			}
		}
		x.urls = &urlSet{qs: qs}
	}
	return x.urls.covers(p)
}

// valueIndex is what the comparison keeps of one set of scope values:
// an id (for remembering answers) and its values indexed as URL
// patterns or path globs, made when first needed.
type valueIndex struct {
	id int
	// set keeps the set alive while the cache knows it by its address.
	set   valueSet
	urls  *urlSet
	paths map[pathsKey]map[string]*pathGroup
}

type pathsKey struct {
	key  string
	opts matchOpts
}

// pathGroup is the path globs of the values with the same other fields:
// per base folder, and the base folders.
type pathGroup struct {
	byBase map[string]*globSet
	bases  []string
}

// valueIndex returns the index of a set of scope values. A set is known
// by its address: the sets of an access are made before the comparison
// and not changed after, and the index keeps each one alive.
func (pc *patternCache) valueIndex(s valueSet) *valueIndex {
	ptr := reflect.ValueOf(s).Pointer()
	if x, ok := pc.vsets[ptr]; ok && len(x.set) == len(s) {
		return x
	}
	x := &valueIndex{id: len(pc.vsets) + 1, set: s}
	pc.vsets[ptr] = x
	return x
}

// pathCovered is pathValueCovered(v, the set, key, opts).
func (x *valueIndex) pathCovered(v acl.Value, key string, opts matchOpts) coverage {
	s, ok := scopeField(v, key)
	if !ok {
		return coverage{undecided: "not a path scope value: compared as written"}
	}
	if _, err := acl.CompileGlob(s); err != nil {
		return coverage{undecided: fmt.Sprintf("%q is not a valid glob", s)}
	}
	if x.paths == nil {
		x.paths = map[pathsKey]map[string]*pathGroup{}
	}
	pk := pathsKey{key, opts}
	groups, ok := x.paths[pk]
	if !ok {
		groups = map[string]*pathGroup{}
		pats := map[string]map[string][]*pattern{}
		for _, o := range x.set {
			os, ok := scopeField(o, key)
			if !ok {
				continue
			}
			if _, err := acl.CompileGlob(os); err != nil {
				continue
			}
			r := rest(o, key)
			if pats[r] == nil {
				pats[r] = map[string][]*pattern{}
			}
			b := pathVar(os)
			pats[r][b] = append(pats[r][b], globPattern(os, opts))
		}
		for r, byBase := range pats {
			g := &pathGroup{byBase: map[string]*globSet{}}
			for b, ps := range byBase {
				g.byBase[b] = newGlobSet(ps)
				g.bases = append(g.bases, orNone(b))
			}
			sort.Strings(g.bases)
			groups[r] = g
		}
		x.paths[pk] = groups
	}
	base := pathVar(s)
	g := groups[rest(v, key)]
	var qs *globSet
	var elsewhere []string
	if g != nil {
		qs = g.byBase[base]
		for _, b := range g.bases {
			if b != orNone(base) {
				elsewhere = append(elsewhere, b)
			}
		}
	}
	if qs == nil {
		qs = newGlobSet(nil)
	}
	c := qs.covers(globPattern(s, opts), "")
	if !c.covered && len(elsewhere) > 0 {
		same := fmt.Sprintf("is not within the other side's patterns on %s", orNone(base))
		if len(qs.pats) == 0 {
			same = fmt.Sprintf("is on %s, where the other side has no pattern", orNone(base))
		}
		return coverage{undecided: fmt.Sprintf("%s %s; whether those on %s cover it depends on where the platform puts these folders",
			s, same, joinList(elsewhere))}
	}
	return c
}

// pathVar splits a path glob into its base folder variable ("$APPDATA",
// "" for none) and the whole glob.
func pathVar(s string) string {
	if !strings.HasPrefix(s, "$") {
		return ""
	}
	end := strings.IndexAny(s, `/\`)
	if end < 0 {
		end = len(s)
	}
	return s[:end]
}

// fsOpts are the match options of Tauri's fs scope on Unix: a literal
// separator, and dotfiles matched only by a literal dot. On Windows Tauri
// lets wildcards match a leading dot (pathOpts).
var fsOpts = matchOpts{literalSep: true, literalDot: true}

// pathOpts are the fs scope's match options on the target being compared.
func (pc *patternCache) pathOpts() matchOpts {
	if pc.target == acl.Windows {
		return matchOpts{literalSep: true}
	}
	return fsOpts
}

func (o matchOpts) key() string { return fmt.Sprint(o.literalSep, o.literalDot) }

func orNone(base string) string {
	if base == "" {
		return "no base folder"
	}
	return base
}

func shellValueCovered(v acl.Value, others valueSet) coverage {
	if v.Kind() != acl.MapValue {
		return coverage{undecided: "not a shell program entry: compared as written"}
	}
	args, _ := v.Get("args")
	for _, o := range others {
		if o.Kind() != acl.MapValue || rest(o, "args") != rest(v, "args") {
			continue
		}
		oa, ok := o.Get("args")
		if ok && oa.Kind() == acl.BoolValue && oa.Bool() {
			return coverage{covered: true} // any arguments
		}
		if ok && canonical(oa) == canonical(args) {
			return coverage{covered: true}
		}
	}
	return coverage{witness: "a program or arguments the other side does not allow"}
}
