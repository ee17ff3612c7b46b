package capguard_test

import (
	"context"
	"errors"
	"os/exec"
	"path/filepath"
	"sort"
	"strings"
	"testing"

	"github.com/capguard/capguard"
	"github.com/capguard/capguard/acl"
	"github.com/capguard/capguard/internal/conformance"
	"github.com/capguard/capguard/ipc"
	"github.com/capguard/capguard/native/sim"
)

// TestRealAppsThroughTheGuard loads each of the 34 real apps of the
// conformance corpus with capguard.Load, for every target its committed
// manifests can resolve, and sends every command its ACL mentions from
// every window its capabilities name (and one they do not), locally and
// from an unrelated remote page. The guard must agree with the reference
// decision: a denied call fails with ErrNotAllowed, an allowed one passes
// the guard and, as the app's own commands are not registered here, ends
// with Tauri's "Command ... not found" (or runs, for the commands of the
// biometric and biometry plugins, which capguard serves).
func TestRealAppsThroughTheGuard(t *testing.T) {
	apps := conformance.Apps(t)
	for _, name := range apps {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			dir := filepath.Join(conformance.Path(t, "apps", name), "src-tauri")
			loaded, checked := 0, 0
			for _, target := range acl.Targets {
				app, err := capguard.Load(dir, target, sim.New(sim.Ready()))
				if err != nil {
					// The committed manifests were built for other targets:
					// a capability of this target names a plugin they lack.
					if !errors.Is(err, acl.ErrUnknownPermission) {
						t.Errorf("%s: %v", target, err)
					}
					continue
				}
				loaded++
				checked += checkApp(t, target, app)
			}
			t.Logf("%d targets loaded, %d calls checked", loaded, checked)
			if loaded == 0 || checked == 0 {
				t.Errorf("%d targets of %s load, %d calls checked", loaded, name, checked)
			}
		})
	}
}

// checkApp sends the calls and returns how many it checked. The commands
// are those of the ACL's entries and every command the manifests'
// permissions name (most of them granted to no window).
func checkApp(t *testing.T, target acl.Target, app *capguard.App) int {
	res := app.ACL
	commands := map[string]bool{"plugin:biometric|status": true}
	for key, m := range res.Manifests {
		for _, p := range m.Permissions {
			for _, c := range append(append([]string{}, p.Commands.Allow...), p.Commands.Deny...) {
				commands[acl.CommandName(key, c)] = true
			}
		}
	}
	labels := map[string]bool{"not-a-window": true, "main": true}
	for _, m := range []map[string][]*acl.ResolvedCommand{res.Allowed, res.Denied} {
		for cmd, entries := range m {
			commands[cmd] = true
			for _, e := range entries {
				for _, g := range append(append([]*acl.Glob{}, e.Windows...), e.Webviews...) {
					labels[strings.NewReplacer("*", "x", "?", "x", "[", "", "]", "", "!", "").Replace(g.String())] = true
				}
			}
		}
	}
	unrelated := acl.MustOrigin("https://unrelated.example/")
	checked := 0
	for cmd := range commands {
		for label := range labels {
			for _, origin := range []acl.Origin{acl.LocalOrigin, unrelated} {
				want := res.Decide(acl.Request{Command: cmd, Window: label, Webview: label, Origin: origin}).Allowed
				_, err := app.Invoke(context.Background(), &ipc.Invocation{Command: cmd, Window: label, Origin: origin})
				denied := errors.Is(err, ipc.ErrNotAllowed)
				if denied == want {
					t.Errorf("%s: %s from %q (%s): reference allowed=%v, guard: %v", target, cmd, label, origin, want, err)
				}
				if want && err != nil && !errors.Is(err, ipc.ErrNotFound) && !strings.HasPrefix(cmd, "plugin:biometric|") && !strings.HasPrefix(cmd, "plugin:biometry|") {
					t.Errorf("%s: %s from %q: allowed, but %v", target, cmd, label, err)
				}
				checked++
			}
		}
	}
	return checked
}

// TestDependencyBoundaries: an app that embeds the guard does not carry
// OPA, godbus, cobra, jsonschema or go-tpm (DESIGN.md).
func TestDependencyBoundaries(t *testing.T) {
	gobin := "go" // go test puts its own GOROOT/bin first on PATH
	pkgs := []string{".", "./ipc", "./biometric", "./native", "./native/sim"}
	out, err := exec.Command(gobin, append([]string{"list", "-deps"}, pkgs...)...).Output()
	if err != nil {
		t.Fatalf("go list: %v", err)
	}
	deps := strings.Fields(string(out))
	sort.Strings(deps)
	var bad []string
	for _, d := range deps {
		for _, banned := range []string{"github.com/open-policy-agent/", "github.com/godbus/", "github.com/spf13/cobra", "github.com/santhosh-tekuri/jsonschema", "github.com/google/go-tpm"} {
			if strings.HasPrefix(d, banned) {
				bad = append(bad, d)
			}
		}
	}
	if len(bad) > 0 {
		t.Errorf("the guard's packages pull in %s", strings.Join(bad, ", "))
	}
	// The check can fail: the command line does pull cobra.
	out, err = exec.Command(gobin, "list", "-deps", "./cmd/capguard").Output()
	if err != nil || !strings.Contains(string(out), "github.com/spf13/cobra\n") {
		t.Errorf("go list -deps ./cmd/capguard does not list cobra (%v): the check is blind", err)
	}
	// native must not depend on the model, the engines or the plugin.
	out, err = exec.Command(gobin, "list", "-deps", "./native").Output()
	if err != nil {
		t.Fatalf("go list: %v", err)
	}
	for _, d := range strings.Fields(string(out)) {
		for _, banned := range []string{"/acl", "/policy", "/biometric", "/ipc"} {
			if strings.HasPrefix(d, "github.com/capguard/capguard") && strings.HasSuffix(d, banned) {
				t.Errorf("native depends on %s", d)
			}
		}
	}
}
