package capwails

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"strconv"
	"strings"

	"github.com/capguard/capguard/ipc"
	"github.com/wailsapp/wails/v3/pkg/application"
)

// The Wails runtime's objects (Wails v3 alpha.38,
// internal/runtime/desktop/@wailsio/runtime/src/runtime.ts objectNames;
// pkg/application/messageprocessor.go).
const (
	objectCall       = 0
	objectEvents     = 3
	objectCancelCall = 10
	lastObject       = 10
)

// runtimeCall is a runtime request's query as the guard read it.
type runtimeCall struct {
	object, method int
	args           string // the args parameter, unescaped
	hasArgs        bool
}

var errQuery = errors.New("invalid runtime call")

// parseRuntimeQuery reads the query of a runtime request, strictly: the
// parameters object and method (numbers, once each) and args (at most
// once); a parameter the runtime never sends twice, or a ';' (which Go's
// query parser drops with its pair), refuses the request rather than let
// two readers see two calls.
func parseRuntimeQuery(raw string) (runtimeCall, error) {
	var c runtimeCall
	var haveObject, haveMethod bool
	for raw != "" {
		var pair string
		pair, raw, _ = strings.Cut(raw, "&")
		if pair == "" {
			continue
		}
		if strings.IndexByte(pair, ';') >= 0 {
			return c, fmt.Errorf("%w: ';' in the query", errQuery)
		}
		key, value, _ := strings.Cut(pair, "=")
		switch key {
		case "object", "method":
			n, err := strconv.Atoi(value)
			if err != nil {
				return c, fmt.Errorf("%w: %s must be a number", errQuery, key)
			}
			if key == "object" {
				if haveObject {
					return c, fmt.Errorf("%w: object given twice", errQuery)
				}
				c.object, haveObject = n, true
			} else {
				if haveMethod {
					return c, fmt.Errorf("%w: method given twice", errQuery)
				}
				c.method, haveMethod = n, true
			}
		case "args":
			if c.hasArgs {
				return c, fmt.Errorf("%w: args given twice", errQuery)
			}
			v, err := url.QueryUnescape(value)
			if err != nil {
				return c, fmt.Errorf("%w: args is not percent-encoded", errQuery)
			}
			c.args, c.hasArgs = v, true
		default:
			// Other parameters are not the runtime's; the canonical query
			// handed to Wails leaves them out.
			if k, err := url.QueryUnescape(key); err != nil || k == "object" || k == "method" || k == "args" {
				return c, fmt.Errorf("%w: an encoded parameter name", errQuery)
			}
		}
	}
	if !haveObject || !haveMethod {
		return c, fmt.Errorf("%w: object and method must be numbers", errQuery)
	}
	return c, nil
}

// canonical is the query Wails is handed: exactly what the guard read.
func (c runtimeCall) canonical() string {
	q := "object=" + strconv.Itoa(c.object) + "&method=" + strconv.Itoa(c.method)
	if c.hasArgs {
		q += "&args=" + url.QueryEscape(c.args)
	}
	return q
}

// serveRuntime guards one request of the Wails runtime.
func (g *Guard) serveRuntime(w http.ResponseWriter, r *http.Request, next http.Handler) {
	switch r.Method {
	case http.MethodGet:
	case http.MethodOptions:
		g.preflight(w, r)
		return
	default:
		// Not a call: the Wails runtime only sends GET.
		w.Header().Set("Allow", "GET, OPTIONS")
		writeText(w, http.StatusMethodNotAllowed, "capguard: the Wails runtime's calls are GET requests")
		return
	}
	c, rf := g.identify(r)
	if rf != nil {
		g.refuse(w, r, "", c.window, rf)
		return
	}
	if names := r.Header.Values(HeaderWindowName); len(names) > 0 {
		if len(names) > 1 || names[0] != c.window {
			g.refuse(w, r, "", c.window, forbidden(fmt.Sprintf("a page may only address its own window: the request names window %q, the page is in %q", strings.Join(names, ","), c.window)))
			return
		}
	}
	call, err := parseRuntimeQuery(r.URL.RawQuery)
	if err != nil {
		g.refuse(w, r, "", c.window, &refusal{http.StatusBadRequest, "capguard: " + err.Error()})
		return
	}
	switch call.object {
	case objectCall:
		g.serveCall(w, r, c, call)
	case objectCancelCall:
		g.serveCancel(w, r, c, call)
	case objectEvents:
		g.serveEmit(w, r, c, call)
	default:
		if call.object < 0 || call.object > lastObject {
			g.refuse(w, r, "", c.window, &refusal{http.StatusBadRequest, fmt.Sprintf("capguard: unknown runtime object %d (capwails reads the objects 0-%d of Wails %s)", call.object, lastObject, WailsVersion)})
			return
		}
		// The window, clipboard, dialogs, ...: the app's own page, its own
		// window, the query Wails reads being the one read here.
		if c.doc == nil {
			g.refuse(w, r, "", c.window, forbidden("the Wails runtime is not available to remote pages"))
			return
		}
		r2 := r.Clone(r.Context())
		u := *r.URL
		u.RawQuery = call.canonical()
		r2.URL = &u
		r2.RequestURI = u.RequestURI()
		r2.Header.Del(HeaderWindowName)
		r2.Header.Del(HeaderToken)
		next.ServeHTTP(w, r2)
	}
}

// callArgs is a binding call's args parameter: Wails's
// application.CallOptions and the call id, read once, by the one decoder
// that decides which method runs (Wails does not read the call again).
type callArgs struct {
	CallID     json.RawMessage   `json:"call-id"`
	MethodID   uint32            `json:"methodID"`
	MethodName string            `json:"methodName"`
	Args       []json.RawMessage `json:"args"`
}

// validCallID tells whether a call id is one the Wails runtime makes (a
// nanoid: letters, digits, '-' and '_').
func validCallID(s string) bool {
	if s == "" || len(s) > 64 {
		return false
	}
	for i := 0; i < len(s); i++ {
		b := s[i]
		if !('a' <= b && b <= 'z' || 'A' <= b && b <= 'Z' || '0' <= b && b <= '9' || b == '-' || b == '_') {
			return false
		}
	}
	return true
}

// readCallID reads the call id: a JSON string the runtime made.
func readCallID(raw json.RawMessage) (string, bool) {
	if len(raw) < 2 || raw[0] != '"' || raw[len(raw)-1] != '"' {
		return "", false
	}
	s := string(raw[1 : len(raw)-1])
	return s, validCallID(s)
}

func badCall(format string, args ...any) *refusal {
	return &refusal{http.StatusBadRequest, "capguard: invalid binding call: " + fmt.Sprintf(format, args...)}
}

// decodeCall reads a binding call and finds its method and command.
func (g *Guard) decodeCall(call runtimeCall) (opts callArgs, callID, fqn, cmd string, rf *refusal) {
	if call.method != application.CallBinding {
		return opts, "", "", "", badCall("unknown method %d", call.method)
	}
	if !call.hasArgs {
		return opts, "", "", "", badCall("missing argument 'call-id'")
	}
	if err := json.Unmarshal([]byte(call.args), &opts); err != nil {
		return opts, "", "", "", badCall("unable to parse arguments: %v", err)
	}
	callID, ok := readCallID(bytes.TrimSpace(opts.CallID))
	if !ok {
		return opts, "", "", "", badCall("missing argument 'call-id' (a string of letters, digits, '-' and '_')")
	}
	fqn = opts.MethodName
	if fqn == "" {
		id := opts.MethodID
		if alias, ok := g.aliases[id]; ok {
			id = alias
		}
		name, ok := g.byID[id]
		if !ok {
			return opts, callID, "", "", &refusal{http.StatusNotFound, fmt.Sprintf("capguard: unknown bound method id %d", opts.MethodID)}
		}
		fqn = name
	}
	cmd, ok = g.methods[fqn]
	if !ok {
		return opts, callID, "", "", &refusal{http.StatusNotFound, fmt.Sprintf("capguard: unknown bound method name '%s'", fqn)}
	}
	return opts, callID, fqn, cmd, nil
}

// appendArgs writes {"args":[...]}, the invocation's arguments.
func appendArgs(dst []byte, args []json.RawMessage) []byte {
	dst = append(dst, `{"args":[`...)
	for i, a := range args {
		if i > 0 {
			dst = append(dst, ',')
		}
		dst = append(dst, a...)
	}
	return append(dst, "]}"...)
}

// runKey names a running call: the page that made it and its call id.
type runKey struct {
	token, callID string
}

// bound returns the Wails bindings the guard runs methods with, made of
// the same services, error marshalers and aliases as the application's.
func (g *Guard) boundMethods() (*application.Bindings, error) {
	g.bindOnce.Do(func() {
		if application.Get() == nil {
			g.bindErr = errors.New("capwails: the Wails application does not exist yet (call application.New before the first call)")
			return
		}
		b := application.NewBindings(g.marshal, g.aliases)
		for _, svc := range g.services {
			if err := b.Add(svc); err != nil {
				g.bindErr = fmt.Errorf("capwails: binding %T: %w", svc.Instance(), err)
				return
			}
		}
		for fqn := range g.methods {
			if b.Get(&application.CallOptions{MethodName: fqn}) == nil {
				g.bindErr = fmt.Errorf("capwails: Wails does not bind %s", fqn)
				return
			}
		}
		g.bindings = b
	})
	return g.bindings, g.bindErr
}

// serveCall decides a binding call and, when it is allowed, runs the
// bound method and answers with its outcome, in the response to the
// request of the page that made the call: nothing of the call reaches any
// other document (Wails would send the result into the window's top
// frame, whoever that is).
func (g *Guard) serveCall(w http.ResponseWriter, r *http.Request, c caller, call runtimeCall) {
	opts, callID, fqn, cmd, rf := g.decodeCall(call)
	if rf != nil {
		g.refuse(w, r, cmd, c.window, rf)
		return
	}
	gr := &grant{command: cmd}
	ctx := context.WithValue(context.WithoutCancel(r.Context()), grantKey{}, gr)
	invArgs := appendArgs(make([]byte, 0, len(call.args)+16), opts.Args)
	_, err := g.ipc.Invoke(ctx, &ipc.Invocation{
		Command: cmd,
		Window:  c.window,
		Webview: c.window,
		Origin:  c.origin,
		Args:    invArgs,
	})
	allowCORS(w, c)
	if err != nil || !gr.ran {
		if err == nil {
			err = tauriText("Command " + cmd + " failed: internal error")
		}
		writeText(w, http.StatusForbidden, rejectText(err))
		return
	}
	bindings, err := g.boundMethods()
	if err != nil {
		writeText(w, http.StatusInternalServerError, err.Error())
		return
	}
	method := bindings.Get(&application.CallOptions{MethodName: fqn})
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	if win := g.host.Window(c.windowID); win != nil {
		ctx = context.WithValue(ctx, application.WindowKey, win)
	}
	if c.doc != nil {
		key := runKey{c.doc.token, callID}
		if _, dup := g.running.LoadOrStore(key, cancel); dup {
			writeText(w, http.StatusUnprocessableEntity, "ambiguous call id: "+callID)
			return
		}
		defer g.running.Delete(key)
	}
	log := g.host.Logger()
	if log != nil {
		log.Info("Binding call started:", "id", callID, "method", fqn)
	}
	result, err := method.Call(ctx, opts.Args)
	var body []byte
	kind, isJSON := "ok", false
	if err != nil {
		kind = "error"
		var cerr *application.CallError
		if errors.As(err, &cerr) {
			if b, jerr := json.Marshal(cerr); jerr == nil {
				body, isJSON = b, true
			}
		}
		if body == nil {
			body = []byte(err.Error())
		}
	} else if result != nil {
		if body, err = json.Marshal(result); err != nil {
			kind, isJSON = "error", true
			body, _ = json.Marshal(&application.CallError{Kind: application.TypeError, Message: "error marshaling result: " + err.Error()})
		}
	}
	if log != nil {
		log.Info("Binding call complete:", "id", callID, "method", fqn, "args", string(invArgs[len(`{"args":`):len(invArgs)-1]), "result", string(body))
	}
	h := w.Header()
	h.Set(HeaderCall, kind)
	if kind == "error" {
		h.Set(HeaderCallJSON, strconv.FormatBool(isJSON))
	}
	h.Set("Content-Type", "application/json")
	h.Set("Cache-Control", "no-store")
	w.WriteHeader(http.StatusOK)
	_, _ = w.Write(body)
}

// serveCancel cancels a running binding call of the same page.
func (g *Guard) serveCancel(w http.ResponseWriter, r *http.Request, c caller, call runtimeCall) {
	if c.doc == nil {
		g.refuse(w, r, "", c.window, forbidden("the Wails runtime is not available to remote pages"))
		return
	}
	var args struct {
		CallID json.RawMessage `json:"call-id"`
	}
	if !call.hasArgs || json.Unmarshal([]byte(call.args), &args) != nil {
		g.refuse(w, r, "", c.window, badCall("missing argument 'call-id'"))
		return
	}
	id, ok := readCallID(bytes.TrimSpace(args.CallID))
	if !ok {
		g.refuse(w, r, "", c.window, badCall("missing argument 'call-id'"))
		return
	}
	if cancel, ok := g.running.Load(runKey{c.doc.token, id}); ok {
		cancel.(context.CancelFunc)()
	}
	w.WriteHeader(http.StatusOK)
}

// serveEmit decides an event a page emits through the Wails runtime
// (Events.Emit) as Tauri's plugin:event|emit and, when allowed, puts it
// on the application's event bus as Wails would.
func (g *Guard) serveEmit(w http.ResponseWriter, r *http.Request, c caller, call runtimeCall) {
	if call.method != application.EventsEmit {
		g.refuse(w, r, "", c.window, &refusal{http.StatusBadRequest, fmt.Sprintf("capguard: invalid events call: unknown method %d", call.method)})
		return
	}
	var ev struct {
		Name string          `json:"name"`
		Data json.RawMessage `json:"data"`
	}
	if !call.hasArgs || json.Unmarshal([]byte(call.args), &ev) != nil {
		g.refuse(w, r, cmdEmit, c.window, &refusal{http.StatusBadRequest, "capguard: invalid events call: error parsing event"})
		return
	}
	if ev.Name == "" {
		g.refuse(w, r, cmdEmit, c.window, &refusal{http.StatusBadRequest, "capguard: invalid events call: missing event name"})
		return
	}
	payload := ev.Data
	if len(payload) == 0 {
		payload = json.RawMessage("null")
	}
	args, _ := json.Marshal(struct {
		Event   string          `json:"event"`
		Payload json.RawMessage `json:"payload"`
	}{ev.Name, payload})
	ctx := context.WithValue(r.Context(), eventCallerKey{}, &eventCaller{caller: c, viaWails: true})
	_, err := g.ipc.Invoke(ctx, &ipc.Invocation{Command: cmdEmit, Window: c.window, Webview: c.window, Origin: c.origin, Args: args})
	allowCORS(w, c)
	if err != nil {
		writeText(w, http.StatusForbidden, rejectText(err))
		return
	}
	w.WriteHeader(http.StatusOK)
}
