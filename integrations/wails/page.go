package capwails

import (
	"bytes"
	_ "embed"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"strconv"
	"strings"

	"github.com/capguard/capguard/ipc"
)

//go:embed page.js
var pageScript string

// servePage serves a page of the app and, when it is HTML served to a
// Wails window, gives it a fresh token and the script that uses it.
func (g *Guard) servePage(w http.ResponseWriter, r *http.Request, next http.Handler) {
	id, err := strconv.ParseUint(r.Header.Get(HeaderWindowID), 10, 64)
	if err != nil || id > uint64(^uint(0)) {
		next.ServeHTTP(w, r)
		return
	}
	window, ok := g.windows(uint(id))
	if !ok {
		next.ServeHTTP(w, r)
		return
	}
	rec := &recorder{header: http.Header{}, status: http.StatusOK}
	next.ServeHTTP(rec, r)
	body := rec.body.Bytes()
	ct := rec.header.Get("Content-Type")
	if rec.status == http.StatusOK && (strings.HasPrefix(ct, "text/html") || (ct == "" && looksLikeHTML(body))) {
		token, err := g.bindPage(uint(id), window)
		if err != nil {
			writeText(w, http.StatusInternalServerError, err.Error())
			return
		}
		script, err := g.script(token, window)
		if err != nil {
			writeText(w, http.StatusInternalServerError, err.Error())
			return
		}
		body = injectScript(body, script)
		rec.header.Set("Content-Type", "text/html; charset=utf-8")
		rec.header.Set("Cache-Control", "no-store")
		rec.header.Del("Content-Length")
		rec.header.Del("Etag")
		rec.header.Del("Last-Modified")
	}
	h := w.Header()
	for k, v := range rec.header {
		h[k] = v
	}
	h.Set("Content-Length", strconv.Itoa(len(body)))
	w.WriteHeader(rec.status)
	_, _ = w.Write(body)
}

// script is the inline script of one page load.
func (g *Guard) script(token, window string) (string, error) {
	cfg, err := json.Marshal(struct {
		Token       string `json:"token"`
		TokenHeader string `json:"tokenHeader"`
		IPCPath     string `json:"ipcPath"`
		RuntimePath string `json:"runtimePath"`
		Window      string `json:"window"`
	}{token, HeaderToken, g.ipcPath, RuntimePath, window})
	if err != nil {
		return "", err
	}
	// json.Marshal escapes <, > and &: the configuration cannot end the
	// script element.
	return "<script>" + strings.Replace(pageScript, "__CAPGUARD_PAGE__", string(cfg), 1) + "</script>", nil
}

// injectScript puts script before anything else the page runs: right
// after <head ...>, else after <html ...>, else at the start.
func injectScript(body []byte, script string) []byte {
	lower := bytes.ToLower(body)
	at := 0
	for _, tag := range []string{"<head", "<html"} {
		if i := bytes.Index(lower, []byte(tag)); i >= 0 {
			if j := bytes.IndexByte(lower[i:], '>'); j >= 0 {
				at = i + j + 1
				break
			}
		}
	}
	out := make([]byte, 0, len(body)+len(script))
	out = append(out, body[:at]...)
	out = append(out, script...)
	return append(out, body[at:]...)
}

func looksLikeHTML(b []byte) bool {
	t := bytes.ToLower(bytes.TrimSpace(b[:min(len(b), 512)]))
	return bytes.HasPrefix(t, []byte("<!doctype html")) || bytes.HasPrefix(t, []byte("<html"))
}

// recorder holds a response so that the guard can add its script.
type recorder struct {
	header http.Header
	status int
	wrote  bool
	body   bytes.Buffer
}

func (r *recorder) Header() http.Header { return r.header }
func (r *recorder) WriteHeader(status int) {
	if !r.wrote {
		r.status, r.wrote = status, true
	}
}
func (r *recorder) Write(b []byte) (int, error) {
	r.wrote = true
	return r.body.Write(b)
}

// serveIPC answers one call of capguard's Tauri IPC: POST
// <IPCPath><percent-encoded command> with the arguments as JSON (or bytes).
func (g *Guard) serveIPC(w http.ResponseWriter, r *http.Request) {
	cmd := strings.TrimPrefix(r.URL.Path, g.ipcPath)
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
	if cmd == "" || len(cmd) > 1024 {
		g.refuse(w, r, cmd, c.window, &refusal{http.StatusBadRequest, "capguard: post to " + g.ipcPath + "<percent-encoded command>"})
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
	result, err := g.ipc.Invoke(r.Context(), inv)
	status := "ok"
	if err != nil {
		status, result = "error", ipc.RejectValue(err)
	}
	h := w.Header()
	h.Set("Tauri-Response", status)
	h.Set("Content-Type", "application/json")
	h.Set("Cache-Control", "no-store")
	w.WriteHeader(http.StatusOK)
	_, _ = w.Write(result)
}
