package auditlog

import (
	"encoding/base64"
	"encoding/binary"
	"encoding/hex"
	"errors"
	"fmt"
	"strings"

	"golang.org/x/mod/sumdb/note"
)

// attestedPrefix starts what a writer signs: the tag, then the entry's
// chain hash in hex. The chain hash covers the entry, its position and the
// hash before it, so an attestation belongs to one place in one chain.
const attestedPrefix = "baton-audit-entry/v1\n"

func attestedMessage(hash []byte) []byte {
	return []byte(attestedPrefix + hex.EncodeToString(hash) + "\n")
}

// Writer attests entries with the worker's writer key
// (auditstore.Attestor).
type Writer struct{ s note.Signer }

// LoadWriter reads the worker's writer key file (audit.writer_key).
func LoadWriter(path string) (*Writer, error) {
	s, err := LoadSigner("audit.writer_key", path)
	if err != nil {
		return nil, err
	}
	return &Writer{s: s}, nil
}

// Attest signs hash: "name base64(keyhash || signature)", the form of a
// signed note's signature line.
func (w *Writer) Attest(hash []byte) (string, error) {
	sig, err := w.s.Sign(attestedMessage(hash))
	if err != nil {
		return "", err
	}
	b := binary.BigEndian.AppendUint32(nil, w.s.KeyHash())
	return w.s.Name() + " " + base64.StdEncoding.EncodeToString(append(b, sig...)), nil
}

// Attestation errors.
var (
	ErrUnattested = errors.New("no attestation: written without the writer's key")
	ErrForged     = errors.New("attestation does not verify with any writer key")
)

// VerifyAttestation checks att over hash against the writers' keys and
// returns the name of the key that made it.
func VerifyAttestation(writers []note.Verifier, hash []byte, att string) (string, error) {
	if att == "" {
		return "", ErrUnattested
	}
	name, b64, ok := strings.Cut(att, " ")
	raw, err := base64.StdEncoding.DecodeString(b64)
	if !ok || err != nil || len(raw) < 5 {
		return "", fmt.Errorf("%w (malformed)", ErrForged)
	}
	kh, sig := binary.BigEndian.Uint32(raw), raw[4:]
	msg := attestedMessage(hash)
	for _, v := range writers {
		if v.Name() == name && v.KeyHash() == kh && v.Verify(msg, sig) {
			return name, nil
		}
	}
	return "", ErrForged
}
