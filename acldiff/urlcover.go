package acldiff

import (
	"fmt"
	"strings"

	"github.com/capguard/capguard/acl"
)

// urlPattern is a URL pattern (a capability's remote URL, the http
// plugin's scope URL) split into its eight components, each translated
// into the pattern language. A URL matches when every component does, so
// one pattern covers another when it covers it component by component.
type urlPattern struct {
	src   string
	comps [8]*pattern
	// undecided is why a component could not be translated (regular
	// expression groups, optional parts): such a pattern is compared as
	// written.
	undecided string
}

const (
	compProtocol = iota
	compUsername
	compPassword
	compHostname
	compPort
	compPathname
	compSearch
	compHash
)

// compileURL reads a URL pattern with Tauri's defaults (a missing path,
// search or hash matches anything) and translates it.
func compileURL(s string) (*urlPattern, error) {
	rp, err := acl.CompileRemote(s)
	if err != nil {
		return nil, err
	}
	u := &urlPattern{src: s}
	for i, c := range rp.Components() {
		p, why := componentPattern(c, i)
		if why != "" && u.undecided == "" {
			u.undecided = fmt.Sprintf("its %s %q uses %s", acl.URLComponents[i], c, why)
		}
		u.comps[i] = p
	}
	return u, nil
}

// componentPattern translates one component's pattern string: fixed
// text, "*" (anything), ":name" (a segment: anything but '/' in a path,
// but '.' in a host name, anything elsewhere) and backslash escapes.
// Groups, regular expressions and modifiers are not translated: why says
// which was found.
func componentPattern(s string, comp int) (p *pattern, why string) {
	p = &pattern{src: s}
	seg := anyChar
	switch comp {
	case compPathname:
		seg = class{neg: true, ranges: []runeRange{{'/', '/'}}}
	case compHostname:
		seg = class{neg: true, ranges: []runeRange{{'.', '.'}}}
	}
	rs := []rune(s)
	for i := 0; i < len(rs); i++ {
		switch c := rs[i]; c {
		case '\\':
			if i+1 < len(rs) {
				i++
				p.toks = append(p.toks, tok{kind: tLit, c: rs[i]})
			}
		case '*':
			p.toks = append(p.toks, tok{kind: tStar, cls: anyChar})
		case ':':
			j := i + 1
			for j < len(rs) && (rs[j] == '_' || rs[j] == '$' || rs[j] >= '0' && rs[j] <= '9' || rs[j] >= 'a' && rs[j] <= 'z' || rs[j] >= 'A' && rs[j] <= 'Z' || rs[j] > 0x7f) {
				j++
			}
			if j == i+1 {
				p.toks = append(p.toks, tok{kind: tLit, c: c})
				continue
			}
			p.toks = append(p.toks, tok{kind: tOne, cls: seg}, tok{kind: tStar, cls: seg})
			i = j - 1
		case '(':
			return p, "a regular expression group"
		case '{', '}':
			return p, "a group {…}"
		case '?', '+':
			return p, fmt.Sprintf("the modifier %q", c)
		default:
			p.toks = append(p.toks, tok{kind: tLit, c: c})
		}
		// A modifier after a wildcard or a name changes what it matches.
		if i+1 < len(rs) && (rs[i+1] == '?' || rs[i+1] == '+') && len(p.toks) > 0 && p.toks[len(p.toks)-1].kind == tStar {
			return p, fmt.Sprintf("the modifier %q", rs[i+1])
		}
	}
	return p, ""
}

// urlCoverage decides whether every URL p matches is matched by one of
// qs. It is exact when one of qs covers p alone, or when those covering
// p in all but one component cover that component together; otherwise,
// when no component of p is covered by the qs together either, a witness
// URL is built; what remains is undecided.
func urlCoverage(p *urlPattern, qs []*urlPattern) coverage {
	if p.undecided != "" {
		for _, q := range qs {
			if q.src == p.src {
				return coverage{covered: true}
			}
		}
		return coverage{undecided: fmt.Sprintf("%s %s", p.src, p.undecided)}
	}
	var usable []*urlPattern
	for _, q := range qs {
		if q.src == p.src {
			return coverage{covered: true}
		}
		if q.undecided == "" {
			usable = append(usable, q)
		}
	}
	// inComp[k][i]: does q i cover p in component k?
	inComp := make([][]bool, 8)
	for k := range inComp {
		inComp[k] = make([]bool, len(usable))
		for i, q := range usable {
			inComp[k][i] = includes(p.comps[k], []*pattern{q.comps[k]}).covered
		}
	}
	for i := range usable {
		all := true
		for k := 0; k < 8; k++ {
			all = all && inComp[k][i]
		}
		if all {
			return coverage{covered: true}
		}
	}
	for k := 0; k < 8; k++ {
		var together []*pattern
		for i, q := range usable {
			others := true
			for j := 0; j < 8; j++ {
				if j != k {
					others = others && inComp[j][i]
				}
			}
			if others {
				together = append(together, q.comps[k])
			}
		}
		if len(together) > 1 && includes(p.comps[k], together).covered {
			return coverage{covered: true}
		}
	}
	// A component no q covers, even together, gives a witness.
	var all [8][]*pattern
	for _, q := range usable {
		for k := range all {
			all[k] = append(all[k], q.comps[k])
		}
	}
	for k := 0; k < 8; k++ {
		if c := includesPrefer(p.comps[k], all[k], componentChars[k]); !c.covered && c.undecided == "" {
			return coverage{witness: p.example(k, c.witness)}
		}
	}
	why := "it is covered only by several patterns together"
	if len(usable) < len(qs) {
		why = "some of the other patterns use syntax capguard does not compare"
	}
	return coverage{undecided: why}
}

// example builds a URL p matches, with w in component k and the shortest
// strings p allows elsewhere (a host name and a path are never empty).
func (p *urlPattern) example(k int, w string) string {
	var c [8]string
	for i := range c {
		if i == k {
			c[i] = w
			continue
		}
		c[i] = includesPrefer(p.comps[i], nil, componentChars[i]).witness
		if i == compHostname && c[i] == "" && p.comps[i].match("x") {
			c[i] = "x"
		}
		if i == compPathname && c[i] == "" && p.comps[i].match("/") {
			c[i] = "/"
		}
	}
	var b strings.Builder
	if c[compHostname] == "" && c[compUsername] == "" && c[compPassword] == "" && c[compPort] == "" && !strings.HasPrefix(c[compPathname], "/") {
		// No authority and a path that is not a folder: a URL with an
		// opaque path ("a:0"); written with "//", its path would be read
		// as the host name.
		b.WriteString(c[compProtocol] + ":")
	} else {
		b.WriteString(c[compProtocol] + "://")
	}
	if c[compUsername] != "" || c[compPassword] != "" {
		b.WriteString(c[compUsername])
		if c[compPassword] != "" {
			b.WriteString(":" + c[compPassword])
		}
		b.WriteString("@")
	}
	b.WriteString(c[compHostname])
	if c[compPort] != "" {
		b.WriteString(":" + c[compPort])
	}
	b.WriteString(c[compPathname])
	if c[compSearch] != "" {
		b.WriteString("?" + c[compSearch])
	}
	if c[compHash] != "" {
		b.WriteString("#" + c[compHash])
	}
	return b.String()
}

// componentChars are the characters witnesses of each component are
// made of where the pattern allows.
var componentChars = [8]string{"htps", "u", "p", "x", "8080", "/x", "x=1", "x"}

// urlSet is a set of URL patterns indexed once (by their host names'
// fixed ends, and per component) to answer urlCoverage for many
// patterns.
type urlSet struct {
	// srcs are the patterns as written (with "local" and the invalid
	// ones), qs those that compile.
	srcs map[string]bool
	qs   []*urlPattern

	built  bool
	qsrc   map[string]bool
	usable []*urlPattern
	comps  [8]*globSet
	pairs  map[[2]*pattern]bool
	memo   map[string]coverage
}

// covers is urlCoverage(p, s.qs).
func (s *urlSet) covers(p *urlPattern) coverage {
	if len(s.qs) <= 4 {
		return urlCoverage(p, s.qs)
	}
	if !s.built {
		s.build()
	}
	if c, ok := s.memo[p.src]; ok {
		return c
	}
	c := s.coverage(p)
	s.memo[p.src] = c
	return c
}

func (s *urlSet) build() {
	s.built = true
	s.qsrc, s.pairs, s.memo = map[string]bool{}, map[[2]*pattern]bool{}, map[string]coverage{}
	var comps [8][]*pattern
	for _, q := range s.qs {
		s.qsrc[q.src] = true
		if q.undecided == "" {
			s.usable = append(s.usable, q)
			for k := range comps {
				comps[k] = append(comps[k], q.comps[k])
			}
		}
	}
	for k := range comps {
		s.comps[k] = newGlobSet(comps[k])
	}
}

// inComp tells whether q covers p in one component.
func (s *urlSet) inComp(p, q *pattern) bool {
	k := [2]*pattern{p, q}
	c, ok := s.pairs[k]
	if !ok {
		c = includes(p, []*pattern{q}).covered
		s.pairs[k] = c
	}
	return c
}

// coverage is urlCoverage's answer, looking only at the patterns whose
// host names may cover (or, for the host name, meet) p's.
func (s *urlSet) coverage(p *urlPattern) coverage {
	if p.undecided != "" {
		if s.qsrc[p.src] {
			return coverage{covered: true}
		}
		return coverage{undecided: fmt.Sprintf("%s %s", p.src, p.undecided)}
	}
	if s.qsrc[p.src] {
		return coverage{covered: true}
	}
	hosts := s.comps[compHostname]
	ph := p.comps[compHostname]
	// All but component skip covered by usable q i.
	allBut := func(i, skip int) bool {
		for k := 0; k < 8; k++ {
			if k != skip && !s.inComp(p.comps[k], s.usable[i].comps[k]) {
				return false
			}
		}
		return true
	}
	// The patterns that may cover p's host name: any that covers p in
	// every component, or in all but one other than the host name, is
	// among them.
	var byHost []int
	hosts.coverCandidates(ph, func(h int) bool {
		byHost = append(byHost, hosts.of[h]...)
		return false
	})
	for _, i := range byHost {
		if allBut(i, -1) {
			return coverage{covered: true}
		}
	}
	for k := 0; k < 8; k++ {
		var together []*pattern
		if k == compHostname {
			// Those whose host name cannot meet p's add nothing.
			for _, h := range hosts.meeting(ph) {
				for _, i := range hosts.of[h] {
					if allBut(i, k) {
						together = append(together, s.usable[i].comps[k])
					}
				}
			}
		} else {
			for _, i := range byHost {
				if allBut(i, k) {
					together = append(together, s.usable[i].comps[k])
				}
			}
		}
		if len(together) > 1 && includes(p.comps[k], together).covered {
			return coverage{covered: true}
		}
	}
	for k := 0; k < 8; k++ {
		if c := s.comps[k].covers(p.comps[k], componentChars[k]); !c.covered && c.undecided == "" {
			return coverage{witness: p.example(k, c.witness)}
		}
	}
	why := "it is covered only by several patterns together"
	if len(s.usable) < len(s.qs) {
		why = "some of the other patterns use syntax capguard does not compare"
	}
	return coverage{undecided: why}
}
