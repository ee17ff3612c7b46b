package capwails_test

import (
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"regexp"

	"github.com/capguard/capguard"
	"github.com/capguard/capguard/acl"
	"github.com/capguard/capguard/examples"
	capwails "github.com/capguard/capguard/integrations/wails"
	"github.com/capguard/capguard/native/sim"
	"github.com/wailsapp/wails/v3/pkg/application"
)

// An app guards its Wails services with capguard: the guard's middleware
// goes into the asset server, in front of Wails's own handlers. Here a
// stand-in for Wails's handlers serves one page and accepts binding
// calls; in an app, application.New builds that chain.
func Example() {
	app, err := capguard.LoadFS(examples.App(), examples.AppDir, acl.Linux, sim.New(sim.Ready()))
	if err != nil {
		panic(err)
	}
	services := []application.Service{application.NewService(&VaultService{})}
	guard, err := capwails.New(capwails.Config{
		IPC:      app.IPC,
		Services: services,
		// In an app, the running Wails application's windows (the default).
		Windows: func(id uint) (string, bool) { return map[uint]string{1: "main", 2: "settings"}[id], id == 1 || id == 2 },
	})
	if err != nil {
		panic(err)
	}
	// In an app: application.Options{Services: services,
	//   Assets: application.AssetOptions{Handler: assets, Middleware: guard.Middleware}}
	wails := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path == capwails.RuntimePath {
			fmt.Println("Wails runs", r.URL.Query().Get("args"))
			return
		}
		w.Header().Set("Content-Type", "text/html")
		_, _ = io.WriteString(w, "<!doctype html><html><head></head><body>vault</body></html>")
	})
	handler := guard.Middleware(wails)
	fmt.Println(guard.Commands()[pkg+".VaultService.OpenVault"])

	// Wails tells which window's webview asked (x-wails-window-id); each
	// page load gets a token in its script.
	token := func(window string) string {
		r := httptest.NewRequest("GET", "/", nil)
		r.Header.Set(capwails.HeaderWindowID, window)
		w := httptest.NewRecorder()
		handler.ServeHTTP(w, r)
		return regexp.MustCompile(`"token":"(\w+)"`).FindStringSubmatch(w.Body.String())[1]
	}
	call := func(window, method string) {
		args := `{"call-id":"1","methodName":"` + pkg + `.VaultService.` + method + `","args":["personal"]}`
		r := httptest.NewRequest("GET", capwails.RuntimePath+"?object=0&method=0&args="+url.QueryEscape(args), nil)
		r.Header.Set(capwails.HeaderWindowID, window)
		r.Header.Set(capwails.HeaderToken, token(window))
		w := httptest.NewRecorder()
		handler.ServeHTTP(w, r)
		if w.Code != http.StatusOK {
			fmt.Println(w.Code, w.Body.String())
		}
	}
	call("1", "OpenVault") // main, after the step-up of capguard.json
	call("2", "OpenVault") // settings
	call("1", "Lock")      // no capability allows lock
	// Output:
	// open_vault
	// Wails runs {"call-id":"1","methodName":"github.com/capguard/capguard/integrations/wails_test.VaultService.OpenVault","args":["personal"]}
	// 403 Command open_vault not allowed by ACL
	// 403 Command lock not allowed by ACL
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
