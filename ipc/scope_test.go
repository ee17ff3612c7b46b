package ipc_test

import (
	"context"
	"errors"
	"github.com/capguard/capguard/acl"
	"path"
	"reflect"
	"testing"

	"github.com/capguard/capguard/ipc"
)

// pathEntry is a scope entry in the shape of Tauri's fs plugin.
type pathEntry struct {
	Path string `json:"path"`
}

func (e pathEntry) covers(p string) bool {
	ok, err := path.Match(e.Path, p)
	return err == nil && ok
}

func TestDecodeScopeCommandAndGlobal(t *testing.T) {
	res := resolveFiles(t)
	var got ipc.Scope[pathEntry]
	r := ipc.NewRouter()
	if err := r.HandlePlugin("files", "read", ipc.HandlerFunc(func(_ context.Context, inv *ipc.Invocation) (any, error) {
		var err error
		got, err = ipc.DecodeScope[pathEntry](inv)
		return nil, err
	})); err != nil {
		t.Fatal(err)
	}
	g := r.Guard(compile(t, res), ipc.WithScopes(res))
	if _, err := g.Invoke(context.Background(), &ipc.Invocation{Origin: acl.LocalOrigin, Command: "plugin:files|read", Window: "main"}); err != nil {
		t.Fatal(err)
	}
	// The capability entry's scope, then the plugin's global scope.
	want := ipc.Scope[pathEntry]{
		Allow: []pathEntry{{"/home/u/notes/*"}, {"/home/u/docs/*"}},
		Deny:  []pathEntry{{"/home/u/notes/secret"}, {"/home/u/docs/private"}},
	}
	if !reflect.DeepEqual(got, want) {
		t.Fatalf("got  %+v\nwant %+v", got, want)
	}
	for _, tc := range []struct {
		path string
		want bool
	}{
		{"/home/u/notes/todo", true},
		{"/home/u/docs/cv", true},
		{"/home/u/notes/secret", false}, // command deny
		{"/home/u/docs/private", false}, // global deny
		{"/etc/passwd", false},          // no allow matches
	} {
		if ok := got.Matches(func(e pathEntry) bool { return e.covers(tc.path) }); ok != tc.want {
			t.Errorf("Matches(%s) = %v, want %v", tc.path, ok, tc.want)
		}
	}
}

func TestScopeMatchesSemantics(t *testing.T) {
	eq := func(x string) func(string) bool { return func(e string) bool { return e == x } }
	for _, tc := range []struct {
		name  string
		scope ipc.Scope[string]
		input string
		want  bool
	}{
		{"empty scope accepts", ipc.Scope[string]{}, "a", true},
		{"deny only, not matching", ipc.Scope[string]{Deny: []string{"b"}}, "a", true},
		{"deny only, matching", ipc.Scope[string]{Deny: []string{"a"}}, "a", false},
		{"allow matching", ipc.Scope[string]{Allow: []string{"a"}}, "a", true},
		{"allow not matching", ipc.Scope[string]{Allow: []string{"b"}}, "a", false},
		{"deny wins over allow", ipc.Scope[string]{Allow: []string{"a"}, Deny: []string{"a"}}, "a", false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if got := tc.scope.Matches(eq(tc.input)); got != tc.want {
				t.Errorf("got %v, want %v", got, tc.want)
			}
		})
	}
}

func TestDecodeScopeFailsClosed(t *testing.T) {
	res := resolveFiles(t)
	for _, tc := range []struct {
		name   string
		scopes bool
		decode func(*ipc.Invocation) error
	}{
		{"no WithScopes", false, func(inv *ipc.Invocation) error { _, err := ipc.DecodeScope[pathEntry](inv); return err }},
		{"wrong type", true, func(inv *ipc.Invocation) error { _, err := ipc.DecodeScope[int](inv); return err }},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var derr error
			r := ipc.NewRouter()
			_ = r.HandlePlugin("files", "read", ipc.HandlerFunc(func(_ context.Context, inv *ipc.Invocation) (any, error) {
				derr = tc.decode(inv)
				return nil, derr
			}))
			var opts []ipc.GuardOption
			if tc.scopes {
				opts = append(opts, ipc.WithScopes(res))
			}
			_, err := r.Guard(compile(t, res), opts...).Invoke(context.Background(), &ipc.Invocation{Origin: acl.LocalOrigin, Command: "plugin:files|read", Window: "main"})
			if !errors.Is(derr, ipc.ErrScope) || !errors.Is(err, ipc.ErrScope) {
				t.Errorf("got %v", derr)
			}
		})
	}
	if _, err := ipc.DecodeScope[pathEntry](&ipc.Invocation{Origin: acl.LocalOrigin, Command: "plugin:files|read"}); !errors.Is(err, ipc.ErrScope) {
		t.Errorf("unguarded invocation: %v", err)
	}
	if _, err := ipc.DecodeScope[pathEntry](nil); !errors.Is(err, ipc.ErrScope) {
		t.Errorf("nil invocation: %v", err)
	}
}

func TestDecodeScopeOnlyGlobal(t *testing.T) {
	// stat has no command scope: only the global scope applies.
	res := resolveFiles(t)
	var got ipc.Scope[pathEntry]
	r := ipc.NewRouter()
	_ = r.HandlePlugin("files", "stat", ipc.HandlerFunc(func(_ context.Context, inv *ipc.Invocation) (any, error) {
		var err error
		got, err = ipc.DecodeScope[pathEntry](inv)
		return nil, err
	}))
	if _, err := r.Guard(compile(t, res), ipc.WithScopes(res)).Invoke(context.Background(), &ipc.Invocation{Origin: acl.LocalOrigin, Command: "plugin:files|stat", Window: "main"}); err != nil {
		t.Fatal(err)
	}
	want := ipc.Scope[pathEntry]{Allow: []pathEntry{{"/home/u/docs/*"}}, Deny: []pathEntry{{"/home/u/docs/private"}}}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("got %+v, want %+v", got, want)
	}
}

// TestDecodeScopeCache decodes the same scopes as two types through one
// guard, and checks that a handler changing its copy does not change what
// the next call gets.
func TestDecodeScopeCache(t *testing.T) {
	res := resolveFiles(t)
	var first, second ipc.Scope[pathEntry]
	var asMaps ipc.Scope[map[string]string]
	n := 0
	r := ipc.NewRouter()
	_ = r.HandlePlugin("files", "read", ipc.HandlerFunc(func(_ context.Context, inv *ipc.Invocation) (any, error) {
		n++
		s, err := ipc.DecodeScope[pathEntry](inv)
		if err != nil {
			return nil, err
		}
		if n == 1 {
			first = s
			s.Allow[0].Path = "/changed"
			s.Deny = append(s.Deny[:0], pathEntry{"/x"})
		} else {
			second = s
		}
		asMaps, err = ipc.DecodeScope[map[string]string](inv)
		return nil, err
	}))
	g := r.Guard(compile(t, res), ipc.WithScopes(res))
	for i := 0; i < 2; i++ {
		if _, err := g.Invoke(context.Background(), &ipc.Invocation{Origin: acl.LocalOrigin, Command: "plugin:files|read", Window: "main"}); err != nil {
			t.Fatal(err)
		}
	}
	want := ipc.Scope[pathEntry]{
		Allow: []pathEntry{{"/home/u/notes/*"}, {"/home/u/docs/*"}},
		Deny:  []pathEntry{{"/home/u/notes/secret"}, {"/home/u/docs/private"}},
	}
	if !reflect.DeepEqual(second, want) {
		t.Errorf("second call got %+v after the first changed its copy (%+v)", second, first)
	}
	if len(asMaps.Allow) != 2 || asMaps.Allow[0]["path"] != "/home/u/notes/*" || asMaps.Deny[1]["path"] != "/home/u/docs/private" {
		t.Errorf("as maps: %+v", asMaps)
	}
}
