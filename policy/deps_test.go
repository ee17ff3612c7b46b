package policy_test

import (
	"os/exec"
	"strings"
	"testing"
)

// TestNativeEngineDependencies: a program that imports acl and the native
// engine does not carry OPA, cobra or godbus.
func TestNativeEngineDependencies(t *testing.T) {
	out, err := exec.Command("go", "list", "-deps", "github.com/capguard/capguard/policy").CombinedOutput()
	if err != nil {
		t.Fatalf("go list: %v\n%s", err, out)
	}
	deps := strings.Fields(string(out))
	if len(deps) < 10 {
		t.Fatalf("go list -deps printed %d packages", len(deps))
	}
	for _, d := range deps {
		for _, banned := range []string{"github.com/open-policy-agent/", "github.com/spf13/cobra", "github.com/godbus/"} {
			if strings.HasPrefix(d, banned) {
				t.Errorf("policy depends on %s", d)
			}
		}
	}
}
