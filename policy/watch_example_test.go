package policy_test

import (
	"context"
	"fmt"
	"os"
	"path/filepath"

	"github.com/capguard/capguard/acl"
	"github.com/capguard/capguard/examples"
	"github.com/capguard/capguard/policy"
)

// ExampleWatch reloads an app's capabilities when a file changes: the
// settings window is granted open_vault while the store keeps deciding.
func ExampleWatch() {
	dir, err := os.MkdirTemp("", "src-tauri")
	if err != nil {
		panic(err)
	}
	defer os.RemoveAll(dir)
	if err := os.CopyFS(dir, examples.App()); err != nil {
		panic(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	store, err := policy.NewStore(ctx, policy.AppSource(dir, acl.Linux, nil))
	if err != nil {
		panic(err)
	}
	reloaded := make(chan policy.ReloadEvent, 1)
	w, err := policy.Watch(ctx, dir, store, policy.OnReload(func(ev policy.ReloadEvent) { reloaded <- ev }))
	if err != nil {
		panic(err)
	}
	defer w.Close()

	req := policy.Request{Command: "open_vault", Window: "settings", Webview: "settings"}
	d, _ := store.Decide(ctx, req)
	fmt.Println("version", store.Current().Seq, "allowed:", d.Allowed)

	settings := "identifier = \"settings-window\"\nwindows = [\"settings\"]\npermissions = [\"biometric:allow-status\", \"allow-open-vault\"]\n"
	if err := os.WriteFile(filepath.Join(dir, "capabilities", "settings.toml"), []byte(settings), 0o644); err != nil {
		panic(err)
	}
	ev := <-reloaded
	d, _ = store.Decide(ctx, req)
	fmt.Println("changed", ev.Changed, "error", ev.Err)
	fmt.Println("version", store.Current().Seq, "allowed:", d.Allowed)
	// Output:
	// version 1 allowed: false
	// changed [capabilities/settings.toml] error <nil>
	// version 2 allowed: true
}
