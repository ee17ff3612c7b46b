package secretservice_test

import (
	"context"
	"fmt"
	"log"

	"github.com/capguard/capguard/native"
	"github.com/capguard/capguard/native/secretservice"
)

// Example opens the records in the desktop keyring. Leave Address empty
// for the session bus; here it points nowhere, so Probe reports that there
// is no Secret Service.
func Example() {
	store, err := secretservice.New(secretservice.Options{Address: "unix:path=/nonexistent/capguard-session-bus"})
	if err != nil {
		log.Fatal(err)
	}
	err = store.Probe(context.Background())
	code, _ := native.CodeOf(err)
	fmt.Println(code)
	// Output: internalError
}
