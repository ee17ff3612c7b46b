package acldiff_test

import (
	"io/fs"
	"log"
	"os"
	"testing/fstest"

	"github.com/capguard/capguard/acldiff"
	"github.com/capguard/capguard/examples"
)

// The example app against a version in which the settings window may also
// authenticate: the report says what widens and which entry does it.
func ExampleCompare() {
	changed := fstest.MapFS{}
	err := fs.WalkDir(examples.App(), ".", func(p string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		data, err := fs.ReadFile(examples.App(), p)
		changed[p] = &fstest.MapFile{Data: data}
		return err
	})
	if err != nil {
		log.Fatal(err)
	}
	changed["capabilities/settings.toml"] = &fstest.MapFile{Data: []byte(`identifier = "settings-window"
windows = ["settings"]
permissions = ["biometric:allow-status", "biometric:allow-authenticate"]
`)}
	old := acldiff.Side{Name: "before", FS: examples.App(), Dir: "app"}
	new := acldiff.Side{Name: "after", FS: changed, Dir: "app"}
	report, err := acldiff.Compare(old, new, nil)
	if err != nil {
		log.Fatal(err)
	}
	if err := report.WriteText(os.Stdout); err != nil {
		log.Fatal(err)
	}
	// Output:
	// capguard diff: widened (1 widened, 0 narrowed, worst risk low; before → after; targets linux, macOS, windows)
	//
	// window "settings"
	//   plugin biometric
	//     + [low] can now call biometric.authenticate from local pages
	//         by capability "settings-window", biometric:allow-authenticate at app/capabilities/settings.toml:3:42
}
