package policy_test

import (
	"context"
	"math/rand/v2"
	"testing"

	"github.com/capguard/capguard/acl"
	"github.com/capguard/capguard/internal/policytest"
	"github.com/capguard/capguard/policy"
)

var sink policy.Decision

// labelRequests returns, for every command of r, requests from its own
// labels (literal, and glob instantiations), edge-case labels and an
// unknown command, from the given origins.
func labelRequests(r *acl.Resolved, origins []acl.Origin) []policy.Request {
	rng := rand.New(rand.NewPCG(1, 2))
	var reqs []policy.Request
	add := func(cmd, w, v string) {
		for _, o := range origins {
			reqs = append(reqs, policy.Request{Command: cmd, Window: w, Webview: v, Origin: o})
		}
	}
	for _, m := range []map[string][]*acl.ResolvedCommand{r.Allowed, r.Denied} {
		for cmd, list := range m {
			for _, e := range list {
				for _, g := range append(append([]*acl.Glob(nil), e.Windows...), e.Webviews...) {
					l := policytest.Instantiate(g.String(), rng)
					add(cmd, l, l)
					add(cmd, "other", l)
					add(cmd, l, "other")
				}
			}
			for _, l := range policytest.LabelEdgeCases {
				add(cmd, l, l)
			}
		}
	}
	add("plugin:nope|nothing", "main", "main")
	return reqs
}

// checkZeroAllocs decides every request repeatedly and fails if deciding
// them allocates (after a first, warm-up round that fills the caches).
func checkZeroAllocs(t *testing.T, n *policy.Native, reqs []policy.Request) (allowed, denied int) {
	t.Helper()
	ctx := context.Background()
	for _, req := range reqs {
		d, _ := n.Decide(ctx, req)
		if d.Allowed {
			allowed++
		} else {
			denied++
		}
	}
	allocs := testing.AllocsPerRun(10, func() {
		for _, req := range reqs {
			sink, _ = n.Decide(ctx, req)
		}
	})
	if allocs != 0 {
		// Find the culprits for the message.
		for _, req := range reqs {
			if a := testing.AllocsPerRun(5, func() { sink, _ = n.Decide(ctx, req) }); a != 0 {
				t.Errorf("%+v (origin %s): %v allocations per decision", req, req.Origin, a)
			}
		}
		t.Fatalf("%v allocations per round of %d decisions, want 0", allocs, len(reqs))
	}
	return allowed, denied
}

// TestNativeZeroAllocs checks that the native engine does not allocate
// for local calls, from any window, on the largest ACL of the corpus.
func TestNativeZeroAllocs(t *testing.T) {
	a := policytest.Largest(t)
	n, err := policy.Compile(a.Resolved)
	if err != nil {
		t.Fatal(err)
	}
	reqs := labelRequests(a.Resolved, []acl.Origin{acl.LocalOrigin})
	allowed, denied := checkZeroAllocs(t, n, reqs)
	t.Logf("%s: %d local decisions per round (%d allowed, %d denied), 0 allocations", a.Name, len(reqs), allowed, denied)
	if allowed == 0 || denied == 0 {
		t.Fatalf("the requests must include allowed and denied calls: %d allowed, %d denied", allowed, denied)
	}
}

// TestNativeZeroAllocsDenyAndRemote covers explicit denials and remote
// pages whose URL is in the origin cache.
func TestNativeZeroAllocsDenyAndRemote(t *testing.T) {
	r := unitACL(t)
	n, err := policy.Compile(r)
	if err != nil {
		t.Fatal(err)
	}
	origins := []acl.Origin{acl.LocalOrigin, acl.MustOrigin("https://a.example/page"), acl.MustOrigin("https://a.example/admin/x"), acl.MustOrigin("https://b.a.example/")}
	reqs := labelRequests(r, origins)
	allowed, denied := checkZeroAllocs(t, n, reqs)
	explicit := 0
	for _, req := range reqs {
		if d, _ := n.Decide(context.Background(), req); len(d.References) > 0 && !d.Allowed {
			explicit++
		}
	}
	if allowed == 0 || explicit == 0 {
		t.Fatalf("want allowed calls and explicit denials: %d allowed, %d denied, %d explicitly", allowed, denied, explicit)
	}
}
