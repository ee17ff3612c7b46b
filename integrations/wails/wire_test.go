package capwails_test

import (
	"encoding/json"
	"os"
	"os/exec"
	"path/filepath"
	"reflect"
	"regexp"
	"strings"
	"testing"

	capwails "github.com/capguard/capguard/integrations/wails"
	"github.com/wailsapp/wails/v3/pkg/application"
)

// wailsDir is the source of the Wails module this module builds with.
func wailsDir(t *testing.T) string {
	t.Helper()
	out, err := exec.Command("go", "list", "-m", "-f", "{{.Dir}}", "github.com/wailsapp/wails/v3").Output()
	if err != nil {
		t.Fatalf("go list -m github.com/wailsapp/wails/v3: %v", err)
	}
	return strings.TrimSpace(string(out))
}

func read(t *testing.T, path string) string {
	t.Helper()
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	return string(data)
}

// TestWireFormat pins what the guard reads of Wails, against Wails's own
// code: the version both modules require, the runtime's objects, the
// fields of a binding call and of an event, the headers, and the
// functions through which results reach a page. A Wails whose format
// changed fails here, by name, instead of a guard that misreads calls.
func TestWireFormat(t *testing.T) {
	for _, mod := range []string{"go.mod", "../../examples/wails-vault/go.mod"} {
		if !regexp.MustCompile(`(?m)^\s*github\.com/wailsapp/wails/v3 ` + regexp.QuoteMeta(capwails.WailsVersion) + `\s*$`).MatchString(read(t, mod)) {
			t.Errorf("%s does not require github.com/wailsapp/wails/v3 %s exactly", mod, capwails.WailsVersion)
		}
	}
	dir := wailsDir(t)
	if !strings.HasSuffix(dir, "@"+capwails.WailsVersion) {
		t.Errorf("the build uses Wails from %s, not %s", dir, capwails.WailsVersion)
	}

	t.Run("Go types", func(t *testing.T) {
		fields := func(v any) string {
			var out []string
			rt := reflect.TypeOf(v)
			for i := range rt.NumField() {
				f := rt.Field(i)
				if f.IsExported() {
					out = append(out, f.Name+" "+f.Type.String()+" "+f.Tag.Get("json"))
				}
			}
			return strings.Join(out, "; ")
		}
		for _, tc := range []struct {
			v    any
			want string
		}{
			{application.CallOptions{}, "MethodID uint32 methodID; MethodName string methodName; Args []json.RawMessage args"},
			{application.CallError{}, "Kind application.ErrorKind kind; Message string message; Cause interface {} cause,omitempty"},
			{application.CustomEvent{}, "Name string name; Data interface {} data; Sender string sender"},
		} {
			if got := fields(tc.v); got != tc.want {
				t.Errorf("%T: %s, want %s", tc.v, got, tc.want)
			}
		}
		if application.CallBinding != 0 || application.EventsEmit != 0 || application.WindowKey != "Window" {
			t.Error("Wails's method numbers or window key changed")
		}
	})

	t.Run("message processor", func(t *testing.T) {
		src := read(t, filepath.Join(dir, "pkg/application/messageprocessor.go"))
		for _, want := range []string{
			"callRequest        = 0", "eventsRequest      = 3", "browserRequest     = 9", "cancelCallRequesst = 10",
			`object, err := strconv.Atoi(r.URL.Query().Get("object"))`,
			`windowName := r.Header.Get(webViewRequestHeaderWindowName)`,
		} {
			if !strings.Contains(src, want) {
				t.Errorf("messageprocessor.go no longer has %q", want)
			}
		}
		app := read(t, filepath.Join(dir, "pkg/application/application.go"))
		for _, want := range []string{`webViewRequestHeaderWindowId = "x-wails-window-id"`, `webViewRequestHeaderWindowName = "x-wails-window-name"`, `hh.Set(webViewRequestHeaderWindowId,`, `if strings.HasPrefix(event.message, "wails:") {`} {
			if !strings.Contains(app, want) {
				t.Errorf("application.go no longer has %q", want)
			}
		}
		if !strings.EqualFold(capwails.HeaderWindowID, "x-wails-window-id") || !strings.EqualFold(capwails.HeaderWindowName, "x-wails-window-name") {
			t.Error("the guard's header names are not Wails's")
		}
		win := read(t, filepath.Join(dir, "pkg/application/webview_window.go"))
		for _, want := range []string{`"_wails.callResultHandler('%s', '%s', true);"`, `"_wails.callErrorHandler('%s', '%s', %t);"`, `case message == "wails:runtime:ready":`} {
			if !strings.Contains(win, want) {
				t.Errorf("webview_window.go no longer has %q", want)
			}
		}
	})

	t.Run("runtime", func(t *testing.T) {
		src := filepath.Join(dir, "internal/runtime/desktop/@wailsio/runtime/src")
		for file, wants := range map[string][]string{
			"runtime.ts": {"Call: 0,", "Events: 3,", "CancelCall: 10,", `const runtimeURL = window.location.origin + "/wails/runtime";`,
				`url.searchParams.append("object", objectID.toString());`, `url.searchParams.append("args", JSON.stringify(args));`, `let response = await fetch(url, { headers });`},
			"calls.ts":  {`window._wails.callResultHandler = resultHandler;`, `window._wails.callErrorHandler = errorHandler;`, `Object.assign({ "call-id": id }, options)`, `cancelCall(CancelMethod, {"call-id": id})`},
			"events.ts": {"const EmitMethod = 0;", "return call(EmitMethod, { name: eventName, data: eventData });"},
			"system.ts": {`(window as any).webkit?.messageHandlers?.['external']?.postMessage`},
			"index.ts":  {`System.invoke("wails:runtime:ready");`},
		} {
			text := read(t, filepath.Join(src, file))
			for _, want := range wants {
				if !strings.Contains(text, want) {
					t.Errorf("%s no longer has %q", file, want)
				}
			}
		}
		// The bundle Wails serves as /wails/runtime.js.
		bundle := read(t, filepath.Join(dir, "internal/assetserver/bundledassets/runtime.js"))
		for _, want := range []string{`"call-id"`, "/wails/runtime", "callResultHandler"} {
			if !strings.Contains(bundle, want) {
				t.Errorf("the bundled runtime.js no longer has %q", want)
			}
		}
	})

	t.Run("a binding call reads as Wails reads it", func(t *testing.T) {
		args := `{"call-id":"abc","methodName":"main.S.M","methodID":7,"args":[1,"x",{"y":null}]}`
		var opts application.CallOptions
		if err := application.QueryParams(map[string][]string{"args": {args}}).ToStruct(&opts); err != nil {
			t.Fatal(err)
		}
		got, _ := json.Marshal(opts)
		if string(got) != `{"methodID":7,"methodName":"main.S.M","args":[1,"x",{"y":null}]}` {
			t.Errorf("Wails reads %s", got)
		}
	})
}
