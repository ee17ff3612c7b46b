// Package remote matches page URLs against the remote URL patterns of a
// resolved ACL, once per URL: the answer for every pattern is kept in a
// bounded cache, so that a URLPattern match (which parses the URL) is not
// paid on every IPC call from the same page.
package remote

import (
	"sync/atomic"

	"github.com/capguard/capguard/acl"
)

// DefaultCapacity is the number of URLs a Matcher remembers when asked for
// a capacity of 0 or less.
const DefaultCapacity = 1024

// Set is the set of pattern indexes a URL matches, as a bit set. It is
// shared and must not be modified.
type Set []uint64

// Has tells whether pattern i is in the set.
func (s Set) Has(i int) bool {
	w := i >> 6
	return w < len(s) && s[w]&(1<<(uint(i)&63)) != 0
}

// Empty tells whether no pattern is in the set.
func (s Set) Empty() bool {
	for _, w := range s {
		if w != 0 {
			return false
		}
	}
	return true
}

// Matcher holds distinct remote patterns and a bounded cache from page URL
// to the patterns it matches. It is safe for concurrent use: a lookup is
// two atomic loads and a string comparison, without a lock; an insertion
// is one atomic store.
type Matcher struct {
	patterns []*acl.RemotePattern
	index    map[string]int

	// slots is the cache: a URL lives in the slot its key (acl.Origin.Key)
	// selects or the next one; inserting into two full slots replaces the
	// first.
	slots []atomic.Pointer[entry]
	mask  uint64
}

// entry is one cached URL; entries are never modified.
type entry struct {
	key  uint64
	href string
	set  Set
}

// New returns a matcher for the patterns (deduplicated by their text, in
// order of first appearance) that remembers up to capacity URLs (rounded
// up to a power of two).
func New(patterns []*acl.RemotePattern, capacity int) *Matcher {
	if capacity <= 0 {
		capacity = DefaultCapacity
	}
	n := 1
	for n < capacity {
		n <<= 1
	}
	m := &Matcher{index: map[string]int{}, slots: make([]atomic.Pointer[entry], n), mask: uint64(n - 1)}
	for _, p := range patterns {
		m.Add(p)
	}
	return m
}

// Add registers a pattern (once per pattern text) and returns its index.
// It must not be called once the matcher is in use.
func (m *Matcher) Add(p *acl.RemotePattern) int {
	if i, ok := m.index[p.String()]; ok {
		return i
	}
	i := len(m.patterns)
	m.patterns = append(m.patterns, p)
	m.index[p.String()] = i
	return i
}

// Index returns the index of the pattern with the given text.
func (m *Matcher) Index(pattern string) (int, bool) {
	i, ok := m.index[pattern]
	return i, ok
}

// Len returns the number of distinct patterns.
func (m *Matcher) Len() int { return len(m.patterns) }

// Capacity returns the number of URLs the cache holds at most.
func (m *Matcher) Capacity() int { return len(m.slots) }

// Cached returns the number of URLs in the cache.
func (m *Matcher) Cached() int {
	n := 0
	for i := range m.slots {
		if m.slots[i].Load() != nil {
			n++
		}
	}
	return n
}

// Match returns the patterns the origin matches; nil for the local origin.
// A cached answer costs two atomic loads and does not allocate.
func (m *Matcher) Match(o acl.Origin) Set {
	if o.IsLocal() || len(m.patterns) == 0 {
		return nil
	}
	if s, ok := m.cached(o.Key(), o.URL()); ok {
		return s
	}
	return m.compute(o)
}

// MatchURL is Match for a page URL given as text (acl.Origin.URL); the
// URL is parsed only when it is not in the cache.
func (m *Matcher) MatchURL(href string) (Set, error) {
	if href == "" || len(m.patterns) == 0 {
		return nil, nil
	}
	if s, ok := m.cached(acl.OriginKey(href), href); ok {
		return s, nil
	}
	o, err := acl.ParseOrigin(href)
	if err != nil {
		return nil, err
	}
	if o.URL() != href {
		// Not in the normalized form the cache is keyed by: answer
		// without caching, so that the cache only holds real origins.
		return m.matchAll(o), nil
	}
	return m.compute(o), nil
}

func (m *Matcher) cached(key uint64, href string) (Set, bool) {
	i := key & m.mask
	for _, j := range [2]uint64{i, (i + 1) & m.mask} {
		if e := m.slots[j].Load(); e != nil && e.key == key && e.href == href {
			return e.set, true
		}
	}
	return nil, false
}

func (m *Matcher) matchAll(o acl.Origin) Set {
	s := make(Set, (len(m.patterns)+63)/64)
	for i, p := range m.patterns {
		if p.Match(o) {
			s[i>>6] |= 1 << (uint(i) & 63)
		}
	}
	return s
}

func (m *Matcher) compute(o acl.Origin) Set {
	s := m.matchAll(o)
	e := &entry{key: o.Key(), href: o.URL(), set: s}
	i := e.key & m.mask
	next := (i + 1) & m.mask
	switch {
	case m.slots[i].CompareAndSwap(nil, e):
	case m.slots[next].CompareAndSwap(nil, e):
	default:
		m.slots[i].Store(e)
	}
	return s
}
