// Package remote matches page URLs against the remote URL patterns of a
// resolved ACL, once per URL: the answer for every pattern is kept in a
// bounded cache, so that a URLPattern match (which parses the URL) is not
// paid on every IPC call from the same page.
package remote

import (
	"sync"

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
// to the patterns it matches. It is safe for concurrent use.
type Matcher struct {
	patterns []*acl.RemotePattern
	index    map[string]int
	capacity int

	mu    sync.RWMutex
	cache map[string]Set
}

// New returns a matcher for the patterns (deduplicated by their text, in
// order of first appearance) that remembers up to capacity URLs.
func New(patterns []*acl.RemotePattern, capacity int) *Matcher {
	if capacity <= 0 {
		capacity = DefaultCapacity
	}
	m := &Matcher{index: map[string]int{}, capacity: capacity, cache: map[string]Set{}}
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
func (m *Matcher) Capacity() int { return m.capacity }

// Cached returns the number of URLs in the cache.
func (m *Matcher) Cached() int {
	m.mu.RLock()
	defer m.mu.RUnlock()
	return len(m.cache)
}

// Match returns the patterns the origin matches; nil for the local origin.
// A cached answer costs a map lookup and does not allocate.
func (m *Matcher) Match(o acl.Origin) Set {
	if o.IsLocal() || len(m.patterns) == 0 {
		return nil
	}
	if s, ok := m.cached(o.URL()); ok {
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
	if s, ok := m.cached(href); ok {
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

func (m *Matcher) cached(href string) (Set, bool) {
	m.mu.RLock()
	s, ok := m.cache[href]
	m.mu.RUnlock()
	return s, ok
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
	m.mu.Lock()
	if _, ok := m.cache[o.URL()]; !ok && len(m.cache) >= m.capacity {
		// Evict an arbitrary entry: map iteration starts at a random place.
		for k := range m.cache {
			delete(m.cache, k)
			break
		}
	}
	m.cache[o.URL()] = s
	m.mu.Unlock()
	return s
}
