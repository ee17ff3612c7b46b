package ipc

import (
	"context"
	"errors"
	"fmt"
	"runtime"
	"sort"
	"strconv"
	"strings"
	"sync"
)

// Registration errors.
var (
	// ErrDuplicate: a command is registered twice.
	ErrDuplicate = errors.New("duplicate command")
	// ErrInvalidName: a plugin or command name cannot be invoked.
	ErrInvalidName = errors.New("invalid command name")
)

// ErrNotFound is wrapped by the error of an allowed call to a command that
// no handler answers. Its text is Tauri's: "Command <name> not found".
var ErrNotFound = errors.New("command not found")

// MaxNameLen bounds plugin and command names, in bytes.
const MaxNameLen = 128

// Router maps command names to handlers. Plugins register
// "plugin:<plugin>|<command>" commands with HandlePlugin, the app its bare
// commands with Handle. A Router cannot dispatch on its own: Guard puts it
// behind a policy engine. The zero Router is ready to use; a Router is
// safe for concurrent use, and commands may be added while it serves.
type Router struct {
	mu     sync.RWMutex
	routes map[string]route
}

type route struct {
	h    Handler
	site string // file:line of the registration
}

// NewRouter returns an empty router.
func NewRouter() *Router { return &Router{} }

// Handle registers a bare application command ("open_vault"), invoked
// from JavaScript as invoke("open_vault"). It fails when the command is
// already registered (naming both registration sites), when h is nil, or
// when the name is not a valid command name: ASCII letters, digits, "_"
// and "-", at most MaxNameLen bytes, not starting with "plugin:".
func (r *Router) Handle(command string, h Handler) error {
	if err := checkName("command", command); err != nil {
		return err
	}
	return r.register(command, h)
}

// HandlePlugin registers a command of a plugin, invoked from JavaScript
// as invoke("plugin:<plugin>|<command>"). Names follow the rules of Handle.
func (r *Router) HandlePlugin(plugin, command string, h Handler) error {
	if err := checkName("plugin name", plugin); err != nil {
		return err
	}
	if err := checkName("command", command); err != nil {
		return err
	}
	return r.register("plugin:"+plugin+"|"+command, h)
}

// register records a handler with the site of the caller of Handle or
// HandlePlugin.
func (r *Router) register(full string, h Handler) error {
	site := "unknown site"
	if _, file, line, ok := runtime.Caller(2); ok {
		site = file + ":" + strconv.Itoa(line)
	}
	if h == nil {
		return fmt.Errorf("ipc: registering %q at %s: the handler is nil", full, site)
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	if prev, ok := r.routes[full]; ok {
		return fmt.Errorf("ipc: %w: %q registered at %s conflicts with the same command registered at %s", ErrDuplicate, full, site, prev.site)
	}
	if r.routes == nil {
		r.routes = map[string]route{}
	}
	r.routes[full] = route{h: h, site: site}
	return nil
}

// Commands returns the registered command names, sorted.
func (r *Router) Commands() []string {
	if r == nil {
		return nil
	}
	r.mu.RLock()
	defer r.mu.RUnlock()
	out := make([]string, 0, len(r.routes))
	for k := range r.routes {
		out = append(out, k)
	}
	sort.Strings(out)
	return out
}

// dispatch calls the handler of inv.Command. It is only reachable through
// the guard.
func (r *Router) dispatch(ctx context.Context, inv *Invocation) (any, error) {
	r.mu.RLock()
	rt, ok := r.routes[inv.Command]
	r.mu.RUnlock()
	if !ok {
		return nil, notFound(inv.Command)
	}
	return rt.h.ServeIPC(ctx, inv)
}

// notFound is Tauri's answer to a command nobody handles: for a plugin
// command it names the command without its plugin, as Tauri does.
func notFound(command string) error {
	name := command
	if rest, ok := strings.CutPrefix(command, "plugin:"); ok {
		if _, n, ok := strings.Cut(rest, "|"); ok {
			name = n
		}
	}
	return &textError{text: "Command " + name + " not found", sentinel: ErrNotFound}
}

func checkName(what, s string) error {
	switch {
	case s == "":
		return fmt.Errorf("ipc: %w: the %s is empty", ErrInvalidName, what)
	case len(s) > MaxNameLen:
		return fmt.Errorf("ipc: %w: the %s is %d bytes long, more than %d", ErrInvalidName, what, len(s), MaxNameLen)
	case strings.HasPrefix(s, "plugin:"):
		return fmt.Errorf("ipc: %w: %s %q starts with \"plugin:\"; register plugin commands with HandlePlugin", ErrInvalidName, what, s)
	}
	for i, c := range s {
		if !(c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '_' || c == '-') {
			return fmt.Errorf("ipc: %w: %s %q has %q at byte %d; use ASCII letters, digits, '_' and '-'", ErrInvalidName, what, s, c, i)
		}
	}
	return nil
}

// textError is an error whose text is what the frontend receives, as a
// JSON string.
type textError struct {
	text     string
	sentinel error
}

func (e *textError) Error() string                { return e.text }
func (e *textError) Unwrap() error                { return e.sentinel }
func (e *textError) MarshalJSON() ([]byte, error) { return []byte(quote(e.text)), nil }
