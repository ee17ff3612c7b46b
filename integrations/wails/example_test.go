package capwails_test

import (
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"sort"

	"github.com/capguard/capguard"
	"github.com/capguard/capguard/acl"
	capwails "github.com/capguard/capguard/integrations/wails"
	"github.com/capguard/capguard/native/sim"
	"github.com/wailsapp/wails/v3/pkg/application"
)

// An app guards its Wails services with capguard: New reads the services
// from the application's options (one list) and installs itself in them,
// before application.New. Here a stand-in for Wails's own handlers serves
// one page; in an app, application.New builds that chain and the host is
// the running application.
func Example() {
	app, err := capguard.Load("../../examples/wails-vault/app", acl.Linux, sim.New(sim.Ready()))
	if err != nil {
		panic(err)
	}
	opts := application.Options{
		Name:     "Vault",
		Services: []application.Service{application.NewService(&VaultService{})},
	}
	guard, err := capwails.New(capwails.Config{IPC: app.IPC, App: &opts, Host: newFakeHost()})
	if err != nil {
		panic(err)
	}
	// In an app: application.New(opts), then its windows.
	var names []string
	for fqn, cmd := range guard.Commands() {
		names = append(names, fqn[len(pkg)+1:]+" -> "+cmd)
	}
	sort.Strings(names)
	for _, n := range names {
		fmt.Println(n)
	}

	wails := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "text/html")
		_, _ = io.WriteString(w, "<!doctype html><html><head></head><body>vault</body></html>")
	})
	handler := opts.Assets.Middleware(wails)
	// A page the asset server serves to window 1 gets its token, not yet
	// usable: the page must first prove it is the window's top-level
	// document (its page script does).
	page := httptest.NewRequest("GET", "/", nil)
	page.Header.Set(capwails.HeaderWindowID, "1")
	handler.ServeHTTP(httptest.NewRecorder(), page)
	active, pending, _ := guard.PageCounts(1)
	fmt.Println("window 1:", active, "active,", pending, "pending")

	// A call without a token never runs.
	call := httptest.NewRequest("GET", capwails.RuntimePath+`?object=0&method=0&args={"call-id":"a1","methodName":"`+pkg+`.VaultService.OpenVault","args":["personal"]}`, nil)
	call.Header.Set(capwails.HeaderWindowID, "1")
	w := httptest.NewRecorder()
	handler.ServeHTTP(w, call)
	fmt.Println(w.Code, w.Body.String())
	// Output:
	// VaultService.DeleteVault -> delete_vault
	// VaultService.OpenVault -> open_vault
	// VaultService.VaultInfo -> vault_info
	// window 1: 0 active, 1 pending
	// 403 capguard: missing Capguard-Page-Token: the page was not served to this window by the app
}

// A bound Go method's default command is its name in snake case, the way
// Tauri names commands; Config.Commands renames any method.
func ExampleCommandName() {
	for _, m := range []string{"OpenVault", "VaultInfo", "GetURL"} {
		fmt.Println(m, "->", capwails.CommandName(m))
	}
	// Output:
	// OpenVault -> open_vault
	// VaultInfo -> vault_info
	// GetURL -> get_url
}
