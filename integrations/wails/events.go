package capwails

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"strconv"
	"sync"
	"time"
	"unicode"

	"github.com/capguard/capguard/ipc"
	"github.com/wailsapp/wails/v3/pkg/application"
)

// Tauri's event commands (core:event; crates/tauri/src/event/plugin.rs),
// decided with the permissions core:event:allow-listen, allow-unlisten,
// allow-emit and allow-emit-to.
const (
	cmdListen   = "plugin:event|listen"
	cmdUnlisten = "plugin:event|unlisten"
	cmdEmit     = "plugin:event|emit"
	cmdEmitTo   = "plugin:event|emit_to"
)

// maxQueued bounds the events waiting for one page's next poll; older
// ones are dropped first.
const maxQueued = 256

type eventCallerKey struct{}

// eventCaller is who invoked an event command: the caller, and whether
// the call came through the Wails runtime (Events.Emit) rather than
// Tauri's JavaScript.
type eventCaller struct {
	caller   caller
	viaWails bool
}

// eventTarget is Tauri's EventTarget: {"kind": "Any" | "AnyLabel" | "App" |
// "Window" | "Webview" | "WebviewWindow", "label": ...}.
type eventTarget struct {
	Kind  string `json:"kind"`
	Label string `json:"label,omitempty"`
}

func (t eventTarget) valid() bool {
	switch t.Kind {
	case "Any", "App":
		return t.Label == ""
	case "AnyLabel", "Window", "Webview", "WebviewWindow":
		return true
	}
	return false
}

// listener is one listen() of a page.
type listener struct {
	id      uint32
	event   string
	target  eventTarget
	handler uint32
	doc     *docEvents
}

// docEvents is one page's listeners and its queue of deliveries.
type docEvents struct {
	hub       *eventHub
	doc       *document
	listeners map[uint32]*listener // guarded by hub.mu
	queue     [][]byte             // guarded by hub.mu
	closed    bool                 // guarded by hub.mu
	dropped   int                  // guarded by hub.mu
	notify    chan struct{}
}

// eventHub delivers events to the pages that listen, over each page's
// own poll: an event never goes to a document other than the one whose
// listen() the guard allowed.
type eventHub struct {
	g       *Guard
	mu      sync.Mutex
	nextID  uint32
	byEvent map[string]map[uint32]*listener
	subs    map[string]func() // bus subscriptions, one per listened event
}

func newEventHub(g *Guard) *eventHub {
	h := &eventHub{g: g, byEvent: map[string]map[uint32]*listener{}, subs: map[string]func(){}}
	g.docs.newEvents = func(d *document) *docEvents {
		return &docEvents{hub: h, doc: d, notify: make(chan struct{}, 1)}
	}
	return h
}

func (h *eventHub) register(r *ipc.Router) error {
	for cmd, f := range map[string]ipc.HandlerFunc{"listen": h.listen, "unlisten": h.unlisten, "emit": h.emit, "emit_to": h.emitTo} {
		if err := r.HandlePlugin("event", cmd, f); err != nil {
			return fmt.Errorf("capwails: Tauri's event command %s: %w", cmd, err)
		}
	}
	return nil
}

// validEventName is Tauri's rule for event names (is_event_name_valid):
// alphanumeric characters, '-', '/', ':' and '_'.
func validEventName(s string) bool {
	for _, r := range s {
		if !(r == '-' || r == '/' || r == ':' || r == '_' || isAlnum(r)) {
			return false
		}
	}
	return true
}

// isAlnum is Rust's char::is_alphanumeric: a letter or a number.
func isAlnum(r rune) bool { return unicode.IsLetter(r) || unicode.IsNumber(r) }

func invalidArgs(cmd, arg, why string) error {
	return tauriText(fmt.Sprintf("invalid args `%s` for command `%s`: %s", arg, cmd, why))
}

const eventNameRule = "Event name must include only alphanumeric characters, `-`, `/`, `:` and `_`."

func callerOf(ctx context.Context) *eventCaller {
	ec, _ := ctx.Value(eventCallerKey{}).(*eventCaller)
	return ec
}

func (h *eventHub) listen(ctx context.Context, inv *ipc.Invocation) (any, error) {
	ec := callerOf(ctx)
	if ec == nil || ec.caller.doc == nil || ec.caller.doc.events == nil {
		return nil, tauriText("capguard: plugin:event|listen is for the app's own pages")
	}
	var a struct {
		Event   *string      `json:"event"`
		Target  *eventTarget `json:"target"`
		Handler *uint32      `json:"handler"`
	}
	if err := json.Unmarshal(inv.Args, &a); err != nil {
		return nil, invalidArgs("listen", "handler", err.Error())
	}
	switch {
	case a.Event == nil:
		return nil, invalidArgs("listen", "event", "command listen missing required key event")
	case !validEventName(*a.Event):
		return nil, invalidArgs("listen", "event", eventNameRule)
	case a.Handler == nil:
		return nil, invalidArgs("listen", "handler", "command listen missing required key handler")
	}
	target := eventTarget{Kind: "Any"}
	if a.Target != nil {
		target = *a.Target
	}
	if !target.valid() {
		return nil, invalidArgs("listen", "target", "unknown event target kind "+strconv.Quote(target.Kind))
	}
	ev := ec.caller.doc.events
	h.mu.Lock()
	defer h.mu.Unlock()
	if ev.closed {
		return nil, tauriText("capguard: the page is no longer its window's top-level document")
	}
	h.nextID++
	l := &listener{id: h.nextID, event: *a.Event, target: target, handler: *a.Handler, doc: ev}
	if ev.listeners == nil {
		ev.listeners = map[uint32]*listener{}
	}
	ev.listeners[l.id] = l
	set := h.byEvent[l.event]
	if set == nil {
		set = map[uint32]*listener{}
		h.byEvent[l.event] = set
		name := l.event
		h.subs[name] = h.g.host.On(name, func(e *application.CustomEvent) {
			data, err := json.Marshal(e.Data)
			if err != nil {
				return
			}
			h.deliver(e.Name, data, nil)
		})
	}
	set[l.id] = l
	return l.id, nil
}

// remove takes a listener out of the index; it returns the bus
// subscription to end when it was the event's last. h.mu is held.
func (h *eventHub) remove(l *listener) func() {
	delete(l.doc.listeners, l.id)
	set := h.byEvent[l.event]
	delete(set, l.id)
	if len(set) == 0 {
		delete(h.byEvent, l.event)
		off := h.subs[l.event]
		delete(h.subs, l.event)
		return off
	}
	return nil
}

func (h *eventHub) unlisten(ctx context.Context, inv *ipc.Invocation) (any, error) {
	ec := callerOf(ctx)
	if ec == nil || ec.caller.doc == nil || ec.caller.doc.events == nil {
		return nil, tauriText("capguard: plugin:event|unlisten is for the app's own pages")
	}
	var a struct {
		Event   *string `json:"event"`
		EventID *uint32 `json:"eventId"`
	}
	if err := json.Unmarshal(inv.Args, &a); err != nil {
		return nil, invalidArgs("unlisten", "eventId", err.Error())
	}
	switch {
	case a.Event == nil:
		return nil, invalidArgs("unlisten", "event", "command unlisten missing required key event")
	case !validEventName(*a.Event):
		return nil, invalidArgs("unlisten", "event", eventNameRule)
	case a.EventID == nil:
		return nil, invalidArgs("unlisten", "eventId", "command unlisten missing required key eventId")
	}
	ev := ec.caller.doc.events
	var off func()
	h.mu.Lock()
	// Only the page's own listeners (Tauri lets any webview remove any
	// listener id; a page here cannot end another page's).
	if l := ev.listeners[*a.EventID]; l != nil && l.event == *a.Event {
		off = h.remove(l)
	}
	h.mu.Unlock()
	if off != nil {
		off()
	}
	return nil, nil
}

type emitArgs struct {
	Event   *string         `json:"event"`
	Target  *eventTarget    `json:"target"`
	Payload json.RawMessage `json:"payload"`
}

func readEmit(cmd string, inv *ipc.Invocation, viaWails bool) (emitArgs, error) {
	var a emitArgs
	if err := json.Unmarshal(inv.Args, &a); err != nil {
		return a, invalidArgs(cmd, "payload", err.Error())
	}
	if a.Event == nil {
		return a, invalidArgs(cmd, "event", "command "+cmd+" missing required key event")
	}
	if !viaWails && !validEventName(*a.Event) {
		// Wails's own event names are its business; Tauri's JavaScript
		// gets Tauri's rule.
		return a, invalidArgs(cmd, "event", eventNameRule)
	}
	if len(a.Payload) == 0 {
		a.Payload = json.RawMessage("null")
	}
	return a, nil
}

// emit puts an allowed event on the application's bus, as Wails does
// with the events its runtime emits: Go listeners, Wails's frontend
// listeners and the pages listening through Tauri's API receive it.
func (h *eventHub) emit(ctx context.Context, inv *ipc.Invocation) (any, error) {
	ec := callerOf(ctx)
	viaWails := ec != nil && ec.viaWails
	a, err := readEmit("emit", inv, viaWails)
	if err != nil {
		return nil, err
	}
	var data any
	if err := json.Unmarshal(a.Payload, &data); err != nil {
		return nil, invalidArgs("emit", "payload", err.Error())
	}
	event := &application.CustomEvent{Name: *a.Event, Data: data, Sender: inv.Window}
	h.g.host.Emit(event)
	if log := h.g.host.Logger(); log != nil {
		log.Info("Runtime call:", "method", "Events.Emit", "name", event.Name, "sender", event.Sender, "data", event.Data)
	}
	return nil, nil
}

// emitTo delivers an allowed event to the listeners Tauri's emit_to
// reaches: every listener whose target is Any, and those whose target is
// the one given (for AnyLabel, any target with that label). A target of
// Any is an emit.
func (h *eventHub) emitTo(ctx context.Context, inv *ipc.Invocation) (any, error) {
	a, err := readEmit("emit_to", inv, false)
	if err != nil {
		return nil, err
	}
	if a.Target == nil {
		return nil, invalidArgs("emit_to", "target", "command emit_to missing required key target")
	}
	target := *a.Target
	if !target.valid() {
		return nil, invalidArgs("emit_to", "target", "unknown event target kind "+strconv.Quote(target.Kind))
	}
	if target.Kind == "Any" {
		return h.emit(ctx, inv)
	}
	filter := func(t eventTarget) bool { return t == target }
	if target.Kind == "AnyLabel" {
		filter = func(t eventTarget) bool {
			return (t.Kind == "Window" || t.Kind == "Webview" || t.Kind == "WebviewWindow") && t.Label == target.Label
		}
	}
	if !json.Valid(a.Payload) {
		return nil, invalidArgs("emit_to", "payload", "not JSON")
	}
	h.deliver(*a.Event, a.Payload, filter)
	return nil, nil
}

// deliver queues an event for every listener of it that the filter (nil:
// all) or a target of Any selects.
func (h *eventHub) deliver(event string, payload []byte, filter func(eventTarget) bool) {
	h.mu.Lock()
	defer h.mu.Unlock()
	for _, l := range h.byEvent[event] {
		if l.target.Kind != "Any" && filter != nil && !filter(l.target) {
			continue
		}
		msg, err := json.Marshal(struct {
			Handler uint32 `json:"handler"`
			Event   struct {
				Event   string          `json:"event"`
				ID      uint32          `json:"id"`
				Payload json.RawMessage `json:"payload"`
			} `json:"event"`
		}{Handler: l.handler, Event: struct {
			Event   string          `json:"event"`
			ID      uint32          `json:"id"`
			Payload json.RawMessage `json:"payload"`
		}{event, l.id, payload}})
		if err != nil {
			continue
		}
		ev := l.doc
		ev.queue = append(ev.queue, msg)
		if len(ev.queue) > maxQueued {
			ev.queue = ev.queue[1:]
			ev.dropped++
		}
		select {
		case ev.notify <- struct{}{}:
		default:
		}
	}
}

// close ends a page's listeners (it is no longer its window's top-level
// document, or it was forgotten).
func (ev *docEvents) close() {
	h := ev.hub
	var offs []func()
	h.mu.Lock()
	ev.closed = true
	for _, l := range ev.listeners {
		if off := h.remove(l); off != nil {
			offs = append(offs, off)
		}
	}
	ev.queue = nil
	h.mu.Unlock()
	select {
	case ev.notify <- struct{}{}:
	default:
	}
	for _, off := range offs {
		off()
	}
}

// reopen lets a page that proved again listen again.
func (ev *docEvents) reopen() {
	ev.hub.mu.Lock()
	ev.closed = false
	ev.hub.mu.Unlock()
}

// servePoll answers a page's poll for its events: a JSON array of
// {"handler", "event": {"event", "id", "payload"}}, as soon as one is
// queued or, empty, after a wait.
func (g *Guard) servePoll(w http.ResponseWriter, r *http.Request) {
	if r.Method != http.MethodPost {
		w.Header().Set("Allow", "POST")
		writeText(w, http.StatusMethodNotAllowed, "capguard: the event poll takes POST")
		return
	}
	c, rf := g.identify(r)
	if rf == nil && c.doc == nil {
		rf = forbidden("events are delivered to the app's own pages")
	}
	if rf != nil {
		g.refuse(w, r, "", c.window, rf)
		return
	}
	_, _ = io.Copy(io.Discard, io.LimitReader(r.Body, 1024))
	ev := c.doc.events
	timer := time.NewTimer(g.pollWait)
	defer timer.Stop()
	for {
		g.events.mu.Lock()
		closed, queue := ev.closed, ev.queue
		if len(queue) > 0 {
			ev.queue = nil
		}
		g.events.mu.Unlock()
		if closed {
			g.refuse(w, r, "", c.window, forbidden("the page is no longer its window's top-level document: reload it"))
			return
		}
		if len(queue) > 0 {
			writeBatch(w, queue)
			return
		}
		select {
		case <-ev.notify:
		case <-timer.C:
			writeBatch(w, nil)
			return
		case <-r.Context().Done():
			return
		}
	}
}

func writeBatch(w http.ResponseWriter, queue [][]byte) {
	h := w.Header()
	h.Set("Content-Type", "application/json")
	h.Set("Cache-Control", "no-store")
	w.WriteHeader(http.StatusOK)
	body := []byte{'['}
	for i, m := range queue {
		if i > 0 {
			body = append(body, ',')
		}
		body = append(body, m...)
	}
	_, _ = w.Write(append(body, ']'))
}
