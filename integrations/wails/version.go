package capwails

import (
	"fmt"
	"runtime/debug"
	"strings"
)

// WailsVersion is the Wails release whose wire format the guard reads:
// the runtime's query (object, method, args), the binding call's fields
// (call-id, methodName, methodID, args), the event's (name, data), the
// window headers, and how results reach the page. The guard refuses to
// start with another one (New), rather than misread a changed format and
// fail open or closed without a word; TestWireFormat checks the format
// itself against Wails's code.
const WailsVersion = "v3.0.0-alpha.38"

const wailsModule = "github.com/wailsapp/wails/v3"

// linkedWailsVersion reports the Wails version the running binary was
// built with, from its build information. A test binary lists no
// dependencies; its module's go.mod is checked by TestWireFormat instead.
func linkedWailsVersion() (string, bool) {
	info, ok := debug.ReadBuildInfo()
	if !ok {
		return "", false
	}
	if len(info.Deps) == 0 && strings.HasSuffix(info.Path, ".test") {
		return WailsVersion, true
	}
	for _, dep := range info.Deps {
		if dep.Path == wailsModule {
			if dep.Replace != nil && dep.Replace.Version != "" {
				return dep.Replace.Version, true
			}
			return dep.Version, true
		}
	}
	return "", false
}

func checkWailsVersion() error {
	v, ok := linkedWailsVersion()
	if !ok {
		return fmt.Errorf("capwails: the binary has no module information for %s: build it with module support (capwails reads the wire format of Wails %s)", wailsModule, WailsVersion)
	}
	if v != WailsVersion {
		return fmt.Errorf("capwails: this binary is built with Wails %s, but capwails reads the wire format of Wails %s: use the capwails release for your Wails version", v, WailsVersion)
	}
	return nil
}
