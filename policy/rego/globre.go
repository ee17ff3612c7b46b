package rego

import (
	"fmt"
	"regexp"
	"strings"
)

// globRegexp translates a window or webview pattern with the semantics of
// Rust's glob::Pattern (acl.Glob) into an RE2 expression for Rego's
// regex.match, so that the built-in policy decides labels in Rego itself:
//
//   - `?` is any one character and `*` any sequence (separators included);
//   - `**`, a whole path component, matches nothing or anything that ends
//     with a separator, and at the end of the pattern the rest of the label
//     (glob's matcher lets it run to the end when nothing follows);
//   - `[...]` and `[!...]` are character classes; a range written backwards
//     (`[z-a]`) matches nothing, as in glob;
//   - everything else is literal, compared character by character, with
//     invalid UTF-8 read as U+FFFD on both sides (as Go's regexp and
//     acl.Glob both do).
//
// The pattern must be valid (acl.CompileGlob accepts it); the syntax
// errors repeat CompileGlob's checks so that a bad pattern is never turned
// into a regexp that means something else.
func globRegexp(pattern string) (string, error) {
	chars := []rune(pattern)
	var b strings.Builder
	b.WriteString(`\A(?s:`)
	lastRecursive := false
	ntokens := 0
	for i := 0; i < len(chars); {
		switch chars[i] {
		case '?':
			b.WriteString(`.`)
			i++
			lastRecursive = false
		case '*':
			old := i
			for i < len(chars) && chars[i] == '*' {
				i++
			}
			count := i - old
			switch {
			case count > 2:
				return "", fmt.Errorf("invalid glob pattern %q: wildcards are either regular `*` or recursive `**`", pattern)
			case count == 2:
				if i == 2 || chars[i-count-1] == '/' {
					if i < len(chars) && chars[i] == '/' {
						i++
					} else if i != len(chars) {
						return "", fmt.Errorf("invalid glob pattern %q: recursive wildcards must form a single path component", pattern)
					}
				} else {
					return "", fmt.Errorf("invalid glob pattern %q: recursive wildcards must form a single path component", pattern)
				}
				// glob drops a `**` that directly follows another one, but
				// only once two tokens exist; both forms mean the same.
				if ntokens > 1 && lastRecursive {
					continue
				}
				// Nothing, anything ending with a separator, or (glob's
				// fall-through once the label is used up) everything left.
				b.WriteString(`(?:.*/|.*\z)?`)
				lastRecursive = true
				ntokens++
				continue
			default:
				b.WriteString(`.*`)
				lastRecursive = false
			}
		case '[':
			var specs []rune
			negate := false
			switch {
			case i+4 <= len(chars) && chars[i+1] == '!' && indexRune(chars[i+3:], ']') >= 0:
				j := indexRune(chars[i+3:], ']')
				specs = chars[i+2 : i+3+j]
				negate = true
				i += j + 4
			case i+3 <= len(chars) && chars[i+1] != '!' && indexRune(chars[i+2:], ']') >= 0:
				j := indexRune(chars[i+2:], ']')
				specs = chars[i+1 : i+2+j]
				i += j + 3
			default:
				return "", fmt.Errorf("invalid glob pattern %q: invalid range pattern", pattern)
			}
			b.WriteString(charClass(specs, negate))
			lastRecursive = false
		default:
			b.WriteString(regexp.QuoteMeta(string(chars[i])))
			i++
			lastRecursive = false
		}
		ntokens++
	}
	b.WriteString(`)\z`)
	return b.String(), nil
}

func indexRune(s []rune, r rune) int {
	for i, c := range s {
		if c == r {
			return i
		}
	}
	return -1
}

// charClass writes glob's character specifications ("a", "a-z") as an
// RE2 class; ranges written backwards match nothing and are dropped.
func charClass(s []rune, negate bool) string {
	var ranges []string
	for i := 0; i < len(s); {
		lo, hi := s[i], s[i]
		if i+3 <= len(s) && s[i+1] == '-' {
			hi = s[i+2]
			i += 3
		} else {
			i++
		}
		if lo > hi {
			continue
		}
		if lo == hi {
			ranges = append(ranges, fmt.Sprintf(`\x{%x}`, lo))
		} else {
			ranges = append(ranges, fmt.Sprintf(`\x{%x}-\x{%x}`, lo, hi))
		}
	}
	switch {
	case len(ranges) == 0 && negate:
		return `.` // excludes nothing: any character
	case len(ranges) == 0:
		return `[^\x00-\x{10ffff}]` // includes nothing: never matches
	case negate:
		return `[^` + strings.Join(ranges, "") + `]`
	}
	return `[` + strings.Join(ranges, "") + `]`
}
