package ipc_test

import (
	"context"
	"errors"
	"regexp"
	"slices"
	"strings"
	"testing"

	"github.com/capguard/capguard/ipc"
)

func nop(context.Context, *ipc.Invocation) (any, error) { return nil, nil }

func TestRouterRegisters(t *testing.T) {
	var r ipc.Router // the zero Router is usable
	if err := r.HandlePlugin("files", "read", ipc.HandlerFunc(nop)); err != nil {
		t.Fatal(err)
	}
	if err := r.Handle("open_vault", ipc.HandlerFunc(nop)); err != nil {
		t.Fatal(err)
	}
	if err := r.HandlePlugin("window", "set-title", ipc.HandlerFunc(nop)); err != nil {
		t.Fatal(err)
	}
	want := []string{"open_vault", "plugin:files|read", "plugin:window|set-title"}
	if got := r.Commands(); !slices.Equal(got, want) {
		t.Errorf("Commands = %q, want %q", got, want)
	}
}

func TestRouterDuplicateNamesBothSites(t *testing.T) {
	r := ipc.NewRouter()
	if err := r.HandlePlugin("files", "read", ipc.HandlerFunc(nop)); err != nil { // first site
		t.Fatal(err)
	}
	err := r.HandlePlugin("files", "read", ipc.HandlerFunc(nop)) // second site
	if !errors.Is(err, ipc.ErrDuplicate) {
		t.Fatalf("got %v, want ErrDuplicate", err)
	}
	sites := regexp.MustCompile(`router_test\.go:(\d+)`).FindAllStringSubmatch(err.Error(), -1)
	if len(sites) != 2 || sites[0][1] == sites[1][1] {
		t.Fatalf("the error should name both registration sites: %v", err)
	}
	if !strings.Contains(err.Error(), `"plugin:files|read"`) {
		t.Errorf("the error should name the command: %v", err)
	}
	// The same bare name as an app command is another command.
	if err := r.Handle("read", ipc.HandlerFunc(nop)); err != nil {
		t.Errorf("bare read: %v", err)
	}
	if err := r.Handle("read", ipc.HandlerFunc(nop)); !errors.Is(err, ipc.ErrDuplicate) {
		t.Errorf("duplicate bare command: %v", err)
	}
}

func TestRouterRejectsBadNames(t *testing.T) {
	for _, tc := range []struct {
		name, plugin, command string
		want                  string
	}{
		{"empty command", "", "", "the command is empty"},
		{"empty plugin", "-", "read", ""},
		{"plugin prefix on bare", "", "plugin:files|read", `starts with "plugin:"`},
		{"pipe in plugin", "a|b", "read", `has '|'`},
		{"colon in command", "files", "a:b", `has ':'`},
		{"space", "", "open vault", `has ' '`},
		{"non-ASCII", "", "öffnen", `has 'ö' at byte 0`},
		{"too long", "", strings.Repeat("a", ipc.MaxNameLen+1), "bytes long"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			r := ipc.NewRouter()
			var err error
			if tc.plugin == "" {
				err = r.Handle(tc.command, ipc.HandlerFunc(nop))
			} else {
				err = r.HandlePlugin(tc.plugin, tc.command, ipc.HandlerFunc(nop))
			}
			if tc.want == "" { // a valid name, as a control
				if err != nil {
					t.Fatalf("unexpected error %v", err)
				}
				return
			}
			if !errors.Is(err, ipc.ErrInvalidName) || !strings.Contains(err.Error(), tc.want) {
				t.Errorf("got %v, want ErrInvalidName mentioning %q", err, tc.want)
			}
			if len(r.Commands()) != 0 {
				t.Error("a rejected registration was kept")
			}
		})
	}
}

func TestRouterRejectsNilHandler(t *testing.T) {
	r := ipc.NewRouter()
	if err := r.Handle("x", nil); err == nil || !strings.Contains(err.Error(), "nil") {
		t.Errorf("got %v", err)
	}
	if len(r.Commands()) != 0 {
		t.Error("nil handler kept")
	}
}
