package acldiff

import (
	"sort"
	"strconv"
	"strings"
	"unicode/utf8"
)

// This file decides whether one pattern covers another: whether every
// string the first matches is matched by one of a set of others. Window
// and webview globs, the components of URL patterns and fs path globs are
// all translated into the same small token language, and inclusion is
// decided on it by exploring the pairs of states the two sides can be in
// after reading the same input. The answer is exact for the token
// language; each translator says when a pattern uses syntax outside it,
// and the comparison is then "undecided", with the reason.

// tokKind is a token of the pattern language.
type tokKind uint8

const (
	tLit  tokKind = iota // one given character
	tOne                 // one character of a class
	tStar                // any run of characters of a class (glob's "*")
	tRec                 // glob's "**": nothing, or anything up to a separator
)

// runeRange is a closed range of characters.
type runeRange struct{ lo, hi rune }

// class is a set of characters: the ranges, or every character outside
// them when neg is set (so {neg: true} is any character).
type class struct {
	neg    bool
	ranges []runeRange
}

func (c class) has(r rune) bool {
	in := false
	for _, x := range c.ranges {
		if r >= x.lo && r <= x.hi {
			in = true
			break
		}
	}
	return in != c.neg
}

var anyChar = class{neg: true}

type tok struct {
	kind tokKind
	c    rune
	cls  class
}

// matchOpts are glob's match options that change what wildcards match:
// with literalSep, "*", "?" and classes never match '/'; with literalDot,
// no wildcard matches a '.' at the start of the string or after a '/'.
// Tauri matches window labels with neither, fs paths with both.
type matchOpts struct {
	literalSep, literalDot bool
}

// pattern is a translated pattern.
type pattern struct {
	src  string
	toks []tok
	opts matchOpts
	// fixPre and fixSuf are the fixed prefix and suffix, once fixDone
	// (see fixes).
	fixPre, fixSuf string
	fixDone        bool
}

// state is where a pattern can be after reading some input: before
// token ti, or (rec 1 and 2) inside the "**" at ti, having read something
// whose last character was not (1) or was (2) a separator. afterSep tells
// whether the last character read was a separator (or nothing was read),
// for literalDot.
type state struct {
	ti       int
	rec      uint8
	afterSep bool
}

// nullable tells whether the tokens from ti on can match the empty string.
func (p *pattern) nullable(ti int) bool {
	for _, t := range p.toks[ti:] {
		if t.kind != tStar && t.kind != tRec {
			return false
		}
	}
	return true
}

// closure adds the states reachable without reading.
func (p *pattern) closure(set map[state]bool) {
	stack := make([]state, 0, len(set))
	for s := range set {
		stack = append(stack, s)
	}
	for len(stack) > 0 {
		s := stack[len(stack)-1]
		stack = stack[:len(stack)-1]
		var next []state
		switch {
		case s.rec == 2:
			next = append(next, state{ti: s.ti + 1, afterSep: true})
		case s.rec == 0 && s.ti < len(p.toks) && (p.toks[s.ti].kind == tStar || p.toks[s.ti].kind == tRec):
			next = append(next, state{ti: s.ti + 1, afterSep: s.afterSep})
		}
		for _, n := range next {
			if !set[n] {
				set[n] = true
				stack = append(stack, n)
			}
		}
	}
}

// accepting tells whether a state accepts the input read so far. A "**"
// that has read to the end also accepts when the rest can be empty: glob
// lets the last wildcard run to the end of the input.
func (p *pattern) accepting(s state) bool {
	if s.rec != 0 {
		return p.nullable(s.ti + 1)
	}
	return s.ti == len(p.toks)
}

// wildcardMay tells whether a wildcard may read c in state s.
func (p *pattern) wildcardMay(s state, c rune, star bool) bool {
	if p.opts.literalDot && s.afterSep && c == '.' {
		return false
	}
	if star && p.opts.literalSep && c == '/' {
		return false
	}
	return true
}

// step reads one character from one state.
func (p *pattern) step(s state, c rune, out map[state]bool) {
	sep := c == '/'
	if s.rec != 0 {
		if !(p.opts.literalDot && s.afterSep && c == '.') {
			out[state{ti: s.ti, rec: recAfter(sep), afterSep: sep}] = true
		}
		return
	}
	if s.ti >= len(p.toks) {
		return
	}
	t := p.toks[s.ti]
	switch t.kind {
	case tLit:
		if c == t.c {
			out[state{ti: s.ti + 1, afterSep: sep}] = true
		}
	case tOne:
		if t.cls.has(c) && p.wildcardMay(s, c, true) {
			out[state{ti: s.ti + 1, afterSep: sep}] = true
		}
	case tStar:
		if t.cls.has(c) && p.wildcardMay(s, c, true) {
			out[state{ti: s.ti, afterSep: sep}] = true
		}
	case tRec:
		if p.wildcardMay(s, c, false) {
			out[state{ti: s.ti, rec: recAfter(sep), afterSep: sep}] = true
		}
	}
}

func recAfter(sep bool) uint8 {
	if sep {
		return 2
	}
	return 1
}

// stateSet is the states of one pattern of a side, and which pattern.
type stateSet struct {
	p      *pattern
	states map[state]bool
}

func (ss stateSet) accepts() bool {
	for s := range ss.states {
		if ss.p.accepting(s) {
			return true
		}
	}
	return false
}

func (ss stateSet) next(c rune) stateSet {
	out := map[state]bool{}
	for s := range ss.states {
		ss.p.step(s, c, out)
	}
	ss.p.closure(out)
	return stateSet{ss.p, out}
}

func (ss stateSet) key(b *strings.Builder) {
	keys := make([]int, 0, len(ss.states))
	for s := range ss.states {
		v := s.ti<<3 | int(s.rec)<<1
		if s.afterSep {
			v |= 1
		}
		keys = append(keys, v)
	}
	sort.Ints(keys)
	for _, k := range keys {
		b.WriteString(strconv.Itoa(k))
		b.WriteByte(',')
	}
	b.WriteByte(';')
}

func start(p *pattern) stateSet {
	set := map[state]bool{{afterSep: true}: true}
	p.closure(set)
	return stateSet{p, set}
}

// match tells whether p matches s (used by the tests to check the
// translation against the matchers the patterns come from).
func (p *pattern) match(s string) bool {
	ss := start(p)
	for _, c := range s {
		ss = ss.next(c)
		if len(ss.states) == 0 {
			return false
		}
	}
	return ss.accepts()
}

// alphabet returns one representative character for each class of
// characters that every token of the patterns treats alike, preferring
// readable ones (they appear in witnesses).
func alphabet(prefer string, ps ...*pattern) []rune {
	cuts := map[rune]bool{}
	for _, p := range ps {
		addCuts(cuts, p)
	}
	return alphabetOf(prefer, cuts)
}

// addCuts adds to cuts the characters where p's tokens start or stop
// treating characters alike.
func addCuts(cuts map[rune]bool, p *pattern) {
	for _, t := range p.toks {
		switch t.kind {
		case tLit:
			cuts[t.c], cuts[t.c+1] = true, true
		default:
			for _, r := range t.cls.ranges {
				cuts[r.lo], cuts[r.hi+1] = true, true
			}
		}
	}
}

// alphabetOf is alphabet for the cuts of some patterns.
func alphabetOf(prefer string, pcuts map[rune]bool) []rune {
	cuts := map[rune]bool{0: true}
	for _, c := range "./" {
		cuts[c], cuts[c+1] = true, true
	}
	for c := range pcuts {
		cuts[c] = true
	}
	points := make([]rune, 0, len(cuts))
	for r := range cuts {
		if r <= utf8.MaxRune {
			points = append(points, r)
		}
	}
	sort.Slice(points, func(i, j int) bool { return points[i] < points[j] })
	nice := prefer + "xaz0_-XAZ9~ "
	out := make([]rune, 0, len(points))
	for i, lo := range points {
		hi := rune(utf8.MaxRune)
		if i+1 < len(points) {
			hi = points[i+1] - 1
		}
		pick := lo
		for _, c := range nice {
			if c >= lo && c <= hi {
				pick = c
				break
			}
		}
		if pick < 0x20 && hi >= 0x20 && lo <= 0x20 {
			pick = 0x20
		}
		if pick < 0x20 && hi > 0x7f {
			pick = 0xe9 // é: printable, and not ASCII punctuation
			if pick < lo || pick > hi {
				pick = lo
			}
		}
		out = append(out, pick)
	}
	// Preferred characters first: the exploration tries them first, so
	// witnesses use them where they can.
	rank := func(c rune) int {
		if i := strings.IndexRune(nice, c); i >= 0 {
			return i
		}
		return len(nice)
	}
	sort.SliceStable(out, func(i, j int) bool { return rank(out[i]) < rank(out[j]) })
	return out
}

// maxStates bounds the exploration; patterns of capabilities stay far
// below it.
const maxStates = 20000

// coverage is the outcome of an inclusion check.
type coverage struct {
	// covered is set when every string p matches is matched by one of
	// the others.
	covered bool
	// witness, when not covered, is a string p matches and none of the
	// others does.
	witness string
	// undecided, when set, says why neither could be shown.
	undecided string
}

// includes decides whether every string p matches is matched by one of qs.
func includes(p *pattern, qs []*pattern) coverage { return includesPrefer(p, qs, "") }

// includesPrefer is includes with witnesses made of the characters of
// prefer where possible (digits for a port).
func includesPrefer(p *pattern, qs []*pattern, prefer string) coverage {
	return includesSigma(p, qs, alphabet(prefer, append([]*pattern{p}, qs...)...))
}

// maxWork bounds the states an inclusion check computes in all (each
// node of the exploration holds a state set of p and of every pattern
// of qs still alive): many patterns that all stay alive make each node
// cost as much as they are many.
const maxWork = 4 << 20

// includesSigma is includes over the alphabet sigma (which must separate
// the characters the tokens of p and qs treat differently).
func includesSigma(p *pattern, qs []*pattern, sigma []rune) coverage {
	// live is the state set of one pattern of qs that can still match.
	type live struct {
		i  int
		ss stateSet
	}
	type node struct {
		p      stateSet
		q      []live
		parent int
		c      rune
	}
	keyOf := func(n node) string {
		var b strings.Builder
		n.p.key(&b)
		for _, q := range n.q {
			b.WriteString(strconv.Itoa(q.i))
			b.WriteByte(':')
			q.ss.key(&b)
		}
		return b.String()
	}
	first := node{p: start(p), parent: -1}
	for i, q := range qs {
		first.q = append(first.q, live{i, start(q)})
	}
	nodes := []node{first}
	seen := map[string]bool{keyOf(first): true}
	work := 0
	for i := 0; i < len(nodes); i++ {
		n := nodes[i]
		if n.p.accepts() {
			ok := false
			for _, q := range n.q {
				ok = ok || q.ss.accepts()
			}
			if !ok {
				var w []rune
				for j := i; nodes[j].parent >= 0; j = nodes[j].parent {
					w = append(w, nodes[j].c)
				}
				for a, b := 0, len(w)-1; a < b; a, b = a+1, b-1 {
					w[a], w[b] = w[b], w[a]
				}
				return coverage{witness: string(w)}
			}
		}
		for _, c := range sigma {
			np := n.p.next(c)
			if len(np.states) == 0 {
				continue
			}
			m := node{p: np, parent: i, c: c}
			for _, q := range n.q {
				if nq := q.ss.next(c); len(nq.states) > 0 {
					m.q = append(m.q, live{q.i, nq})
				}
			}
			work += 1 + len(n.q)
			k := keyOf(m)
			if seen[k] {
				if work > maxWork {
					return coverage{undecided: "the patterns are too complex to compare"}
				}
				continue
			}
			if len(nodes) >= maxStates || work > maxWork {
				return coverage{undecided: "the patterns are too complex to compare"}
			}
			seen[k] = true
			nodes = append(nodes, m)
		}
	}
	return coverage{covered: true}
}

// intersects tells whether some string matches both p and q: a pattern
// of the other side that shares no string with p says nothing about it.
func intersects(p, q *pattern) bool {
	sigma := alphabet("", p, q)
	type pair struct{ a, b stateSet }
	keyOf := func(x pair) string {
		var b strings.Builder
		x.a.key(&b)
		x.b.key(&b)
		return b.String()
	}
	queue := []pair{{start(p), start(q)}}
	seen := map[string]bool{keyOf(queue[0]): true}
	for i := 0; i < len(queue) && i < maxStates; i++ {
		x := queue[i]
		if x.a.accepts() && x.b.accepts() {
			return true
		}
		for _, c := range sigma {
			y := pair{x.a.next(c), x.b.next(c)}
			if len(y.a.states) == 0 || len(y.b.states) == 0 {
				continue
			}
			if k := keyOf(y); !seen[k] {
				seen[k] = true
				queue = append(queue, y)
			}
		}
	}
	return false
}

// globPattern translates a glob with Rust glob::Pattern's syntax (the
// caller has checked it compiles with acl.CompileGlob): "?", "*", "**",
// "[...]" and "[!...]", everything else literal.
func globPattern(src string, opts matchOpts) *pattern {
	p := &pattern{src: src, opts: opts}
	chars := []rune(src)
	for i := 0; i < len(chars); {
		switch c := chars[i]; c {
		case '?':
			p.toks = append(p.toks, tok{kind: tOne, cls: anyChar})
			i++
		case '*':
			n := 0
			for i < len(chars) && chars[i] == '*' {
				i++
				n++
			}
			if n >= 2 {
				// "**/" is one token: the separator belongs to it.
				if i < len(chars) && chars[i] == '/' {
					i++
				}
				if k := len(p.toks); !(k > 1 && p.toks[k-1].kind == tRec) {
					p.toks = append(p.toks, tok{kind: tRec})
				}
			} else {
				p.toks = append(p.toks, tok{kind: tStar, cls: anyChar})
			}
		case '[':
			neg := i+1 < len(chars) && chars[i+1] == '!'
			from := i + 1
			if neg {
				from++
			}
			// The first character after "[" (or "[!") is always a member,
			// even "]".
			end := -1
			for j := from + 1; j < len(chars); j++ {
				if chars[j] == ']' {
					end = j
					break
				}
			}
			if end < 0 {
				p.toks = append(p.toks, tok{kind: tLit, c: c})
				i++
				continue
			}
			var rs []runeRange
			body := chars[from:end]
			for j := 0; j < len(body); {
				if j+2 < len(body) && body[j+1] == '-' {
					rs = append(rs, runeRange{body[j], body[j+2]})
					j += 3
				} else {
					rs = append(rs, runeRange{body[j], body[j]})
					j++
				}
			}
			p.toks = append(p.toks, tok{kind: tOne, cls: class{neg: neg, ranges: rs}})
			i = end + 1
		default:
			p.toks = append(p.toks, tok{kind: tLit, c: c})
			i++
		}
	}
	return p
}

// literal tells whether the pattern matches one string only.
func (p *pattern) literal() bool {
	for _, t := range p.toks {
		if t.kind != tLit {
			return false
		}
	}
	return true
}
