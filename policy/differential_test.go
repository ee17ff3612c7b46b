package policy_test

import (
	"context"
	"math/rand/v2"
	"sort"
	"testing"

	"github.com/capguard/capguard/acl"
	"github.com/capguard/capguard/internal/policytest"
	"github.com/capguard/capguard/policy"
	"github.com/google/go-cmp/cmp"
)

// minRequests is the number of random requests each differential test
// must decide at least.
const minRequests = 100_000

// stats counts what a differential run exercised, so that the test can
// check it covered every kind of decision.
type stats struct {
	requests, allowed, remoteAllowed, explicitDenied, scoped int
}

func (s *stats) add(d policy.Decision, req acl.Request) {
	s.requests++
	switch {
	case d.Allowed:
		s.allowed++
		if !req.Origin.IsLocal() {
			s.remoteAllowed++
		}
		if len(d.ScopeIDs) > 0 {
			s.scoped++
		}
	case len(d.References) > 0:
		s.explicitDenied++
	}
}

// diffNative decides n random requests with the native engine and with
// acl.Resolved.Decide, and reports every disagreement (up to a few).
func diffNative(t *testing.T, r *acl.Resolved, rng *rand.Rand, n int, s *stats) {
	t.Helper()
	eng, err := policy.Compile(r)
	if err != nil {
		t.Fatal(err)
	}
	gen := policytest.NewGenerator(r, rng)
	failures := 0
	for range n {
		req := gen.Request()
		want, ad := reference(r, req)
		got, err := eng.Decide(context.Background(), toPolicy(req))
		if err != nil {
			t.Fatal(err)
		}
		if got.Allowed != ad.Allowed || !cmp.Equal(want, got, equateEmpty) || !cmp.Equal(ad.ScopeIDs(), got.ScopeIDs, equateEmpty) {
			failures++
			t.Errorf("request %+v (origin %s):\nacl.Decide: allowed %v, scopes %v\n%s", req, req.Origin, ad.Allowed, ad.ScopeIDs(), cmp.Diff(want, got, equateEmpty))
			if failures > 5 {
				t.FailNow()
			}
		}
		s.add(got, req)
	}
}

// TestNativeMatchesDecideCorpus is the differential test on real data:
// every app of the conformance corpus, for linux and every target its
// capabilities name, and Tauri's resolver fixtures.
func TestNativeMatchesDecideCorpus(t *testing.T) {
	acls, skipped := policytest.Corpus(t)
	var names []string
	for name, reason := range skipped {
		t.Logf("skipped %s: %s", name, reason)
		names = append(names, name)
	}
	sort.Strings(names)
	var want []string
	for name := range policytest.ExpectedSkips {
		want = append(want, name)
	}
	sort.Strings(want)
	if !cmp.Equal(names, want) {
		t.Errorf("skipped (app, target) pairs changed (-known +now):\n%s", cmp.Diff(want, names))
	}
	if len(acls) < 80 {
		t.Fatalf("only %d ACLs resolved from the corpus", len(acls))
	}
	per := minRequests/len(acls) + 1
	var s stats
	for i, a := range acls {
		t.Run(a.Name, func(t *testing.T) {
			diffNative(t, a.Resolved, rand.New(rand.NewPCG(uint64(i), 1)), per, &s)
		})
	}
	t.Logf("%d ACLs, %+v", len(acls), s)
	if s.requests < minRequests {
		t.Errorf("decided %d requests, want at least %d", s.requests, minRequests)
	}
	if s.allowed < s.requests/20 || s.remoteAllowed == 0 || s.scoped == 0 {
		t.Errorf("the random requests do not exercise enough allowed calls: %+v", s)
	}
}

// TestNativeMatchesDecideRandom is the differential test on random ACLs,
// which have what the corpus lacks: command denials, overlapping remote
// patterns, odd globs, and (every tenth ACL) a command with more than 64
// entries.
func TestNativeMatchesDecideRandom(t *testing.T) {
	const acls = 200
	var s stats
	for i := range acls {
		rng := rand.New(rand.NewPCG(uint64(i), 2))
		r, err := policytest.RandomACL(rng, i%10 == 0)
		if err != nil {
			t.Fatalf("random ACL %d: %v", i, err)
		}
		diffNative(t, r, rng, minRequests/acls, &s)
	}
	t.Logf("%+v", s)
	if s.requests < minRequests {
		t.Errorf("decided %d requests, want at least %d", s.requests, minRequests)
	}
	if s.explicitDenied < 1000 || s.remoteAllowed < 1000 || s.allowed < 5000 {
		t.Errorf("the random ACLs do not exercise enough denials and remote grants: %+v", s)
	}
}
