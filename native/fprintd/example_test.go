package fprintd_test

import (
	"context"
	"fmt"
	"log"

	"github.com/capguard/capguard/native"
	"github.com/capguard/capguard/native/fprintd"
)

// Example creates the Linux shim and asks for the reader's status. An app
// passes the shim to biometric.New; here the bus address points nowhere,
// so the answer is the one of a machine without fprintd.
func Example() {
	shim, err := fprintd.New(fprintd.Options{
		// Empty means the system bus, where fprintd lives.
		Address: "unix:path=/nonexistent/capguard-example-bus",
		Progress: func(p native.Prompt, status string) {
			// fprintd has no UI: show "Touch the reader" on "ready",
			// and a hint on verify-swipe-too-short and the like.
		},
	})
	if err != nil {
		log.Fatal(err)
	}
	_, err = shim.Status(context.Background())
	code, _ := native.CodeOf(err)
	fmt.Println(code)
	// Output: biometryNotAvailable
}
