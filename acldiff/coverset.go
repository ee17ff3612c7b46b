package acldiff

import (
	"sort"
	"strings"
)

// This file makes coverage by many patterns cost about as much as
// coverage by the few that matter. A pattern's fixed prefix and suffix
// (the characters every string it matches starts and ends with) index a
// set of patterns once; a question about one pattern then looks only at
// the patterns whose fixed ends fit. The answers are those of includes
// over the whole set:
//
//   - the shortest string a pattern matches (in the order includes
//     explores) that no pattern of the set matches is the witness
//     includes finds, so when the pattern's own shortest string is
//     matched by none, it is the answer;
//   - a pattern of the set that covers the pattern alone answers
//     "covered";
//   - otherwise includes runs on the patterns that can share a string
//     with it: one that cannot changes neither the answer nor the
//     witness.

// fixedChar is the one character a token can read, if it can read only
// one.
func fixedChar(t tok) (rune, bool) {
	switch t.kind {
	case tLit:
		return t.c, true
	case tOne:
		if t.cls.neg || len(t.cls.ranges) == 0 {
			return 0, false
		}
		c := t.cls.ranges[0].lo
		for _, r := range t.cls.ranges {
			if r.lo != c || r.hi != c {
				return 0, false
			}
		}
		return c, true
	}
	return 0, false
}

// fixes returns the pattern's fixed prefix and suffix: the characters of
// its leading and trailing tokens that each read one given character.
// Every string the pattern matches starts with the prefix and ends with
// the suffix; a pattern of fixed tokens only has itself as both.
func (p *pattern) fixes() (prefix, suffix string) {
	if p.fixDone {
		return p.fixPre, p.fixSuf
	}
	var pre []rune
	i := 0
	for ; i < len(p.toks); i++ {
		c, ok := fixedChar(p.toks[i])
		if !ok {
			break
		}
		pre = append(pre, c)
	}
	p.fixPre = string(pre)
	if i == len(p.toks) {
		p.fixSuf = p.fixPre
	} else {
		var suf []rune
		for j := len(p.toks) - 1; j >= 0; j-- {
			c, ok := fixedChar(p.toks[j])
			if !ok {
				break
			}
			suf = append(suf, c)
		}
		for a, b := 0, len(suf)-1; a < b; a, b = a+1, b-1 {
			suf[a], suf[b] = suf[b], suf[a]
		}
		p.fixSuf = string(suf)
	}
	p.fixDone = true
	return p.fixPre, p.fixSuf
}

// broad tells whether every wildcard of the pattern can read at least two
// characters (wherever it stands): then a pattern that covers it has a
// fixed prefix that is a prefix of its own, and a fixed suffix that is a
// suffix of its own.
func (p *pattern) broad() bool {
	for _, t := range p.toks {
		if t.kind != tOne {
			continue
		}
		if _, ok := fixedChar(t); ok {
			continue
		}
		n := classSize(t.cls, 4)
		if p.opts.literalSep && t.cls.has('/') {
			n--
		}
		if p.opts.literalDot && t.cls.has('.') {
			n--
		}
		if n < 2 {
			return false
		}
	}
	return true
}

// classSize counts the characters of a class, up to limit.
func classSize(c class, limit int) int {
	rs := append([]runeRange(nil), c.ranges...)
	sort.Slice(rs, func(i, j int) bool { return rs[i].lo < rs[j].lo })
	var merged []runeRange
	for _, r := range rs {
		if r.hi < r.lo {
			continue
		}
		if k := len(merged); k > 0 && r.lo <= merged[k-1].hi+1 {
			merged[k-1].hi = max(merged[k-1].hi, r.hi)
			continue
		}
		merged = append(merged, r)
	}
	n := 0
	for _, r := range merged {
		n += int(r.hi - r.lo + 1)
	}
	if c.neg {
		n = 0x110000 - n
	}
	return min(n, limit)
}

// compatible tells whether two fixed ends can belong to one string: one
// is a prefix (ends: a suffix) of the other.
func compatible(a, b string, ends bool) bool {
	if ends {
		return strings.HasSuffix(a, b) || strings.HasSuffix(b, a)
	}
	return strings.HasPrefix(a, b) || strings.HasPrefix(b, a)
}

// globSet is a set of patterns of one matching kind, indexed by their
// fixed ends.
type globSet struct {
	pats []*pattern
	// of lists, for each pattern, the indices of the members it was
	// given as (several may share one text).
	of    [][]int
	cuts  map[rune]bool
	byFix map[string]map[string][]int // prefix → suffix → patterns
	// pres and rsufs are the distinct prefixes and reversed suffixes,
	// sorted, with the patterns having each.
	pres, rsufs   []string
	byPre, byRsuf map[string][]int
	// memo remembers answers.
	memo map[memoKey]coverage
}

// memoKey names a question to a globSet: a pattern and the characters its
// witness is preferably made of.
type memoKey struct {
	src, prefer string
	opts        matchOpts
}

func newGlobSet(ps []*pattern) *globSet {
	g := &globSet{cuts: map[rune]bool{}, byFix: map[string]map[string][]int{}, byPre: map[string][]int{}, byRsuf: map[string][]int{},
		memo: map[memoKey]coverage{}}
	seen := map[string]int{}
	for member, p := range ps {
		if i, ok := seen[p.src]; ok && sameOpts(g.pats[i], p) {
			g.of[i] = append(g.of[i], member)
			continue
		}
		i := len(g.pats)
		seen[p.src] = i
		g.pats = append(g.pats, p)
		g.of = append(g.of, []int{member})
		addCuts(g.cuts, p)
		pre, suf := p.fixes()
		in := g.byFix[pre]
		if in == nil {
			in = map[string][]int{}
			g.byFix[pre] = in
		}
		in[suf] = append(in[suf], i)
		rs := reverse(suf)
		if _, ok := g.byPre[pre]; !ok {
			g.pres = append(g.pres, pre)
		}
		if _, ok := g.byRsuf[rs]; !ok {
			g.rsufs = append(g.rsufs, rs)
		}
		g.byPre[pre] = append(g.byPre[pre], i)
		g.byRsuf[rs] = append(g.byRsuf[rs], i)
	}
	sort.Strings(g.pres)
	sort.Strings(g.rsufs)
	return g
}

func sameOpts(a, b *pattern) bool { return a.opts == b.opts }

func reverse(s string) string {
	r := []rune(s)
	for a, b := 0, len(r)-1; a < b; a, b = a+1, b-1 {
		r[a], r[b] = r[b], r[a]
	}
	return string(r)
}

// runePrefixes calls f with every prefix of s that ends on a character
// boundary, shortest first, the empty one and s included.
func runePrefixes(s string, f func(string)) {
	for i := range s {
		f(s[:i])
	}
	f(s)
}

// runeSuffixes calls f with every suffix of s that starts on a character
// boundary, s and the empty one included.
func runeSuffixes(s string, f func(string)) {
	for i := range s {
		f(s[i:])
	}
	f("")
}

// withEnds calls f with the patterns whose fixed prefix is a prefix of
// pre and whose fixed suffix is a suffix of suf.
func (g *globSet) withEnds(pre, suf string, f func(i int) bool) bool {
	stop := false
	runePrefixes(pre, func(p string) {
		in := g.byFix[p]
		if stop || in == nil {
			return
		}
		if len(in) <= len(suf)+1 {
			for s, is := range in {
				if !strings.HasSuffix(suf, s) {
					continue
				}
				for _, i := range is {
					if !stop && f(i) {
						stop = true
					}
				}
			}
			return
		}
		runeSuffixes(suf, func(s string) {
			for _, i := range in[s] {
				if !stop && f(i) {
					stop = true
				}
			}
		})
	})
	return stop
}

// matches tells whether some pattern of the set matches s.
func (g *globSet) matches(s string) bool {
	return g.withEnds(s, s, func(i int) bool { return g.pats[i].match(s) })
}

// extending lists the patterns whose key (a prefix, or a reversed
// suffix) is k or starts with it, and those whose key k starts with.
func extending(keys []string, by map[string][]int, k string) []int {
	var out []int
	runePrefixes(k, func(p string) {
		if p != k {
			out = append(out, by[p]...)
		}
	})
	for j := sort.SearchStrings(keys, k); j < len(keys) && strings.HasPrefix(keys[j], k); j++ {
		out = append(out, by[keys[j]]...)
	}
	return out
}

// meeting lists, in order, the patterns that may share a string with p:
// those whose fixed ends are compatible with p's.
func (g *globSet) meeting(p *pattern) []int {
	pre, suf := p.fixes()
	a := extending(g.pres, g.byPre, pre)
	var out []int
	if len(a) > 16 {
		if b := extending(g.rsufs, g.byRsuf, reverse(suf)); len(b) < len(a) {
			a = b
		}
	}
	for _, i := range a {
		qp, qs := g.pats[i].fixes()
		if compatible(pre, qp, false) && compatible(suf, qs, true) {
			out = append(out, i)
		}
	}
	sort.Ints(out)
	return out
}

// coverCandidates calls f with the patterns that may cover p alone: all
// of them when p has a narrow wildcard, else those whose fixed ends are
// within p's.
func (g *globSet) coverCandidates(p *pattern, f func(i int) bool) bool {
	if !p.broad() {
		for i := range g.pats {
			if f(i) {
				return true
			}
		}
		return false
	}
	pre, suf := p.fixes()
	return g.withEnds(pre, suf, f)
}

// covers is includesPrefer(p, members of g, prefer).
func (g *globSet) covers(p *pattern, prefer string) coverage {
	key := memoKey{p.src, prefer, p.opts}
	if c, ok := g.memo[key]; ok {
		return c
	}
	c := g.coverage(p, prefer)
	g.memo[key] = c
	return c
}

func (g *globSet) coverage(p *pattern, prefer string) coverage {
	cuts := map[rune]bool{}
	for c := range g.cuts {
		cuts[c] = true
	}
	addCuts(cuts, p)
	sigma := alphabetOf(prefer, cuts)
	w, found, ok := shortest(p, sigma)
	if ok && !found {
		return coverage{covered: true} // p matches nothing
	}
	if ok && !g.matches(w) {
		return coverage{witness: w}
	}
	if g.coverCandidates(p, func(i int) bool { return includes(p, []*pattern{g.pats[i]}).covered }) {
		return coverage{covered: true}
	}
	var qs []*pattern
	for _, i := range g.meeting(p) {
		qs = append(qs, g.pats[i])
	}
	return includesSigma(p, qs, sigma)
}

// shortest returns the first string p matches in the order includes
// explores (shortest first, then by sigma's order); found is false when p
// matches nothing, ok false when the exploration hit its bound.
func shortest(p *pattern, sigma []rune) (w string, found, ok bool) {
	type node struct {
		s      stateSet
		parent int
		c      rune
	}
	var b strings.Builder
	first := node{s: start(p), parent: -1}
	first.s.key(&b)
	nodes := []node{first}
	seen := map[string]bool{b.String(): true}
	for i := 0; i < len(nodes); i++ {
		if nodes[i].s.accepts() {
			var r []rune
			for j := i; nodes[j].parent >= 0; j = nodes[j].parent {
				r = append(r, nodes[j].c)
			}
			for a, b := 0, len(r)-1; a < b; a, b = a+1, b-1 {
				r[a], r[b] = r[b], r[a]
			}
			return string(r), true, true
		}
		for _, c := range sigma {
			ns := nodes[i].s.next(c)
			if len(ns.states) == 0 {
				continue
			}
			b.Reset()
			ns.key(&b)
			k := b.String()
			if seen[k] {
				continue
			}
			if len(nodes) >= maxStates {
				return "", false, false
			}
			seen[k] = true
			nodes = append(nodes, node{s: ns, parent: i, c: c})
		}
	}
	return "", false, true
}
