package ipc_test

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net"
	"net/http"
	"path"
	"time"

	"github.com/capguard/capguard/acl"
	"github.com/capguard/capguard/examples"
	"github.com/capguard/capguard/ipc"
	"github.com/capguard/capguard/policy"
)

// A router with one app command behind the guard of the example app,
// whose "main" window may call open_vault and whose "settings" window may
// not.
func Example() {
	app, err := acl.LoadAppFS(examples.App(), examples.AppDir, acl.Linux)
	if err != nil {
		panic(err)
	}
	resolved, err := acl.Resolve(app.Manifests, app.Capabilities, acl.Linux)
	if err != nil {
		panic(err)
	}
	engine, err := policy.Compile(resolved)
	if err != nil {
		panic(err)
	}

	r := ipc.NewRouter()
	err = r.Handle("open_vault", ipc.HandlerFunc(func(ctx context.Context, inv *ipc.Invocation) (any, error) {
		return map[string]string{"opened": "by " + inv.Window}, nil
	}))
	if err != nil {
		panic(err)
	}
	g := r.Guard(engine, ipc.WithScopes(resolved))

	for _, window := range []string{"main", "settings"} {
		out, err := g.Invoke(context.Background(), &ipc.Invocation{Command: "open_vault", Window: window, Origin: acl.LocalOrigin})
		if err != nil {
			fmt.Printf("%s: rejected with %s (not allowed: %v)\n", window, ipc.RejectValue(err), errors.Is(err, ipc.ErrNotAllowed))
			continue
		}
		fmt.Printf("%s: %s\n", window, out)
	}
	// Output:
	// main: {"opened":"by main"}
	// settings: rejected with "Command open_vault not allowed by ACL" (not allowed: true)
}

// A command that enforces its scope with Tauri's rule: deny entries win,
// and when there are allow entries one of them must match. The capability
// gives window "main" the fetch command of a "net" plugin, scoped to one
// API, minus its admin path.
func ExampleDecodeScope() {
	perms, err := acl.ParsePermissionFile("net/permissions/default.toml", []byte(`
[[permission]]
identifier = "allow-fetch"
description = "fetch"
commands.allow = ["fetch"]
`))
	if err != nil {
		panic(err)
	}
	caps, err := acl.ParseCapabilityFile("capabilities/main.json", []byte(`{
  "identifier": "main",
  "windows": ["main"],
  "permissions": [{
    "identifier": "net:allow-fetch",
    "allow": [{"url": "https://api.example.com/*"}],
    "deny": [{"url": "https://api.example.com/admin*"}]
  }]
}`))
	if err != nil {
		panic(err)
	}
	set := acl.CapabilitySet{}
	if err := set.Add(caps...); err != nil {
		panic(err)
	}
	resolved, err := acl.Resolve(acl.Manifests{"net": acl.NewManifest([]*acl.PermissionFile{perms}, nil)}, set, acl.Linux)
	if err != nil {
		panic(err)
	}
	engine, err := policy.Compile(resolved)
	if err != nil {
		panic(err)
	}

	type entry struct {
		URL string `json:"url"`
	}
	r := ipc.NewRouter()
	err = r.HandlePlugin("net", "fetch", ipc.HandlerFunc(func(ctx context.Context, inv *ipc.Invocation) (any, error) {
		var args struct {
			URL string `json:"url"`
		}
		if err := json.Unmarshal(inv.Args, &args); err != nil {
			return nil, err
		}
		scope, err := ipc.DecodeScope[entry](inv)
		if err != nil {
			return nil, err
		}
		if !scope.Matches(func(e entry) bool { ok, _ := path.Match(e.URL, args.URL); return ok }) {
			return nil, fmt.Errorf("%s is outside the command's scope", args.URL)
		}
		return "fetched " + args.URL, nil
	}))
	if err != nil {
		panic(err)
	}
	g := r.Guard(engine, ipc.WithScopes(resolved))
	for _, u := range []string{"https://api.example.com/items", "https://api.example.com/admin", "https://other.example/"} {
		out, err := g.Invoke(context.Background(), &ipc.Invocation{Origin: acl.LocalOrigin,
			Command: "plugin:net|fetch", Window: "main", Args: json.RawMessage(`{"url":"` + u + `"}`),
		})
		if err != nil {
			fmt.Println("rejected:", string(ipc.RejectValue(err)))
			continue
		}
		fmt.Println("resolved:", string(out))
	}
	// Output:
	// resolved: "fetched https://api.example.com/items"
	// rejected: "https://api.example.com/admin is outside the command's scope"
	// rejected: "https://other.example/ is outside the command's scope"
}

// A guard over a policy.Store, which live reload swaps: each call is
// decided by one version of the ACL and gets that version's scopes, so a
// reload may change a command's scope while the app runs.
func ExampleVersioned() {
	scoped := func(folder string) *acl.Resolved {
		perms, err := acl.ParsePermissionFile("notes/permissions/default.toml", []byte(`
[[permission]]
identifier = "allow-read"
commands.allow = ["read"]
`))
		if err != nil {
			panic(err)
		}
		caps, err := acl.ParseCapabilityFile("capabilities/main.json", []byte(`{
  "identifier": "main-window", "windows": ["main"],
  "permissions": [{"identifier": "notes:allow-read", "allow": [{"folder": "`+folder+`"}]}]
}`))
		if err != nil {
			panic(err)
		}
		set := acl.CapabilitySet{}
		if err := set.Add(caps...); err != nil {
			panic(err)
		}
		r, err := acl.Resolve(acl.Manifests{"notes": acl.NewManifest([]*acl.PermissionFile{perms}, nil)}, set, acl.Linux)
		if err != nil {
			panic(err)
		}
		return r
	}
	ctx := context.Background()
	store, err := policy.NewStore(ctx, policy.Static(&policy.Input{Resolved: scoped("personal")}))
	if err != nil {
		panic(err)
	}
	r := ipc.NewRouter()
	err = r.HandlePlugin("notes", "read", ipc.HandlerFunc(func(_ context.Context, inv *ipc.Invocation) (any, error) {
		s, err := ipc.DecodeScope[struct{ Folder string }](inv)
		if err != nil {
			return nil, err
		}
		return s.Allow[0].Folder, nil
	}))
	if err != nil {
		panic(err)
	}
	g := r.Guard(store) // no WithScopes: the store's versions carry theirs

	read := func() {
		out, err := g.Invoke(ctx, &ipc.Invocation{Origin: acl.LocalOrigin, Command: "plugin:notes|read", Window: "main"})
		fmt.Println(string(out), err)
	}
	read()
	if _, err := store.Load(ctx, &policy.Input{Resolved: scoped("work")}); err != nil {
		panic(err)
	}
	read()
	// Output:
	// "personal" <nil>
	// "work" <nil>
}

// ExampleNewServer serves a handler (a Bridge, or the mux it is mounted
// on) with timeouts and a bound on connections: a client that stalls its
// body is cut at the read timeout, and at most MaxConns are served at once.
func ExampleNewServer() {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		panic(err)
	}
	cfg := ipc.ServerConfig{ReadTimeout: 10 * time.Second, MaxConns: 64}
	srv := ipc.NewServer(http.NotFoundHandler(), cfg)
	go func() { _ = srv.Serve(ipc.LimitListener(l, cfg)) }()
	defer srv.Close()
	fmt.Println(srv.ReadHeaderTimeout, srv.ReadTimeout, srv.WriteTimeout, srv.IdleTimeout)
	// Output: 5s 10s 3m0s 1m0s
}
