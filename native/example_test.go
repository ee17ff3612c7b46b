package native_test

import (
	"errors"
	"fmt"

	"github.com/capguard/capguard/native"
)

// A shim reports a failure as an *Error with one of the eleven codes; the
// code is an errors.Is target, and the error is the object the JavaScript
// promise rejects with.
func ExampleError() {
	var err error = fmt.Errorf("prompt: %w", native.NewError(native.UserCancel, "Canceled by user."))
	fmt.Println(errors.Is(err, native.UserCancel), errors.Is(err, native.SystemCancel))
	var e *native.Error
	if errors.As(err, &e) {
		body, _ := e.MarshalJSON()
		fmt.Println(string(body))
	}
	// Output:
	// true false
	// {"message":"Canceled by user.","code":"userCancel"}
}
