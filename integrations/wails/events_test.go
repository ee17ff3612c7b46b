package capwails_test

import (
	"encoding/json"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"

	capwails "github.com/capguard/capguard/integrations/wails"
	"github.com/wailsapp/wails/v3/pkg/application"
)

// listen registers a Tauri listener (as @tauri-apps/api/event's listen
// does) and returns its event id.
func (f *fixture) listen(window, token, event, target string, handler int) (uint32, string) {
	f.t.Helper()
	body := `{"event":"` + event + `","handler":` + itoa(handler)
	if target != "" {
		body += `,"target":` + target
	}
	w := f.do(ipcCall(window, token, "plugin:event|listen", body+"}"))
	if w.Header().Get("Tauri-Response") != "ok" {
		return 0, w.Body.String()
	}
	var id uint32
	if err := json.Unmarshal(w.Body.Bytes(), &id); err != nil {
		f.t.Fatal(err)
	}
	return id, ""
}

func itoa(n int) string { b, _ := json.Marshal(n); return string(b) }

// poll is one poll of a page for its events.
func (f *fixture) poll(window, token string) (int, []string) {
	w := f.post("events", window, token, "")
	var batch []struct {
		Handler int
		Event   struct {
			Event   string
			ID      uint32
			Payload json.RawMessage
		}
	}
	_ = json.Unmarshal(w.Body.Bytes(), &batch)
	var out []string
	for _, m := range batch {
		out = append(out, itoa(m.Handler)+" "+m.Event.Event+" "+string(m.Event.Payload))
	}
	return w.Code, out
}

func (f *fixture) emit(window, token, name, data string) *httptest.ResponseRecorder {
	args, _ := json.Marshal(map[string]json.RawMessage{"name": json.RawMessage(`"` + name + `"`), "data": json.RawMessage(data)})
	return f.do(runtimeReq(window, token, "object=3&method=0&args="+url.QueryEscape(string(args))))
}

// Events are decided with Tauri's core:event permissions, by window and
// origin: main has core:event:default, settings only allow-listen and
// allow-unlisten.
func TestEvents(t *testing.T) {
	f := newFixture(t)
	mainTok, settingsTok := f.load("1"), f.load("2")

	t.Run("emit through the Wails runtime", func(t *testing.T) {
		if w := f.emit("2", settingsTok, "vault:wipe", `{"all":true}`); w.Code != 403 || w.Body.String() != "Command plugin:event|emit not allowed by ACL" {
			t.Errorf("settings: %d %s", w.Code, w.Body)
		}
		remote := runtimeReq("1", "", "object=3&method=0&args="+url.QueryEscape(`{"name":"vault:wipe"}`))
		remote.Header.Set("Origin", "http://127.0.0.1:9999")
		if w := f.do(remote); w.Code != 403 {
			t.Errorf("a remote page: %d %s", w.Code, w.Body)
		}
		if w := f.do(runtimeReq("1", "", "object=3&method=0&args="+url.QueryEscape(`{"name":"vault:wipe"}`))); w.Code != 403 {
			t.Errorf("no token: %d %s", w.Code, w.Body)
		}
		if got := f.host.events(); len(got) != 0 {
			t.Fatalf("refused events reached the bus: %+v", got)
		}
		if w := f.emit("1", mainTok, "vault:opened", `{"n":1}`); w.Code != 200 {
			t.Fatalf("main: %d %s", w.Code, w.Body)
		}
		got := f.host.events()
		if len(got) != 1 || got[0].Name != "vault:opened" || got[0].Sender != "main" || got[0].Data.(map[string]any)["n"] != float64(1) {
			t.Errorf("the bus got %+v", got)
		}
		if len(f.wails.handed()) != 0 {
			t.Error("Wails was handed the event request")
		}
	})

	mainID, errText := f.listen("1", mainTok, "vault:changed", "", 11)
	if errText != "" {
		t.Fatal(errText)
	}
	mainOnly, _ := f.listen("1", mainTok, "vault:changed", `{"kind":"Window","label":"main"}`, 12)
	settingsID, errText := f.listen("2", settingsTok, "vault:changed", "", 21)
	if errText != "" {
		t.Fatal(errText)
	}
	t.Run("listen refusals", func(t *testing.T) {
		r := ipcCall("1", "", "plugin:event|listen", `{"event":"vault:changed","handler":1}`)
		r.Header.Set("Origin", "http://127.0.0.1:9999")
		if w := f.do(r); !strings.Contains(w.Body.String(), "not allowed by ACL") {
			t.Errorf("a remote page listened: %s", w.Body)
		}
		if _, e := f.listen("1", mainTok, "bad name!", "", 1); !strings.Contains(e, "Event name must include only alphanumeric characters") {
			t.Errorf("a bad event name: %s", e)
		}
		if _, e := f.listen("1", mainTok, "x", `{"kind":"Nowhere"}`, 1); !strings.Contains(e, "unknown event target kind") {
			t.Errorf("a bad target: %s", e)
		}
	})
	t.Run("an emit reaches every listener", func(t *testing.T) {
		if w := f.emit("1", mainTok, "vault:changed", `"v2"`); w.Code != 200 {
			t.Fatal(w.Body)
		}
		_, got := f.poll("1", mainTok)
		if strings.Join(got, ";") != `11 vault:changed "v2";12 vault:changed "v2"` && strings.Join(got, ";") != `12 vault:changed "v2";11 vault:changed "v2"` {
			t.Errorf("main got %q", got)
		}
		if _, got := f.poll("2", settingsTok); strings.Join(got, ";") != `21 vault:changed "v2"` {
			t.Errorf("settings got %q", got)
		}
	})
	t.Run("an event from Go", func(t *testing.T) {
		f.host.Emit(&application.CustomEvent{Name: "vault:changed", Data: map[string]any{"from": "go"}})
		if _, got := f.poll("2", settingsTok); strings.Join(got, ";") != `21 vault:changed {"from":"go"}` {
			t.Errorf("settings got %q", got)
		}
		f.poll("1", mainTok)
	})
	t.Run("emit_to", func(t *testing.T) {
		w := f.do(ipcCall("2", settingsTok, "plugin:event|emit_to", `{"target":{"kind":"AnyLabel","label":"settings"},"event":"vault:changed","payload":1}`))
		if w.Body.String() != `"Command plugin:event|emit_to not allowed by ACL"` {
			t.Errorf("settings may not emit_to: %s", w.Body)
		}
		w = f.do(ipcCall("1", mainTok, "plugin:event|emit_to", `{"target":{"kind":"AnyLabel","label":"settings"},"event":"vault:changed","payload":2}`))
		if w.Header().Get("Tauri-Response") != "ok" {
			t.Fatal(w.Body)
		}
		// Tauri's rule: a listener whose target is Any hears every
		// emit_to; main's listener for target Window main does not hear
		// one to settings.
		if _, got := f.poll("1", mainTok); strings.Join(got, ";") != `11 vault:changed 2` {
			t.Errorf("main got %q", got)
		}
		if _, got := f.poll("2", settingsTok); strings.Join(got, ";") != `21 vault:changed 2` {
			t.Errorf("settings got %q", got)
		}
		if len(f.host.events()) != 3 {
			t.Error("emit_to went to the bus")
		}
	})
	t.Run("unlisten", func(t *testing.T) {
		// A page cannot end another page's listener.
		f.do(ipcCall("1", mainTok, "plugin:event|unlisten", `{"event":"vault:changed","eventId":`+itoa(int(settingsID))+`}`))
		f.do(ipcCall("1", mainTok, "plugin:event|unlisten", `{"event":"vault:changed","eventId":`+itoa(int(mainID))+`}`))
		f.emit("1", mainTok, "vault:changed", `3`)
		if _, got := f.poll("1", mainTok); strings.Join(got, ";") != `12 vault:changed 3` {
			t.Errorf("main got %q", got)
		}
		if _, got := f.poll("2", settingsTok); strings.Join(got, ";") != `21 vault:changed 3` {
			t.Errorf("settings got %q", got)
		}
		_ = mainOnly
	})
	t.Run("a retired page hears nothing", func(t *testing.T) {
		newer := f.load("2")
		f.emit("1", mainTok, "vault:changed", `4`)
		if code, got := f.poll("2", settingsTok); code != 403 || got != nil {
			t.Errorf("the retired page: %d %q", code, got)
		}
		if code, got := f.poll("2", newer); code != 200 || got != nil {
			t.Errorf("the new page (no listener): %d %q", code, got)
		}
	})
}

// A raw message reaches the app's handler only from the page script of
// its window's current top-level document.
func TestRawMessages(t *testing.T) {
	f := newFixture(t)
	win := application.Get().Window.NewWithOptions(application.WebviewWindowOptions{Name: "raw-window"})
	for win.ID() <= 2 { // not one of the fake host's windows
		win = application.Get().Window.NewWithOptions(application.WebviewWindowOptions{Name: "raw-window"})
	}
	f.host.mu.Lock()
	f.host.windows[win.ID()] = "raw-window"
	f.host.mu.Unlock()
	id := itoa(int(win.ID()))
	tok := f.load(id)
	other := f.load("1")
	pendingPage, _ := f.serve(id)
	for _, m := range []string{
		"hello from a remote page",
		"capguard:" + other + ":another window's token",
		"capguard:" + pendingPage.Token + ":an unproved page",
		"capguard:" + tok + ":hello",
	} {
		f.opts.RawMessageHandler(win, m)
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	if strings.Join(f.raw, ";") != "raw-window: hello" {
		t.Errorf("the app got %q", f.raw)
	}
	if n := len(f.rejects); n != 3 {
		t.Errorf("OnReject saw %d raw messages, want 3", n)
	}
	_ = capwails.RuntimePath
}
