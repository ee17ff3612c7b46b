package policytest

import (
	"fmt"
	"math/rand/v2"

	"github.com/capguard/capguard/acl"
)

// GlobPool are the window and webview patterns random ACLs use: literals,
// `*`, `?`, `**` components, classes, a negated class and an empty range.
var GlobPool = []string{
	"main", "main-*", "*", "w?", "[a-c]*", "[!m]*", "**", "x/**", "a/**/b", "kiosk",
	"ext_*", "**/main", "[z-a]", "?*?", "w-1", "settings", "*/*", "[ü]x",
}

// RemotePool are the remote URL patterns random ACLs use, several of which
// can match the same page.
var RemotePool = []string{
	"https://a.example/*", "https://*.a.example/*", "http://localhost:*", "tauri://localhost",
	"https://a.example/admin/*", "https://tauri.app", "http://127.0.0.1:*/*",
}

// RandomACL builds and resolves a random ACL: two plugins and core:window
// with allow, deny and scoped permissions, sets and a default set; an app
// manifest; and up to seven capabilities with random windows, webviews,
// local flag and remote URL patterns. With big, it adds 70 capabilities
// that all grant (and some deny) one command, which takes a command past
// the native engine's 64-entry masks.
func RandomACL(rng *rand.Rand, big bool) (*acl.Resolved, error) {
	ms := acl.Manifests{}
	var ids []string
	for _, key := range []string{"p0", "p1", "core:window"} {
		m := &acl.Manifest{Permissions: map[string]*acl.Permission{}, Sets: map[string]*acl.PermissionSet{}}
		var names []string
		for k := range 5 {
			cmd := fmt.Sprintf("c%d", k)
			m.Commands = append(m.Commands, cmd)
			add := func(p *acl.Permission) {
				m.Permissions[p.Identifier] = p
				names = append(names, p.Identifier)
			}
			add(&acl.Permission{Identifier: "allow-" + cmd, Commands: acl.Commands{Allow: []string{cmd}}})
			add(&acl.Permission{Identifier: "deny-" + cmd, Commands: acl.Commands{Deny: []string{cmd}}})
			add(&acl.Permission{Identifier: "scoped-" + cmd, Commands: acl.Commands{Allow: []string{cmd}},
				Scope: acl.Scopes{Allow: []acl.Value{acl.String("$HOME/" + cmd)}}})
		}
		m.Permissions["global"] = &acl.Permission{Identifier: "global", Scope: acl.Scopes{Allow: []acl.Value{acl.String("$APP")}}}
		set := &acl.PermissionSet{Identifier: "set-a"}
		for range 1 + rng.IntN(3) {
			set.Permissions = append(set.Permissions, names[rng.IntN(len(names))])
		}
		m.Sets["set-a"] = set
		m.Default = &acl.PermissionSet{Identifier: "default", Permissions: []string{"allow-c0", "set-a"}}
		ms[key] = m
		for _, n := range append(names, "set-a", "default", "global") {
			ids = append(ids, key+":"+n)
		}
	}
	ms[acl.AppKey] = &acl.Manifest{
		Permissions: map[string]*acl.Permission{
			"allow-open-vault": {Identifier: "allow-open-vault", Commands: acl.Commands{Allow: []string{"open_vault"}}},
			"deny-open-vault":  {Identifier: "deny-open-vault", Commands: acl.Commands{Deny: []string{"open_vault"}}},
		},
		Sets: map[string]*acl.PermissionSet{},
	}
	ids = append(ids, "allow-open-vault", "deny-open-vault")

	caps := acl.CapabilitySet{}
	for i := range 1 + rng.IntN(7) {
		c := &acl.Capability{Identifier: fmt.Sprintf("cap-%d", i), Local: rng.IntN(5) > 0}
		if !c.Local || rng.IntN(3) == 0 {
			c.Remote = &acl.Remote{}
			for range 1 + rng.IntN(2) {
				c.Remote.URLs = append(c.Remote.URLs, RemotePool[rng.IntN(len(RemotePool))])
			}
		}
		for range rng.IntN(4) {
			c.Windows = append(c.Windows, GlobPool[rng.IntN(len(GlobPool))])
		}
		if rng.IntN(3) == 0 {
			for range 1 + rng.IntN(2) {
				c.Webviews = append(c.Webviews, GlobPool[rng.IntN(len(GlobPool))])
			}
		}
		for range 1 + rng.IntN(6) {
			e := acl.PermissionEntry{Identifier: acl.MustIdentifier(ids[rng.IntN(len(ids))])}
			if rng.IntN(4) == 0 {
				e.Extended = true
				e.Scope = acl.Scopes{Allow: []acl.Value{acl.String(fmt.Sprintf("$DATA/%d", i))}}
			}
			c.Permissions = append(c.Permissions, e)
		}
		if err := caps.Add(c); err != nil {
			return nil, err
		}
	}
	if big {
		for i := range 70 {
			c := &acl.Capability{
				Identifier:  fmt.Sprintf("big-%02d", i),
				Local:       rng.IntN(4) > 0,
				Windows:     []string{fmt.Sprintf("w-%d", i), GlobPool[rng.IntN(len(GlobPool))]},
				Permissions: []acl.PermissionEntry{{Identifier: acl.MustIdentifier("p0:scoped-c1")}},
			}
			if !c.Local || rng.IntN(3) == 0 {
				c.Remote = &acl.Remote{URLs: []string{RemotePool[rng.IntN(len(RemotePool))]}}
			}
			if rng.IntN(12) == 0 {
				c.Permissions = append(c.Permissions, acl.PermissionEntry{Identifier: acl.MustIdentifier("p0:deny-c1")})
			}
			if err := caps.Add(c); err != nil {
				return nil, err
			}
		}
	}
	return acl.Resolve(ms, caps, acl.Linux)
}
