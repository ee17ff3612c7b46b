package secretservice_test

import (
	"context"
	"crypto/sha256"
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/godbus/dbus/v5"

	"github.com/capguard/capguard/native"
	"github.com/capguard/capguard/native/secretservice"
	"github.com/capguard/capguard/native/secretservice/sstest"
)

var (
	bindingA = sha256.Sum256([]byte("fingers A"))
	bindingB = sha256.Sum256([]byte("fingers B"))
)

func wantCode(t *testing.T, err error, code native.Code) {
	t.Helper()
	if got, ok := native.CodeOf(err); !ok || got != code {
		t.Fatalf("err = %v (code %q), want code %q", err, got, code)
	}
}

// TestSecretService runs the store against the real gnome-keyring-daemon
// on a private session bus.
func TestSecretService(t *testing.T) {
	k := sstest.Start(t)
	s, err := secretservice.New(secretservice.Options{Address: k.Address})
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	seal := func(t *testing.T, domain, name string, b [32]byte, data string) {
		t.Helper()
		if err := s.Seal(ctx, domain, name, b[:], []byte(data)); err != nil {
			t.Fatalf("Seal(%s, %s): %v", domain, name, err)
		}
	}
	want := func(t *testing.T, domain, name string, b [32]byte, data string) {
		t.Helper()
		got, err := s.Unseal(ctx, domain, name, b[:])
		if err != nil || string(got) != data {
			t.Fatalf("Unseal(%s, %s) = %q, %v; want %q", domain, name, got, err, data)
		}
	}

	if err := s.Probe(ctx); err != nil {
		t.Fatal(err)
	}

	t.Run("round trip", func(t *testing.T) {
		seal(t, "com.example.vault", "token", bindingA, "s3cret")
		want(t, "com.example.vault", "token", bindingA, "s3cret")
		if err := s.Check(ctx, "com.example.vault", "token", bindingA[:]); err != nil {
			t.Errorf("Check: %v", err)
		}
		if ok, err := s.Has(ctx, "com.example.vault", "token"); err != nil || !ok {
			t.Errorf("Has = %v, %v", ok, err)
		}
		// libsecret's own client finds the item by its attributes.
		out, err := k.SecretTool(t, "", "search", "--all", "xdg:schema", "app.capguard.Vault", "domain", "com.example.vault")
		if err != nil || !strings.Contains(out, "attribute.name = token") || !strings.Contains(out, "attribute.capguard-format = 1") {
			t.Errorf("secret-tool search: %v\n%s", err, out)
		}
		// And reads the secret that crossed the bus in the encrypted
		// session: gnome-keyring decrypted it as libsecret would.
		out, err = k.SecretTool(t, "", "lookup", "xdg:schema", "app.capguard.Vault", "domain", "com.example.vault", "name", "token")
		if err != nil || !strings.HasPrefix(out, "cgss") || !strings.Contains(out, "s3cret") {
			t.Errorf("secret-tool lookup = %q, %v; want the record's format", out, err)
		}
	})

	t.Run("empty, largest and binary data", func(t *testing.T) {
		seal(t, "d", "empty", bindingA, "")
		want(t, "d", "empty", bindingA, "")
		big := strings.Repeat("\x00\xff", native.MaxDataLen/2)
		seal(t, "d", "big", bindingA, big)
		want(t, "d", "big", bindingA, big)
	})

	t.Run("replace keeps one item", func(t *testing.T) {
		seal(t, "d", "r", bindingA, "one")
		seal(t, "d", "r", bindingA, "two")
		want(t, "d", "r", bindingA, "two")
		out, _ := k.SecretTool(t, "", "search", "--all", "xdg:schema", "app.capguard.Vault", "domain", "d", "name", "r")
		if n := strings.Count(out, "attribute.name = r"); n != 1 {
			t.Errorf("%d items for one record:\n%s", n, out)
		}
	})

	t.Run("invalid input", func(t *testing.T) {
		wantCode(t, s.Seal(ctx, "d", "n", bindingA[:], make([]byte, native.MaxDataLen+1)), native.InvalidInput)
		wantCode(t, s.Seal(ctx, "a/b", "n", bindingA[:], nil), native.InvalidInput)
		wantCode(t, s.Seal(ctx, "d", "n", bindingA[:16], nil), native.InvalidInput)
		_, err := s.Unseal(ctx, "", "n", bindingA[:])
		wantCode(t, err, native.InvalidInput)
	})

	t.Run("another enrollment invalidates", func(t *testing.T) {
		seal(t, "inv", "a", bindingA, "1")
		seal(t, "inv", "b", bindingA, "2")
		_, err := s.Unseal(ctx, "inv", "a", bindingB[:])
		wantCode(t, err, native.DataNeedsReenrollment)
		if ok, _ := s.Has(ctx, "inv", "a"); ok {
			t.Error("the invalidated item is still there")
		}
		want(t, "inv", "b", bindingA, "2")
	})

	t.Run("an item deleted behind the app's back", func(t *testing.T) {
		seal(t, "gone", "a", bindingA, "1")
		if out, err := k.SecretTool(t, "", "clear", "xdg:schema", "app.capguard.Vault", "domain", "gone", "name", "a"); err != nil {
			t.Fatalf("secret-tool clear: %v\n%s", err, out)
		}
		_, err := s.Unseal(ctx, "gone", "a", bindingA[:])
		wantCode(t, err, native.DataNotFound)
	})

	t.Run("a damaged secret is left alone", func(t *testing.T) {
		// Another client overwrites the item's secret.
		seal(t, "bad", "a", bindingA, "1")
		seal(t, "bad", "keep", bindingA, "kept")
		if out, err := k.SecretTool(t, "garbage", "store", "--label=x", "xdg:schema", "app.capguard.Vault",
			"capguard-format", "1", "domain", "bad", "name", "a"); err != nil {
			t.Fatalf("secret-tool store: %v\n%s", err, out)
		}
		for range 2 {
			_, err := s.Unseal(ctx, "bad", "a", bindingA[:])
			wantCode(t, err, native.DecryptionFailed)
		}
		if ok, _ := s.Has(ctx, "bad", "a"); !ok {
			t.Error("the damaged item was removed")
		}
		want(t, "bad", "keep", bindingA, "kept")
	})

	t.Run("an item relabelled to another record does not open", func(t *testing.T) {
		seal(t, "mv", "a", bindingA, "for a")
		c, err := dbus.Connect(k.Address)
		if err != nil {
			t.Fatal(err)
		}
		defer c.Close()
		var items []dbus.ObjectPath
		if err := c.Object("org.freedesktop.secrets", "/org/freedesktop/secrets/aliases/default").Call(
			"org.freedesktop.Secret.Collection.SearchItems", 0,
			map[string]string{"xdg:schema": "app.capguard.Vault", "capguard-format": "1", "domain": "mv", "name": "a"}).Store(&items); err != nil || len(items) != 1 {
			t.Fatalf("SearchItems = %v, %v", items, err)
		}
		if err := c.Object("org.freedesktop.secrets", items[0]).SetProperty("org.freedesktop.Secret.Item.Attributes",
			dbus.MakeVariant(map[string]string{"xdg:schema": "app.capguard.Vault", "capguard-format": "1", "domain": "mv", "name": "b"})); err != nil {
			t.Fatal(err)
		}
		_, err = s.Unseal(ctx, "mv", "b", bindingA[:])
		wantCode(t, err, native.DecryptionFailed)
	})

	t.Run("remove", func(t *testing.T) {
		seal(t, "rm", "a", bindingA, "1")
		if err := s.Remove(ctx, "rm", "a"); err != nil {
			t.Fatal(err)
		}
		if err := s.Remove(ctx, "rm", "a"); err != nil {
			t.Errorf("removing a missing record: %v", err)
		}
		_, err := s.Unseal(ctx, "rm", "a", bindingA[:])
		wantCode(t, err, native.DataNotFound)
	})

	t.Run("concurrent use", func(t *testing.T) {
		var wg sync.WaitGroup
		errs := make(chan error, 32)
		for i := range 4 {
			wg.Add(1)
			go func() {
				defer wg.Done()
				name := fmt.Sprint("c", i)
				for j := range 2 {
					v := fmt.Sprint(i, j)
					if err := s.Seal(ctx, "conc", name, bindingA[:], []byte(v)); err != nil {
						errs <- err
						return
					}
					got, err := s.Unseal(ctx, "conc", name, bindingA[:])
					if err != nil || string(got) != v {
						errs <- fmt.Errorf("Unseal(%s) = %q, %v", name, got, err)
					}
					if _, err := s.Has(ctx, "conc", "other"); err != nil {
						errs <- err
					}
				}
			}()
		}
		wg.Wait()
		close(errs)
		for err := range errs {
			t.Error(err)
		}
	})

	t.Run("a locked keyring releases nothing without its prompt", func(t *testing.T) {
		seal(t, "lock", "a", bindingA, "1")
		k.Lock(t)
		cctx, cancel := context.WithTimeout(ctx, 3*time.Second)
		defer cancel()
		data, err := s.Unseal(cctx, "lock", "a", bindingA[:])
		if data != nil {
			t.Fatalf("a locked keyring released %q", data)
		}
		// No prompter runs here: gnome-keyring dismisses the unlock prompt.
		wantCode(t, err, native.UserCancel)
	})

	t.Run("no Secret Service", func(t *testing.T) {
		none, err := secretservice.New(secretservice.Options{Address: "unix:path=/nonexistent/capguard-bus"})
		if err != nil {
			t.Fatal(err)
		}
		wantCode(t, none.Probe(ctx), native.InternalError)
		wantCode(t, none.Seal(ctx, "d", "n", bindingA[:], nil), native.InternalError)
	})
}
