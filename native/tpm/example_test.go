package tpm_test

import (
	"context"
	"fmt"
	"log"
	"os"

	"github.com/capguard/capguard/native"
	"github.com/capguard/capguard/native/tpm"
)

// Example opens a store of sealed records. On a real machine leave Device
// and Address empty (the TPM is /dev/tpmrm0); here the address points at
// no TPM, so Probe reports the store unusable.
func Example() {
	dir, err := os.MkdirTemp("", "capguard-vault")
	if err != nil {
		log.Fatal(err)
	}
	defer os.RemoveAll(dir)
	store, err := tpm.New(tpm.Options{Dir: dir, Address: "127.0.0.1:1"})
	if err != nil {
		log.Fatal(err)
	}
	err = store.Probe(context.Background())
	code, _ := native.CodeOf(err)
	fmt.Println(code)
	// Output: internalError
}
