package acl

import (
	"fmt"
	"unicode/utf8"
)

// Glob is a compiled window or webview label pattern with the semantics of
// Rust's glob::Pattern and its default match options, which is what Tauri
// uses: `?` is any character, `*` any sequence (slashes included), `**`
// only as a whole path component, `[abc]`, `[a-z]` and `[!a]` character
// classes, no brace expansion, no backslash escapes, case sensitive.
type Glob struct {
	src    string
	tokens []globToken
	// literal is set when the pattern has no wildcard: matching is then a
	// plain string comparison.
	literal bool
}

type globKind uint8

const (
	gChar globKind = iota
	gAnyChar
	gAnySeq
	gAnyRecursive
	gWithin
	gExcept
)

type globToken struct {
	kind  globKind
	c     rune
	specs []charSpec
}

type charSpec struct {
	lo, hi rune // a single character has lo == hi
}

// Rust glob's error texts.
const (
	errWildcards          = "wildcards are either regular `*` or recursive `**`"
	errRecursiveWildcards = "recursive wildcards must form a single path component"
	errInvalidRange       = "invalid range pattern"
)

// GlobError is a pattern syntax error; Pos counts characters from 0, as
// Rust's PatternError does.
type GlobError struct {
	Pattern string
	Pos     int
	Msg     string
}

func (e *GlobError) Error() string {
	return fmt.Sprintf("invalid glob pattern %q: Pattern syntax error near position %d: %s", e.Pattern, e.Pos, e.Msg)
}

// Unwrap makes a GlobError an ErrInvalid.
func (e *GlobError) Unwrap() error { return ErrInvalid }

func isSep(r rune) bool { return r == '/' }

// CompileGlob parses a pattern exactly as glob::Pattern::new does.
func CompileGlob(pattern string) (*Glob, error) {
	chars := []rune(pattern)
	g := &Glob{src: pattern}
	literal := true
	for i := 0; i < len(chars); {
		switch chars[i] {
		case '?':
			g.tokens = append(g.tokens, globToken{kind: gAnyChar})
			literal = false
			i++
		case '*':
			literal = false
			old := i
			for i < len(chars) && chars[i] == '*' {
				i++
			}
			count := i - old
			switch {
			case count > 2:
				return nil, &GlobError{pattern, old + 2, errWildcards}
			case count == 2:
				// `**` must be a whole component: at the start or after a
				// separator, and followed by a separator or the end.
				if i == 2 || isSep(chars[i-count-1]) {
					if i < len(chars) && isSep(chars[i]) {
						i++
					} else if i != len(chars) {
						return nil, &GlobError{pattern, i, errRecursiveWildcards}
					}
				} else {
					return nil, &GlobError{pattern, old - 1, errRecursiveWildcards}
				}
				n := len(g.tokens)
				if !(n > 1 && g.tokens[n-1].kind == gAnyRecursive) {
					g.tokens = append(g.tokens, globToken{kind: gAnyRecursive})
				}
			default:
				g.tokens = append(g.tokens, globToken{kind: gAnySeq})
			}
		case '[':
			literal = false
			if i+4 <= len(chars) && chars[i+1] == '!' {
				if j := indexRune(chars[i+3:], ']'); j >= 0 {
					g.tokens = append(g.tokens, globToken{kind: gExcept, specs: charSpecs(chars[i+2 : i+3+j])})
					i += j + 4
					continue
				}
			} else if i+3 <= len(chars) && chars[i+1] != '!' {
				if j := indexRune(chars[i+2:], ']'); j >= 0 {
					g.tokens = append(g.tokens, globToken{kind: gWithin, specs: charSpecs(chars[i+1 : i+2+j])})
					i += j + 3
					continue
				}
			}
			return nil, &GlobError{pattern, i, errInvalidRange}
		default:
			g.tokens = append(g.tokens, globToken{kind: gChar, c: chars[i]})
			i++
		}
	}
	g.literal = literal
	return g, nil
}

func indexRune(s []rune, r rune) int {
	for i, c := range s {
		if c == r {
			return i
		}
	}
	return -1
}

func charSpecs(s []rune) []charSpec {
	var out []charSpec
	for i := 0; i < len(s); {
		if i+3 <= len(s) && s[i+1] == '-' {
			out = append(out, charSpec{s[i], s[i+2]})
			i += 3
		} else {
			out = append(out, charSpec{s[i], s[i]})
			i++
		}
	}
	return out
}

// String returns the pattern as written.
func (g *Glob) String() string {
	if g == nil {
		return ""
	}
	return g.src
}

// IsLiteral tells whether the pattern has no wildcard, so that it matches
// exactly one label: itself.
func (g *Glob) IsLiteral() bool { return g != nil && g.literal }

// Match reports whether label matches the pattern. It does not allocate.
func (g *Glob) Match(label string) bool {
	if g == nil {
		return false // a nil pattern matches nothing
	}
	if g.literal {
		return label == g.src
	}
	return g.matchFrom(true, label, 0) == globMatch
}

type globResult uint8

const (
	globMatch globResult = iota
	globSubNoMatch
	globEntireNoMatch
)

// matchFrom is glob's matches_from with default options: case sensitive,
// no literal separator, no literal leading dot.
func (g *Glob) matchFrom(followsSep bool, file string, ti int) globResult {
	for ; ti < len(g.tokens); ti++ {
		t := &g.tokens[ti]
		switch t.kind {
		case gAnySeq, gAnyRecursive:
			if m := g.matchFrom(followsSep, file, ti+1); m != globSubNoMatch {
				return m
			}
			for len(file) > 0 {
				c, size := utf8.DecodeRuneInString(file)
				file = file[size:]
				followsSep = isSep(c)
				if t.kind == gAnyRecursive && !followsSep {
					continue
				}
				if m := g.matchFrom(followsSep, file, ti+1); m != globSubNoMatch {
					return m
				}
			}
		default:
			if len(file) == 0 {
				return globEntireNoMatch
			}
			c, size := utf8.DecodeRuneInString(file)
			file = file[size:]
			var ok bool
			switch t.kind {
			case gAnyChar:
				ok = true
			case gWithin:
				ok = inSpecs(t.specs, c)
			case gExcept:
				ok = !inSpecs(t.specs, c)
			case gChar:
				ok = c == t.c
			}
			if !ok {
				return globSubNoMatch
			}
			followsSep = isSep(c)
		}
	}
	if len(file) == 0 {
		return globMatch
	}
	return globSubNoMatch
}

func inSpecs(specs []charSpec, c rune) bool {
	for _, s := range specs {
		if c >= s.lo && c <= s.hi {
			return true
		}
	}
	return false
}
