package ipc_test

import (
	"context"
	"testing"

	"github.com/capguard/capguard/acl"
	"github.com/capguard/capguard/ipc"
	"github.com/capguard/capguard/policy"
)

// filesPermissions is a small plugin in the shape of Tauri's fs plugin:
// commands with scoped permissions, and a permission without commands that
// feeds the plugin's global scope.
const filesPermissions = `
[default]
description = "stat, write and the docs folder"
permissions = ["allow-stat", "allow-write", "global-docs"]

[[permission]]
identifier = "allow-read"
description = "read"
commands.allow = ["read"]

[[permission]]
identifier = "allow-stat"
description = "stat"
commands.allow = ["stat"]

[[permission]]
identifier = "allow-write"
description = "write"
commands.allow = ["write"]

[[permission]]
identifier = "deny-write"
description = "no write"
commands.deny = ["write"]

[[permission]]
identifier = "global-docs"
description = "the docs folder, for every command"
scope.allow = [{ path = "/home/u/docs/*" }]
scope.deny = [{ path = "/home/u/docs/private" }]
`

// filesCapabilities: "main" may read (with a command scope), stat and
// write; pages of app.example.com in "main" may stat; the "lock"
// capability denies write, which (as in Tauri) applies to every window of
// the local context.
const filesCapabilities = `[
  {
    "identifier": "main",
    "windows": ["main"],
    "permissions": [
      "files:default",
      {
        "identifier": "files:allow-read",
        "allow": [{ "path": "/home/u/notes/*" }],
        "deny": [{ "path": "/home/u/notes/secret" }]
      }
    ]
  },
  {
    "identifier": "remote",
    "remote": { "urls": ["https://app.example.com/*"] },
    "windows": ["main"],
    "permissions": ["files:allow-stat"]
  },
  {
    "identifier": "lock",
    "windows": ["kiosk"],
    "permissions": ["files:deny-write"]
  },
  {
    "identifier": "panel",
    "webviews": ["panel"],
    "permissions": ["files:allow-stat"]
  }
]`

// resolveFiles resolves the fixture for linux.
func resolveFiles(t testing.TB) *acl.Resolved {
	t.Helper()
	pf, err := acl.ParsePermissionFile("files/permissions/default.toml", []byte(filesPermissions))
	if err != nil {
		t.Fatal(err)
	}
	caps, err := acl.ParseCapabilityFile("capabilities/files.json", []byte(filesCapabilities))
	if err != nil {
		t.Fatal(err)
	}
	set := acl.CapabilitySet{}
	if err := set.Add(caps...); err != nil {
		t.Fatal(err)
	}
	r, err := acl.Resolve(acl.Manifests{"files": acl.NewManifest([]*acl.PermissionFile{pf}, nil)}, set, acl.Linux)
	if err != nil {
		t.Fatal(err)
	}
	return r
}

func compile(t testing.TB, r *acl.Resolved) *policy.Native {
	t.Helper()
	n, err := policy.Compile(r)
	if err != nil {
		t.Fatal(err)
	}
	return n
}

// recorder is a handler that records the invocations it receives.
type recorder struct {
	calls []*ipc.Invocation
	reply any
	err   error
}

func (h *recorder) ServeIPC(_ context.Context, inv *ipc.Invocation) (any, error) {
	h.calls = append(h.calls, inv)
	return h.reply, h.err
}

// failingEngine is an engine that cannot decide.
type failingEngine struct{ err error }

func (e failingEngine) Decide(context.Context, policy.Request) (policy.Decision, error) {
	return policy.Decision{Allowed: true}, e.err
}

// obligingEngine adds obligations to another engine's allowed decisions,
// as a Rego policy with obligations does.
type obligingEngine struct {
	policy.Engine
	obligations []policy.Obligation
}

func (e obligingEngine) Decide(ctx context.Context, req policy.Request) (policy.Decision, error) {
	d, err := e.Engine.Decide(ctx, req)
	if d.Allowed {
		d.Obligations = e.obligations
	}
	return d, err
}

var remote = acl.MustOrigin("https://app.example.com/page")
var evil = acl.MustOrigin("https://evil.example/page")
