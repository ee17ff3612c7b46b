package biometric_test

import (
	"context"
	"testing"

	"github.com/capguard/capguard/acl"
	"github.com/capguard/capguard/biometric"
	"github.com/capguard/capguard/ipc"
	"github.com/capguard/capguard/native"
	"github.com/capguard/capguard/native/sim"
)

// BenchmarkSecrets measures set_data and get_data on the simulator in
// process, the prompt excluded (the simulator matches at once): the cost
// capguard adds around the device's key operation (checks, the device
// lock, the status check, AES-256-GCM in the simulator).
func BenchmarkSecrets(b *testing.B) {
	ctx := context.Background()
	bio := biometric.New(sim.New(sim.Config{Type: native.TouchID, Available: true, Enrolled: true, LogLimit: 64}))
	data := []byte("correct horse battery staple")
	if err := bio.SetData(ctx, "app.capguard.vault", "wallet-key", data, biometric.AuthOptions{}); err != nil {
		b.Fatal(err)
	}
	b.Run("set", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			if err := bio.SetData(ctx, "app.capguard.vault", "wallet-key", data, biometric.AuthOptions{}); err != nil {
				b.Fatal(err)
			}
		}
	})
	b.Run("get", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			if _, err := bio.GetData(ctx, "app.capguard.vault", "wallet-key", "Open your wallet", biometric.AuthOptions{}); err != nil {
				b.Fatal(err)
			}
		}
	})
}

// BenchmarkChallenge measures a signed step-up's own work: issuing the
// challenge and verifying a signature of it (ECDSA P-256); the device's
// signature is made with the timer stopped. "sign" is the simulator's
// signing alone, and "meet" the whole obligation (issue, sign, verify),
// for comparison.
func BenchmarkChallenge(b *testing.B) {
	ctx := context.Background()
	dev := sim.New(sim.Config{Type: native.TouchID, Available: true, Enrolled: true, LogLimit: 64})
	s := biometric.NewStepUp(biometric.New(dev))
	if _, err := s.EnrollKey(ctx); err != nil {
		b.Fatal(err)
	}
	inv := &ipc.Invocation{Command: "delete_account", Window: "main", Webview: "main", Origin: acl.LocalOrigin, Args: []byte(`{"id":42}`)}
	p := native.Prompt{Reason: "Delete your account", MaxAttempts: 1}
	b.Run("issue+verify", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			c, err := s.Issue(inv)
			if err != nil {
				b.Fatal(err)
			}
			b.StopTimer()
			sig, err := dev.Sign(ctx, p, c.Bytes())
			if err != nil {
				b.Fatal(err)
			}
			b.StartTimer()
			if err := s.Verify(c, sig); err != nil {
				b.Fatal(err)
			}
		}
	})
	b.Run("sign (device side, simulator)", func(b *testing.B) {
		c, _ := s.Issue(inv)
		msg := c.Bytes()
		b.ReportAllocs()
		for b.Loop() {
			if _, err := dev.Sign(ctx, p, msg); err != nil {
				b.Fatal(err)
			}
		}
	})
	b.Run("meet (issue, sign, verify)", func(b *testing.B) {
		b.ReportAllocs()
		o := signed("Delete your account")
		for b.Loop() {
			if err := s.Meet(ctx, inv, o); err != nil {
				b.Fatal(err)
			}
		}
	})
}
