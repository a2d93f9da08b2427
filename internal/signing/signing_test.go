package signing

import (
	"crypto/ed25519"
	"encoding/base64"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/batonhq/baton/humantask"
)

func TestKeyFiles(t *testing.T) {
	path := filepath.Join(t.TempDir(), "keys", "inbox.key")
	pub, err := WriteNewKey(path)
	if err != nil {
		t.Fatal(err)
	}
	if st, err := os.Stat(path); err != nil || st.Mode().Perm() != 0o600 {
		t.Fatalf("key file: %v %v", st, err)
	}
	key, err := LoadKey(path)
	if err != nil || PublicKey(key) != pub {
		t.Fatalf("LoadKey: %v, public key %s vs %s", err, PublicKey(key), pub)
	}
	if _, err := WriteNewKey(path); err == nil || !strings.Contains(err.Error(), "refusing to overwrite") {
		t.Fatalf("overwrite: %v", err)
	}
	bad := filepath.Join(t.TempDir(), "bad.key")
	_ = os.WriteFile(bad, []byte("not a key\n"), 0o600)
	if _, err := LoadKey(bad); err == nil || !strings.Contains(err.Error(), "is not a Baton signing key") {
		t.Fatalf("bad key: %v", err)
	}
}

// The signature covers the signer and how it authenticated the actor: a
// decision altered after signing does not verify.
func TestSignAsSigner(t *testing.T) {
	pub, key, _ := ed25519.GenerateKey(nil)
	d := humantask.Decision{TaskID: "underwriting", Verdict: humantask.Approve, Actor: "ana", Comment: "ok"}
	subject := humantask.Subject{WorkflowID: "loan-A-1", RunID: "run-1", TaskID: "underwriting", Occurrence: 1, Digest: "d1"}
	SignAsSigner(key, "inbox", "oidc https://idp.test", subject, &d)
	if d.Signer != "inbox" || d.Authenticated != "oidc https://idp.test" {
		t.Fatalf("decision = %+v", d)
	}
	verifies := func(d humantask.Decision) bool {
		sig, _ := base64.StdEncoding.DecodeString(d.Signature)
		return ed25519.Verify(pub, humantask.SigningBytes(subject, d), sig)
	}
	if !verifies(d) {
		t.Fatal("the signature does not verify")
	}
	for _, change := range []func(*humantask.Decision){
		func(d *humantask.Decision) { d.Actor = "ben" },
		func(d *humantask.Decision) { d.Authenticated = "dev sign-in" },
		func(d *humantask.Decision) { d.Signer = "" },
		func(d *humantask.Decision) { d.Verdict = humantask.Reject },
	} {
		c := d
		change(&c)
		if verifies(c) {
			t.Errorf("an altered decision verifies: %+v", c)
		}
	}
}
