package remote

import (
	"fmt"
	"sync"
	"testing"

	"github.com/capguard/capguard/acl"
)

func patterns(t *testing.T, srcs ...string) []*acl.RemotePattern {
	t.Helper()
	out := make([]*acl.RemotePattern, len(srcs))
	for i, s := range srcs {
		p, err := acl.CompileRemote(s)
		if err != nil {
			t.Fatal(err)
		}
		out[i] = p
	}
	return out
}

func TestMatch(t *testing.T) {
	ps := patterns(t, "https://a.example/*", "https://*.example/*", "https://a.example/*", "http://localhost:*")
	m := New(ps, 0)
	if m.Len() != 3 {
		t.Fatalf("Len = %d, want 3 distinct patterns", m.Len())
	}
	if m.Capacity() != DefaultCapacity {
		t.Errorf("Capacity = %d, want %d", m.Capacity(), DefaultCapacity)
	}
	tests := []struct {
		name string
		url  string
		want []int
	}{
		{"two patterns", "https://a.example/x", []int{0, 1}},
		{"subdomain", "https://b.example/", []int{1}},
		{"port wildcard", "http://localhost:1420/", []int{2}},
		{"none", "https://evil.test/", nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			o := acl.MustOrigin(tt.url)
			for round := range 2 { // computed, then cached
				s := m.Match(o)
				for i := range m.Len() {
					want := false
					for _, w := range tt.want {
						want = want || w == i
					}
					if s.Has(i) != want || m.patterns[i].Match(o) != want {
						t.Errorf("round %d: pattern %d on %s: Has %v, RemotePattern.Match %v, want %v", round, i, tt.url, s.Has(i), m.patterns[i].Match(o), want)
					}
				}
				if s.Empty() != (len(tt.want) == 0) {
					t.Errorf("Empty = %v", s.Empty())
				}
				s2, err := m.MatchURL(o.URL())
				if err != nil || fmt.Sprint(s2) != fmt.Sprint(s) {
					t.Errorf("MatchURL = %v, %v; Match = %v", s2, err, s)
				}
			}
		})
	}
	if m.Match(acl.LocalOrigin) != nil {
		t.Error("the local origin matches no remote pattern")
	}
	if s, err := m.MatchURL("not a url"); err == nil || s != nil {
		t.Errorf("MatchURL(bad) = %v, %v; want an error", s, err)
	}
	// A URL that is not normalized is answered, not cached.
	before := m.Cached()
	if s, err := m.MatchURL("https://A.EXAMPLE/x"); err != nil || !s.Has(0) {
		t.Errorf("MatchURL(upper case) = %v, %v", s, err)
	}
	if m.Cached() != before {
		t.Errorf("a non-normalized URL was cached")
	}
}

func TestCacheBound(t *testing.T) {
	m := New(patterns(t, "https://*.example/*"), 16)
	for i := range 100 {
		o := acl.MustOrigin(fmt.Sprintf("https://h%d.example/", i))
		if !m.Match(o).Has(0) {
			t.Fatalf("%s should match", o)
		}
		if m.Cached() > 16 {
			t.Fatalf("cache holds %d URLs, capacity 16", m.Cached())
		}
	}
	// A URL goes to one of two slots its key picks: after 100 URLs
	// nearly every slot is taken.
	if m.Cached() < 12 {
		t.Errorf("cache holds %d URLs, want it (nearly) full (16)", m.Cached())
	}
}

func TestConcurrent(t *testing.T) {
	m := New(patterns(t, "https://*.example/*", "https://a.example/admin/*"), 8)
	var wg sync.WaitGroup
	for g := range 4 {
		wg.Go(func() {
			for i := range 200 {
				u := fmt.Sprintf("https://a.example/admin/%d", (i+g)%20)
				s, err := m.MatchURL(u)
				if err != nil || !s.Has(0) || !s.Has(1) {
					t.Errorf("%s: %v %v", u, s, err)
					return
				}
			}
		})
	}
	wg.Wait()
}

func BenchmarkMatch(b *testing.B) {
	ps := make([]*acl.RemotePattern, 0, 3)
	for _, s := range []string{"https://a.example/*", "https://*.example/*", "http://localhost:*"} {
		p, _ := acl.CompileRemote(s)
		ps = append(ps, p)
	}
	o := acl.MustOrigin("https://a.example/page")
	b.Run("cached", func(b *testing.B) {
		m := New(ps, 0)
		m.Match(o)
		b.ReportAllocs()
		for b.Loop() {
			m.Match(o)
		}
	})
	b.Run("uncached", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			for _, p := range ps {
				p.Match(o)
			}
		}
	})
}
