// Package auditlog anchors the audit trail outside its database, the way
// the Go checksum database and Certificate Transparency do: a Merkle tree
// log (Tessera, tlog-tiles on a POSIX directory) of one leaf per stored
// entry, whose checkpoints the anchor signs with a key the database never
// sees and a witness cosigns only after checking a consistency proof from
// the last checkpoint it cosigned. Verifiers keep the last checkpoint they
// saw and demand a consistency proof from it.
//
// Three keys, each held by one process, none in the database: the worker's
// writer key attests each entry it stores (Writer), the anchor's log key
// signs checkpoints, the witness's key cosigns them. All are signed-note
// keys (golang.org/x/mod/sumdb/note): a private key file and its public
// key ("name+hash+base64") beside it in FILE.pub.
package auditlog

import (
	"crypto/rand"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"

	"github.com/spf13/pflag"
	fnote "github.com/transparency-dev/formats/note"
	"golang.org/x/mod/sumdb/note"
)

// Key names: the log's is its origin, the first line of every checkpoint.
const (
	WriterKeyName  = "baton-audit-writer"
	LogOrigin      = "baton.audit.log"
	WitnessKeyName = "baton-audit-witness"
)

// NewKeyFile writes a new signing key named name to path (mode 0600) and
// its public key to path+".pub", unless path exists; it returns the public
// key either way.
func NewKeyFile(path, name string) (string, error) {
	if _, err := os.Stat(path); err == nil {
		return PublicKeyOf(path)
	}
	skey, vkey, err := note.GenerateKey(rand.Reader, name)
	if err != nil {
		return "", err
	}
	if err := os.MkdirAll(filepath.Dir(path), 0o700); err != nil {
		return "", err
	}
	if err := os.WriteFile(path, []byte(skey+"\n"), 0o600); err != nil {
		return "", err
	}
	if err := os.WriteFile(path+".pub", []byte(vkey+"\n"), 0o644); err != nil {
		return "", err
	}
	return vkey, nil
}

// NewKeyFlags are a main's --new-key FILE and --public-key-out FILE: the
// worker's writer key, the anchor's checkpoint key, the witness's
// cosigning key.
type NewKeyFlags struct {
	file, pubOut *string
}

// AddNewKeyFlags adds the flags to fs; what names the key in their help.
func AddNewKeyFlags(fs *pflag.FlagSet, what string) NewKeyFlags {
	return NewKeyFlags{
		file:   fs.String("new-key", "", "write a new "+what+" to FILE (its public key to FILE.pub) unless FILE exists, and exit"),
		pubOut: fs.String("public-key-out", "", "with --new-key: also write the public key to this file"),
	}
}

// Write makes the key named name when --new-key was given (NewKeyFile,
// and the public key also to --public-key-out when set: a volume others
// read, in compose), prints its public key to out and says it was asked.
func (k NewKeyFlags) Write(name string, out io.Writer) (bool, error) {
	if *k.file == "" {
		return false, nil
	}
	vkey, err := NewKeyFile(*k.file, name)
	if err != nil {
		return true, fmt.Errorf("--new-key: %w", err)
	}
	if *k.pubOut != "" {
		if err := os.WriteFile(*k.pubOut, []byte(vkey+"\n"), 0o644); err != nil {
			return true, fmt.Errorf("--public-key-out: %w", err)
		}
	}
	_, err = fmt.Fprintln(out, vkey)
	return true, err
}

// PublicKeyOf reads the public key beside a key file (path.pub).
func PublicKeyOf(path string) (string, error) {
	b, err := os.ReadFile(path + ".pub")
	if err != nil {
		return "", err
	}
	return strings.TrimSpace(string(b)), nil
}

// readSecret reads a private key file.
func readSecret(setting, path string) (string, error) {
	if path == "" {
		return "", fmt.Errorf("%s: no key file set", setting)
	}
	b, err := os.ReadFile(path)
	if err != nil {
		return "", fmt.Errorf("%s: cannot read %s (make dev writes a development key into .dev/)", setting, path)
	}
	return strings.TrimSpace(string(b)), nil
}

// LoadSigner reads a signing key file for checkpoints (the log's key).
func LoadSigner(setting, path string) (note.Signer, error) {
	skey, err := readSecret(setting, path)
	if err != nil {
		return nil, err
	}
	s, err := note.NewSigner(skey)
	if err != nil {
		return nil, fmt.Errorf("%s: %s is not a signed-note private key: %v", setting, path, err)
	}
	return s, nil
}

// LoadCosigner reads the witness's key file as a cosignature/v1 signer.
func LoadCosigner(setting, path string) (note.Signer, error) {
	skey, err := readSecret(setting, path)
	if err != nil {
		return nil, err
	}
	s, err := fnote.NewSignerForCosignatureV1(skey)
	if err != nil {
		return nil, fmt.Errorf("%s: %s is not a signed-note private key: %v", setting, path, err)
	}
	return s, nil
}

// Keys reads public keys: each item is a key ("name+hash+base64") or a
// file holding one a line ('#' starts a comment). Empty items are skipped.
func Keys(setting string, items ...string) ([]string, error) {
	var out []string
	for _, it := range items {
		for _, item := range strings.Split(it, ",") {
			item = strings.TrimSpace(item)
			if item == "" {
				continue
			}
			if strings.Count(item, "+") == 2 && !strings.ContainsAny(item, "/\\") {
				out = append(out, item)
				continue
			}
			b, err := os.ReadFile(item)
			if err != nil {
				return nil, fmt.Errorf("%s: cannot read %s", setting, item)
			}
			for _, line := range strings.Split(string(b), "\n") {
				if i := strings.Index(line, "#"); i >= 0 {
					line = line[:i]
				}
				if line = strings.TrimSpace(line); line != "" {
					out = append(out, line)
				}
			}
		}
	}
	return out, nil
}

// Verifiers parses public keys as plain signed-note verifiers (the writer's
// attestations, the log's checkpoints).
func Verifiers(setting string, keys []string) ([]note.Verifier, error) {
	var out []note.Verifier
	for _, k := range keys {
		v, err := note.NewVerifier(k)
		if err != nil {
			return nil, fmt.Errorf("%s: %q is not a signed-note public key: %v", setting, k, err)
		}
		out = append(out, v)
	}
	return out, nil
}

// CosignatureVerifiers parses witnesses' public keys (cosignature/v1).
func CosignatureVerifiers(setting string, keys []string) ([]note.Verifier, error) {
	var out []note.Verifier
	for _, k := range keys {
		v, err := fnote.NewVerifierForCosignatureV1(k)
		if err != nil {
			return nil, fmt.Errorf("%s: %q is not a signed-note public key: %v", setting, k, err)
		}
		out = append(out, v)
	}
	return out, nil
}

// ErrNoKey: a setting that needs a key has none.
var ErrNoKey = errors.New("no key")
