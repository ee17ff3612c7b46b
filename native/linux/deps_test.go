package linux_test

import (
	"os/exec"
	"strings"
	"testing"
)

// TestImportBoundaries: godbus is imported only by native/fprintd and
// native/secretservice (and their test rigs), go-tpm only by native/tpm
// (DESIGN.md); native/linux reaches both through them.
func TestImportBoundaries(t *testing.T) {
	out, err := exec.Command("go", "list", "-test", "-f", `{{.ImportPath}}{{range .Imports}} {{.}}{{end}}`, "github.com/capguard/capguard/...").Output()
	if err != nil {
		t.Fatalf("go list: %v", err)
	}
	allowed := map[string][]string{
		"github.com/godbus/":       {"github.com/capguard/capguard/native/fprintd", "github.com/capguard/capguard/native/secretservice"},
		"github.com/google/go-tpm": {"github.com/capguard/capguard/native/tpm"},
	}
	seen := map[string]bool{}
	for _, line := range strings.Split(strings.TrimSpace(string(out)), "\n") {
		f := strings.Fields(line)
		if len(f) == 0 {
			continue
		}
		// "pkg [pkg.test]" and "pkg_test [pkg.test]" name test variants.
		pkg := strings.TrimSuffix(strings.Split(f[0], " ")[0], "_test")
		for _, imp := range f[1:] {
			for prefix, owners := range allowed {
				if !strings.HasPrefix(imp, prefix) {
					continue
				}
				seen[prefix] = true
				ok := false
				for _, o := range owners {
					if pkg == o || strings.HasPrefix(pkg, o+"/") {
						ok = true
					}
				}
				if !ok {
					t.Errorf("%s imports %s; only %s may", pkg, imp, strings.Join(owners, ", "))
				}
			}
		}
	}
	for prefix := range allowed {
		if !seen[prefix] {
			t.Errorf("no package imports %s: the check is blind", prefix)
		}
	}
}
