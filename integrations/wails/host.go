package capwails

import (
	"log/slog"

	"github.com/wailsapp/wails/v3/pkg/application"
)

// Host is what the guard asks of the running Wails application. The
// default (Config.Host nil) is the application of application.Get();
// tests and other hosts supply their own.
type Host interface {
	// WindowName returns the name of the window with this id, which Wails's
	// asset server writes into HeaderWindowID.
	WindowName(id uint) (name string, ok bool)
	// Window returns the window with this id, for the context of a bound
	// method (application.WindowKey); nil when there is none.
	Window(id uint) application.Window
	// ExecJS runs script in the top-level document of window id
	// (Window.ExecJS), and reports whether the window exists. The guard
	// uses it to prove that a page is a window's top-level document: a
	// frame never receives what the host runs this way.
	ExecJS(id uint, script string) bool
	// Emit puts an event on the application's event bus (Event.EmitEvent):
	// Go listeners and Wails's own frontend listeners receive it.
	Emit(event *application.CustomEvent)
	// On subscribes to an event of the bus (Event.On) and returns the
	// function that ends the subscription.
	On(name string, callback func(*application.CustomEvent)) (off func())
	// Logger is where binding calls are logged, as Wails logs them; nil
	// for none.
	Logger() *slog.Logger
}

// wailsHost is the running Wails application.
type wailsHost struct{}

func (wailsHost) app() *application.App {
	app := application.Get()
	if app == nil || app.Window == nil {
		return nil
	}
	return app
}

func (h wailsHost) WindowName(id uint) (string, bool) {
	w := h.Window(id)
	if w == nil {
		return "", false
	}
	return w.Name(), true
}

func (h wailsHost) Window(id uint) application.Window {
	app := h.app()
	if app == nil {
		return nil
	}
	w, ok := app.Window.GetByID(id)
	if !ok || w == nil {
		return nil
	}
	return w
}

func (h wailsHost) ExecJS(id uint, script string) bool {
	w := h.Window(id)
	if w == nil {
		return false
	}
	w.ExecJS(script)
	return true
}

func (h wailsHost) Emit(event *application.CustomEvent) {
	if app := h.app(); app != nil && app.Event != nil {
		app.Event.EmitEvent(event)
	}
}

func (h wailsHost) On(name string, callback func(*application.CustomEvent)) func() {
	if app := h.app(); app != nil && app.Event != nil {
		return app.Event.On(name, callback)
	}
	return func() {}
}

func (h wailsHost) Logger() *slog.Logger {
	if app := h.app(); app != nil {
		return app.Logger
	}
	return nil
}
