package capwails

import (
	"strings"
	"time"

	"github.com/wailsapp/wails/v3/pkg/application"
)

// rawPrefix starts every raw message the page script sends: the page's
// token follows, then ':' and the message.
const rawPrefix = "capguard:"

// RawMessageHandler returns the check New installs in front of the app's
// application.Options.RawMessageHandler. A raw message
// (window._wails.invoke, or webkit.messageHandlers.external.postMessage)
// carries no origin, and WebKit lets every document of a window post one,
// remote pages and frames included; so a message reaches next only when
// the page script of the window's current top-level document sent it with
// its token. Anything else is dropped (and told to Config.OnReject). next
// may be nil: the messages are then checked and dropped.
//
// Wails's own "wails:" messages never reach a RawMessageHandler (Wails
// handles them first); docs/wails.md says why each is harmless.
func (g *Guard) RawMessageHandler(next func(window application.Window, message string)) func(application.Window, string) {
	return func(window application.Window, message string) {
		if window == nil {
			return
		}
		reject := func(text string) {
			if g.onReject != nil {
				g.onReject(Rejection{Time: time.Now(), Path: "raw message", Window: window.Name(), Status: 403, Text: "capguard: " + text})
			}
		}
		rest, ok := strings.CutPrefix(message, rawPrefix)
		token, msg, ok2 := strings.Cut(rest, ":")
		if !ok || !ok2 {
			reject("a raw message without the page token (a page the app did not serve, or a frame)")
			return
		}
		d, st, known := g.docs.lookup(token)
		if !known || st != active || d.windowID != window.ID() {
			reject("a raw message with a token that is not its window's top-level document's")
			return
		}
		if next != nil {
			next(window, msg)
		}
	}
}
