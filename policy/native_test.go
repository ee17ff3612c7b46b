package policy_test

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"sync"
	"testing"

	"github.com/capguard/capguard/acl"
	"github.com/capguard/capguard/policy"
	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"
)

// unitACL is a small ACL with every feature the engines decide on: exact
// windows, webview globs, a remote-only capability, two remote patterns
// matching the same page, a deny in a remote context and a local deny in
// a capability for another window.
func unitACL(t testing.TB) *acl.Resolved {
	t.Helper()
	perm := func(id string, allow, deny []string, scoped bool) *acl.Permission {
		p := &acl.Permission{Identifier: id, Commands: acl.Commands{Allow: allow, Deny: deny}}
		if scoped {
			p.Scope = acl.Scopes{Allow: []acl.Value{acl.String("$APP/*")}}
		}
		return p
	}
	manifest := func(ps ...*acl.Permission) *acl.Manifest {
		m := &acl.Manifest{Permissions: map[string]*acl.Permission{}, Sets: map[string]*acl.PermissionSet{}}
		for _, p := range ps {
			m.Permissions[p.Identifier] = p
		}
		return m
	}
	ms := acl.Manifests{
		"fs": manifest(perm("allow-read", []string{"read"}, nil, false), perm("deny-read", nil, []string{"read"}, false),
			perm("scoped-write", []string{"write"}, nil, true)),
		"shell":    manifest(perm("allow-open", []string{"open"}, nil, false)),
		acl.AppKey: manifest(perm("allow-open-vault", []string{"open_vault"}, nil, false), perm("deny-open-vault", nil, []string{"open_vault"}, false)),
	}
	entries := func(ids ...string) []acl.PermissionEntry {
		out := make([]acl.PermissionEntry, len(ids))
		for i, id := range ids {
			out[i] = acl.PermissionEntry{Identifier: acl.MustIdentifier(id)}
		}
		return out
	}
	caps := acl.CapabilitySet{}
	for _, c := range []*acl.Capability{
		{Identifier: "main", Local: true, Windows: []string{"main"}, Permissions: entries("fs:allow-read", "fs:scoped-write", "allow-open-vault")},
		{Identifier: "ext", Local: true, Webviews: []string{"ext_*"}, Remote: &acl.Remote{URLs: []string{"https://a.example/*"}}, Permissions: entries("fs:allow-read")},
		{Identifier: "kiosk", Local: false, Windows: []string{"kiosk"}, Remote: &acl.Remote{URLs: []string{"https://a.example/admin/*"}}, Permissions: entries("fs:deny-read")},
		{Identifier: "remote-only", Local: false, Windows: []string{"*"}, Remote: &acl.Remote{URLs: []string{"https://*.a.example/*"}}, Permissions: entries("shell:allow-open")},
		{Identifier: "vault-deny", Local: true, Windows: []string{"kiosk"}, Permissions: entries("deny-open-vault")},
	} {
		if err := caps.Add(c); err != nil {
			t.Fatal(err)
		}
	}
	r, err := acl.Resolve(ms, caps, acl.Linux)
	if err != nil {
		t.Fatal(err)
	}
	return r
}

func toPolicy(r acl.Request) policy.Request {
	return policy.Request{Command: r.Command, Window: r.Window, Webview: r.Webview, Origin: r.Origin}
}

// reference is what the native engine must answer: acl.Resolved.Decide's
// entries, as a policy.Decision.
func reference(r *acl.Resolved, req acl.Request) (policy.Decision, acl.Decision) {
	d := r.Decide(req)
	return policy.FromEntries(r, toPolicy(req), d.Matches, d.DeniedBy), d
}

var equateEmpty = cmpopts.EquateEmpty()

func TestNativeDecide(t *testing.T) {
	r := unitACL(t)
	n, err := policy.Compile(r)
	if err != nil {
		t.Fatal(err)
	}
	local := acl.LocalOrigin
	page := acl.MustOrigin("https://a.example/page")
	admin := acl.MustOrigin("https://a.example/admin/x")
	sub := acl.MustOrigin("https://b.a.example/")
	tests := []struct {
		name    string
		req     acl.Request
		allowed bool
		caps    []string // capabilities of the References
		reason  string   // a part of the Reason
	}{
		{"exact window", acl.Request{Command: "plugin:fs|read", Window: "main", Webview: "main", Origin: local}, true, []string{"main"}, `allowed by capability "main"`},
		{"scoped command", acl.Request{Command: "plugin:fs|write", Window: "main", Webview: "main", Origin: local}, true, []string{"main"}, "fs:scoped-write"},
		{"labels are case sensitive", acl.Request{Command: "plugin:fs|read", Window: "Main", Webview: "Main", Origin: local}, false, nil, "not allowed on this window"},
		{"webview glob", acl.Request{Command: "plugin:fs|read", Window: "x", Webview: "ext_1", Origin: local}, true, []string{"ext"}, `capability "ext"`},
		{"webview glob needs its prefix", acl.Request{Command: "plugin:fs|read", Window: "x", Webview: "ext", Origin: local}, false, nil, "fs.read not allowed"},
		{"window label does not match a webview pattern", acl.Request{Command: "plugin:fs|read", Window: "ext_1", Webview: "x", Origin: local}, false, nil, "not allowed"},
		{"remote page of a local and remote capability", acl.Request{Command: "plugin:fs|read", Window: "x", Webview: "ext_1", Origin: page}, true, []string{"ext"}, "https://a.example/*"},
		{"local window from a remote page", acl.Request{Command: "plugin:fs|read", Window: "main", Webview: "main", Origin: page}, false, nil, "not allowed"},
		{"deny of an overlapping remote context", acl.Request{Command: "plugin:fs|read", Window: "x", Webview: "ext_1", Origin: admin}, false, []string{"kiosk"}, "explicitly denied"},
		{"remote deny does not apply locally", acl.Request{Command: "plugin:fs|read", Window: "main", Webview: "main", Origin: local}, true, []string{"main"}, "Tauri 2.11 and earlier would deny it"},
		{"local deny ignores labels", acl.Request{Command: "open_vault", Window: "main", Webview: "main", Origin: local}, false, []string{"vault-deny"}, `explicitly denied by capability "vault-deny"`},
		{"deny applies without labels", acl.Request{Command: "open_vault", Origin: local}, false, []string{"vault-deny"}, "explicitly denied"},
		{"remote-only capability, local call", acl.Request{Command: "plugin:shell|open", Window: "w", Webview: "w", Origin: local}, false, nil, "not allowed"},
		{"remote-only capability, matching page", acl.Request{Command: "plugin:shell|open", Window: "w", Webview: "w", Origin: sub}, true, []string{"remote-only"}, "remote-only"},
		{"remote-only capability, other host", acl.Request{Command: "plugin:shell|open", Window: "w", Webview: "w", Origin: page}, false, nil, "not allowed"},
		{"unknown command", acl.Request{Command: "plugin:fs|remove", Window: "main", Webview: "main", Origin: local}, false, nil, policy.ReasonUnknownCommand},
		{"empty command", acl.Request{Window: "main", Webview: "main", Origin: local}, false, nil, policy.ReasonUnknownCommand},
		{"empty window", acl.Request{Command: "plugin:fs|read", Webview: "main", Origin: local}, false, nil, policy.ReasonNoLabel},
		{"empty webview", acl.Request{Command: "plugin:fs|read", Window: "main", Origin: local}, false, nil, policy.ReasonNoLabel},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := n.Decide(context.Background(), toPolicy(tt.req))
			if err != nil {
				t.Fatal(err)
			}
			want, ad := reference(r, tt.req)
			if got.Allowed != tt.allowed || ad.Allowed != tt.allowed {
				t.Fatalf("allowed: native %v, acl %v, want %v (%s)", got.Allowed, ad.Allowed, tt.allowed, got.Reason)
			}
			if diff := cmp.Diff(want, got, equateEmpty); diff != "" {
				t.Errorf("native differs from acl.Resolved.Decide (-acl +native):\n%s", diff)
			}
			var caps []string
			for _, ref := range got.References {
				caps = append(caps, ref.Capability)
			}
			if diff := cmp.Diff(tt.caps, caps, equateEmpty); diff != "" {
				t.Errorf("reference capabilities (-want +got):\n%s", diff)
			}
			if !strings.Contains(got.Reason, tt.reason) {
				t.Errorf("reason %q does not contain %q", got.Reason, tt.reason)
			}
			if got.Allowed && ad.ScopeIDs() != nil && !cmp.Equal(ad.ScopeIDs(), got.ScopeIDs) {
				t.Errorf("scope ids %v, acl %v", got.ScopeIDs, ad.ScopeIDs())
			}
		})
	}
}

func TestNativeScopeIDs(t *testing.T) {
	r := unitACL(t)
	n, err := policy.Compile(r)
	if err != nil {
		t.Fatal(err)
	}
	d, _ := n.Decide(context.Background(), policy.Request{Command: "plugin:fs|write", Window: "main", Webview: "main"})
	if len(d.ScopeIDs) != 1 || r.CommandScopes[d.ScopeIDs[0]] == nil {
		t.Fatalf("scope ids %v: want the one command scope of fs:scoped-write (scopes %v)", d.ScopeIDs, r.CommandScopes)
	}
	if got := r.CommandScopes[d.ScopeIDs[0]].Allow[0].Str(); got != "$APP/*" {
		t.Errorf("scope %d allows %q, want $APP/*", d.ScopeIDs[0], got)
	}
	d, _ = n.Decide(context.Background(), policy.Request{Command: "plugin:fs|read", Window: "main", Webview: "main"})
	if d.ScopeIDs != nil {
		t.Errorf("fs read has no command scope, got %v", d.ScopeIDs)
	}
}

func TestNativeExplain(t *testing.T) {
	r := unitACL(t)
	n, err := policy.Compile(r)
	if err != nil {
		t.Fatal(err)
	}
	req := policy.Request{Command: "plugin:fs|read", Window: "Main", Webview: "Main"}
	want := r.Decide(acl.Request{Command: req.Command, Window: req.Window, Webview: req.Webview}).Message
	if got := n.Explain(req); got != want || !strings.Contains(got, `not allowed on window "Main"`) {
		t.Errorf("Explain = %q, want acl's message %q", got, want)
	}
	if n.Resolved() != r {
		t.Error("Resolved does not return the compiled ACL")
	}
}

func TestCompileErrors(t *testing.T) {
	good := unitACL(t)
	nilEntry := &acl.Resolved{Allowed: map[string][]*acl.ResolvedCommand{"x": {nil}}}
	var someEntry *acl.ResolvedCommand
	for _, l := range good.Allowed {
		someEntry = l[0]
		break
	}
	broken := *someEntry
	broken.Windows = []*acl.Glob{nil}
	nilGlob := &acl.Resolved{Denied: map[string][]*acl.ResolvedCommand{"x": {&broken}}}
	tests := []struct {
		name string
		r    *acl.Resolved
		msg  string
	}{
		{"nil resolved", nil, "nil resolved ACL"},
		{"nil entry", nilEntry, `command "x" has a nil entry`},
		{"nil glob", nilGlob, `command "x" has a nil label pattern`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			n, err := policy.Compile(tt.r)
			if err == nil || n != nil {
				t.Fatalf("Compile = %v, %v; want an error", n, err)
			}
			if !errors.Is(err, acl.ErrInvalid) || !strings.Contains(err.Error(), tt.msg) {
				t.Errorf("error %q: want ErrInvalid and %q", err, tt.msg)
			}
		})
	}
	t.Run("empty ACL denies everything", func(t *testing.T) {
		n, err := policy.Compile(&acl.Resolved{})
		if err != nil {
			t.Fatal(err)
		}
		d, err := n.Decide(context.Background(), policy.Request{Command: "plugin:fs|read", Window: "main", Webview: "main"})
		if err != nil || d.Allowed {
			t.Errorf("empty ACL: %+v, %v", d, err)
		}
	})
	t.Run("nil engine fails closed", func(t *testing.T) {
		var n *policy.Native
		d, err := n.Decide(context.Background(), policy.Request{Command: "plugin:fs|read", Window: "main", Webview: "main"})
		if !errors.Is(err, policy.ErrNilEngine) || d.Allowed {
			t.Errorf("nil engine: %+v, %v", d, err)
		}
	})
}

// TestNativeConcurrent decides from several goroutines at once, on the
// shared caches (run with -race), and checks every answer.
func TestNativeConcurrent(t *testing.T) {
	r := unitACL(t)
	n, err := policy.Compile(r)
	if err != nil {
		t.Fatal(err)
	}
	var reqs []acl.Request
	for _, cmd := range []string{"plugin:fs|read", "plugin:fs|write", "plugin:shell|open", "open_vault", "nope"} {
		for _, w := range []string{"main", "ext_1", "kiosk", "x", ""} {
			for i := range 40 {
				o := acl.LocalOrigin
				if i > 0 {
					o = acl.MustOrigin(fmt.Sprintf("https://h%d.a.example/admin/%d", i%7, i))
				}
				reqs = append(reqs, acl.Request{Command: cmd, Window: w, Webview: w, Origin: o})
			}
		}
	}
	want := make([]policy.Decision, len(reqs))
	for i, req := range reqs {
		want[i], _ = reference(r, req)
	}
	var wg sync.WaitGroup
	errs := make(chan string, 8)
	for g := range 8 {
		wg.Go(func() {
			for k := range reqs {
				i := (k*7 + g*13) % len(reqs)
				got, _ := n.Decide(context.Background(), toPolicy(reqs[i]))
				if !cmp.Equal(want[i], got, equateEmpty) {
					errs <- fmt.Sprintf("%+v: got %+v, want %+v", reqs[i], got, want[i])
					return
				}
			}
		})
	}
	wg.Wait()
	close(errs)
	for e := range errs {
		t.Error(e)
	}
}
