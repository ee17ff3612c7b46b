package policy_test

import (
	"context"
	"fmt"
	"math/rand/v2"
	"sort"
	"testing"

	"github.com/capguard/capguard/acl"
	"github.com/capguard/capguard/internal/policytest"
	"github.com/capguard/capguard/policy"
	"github.com/capguard/capguard/policy/rego"
)

// benchRequests picks, on r, an allowed local call matched by an exact
// window label, one matched only by a glob, and an allowed call from a
// remote page; it fails the benchmark when r has none.
func benchRequests(b *testing.B, r *acl.Resolved, n *policy.Native) (exact, glob, remote policy.Request) {
	b.Helper()
	cmds := make([]string, 0, len(r.Allowed))
	for c := range r.Allowed {
		cmds = append(cmds, c)
	}
	sort.Strings(cmds)
	rng := rand.New(rand.NewPCG(1, 1))
	allowed := func(req policy.Request) bool {
		d, _ := n.Decide(context.Background(), req)
		return d.Allowed
	}
	var haveExact, haveGlob, haveRemote bool
	for _, c := range cmds {
		for _, e := range r.Allowed[c] {
			for _, g := range append(append([]*acl.Glob(nil), e.Windows...), e.Webviews...) {
				if e.Context.IsLocal() && g.IsLiteral() && !haveExact {
					req := policy.Request{Command: c, Window: g.String(), Webview: g.String()}
					exact, haveExact = req, allowed(req)
				}
				if e.Context.IsLocal() && !g.IsLiteral() && !haveGlob {
					l := policytest.Instantiate(g.String(), rng)
					req := policy.Request{Command: c, Window: l, Webview: l}
					glob, haveGlob = req, allowed(req) && l != g.String()
				}
				if !e.Context.IsLocal() && !haveRemote {
					for _, fill := range []string{"1420", "x"} {
						o, err := acl.ParseOrigin(replaceStars(e.Context.String(), fill))
						if err != nil {
							continue
						}
						l := policytest.Instantiate(g.String(), rng)
						req := policy.Request{Command: c, Window: l, Webview: l, Origin: o}
						if allowed(req) {
							remote, haveRemote = req, true
							break
						}
					}
				}
			}
		}
	}
	if !haveExact || !haveGlob || !haveRemote {
		b.Fatalf("the ACL lacks an allowed exact (%v), glob (%v) or remote (%v) call", haveExact, haveGlob, haveRemote)
	}
	return exact, glob, remote
}

func replaceStars(s, fill string) string {
	out := make([]byte, 0, len(s))
	for i := range len(s) {
		if s[i] == '*' {
			out = append(out, fill...)
		} else {
			out = append(out, s[i])
		}
	}
	return string(out)
}

func benchDecide(b *testing.B, e policy.Engine, req policy.Request) {
	ctx := context.Background()
	d, err := e.Decide(ctx, req)
	if err != nil || !d.Allowed {
		b.Fatalf("%+v: %+v, %v; the benchmark request must be allowed", req, d, err)
	}
	b.ReportAllocs()
	b.ResetTimer()
	for b.Loop() {
		d, _ = e.Decide(ctx, req)
	}
	sink = d
}

// BenchmarkDecide compares the native and Rego engines on identical
// requests, on the largest ACL of the conformance corpus.
func BenchmarkDecide(b *testing.B) {
	a := policytest.Largest(b)
	native, err := policy.Compile(a.Resolved)
	if err != nil {
		b.Fatal(err)
	}
	re, err := rego.New(context.Background(), a.Resolved)
	if err != nil {
		b.Fatal(err)
	}
	exact, glob, remote := benchRequests(b, a.Resolved, native)
	b.Logf("ACL %s (%d commands, %d entries); local-exact %+v; local-glob %+v; remote %+v (%s)",
		a.Name, len(a.Resolved.Allowed), policytest.Entries(a.Resolved), exact, glob, remote, remote.Origin)
	b.Run("native/local-exact", func(b *testing.B) { benchDecide(b, native, exact) })
	b.Run("native/local-glob", func(b *testing.B) { benchDecide(b, native, glob) })
	b.Run("native/remote-cached", func(b *testing.B) { benchDecide(b, native, remote) })
	b.Run("native/remote-uncached", func(b *testing.B) {
		// More distinct pages than the origin cache holds, in turn: every
		// call pays the URL pattern matches.
		origins := make([]acl.Origin, 2*policy.OriginCacheSize)
		for i := range origins {
			u := remote.Origin.URL() + fmt.Sprintf("?page=%d", i)
			origins[i] = acl.MustOrigin(u)
		}
		ctx := context.Background()
		req := remote
		b.ReportAllocs()
		i := 0
		for b.Loop() {
			req.Origin = origins[i%len(origins)]
			sink, _ = native.Decide(ctx, req)
			i++
		}
	})
	for _, c := range []struct {
		name string
		req  policy.Request
	}{{"local-exact", exact}, {"remote-cached", remote}} {
		req := c.req
		b.Run("native/parallel/"+c.name, func(b *testing.B) {
			ctx := context.Background()
			b.ReportAllocs()
			b.RunParallel(func(pb *testing.PB) {
				for pb.Next() {
					if d, _ := native.Decide(ctx, req); !d.Allowed {
						b.Error("denied")
						return
					}
				}
			})
		})
	}
	b.Run("rego/local-exact", func(b *testing.B) { benchDecide(b, re, exact) })
	b.Run("rego/local-glob", func(b *testing.B) { benchDecide(b, re, glob) })
	b.Run("rego/remote", func(b *testing.B) { benchDecide(b, re, remote) })
}

// scaleACL resolves an ACL of n commands of one plugin, granted to window
// "main" and to windows matching "w-*" by three capabilities.
func scaleACL(b *testing.B, n int) *acl.Resolved {
	m := &acl.Manifest{Permissions: map[string]*acl.Permission{}, Sets: map[string]*acl.PermissionSet{}}
	var entries []acl.PermissionEntry
	for i := range n {
		id := fmt.Sprintf("allow-c%d", i)
		m.Permissions[id] = &acl.Permission{Identifier: id, Commands: acl.Commands{Allow: []string{fmt.Sprintf("c%d", i)}}}
		entries = append(entries, acl.PermissionEntry{Identifier: acl.MustIdentifier("p:" + id)})
	}
	caps := acl.CapabilitySet{}
	for i, w := range [][]string{{"main"}, {"w-*"}, {"settings", "about"}} {
		if err := caps.Add(&acl.Capability{Identifier: fmt.Sprintf("cap-%d", i), Local: true, Windows: w, Permissions: entries}); err != nil {
			b.Fatal(err)
		}
	}
	r, err := acl.Resolve(acl.Manifests{"p": m}, caps, acl.Linux)
	if err != nil {
		b.Fatal(err)
	}
	return r
}

// BenchmarkDecideScale measures a decision on ACLs of 10 to 10,000
// commands: the native engine's cost does not depend on the ACL's size.
func BenchmarkDecideScale(b *testing.B) {
	for _, n := range []int{10, 100, 1000, 10000} {
		r := scaleACL(b, n)
		native, err := policy.Compile(r)
		if err != nil {
			b.Fatal(err)
		}
		re, err := rego.New(context.Background(), r)
		if err != nil {
			b.Fatal(err)
		}
		req := policy.Request{Command: fmt.Sprintf("plugin:p|c%d", n/2), Window: "main", Webview: "main"}
		glob := policy.Request{Command: fmt.Sprintf("plugin:p|c%d", n/3), Window: "w-7", Webview: "w-7"}
		b.Run(fmt.Sprintf("native/commands=%d/local-exact", n), func(b *testing.B) { benchDecide(b, native, req) })
		b.Run(fmt.Sprintf("native/commands=%d/local-glob", n), func(b *testing.B) { benchDecide(b, native, glob) })
		b.Run(fmt.Sprintf("rego/commands=%d/local-exact", n), func(b *testing.B) { benchDecide(b, re, req) })
	}
}

// BenchmarkCompile measures building the engines for the largest ACL.
func BenchmarkCompile(b *testing.B) {
	a := policytest.Largest(b)
	b.Run("native", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			if _, err := policy.Compile(a.Resolved); err != nil {
				b.Fatal(err)
			}
		}
	})
	b.Run("rego", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			if _, err := rego.New(context.Background(), a.Resolved); err != nil {
				b.Fatal(err)
			}
		}
	})
}

// BenchmarkReference measures acl.Resolved.Decide, the reference the
// native engine is checked against, on the same requests.
func BenchmarkReference(b *testing.B) {
	a := policytest.Largest(b)
	native, err := policy.Compile(a.Resolved)
	if err != nil {
		b.Fatal(err)
	}
	exact, _, remote := benchRequests(b, a.Resolved, native)
	for _, c := range []struct {
		name string
		req  policy.Request
	}{{"local-exact", exact}, {"remote", remote}} {
		req := c.req
		b.Run(c.name, func(b *testing.B) {
			areq := acl.Request{Command: req.Command, Window: req.Window, Webview: req.Webview, Origin: req.Origin}
			b.ReportAllocs()
			for b.Loop() {
				_ = a.Resolved.Decide(areq)
			}
		})
	}
}
