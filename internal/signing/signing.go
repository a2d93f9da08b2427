// Package signing holds Baton's decision signing keys and the one function
// that signs a decision for a trusted signer (the web inbox). The signature
// scheme itself (what is signed) is humantask.SigningBytes.
package signing

import (
	"crypto/ed25519"
	"crypto/rand"
	"encoding/base64"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"

	"github.com/batonhq/baton/humantask"
	"github.com/batonhq/baton/substitutes"
)

// A key file holds the Ed25519 seed, base64, one line, mode 0600 (the format
// of `starter keygen`).

// LoadKey reads a key file.
func LoadKey(path string) (ed25519.PrivateKey, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	seed, err := base64.StdEncoding.DecodeString(strings.TrimSpace(string(data)))
	if err != nil || len(seed) != ed25519.SeedSize {
		return nil, fmt.Errorf("%s is not a Baton signing key", path)
	}
	return ed25519.NewKeyFromSeed(seed), nil
}

// WriteNewKey creates a key at path (mode 0600; never over an existing
// file) and returns its public key, base64.
func WriteNewKey(path string) (string, error) {
	if _, err := os.Stat(path); err == nil {
		return "", fmt.Errorf("%s exists; refusing to overwrite a key", path)
	} else if !errors.Is(err, os.ErrNotExist) {
		return "", err
	}
	_, priv, err := ed25519.GenerateKey(rand.Reader)
	if err != nil {
		return "", err
	}
	if err := os.MkdirAll(filepath.Dir(path), 0o700); err != nil {
		return "", err
	}
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o600)
	if err != nil {
		return "", err
	}
	if _, err := f.WriteString(base64.StdEncoding.EncodeToString(priv.Seed()) + "\n"); err != nil {
		f.Close()
		return "", err
	}
	if err := f.Close(); err != nil {
		return "", err
	}
	return PublicKey(priv), nil
}

// PublicKey is key's public half, base64, as the policy lists it.
func PublicKey(key ed25519.PrivateKey) string {
	return base64.StdEncoding.EncodeToString(key.Public().(ed25519.PublicKey))
}

// SignAsSigner signs d over subject (the task's run, occurrence and facts
// digest, from the tasks query) on behalf of its actor, as the trusted
// signer named signer that authenticated the actor as authenticated (e.g.
// "oidc https://login.example.com"). It sets Signer, Authenticated and
// Signature; what the signature covers is humantask.SigningBytes, the one
// signing function.
func SignAsSigner(key ed25519.PrivateKey, signer, authenticated string, subject humantask.Subject, d *humantask.Decision) {
	d.Signer, d.Authenticated = signer, authenticated
	humantask.Sign(key, subject, d)
}

// SignActionAsSigner signs an action (claim, comment, ...) as the trusted
// signer, as SignAsSigner does a decision.
func SignActionAsSigner(key ed25519.PrivateKey, signer, authenticated string, subject humantask.Subject, a *humantask.Action) {
	a.Signer, a.Authenticated = signer, authenticated
	a.Signature = humantask.SignBytes(key, humantask.ActionSigningBytes(subject, *a))
}

// SignSubstituteAsSigner signs a substitution request as the trusted signer.
func SignSubstituteAsSigner(key ed25519.PrivateKey, signer, authenticated string, r *substitutes.Request) {
	r.Signer, r.Authenticated = signer, authenticated
	r.Signature = humantask.SignBytes(key, substitutes.SigningBytes(*r))
}

// SignView signs a case view (humantask.CaseView) over the task's subject
// as the trusted signer that authenticated its viewer.
func SignView(key ed25519.PrivateKey, signer, authenticated string, subject humantask.Subject, v *humantask.CaseView) {
	v.Signer, v.Authenticated = signer, authenticated
	v.Signature = base64.StdEncoding.EncodeToString(ed25519.Sign(key, humantask.ViewSigningBytes(subject, *v)))
}

// SaltPersonal gives a decision whose values include a personal field of
// form a fresh random salt (humantask.MinSaltBytes, base64): the trail
// records those values as salted digests only. Call it before signing.
func SaltPersonal(form humantask.Form, d *humantask.Decision) error {
	for name := range d.Values {
		if f, _ := form.Field(name); f.Personal {
			salt := make([]byte, humantask.MinSaltBytes)
			if _, err := rand.Read(salt); err != nil {
				return err
			}
			d.Salt = base64.StdEncoding.EncodeToString(salt)
			return nil
		}
	}
	return nil
}
