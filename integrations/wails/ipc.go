package capwails

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"net/url"
	"strconv"
	"strings"

	"github.com/capguard/capguard/ipc"
)

// serveIPC answers one call of capguard's Tauri IPC: POST
// <Path>ipc/<percent-encoded command> with the arguments as JSON (or
// bytes), answered with Tauri's Tauri-Response header and JSON value.
func (g *Guard) serveIPC(w http.ResponseWriter, r *http.Request, escaped string) {
	cmd, err := url.PathUnescape(escaped)
	if err != nil {
		cmd = escaped
	}
	if r.Method != http.MethodPost {
		w.Header().Set("Allow", "POST")
		g.refuse(w, r, cmd, "", &refusal{http.StatusMethodNotAllowed, "capguard: the IPC only takes POST"})
		return
	}
	c, rf := g.identify(r)
	if rf != nil {
		g.refuse(w, r, cmd, c.window, rf)
		return
	}
	if cmd == "" || len(cmd) > 1024 || strings.ContainsAny(cmd, "/?#") {
		g.refuse(w, r, cmd, c.window, &refusal{http.StatusBadRequest, "capguard: post to " + g.path + "ipc/<percent-encoded command>"})
		return
	}
	if g.bound[cmd] {
		// Refused before the guard, so that no step-up prompts for a call
		// that cannot run.
		g.refuse(w, r, cmd, c.window, &refusal{http.StatusBadRequest, "capguard: Command " + cmd + " is a Wails binding: call it through the Wails runtime (Call.ByName)"})
		return
	}
	body, err := io.ReadAll(http.MaxBytesReader(nil, r.Body, g.maxBody))
	if err != nil {
		var tooBig *http.MaxBytesError
		if errors.As(err, &tooBig) {
			g.refuse(w, r, cmd, c.window, &refusal{http.StatusRequestEntityTooLarge, "capguard: the request body is larger than " + strconv.FormatInt(g.maxBody, 10) + " bytes"})
			return
		}
		g.refuse(w, r, cmd, c.window, &refusal{http.StatusBadRequest, "capguard: reading the request body: " + err.Error()})
		return
	}
	inv := &ipc.Invocation{Command: cmd, Window: c.window, Webview: c.window, Origin: c.origin}
	if ct := r.Header.Get("Content-Type"); strings.HasPrefix(ct, "application/octet-stream") {
		inv.Raw = body
	} else {
		if len(bytes.TrimSpace(body)) == 0 {
			body = []byte("{}")
		}
		if !json.Valid(body) {
			g.refuse(w, r, cmd, c.window, &refusal{http.StatusBadRequest, "capguard: the body is not valid JSON"})
			return
		}
		inv.Args = body
	}
	ctx := context.WithValue(r.Context(), eventCallerKey{}, &eventCaller{caller: c})
	result, err := g.ipc.Invoke(ctx, inv)
	status := "ok"
	if err != nil {
		status, result = "error", ipc.RejectValue(err)
	}
	allowCORS(w, c)
	h := w.Header()
	h.Set("Tauri-Response", status)
	h.Set("Content-Type", "application/json")
	h.Set("Cache-Control", "no-store")
	w.WriteHeader(http.StatusOK)
	_, _ = w.Write(result)
}

func jsonUnmarshal(data []byte, v any) error { return json.Unmarshal(data, v) }
