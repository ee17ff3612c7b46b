package policy

import (
	"fmt"
	"testing"

	"github.com/capguard/capguard/internal/policytest"
)

// TestCommandTable: every command of every corpus ACL is found, and names
// that are not commands (prefixes, extensions, one byte changed, empty)
// are not.
func TestCommandTable(t *testing.T) {
	acls, _ := policytest.Corpus(t)
	for _, a := range acls {
		n, err := Compile(a.Resolved)
		if err != nil {
			t.Fatal(err)
		}
		for name, c := range n.commands {
			if got := n.table.lookup(name); got != c {
				t.Fatalf("%s: %q not found", a.Name, name)
			}
			for _, other := range []string{name[:len(name)-1], name + "x", "x" + name, "", string(append([]byte(name[:len(name)-1]), name[len(name)-1]^1))} {
				if n.commands[other] == nil && n.table.lookup(other) != nil {
					t.Fatalf("%s: %q found", a.Name, other)
				}
			}
		}
	}
}

// BenchmarkCommandLookup compares the command table with a Go map on the
// largest corpus ACL, every command in turn, in one run.
func BenchmarkCommandLookup(b *testing.B) {
	a := policytest.Largest(b)
	n, err := Compile(a.Resolved)
	if err != nil {
		b.Fatal(err)
	}
	names := make([]string, 0, len(n.commands))
	for name := range n.commands {
		names = append(names, name)
	}
	b.Logf("%d commands", len(names))
	var sink *command
	b.Run("table", func(b *testing.B) {
		i := 0
		for b.Loop() {
			sink = n.table.lookup(names[i])
			if i++; i == len(names) {
				i = 0
			}
		}
	})
	b.Run("map", func(b *testing.B) {
		i := 0
		for b.Loop() {
			sink = n.commands[names[i]]
			if i++; i == len(names) {
				i = 0
			}
		}
	})
	_ = fmt.Sprint(sink != nil)
}
