package auditstore

import "fmt"

// Attestor signs an entry's chain hash as the store appends it: the
// worker's writer key (auditlog.Writer), which the database never sees.
// A row inserted by anyone else carries no valid attestation, and the
// verifiers (starter audit --verify, the anchor) name it.
type Attestor interface {
	Attest(hash []byte) (string, error)
}

// SetAttestor makes Append sign every entry it stores with a.
func (s *Store) SetAttestor(a Attestor) { s.attestor = a }

func attest(a Attestor, id string, pos int64, hash []byte) (string, error) {
	if a == nil {
		return "", nil
	}
	att, err := a.Attest(hash)
	if err != nil {
		return "", fmt.Errorf("audit store: attest entry %d of %s: %w", pos, id, err)
	}
	return att, nil
}
