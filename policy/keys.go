package policy

import (
	"crypto/ed25519"
	"encoding/base64"
	"fmt"
	"maps"
	"slices"
)

// validateKeys checks every public key in the directory and, when the policy
// requires signed decisions, that every user can sign: a user without a key
// could otherwise never decide, and the policy would only look governed. A
// policy that lists trusted signers (the web inbox) may leave users keyless:
// a signer signs for the users it authenticated.
func (p *Policy) validateKeys() error {
	for _, id := range slices.Sorted(maps.Keys(p.Users)) {
		u := p.Users[id]
		if u.PublicKey == "" {
			if p.RequireSignedDecisions && len(p.Signers) == 0 {
				return fmt.Errorf("policy: users.%s.publicKey: requireSignedDecisions is true but this user has no key and no signer is listed (make one with: starter keygen --user %s)", id, id)
			}
			continue
		}
		if _, err := ParsePublicKey(u.PublicKey); err != nil {
			return fmt.Errorf("policy: users.%s.publicKey: %w", id, err)
		}
	}
	return nil
}

// ParsePublicKey decodes a base64 Ed25519 public key.
func ParsePublicKey(s string) (ed25519.PublicKey, error) {
	raw, err := base64.StdEncoding.DecodeString(s)
	if err != nil {
		return nil, fmt.Errorf("not base64")
	}
	if len(raw) != ed25519.PublicKeySize {
		return nil, fmt.Errorf("an Ed25519 public key is %d bytes, this one is %d", ed25519.PublicKeySize, len(raw))
	}
	return ed25519.PublicKey(raw), nil
}

// validateQuorum refuses a quorum that the candidate roles cannot reach:
// such a task could never be approved.
func (p *Policy) validateQuorum(path string, t Task) error {
	if t.Quorum <= 1 || len(t.Roles) == 0 {
		return nil
	}
	holders := map[string]bool{}
	for _, r := range t.Roles {
		for _, u := range p.UsersWithRole(r) {
			holders[u] = true
		}
	}
	if len(holders) < t.Quorum {
		return fmt.Errorf("policy: %s.quorum: %d approvals needed but only %d users hold %v", path, t.Quorum, len(holders), t.Roles)
	}
	return nil
}
