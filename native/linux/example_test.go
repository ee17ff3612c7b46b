package linux_test

import (
	"context"
	"fmt"
	"log"
	"os"

	"github.com/capguard/capguard/native"
	"github.com/capguard/capguard/native/fprintd"
	"github.com/capguard/capguard/native/linux"
	"github.com/capguard/capguard/native/tpm"
)

// Example builds the Linux device: fprintd for the finger, the TPM for
// the records and the step-up key. An app passes it to biometric.New. Here
// the bus points nowhere, so asking for the step-up key (which reads the
// enrolled fingers) reports that there is no reader.
func Example() {
	dir, err := os.MkdirTemp("", "capguard-vault")
	if err != nil {
		log.Fatal(err)
	}
	defer os.RemoveAll(dir)
	reader, err := fprintd.New(fprintd.Options{Address: "unix:path=/nonexistent/capguard-example-bus"})
	if err != nil {
		log.Fatal(err)
	}
	store, err := tpm.New(tpm.Options{Dir: dir}) // /dev/tpmrm0
	if err != nil {
		log.Fatal(err)
	}
	dev, err := linux.NewSigning(reader, store, store)
	if err != nil {
		log.Fatal(err)
	}
	fmt.Println(dev.VaultBinding(), dev.SignerBinding())
	_, err = dev.StepUpKey(context.Background(), true)
	code, _ := native.CodeOf(err)
	fmt.Println(code)
	// Output:
	// event event
	// biometryNotAvailable
}
