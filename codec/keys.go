package codec

import (
	"crypto/cipher"
	"crypto/rand"
	"encoding/base64"
	"errors"
	"fmt"
	"os"
	"regexp"
	"strings"
	"time"

	"github.com/batonhq/baton/config"
)

// KeyFileHeader opens a key file written by AppendNewKey.
const KeyFileHeader = `# Baton payload encryption keys (AES-256-GCM). Keep this file out of the
# repository and readable by Baton only (mode 0600).
# One key a line: <key id>:<base64 of 32 random bytes>. The LAST key encrypts
# new payloads; every key listed decrypts. Rotate by appending a new key and
# keep the old ones while histories encrypted with them are still read.
`

var keyIDPattern = regexp.MustCompile(`^[A-Za-z0-9._-]{1,64}$`)

type key struct {
	id   string
	aead cipher.AEAD
}

// Keyring is an ordered set of keys: the last one is the newest.
type Keyring struct {
	keys []key
	byID map[string]key
}

// ParseKeys reads keys in the key-file syntax: entries "<id>:<base64 key>"
// separated by newlines or commas; blank lines and lines starting with #
// are ignored. source names where they came from, for error messages.
func ParseKeys(text, source string) (*Keyring, error) {
	r := &Keyring{byID: map[string]key{}}
	for n, line := range strings.Split(text, "\n") {
		line = strings.TrimSpace(line)
		if line == "" || strings.HasPrefix(line, "#") {
			continue
		}
		for _, entry := range strings.Split(line, ",") {
			entry = strings.TrimSpace(entry)
			if entry == "" {
				continue
			}
			where := fmt.Sprintf("%s line %d", source, n+1)
			id, b64, ok := strings.Cut(entry, ":")
			if !ok {
				return nil, fmt.Errorf("%s: want <key id>:<base64 key>", where)
			}
			if !keyIDPattern.MatchString(id) {
				return nil, fmt.Errorf("%s: key id %q: use 1-64 letters, digits, '.', '_' or '-'", where, id)
			}
			raw, err := base64.StdEncoding.DecodeString(b64)
			if err != nil {
				return nil, fmt.Errorf("%s: key %q is not base64", where, id)
			}
			aead, err := aesGCM(raw)
			if err != nil {
				return nil, fmt.Errorf("%s: key %q: %v", where, id, err)
			}
			if _, dup := r.byID[id]; dup {
				return nil, fmt.Errorf("%s: key id %q appears twice", where, id)
			}
			k := key{id: id, aead: aead}
			r.keys = append(r.keys, k)
			r.byID[id] = k
		}
	}
	if len(r.keys) == 0 {
		return nil, fmt.Errorf("%s: holds no key", source)
	}
	return r, nil
}

// LoadKeyFile reads a key file.
func LoadKeyFile(path string) (*Keyring, error) {
	data, err := os.ReadFile(path)
	if errors.Is(err, os.ErrNotExist) {
		return nil, fmt.Errorf("key file %s does not exist: generate a development key with `make codec-key`, or point BATON_CODEC_KEY_FILE at yours", path)
	}
	if err != nil {
		return nil, fmt.Errorf("key file %s: %w", path, err)
	}
	return ParseKeys(string(data), path)
}

// IDs lists the key ids, oldest first.
func (r *Keyring) IDs() []string {
	ids := make([]string, len(r.keys))
	for i, k := range r.keys {
		ids[i] = k.id
	}
	return ids
}

// NewestID is the id of the key that encrypts.
func (r *Keyring) NewestID() string { return r.newest().id }

func (r *Keyring) newest() key { return r.keys[len(r.keys)-1] }

// NewKeyEntry returns a fresh random key in the key-file syntax; its id is
// prefix plus the UTC time.
func NewKeyEntry(prefix string) (string, error) {
	raw := make([]byte, 32)
	if _, err := rand.Read(raw); err != nil {
		return "", err
	}
	id := prefix + time.Now().UTC().Format("20060102T150405Z")
	return id + ":" + base64.StdEncoding.EncodeToString(raw), nil
}

// AppendNewKey adds a fresh key to the key file (creating it, mode 0600,
// with KeyFileHeader): the new key becomes the one that encrypts. It returns
// the new key's id.
func AppendNewKey(path, prefix string) (string, error) {
	entry, err := NewKeyEntry(prefix)
	if err != nil {
		return "", err
	}
	id, _, _ := strings.Cut(entry, ":")
	var existing []byte
	if data, err := os.ReadFile(path); err == nil {
		existing = data
		if _, err := ParseKeys(string(data), path); err != nil {
			return "", err
		}
		if strings.Contains(string(data), "\n"+id+":") || strings.HasPrefix(string(data), id+":") {
			return "", fmt.Errorf("key file %s: a key %q exists already; wait a second and retry", path, id)
		}
	} else if !errors.Is(err, os.ErrNotExist) {
		return "", fmt.Errorf("key file %s: %w", path, err)
	}
	out := string(existing)
	if out == "" {
		out = KeyFileHeader
	} else if !strings.HasSuffix(out, "\n") {
		out += "\n"
	}
	out += entry + "\n"
	if err := os.WriteFile(path, []byte(out), 0o600); err != nil {
		return "", fmt.Errorf("key file %s: %w", path, err)
	}
	return id, nil
}

// FromConfig loads the keyring the configuration names: temporal.codec.keys
// (BATON_CODEC_KEYS) when set, else the key file. It returns nil when
// temporal.codec.plaintext turns encryption off.
func FromConfig(c config.Codec) (*Keyring, error) {
	switch {
	case c.Plaintext:
		return nil, nil
	case strings.TrimSpace(c.Keys) != "":
		return ParseKeys(c.Keys, "temporal.codec.keys (BATON_CODEC_KEYS)")
	case c.KeyFile != "":
		r, err := LoadKeyFile(c.KeyFile)
		if err != nil {
			return nil, fmt.Errorf("temporal.codec.key_file: %w", err)
		}
		return r, nil
	}
	return nil, errors.New("temporal.codec: no key: set BATON_CODEC_KEY_FILE or BATON_CODEC_KEYS (make codec-key writes a development key)")
}
