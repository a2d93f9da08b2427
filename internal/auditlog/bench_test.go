package auditlog_test

import (
	"crypto/sha256"
	"path/filepath"
	"testing"

	"github.com/batonhq/baton/internal/auditlog"
)

// What the worker adds to each entry it stores: one Ed25519 signature.
func BenchmarkAttest(b *testing.B) {
	path := filepath.Join(b.TempDir(), "w.key")
	if _, err := auditlog.NewKeyFile(path, auditlog.WriterKeyName); err != nil {
		b.Fatal(err)
	}
	w, err := auditlog.LoadWriter(path)
	if err != nil {
		b.Fatal(err)
	}
	h := sha256.Sum256([]byte("entry"))
	for b.Loop() {
		if _, err := w.Attest(h[:]); err != nil {
			b.Fatal(err)
		}
	}
}

// What the anchor and every verifier spend per entry on its attestation.
func BenchmarkVerifyAttestation(b *testing.B) {
	path := filepath.Join(b.TempDir(), "w.key")
	pub, err := auditlog.NewKeyFile(path, auditlog.WriterKeyName)
	if err != nil {
		b.Fatal(err)
	}
	w, _ := auditlog.LoadWriter(path)
	vs, _ := auditlog.Verifiers("w", []string{pub})
	h := sha256.Sum256([]byte("entry"))
	att, _ := w.Attest(h[:])
	for b.Loop() {
		if _, err := auditlog.VerifyAttestation(vs, h[:], att); err != nil {
			b.Fatal(err)
		}
	}
}
