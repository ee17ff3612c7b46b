package rego_test

import (
	"context"
	"math/rand/v2"
	"sync"
	"sync/atomic"
	"testing"

	"github.com/capguard/capguard/acl"
	"github.com/capguard/capguard/internal/policytest"
	"github.com/capguard/capguard/policy"
	"github.com/capguard/capguard/policy/rego"
	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"
)

const minRequests = 100_000

var equateEmpty = cmpopts.EquateEmpty()

func toPolicy(r acl.Request) policy.Request {
	return policy.Request{Command: r.Command, Window: r.Window, Webview: r.Webview, Origin: r.Origin}
}

type counts struct {
	requests, allowed, remoteAllowed, explicitDenied atomic.Int64
}

// diffRego decides n random requests with the Rego engine (no user
// modules) and with the native engine, from two goroutines, and reports
// every disagreement (up to a few).
func diffRego(t *testing.T, r *acl.Resolved, seed uint64, n int, c *counts) {
	t.Helper()
	ctx := context.Background()
	native, err := policy.Compile(r)
	if err != nil {
		t.Fatal(err)
	}
	eng, err := rego.New(ctx, r)
	if err != nil {
		t.Fatal(err)
	}
	gen := policytest.NewGenerator(r, rand.New(rand.NewPCG(seed, 3)))
	reqs := make([]acl.Request, n)
	for i := range reqs {
		reqs[i] = gen.Request()
	}
	var failures atomic.Int64
	var wg sync.WaitGroup
	const workers = 2
	for w := range workers {
		wg.Go(func() {
			for i := w; i < len(reqs); i += workers {
				req := toPolicy(reqs[i])
				want, _ := native.Decide(ctx, req)
				got, err := eng.Decide(ctx, req)
				if err != nil {
					t.Errorf("%+v: %v", req, err)
					return
				}
				if !cmp.Equal(want, got, equateEmpty) {
					t.Errorf("request %+v (origin %s) (-native +rego):\n%s", req, req.Origin, cmp.Diff(want, got, equateEmpty))
					if failures.Add(1) > 5 {
						return
					}
				}
				c.requests.Add(1)
				switch {
				case got.Allowed:
					c.allowed.Add(1)
					if !req.Origin.IsLocal() {
						c.remoteAllowed.Add(1)
					}
				case len(got.References) > 0:
					c.explicitDenied.Add(1)
				}
			}
		})
	}
	wg.Wait()
}

// TestRegoMatchesNative is the differential test of the Rego engine
// without user modules against the native engine (itself checked against
// acl.Resolved.Decide): the conformance corpus and random ACLs, at least
// 100,000 requests in all.
func TestRegoMatchesNative(t *testing.T) {
	acls, _ := policytest.Corpus(t)
	var c counts
	corpusRequests := minRequests * 7 / 10
	per := corpusRequests/len(acls) + 1
	for i, a := range acls {
		t.Run(a.Name, func(t *testing.T) {
			diffRego(t, a.Resolved, uint64(i), per, &c)
		})
	}
	const randomACLs = 60
	for i := range randomACLs {
		r, err := policytest.RandomACL(rand.New(rand.NewPCG(uint64(i), 4)), i%10 == 0)
		if err != nil {
			t.Fatal(err)
		}
		diffRego(t, r, uint64(1000+i), (minRequests-corpusRequests)/randomACLs+1, &c)
	}
	t.Logf("%d requests: %d allowed (%d remote), %d explicitly denied", c.requests.Load(), c.allowed.Load(), c.remoteAllowed.Load(), c.explicitDenied.Load())
	if c.requests.Load() < minRequests {
		t.Errorf("decided %d requests, want at least %d", c.requests.Load(), minRequests)
	}
	if c.allowed.Load() < minRequests/10 || c.remoteAllowed.Load() < 500 || c.explicitDenied.Load() < 1000 {
		t.Errorf("the requests do not exercise enough kinds of decisions")
	}
}
