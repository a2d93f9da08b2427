package codec

import (
	"crypto/cipher"
	"crypto/rand"
	"encoding/base64"
	"errors"
	"fmt"
	"os"
	"regexp"
	"slices"
	"strings"
	"time"

	"github.com/batonhq/baton/config"
)

// KeyFileHeader opens a key file written by AppendNewKey.
const KeyFileHeader = `# Baton payload encryption keys (AES-256-GCM). Keep this file out of the
# repository and readable by Baton only (mode 0600).
# One key a line: <key id>:<base64 of 32 random bytes>. The LAST key not
# marked pending encrypts new payloads; every key listed decrypts. Rotate in
# two steps: append a key (codecserver --new-key FILE: it is added "pending",
# decrypt-only), restart every program that reads this file, then activate it
# (codecserver --activate-keys FILE; make dev does it when it starts). Keep
# old keys while histories encrypted with them are still read.
`

// Pending marks a key that decrypts but does not encrypt yet: a program
// started before the key was added could not read what it encrypted.
const Pending = "pending"

var keyIDPattern = regexp.MustCompile(`^[A-Za-z0-9._-]{1,64}$`)

type key struct {
	id      string
	aead    cipher.AEAD
	pending bool
}

// Keyring is an ordered set of keys: the last one is the newest.
type Keyring struct {
	keys []key
	byID map[string]key
}

// ParseKeys reads keys in the key-file syntax: entries "<id>:<base64 key>",
// or "pending <id>:<base64 key>" for a key that only decrypts, separated by
// newlines or commas; blank lines and lines starting with # are ignored.
// source names where they came from, for error messages.
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
			rest, pending := strings.CutPrefix(entry, Pending+" ")
			id, b64, ok := strings.Cut(strings.TrimSpace(rest), ":")
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
			k := key{id: id, aead: aead, pending: pending}
			r.keys = append(r.keys, k)
			r.byID[id] = k
		}
	}
	if len(r.keys) == 0 {
		return nil, fmt.Errorf("%s: holds no key", source)
	}
	if !slices.ContainsFunc(r.keys, func(k key) bool { return !k.pending }) {
		return nil, fmt.Errorf("%s: every key is pending, none encrypts: once every program reads them, activate them with: codecserver --activate-keys FILE", source)
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

// PendingIDs lists the keys that decrypt but do not encrypt yet.
func (r *Keyring) PendingIDs() []string {
	var ids []string
	for _, k := range r.keys {
		if k.pending {
			ids = append(ids, k.id)
		}
	}
	return ids
}

// NewestID is the id of the key that encrypts.
func (r *Keyring) NewestID() string { return r.newest().id }

// newest is the key that encrypts: the last one not pending (ParseKeys
// guarantees there is one).
func (r *Keyring) newest() key {
	for i := len(r.keys) - 1; i > 0; i-- {
		if !r.keys[i].pending {
			return r.keys[i]
		}
	}
	return r.keys[0]
}

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

// AppendNewKey adds a fresh key at the end of the key file, never changing
// or reordering the keys there. In a new (or keyless) file, created mode
// 0600 with KeyFileHeader, the key encrypts at once (active is true). In a
// file that has keys it is added pending: it decrypts, but programs keep
// encrypting with the key they already had, so a program that started
// before it (a running worker) can still read everything; ActivateKeys makes
// it encrypt once every program has been restarted with it.
func AppendNewKey(path, prefix string) (id string, active bool, err error) {
	entry, err := NewKeyEntry(prefix)
	if err != nil {
		return "", false, err
	}
	id, _, _ = strings.Cut(entry, ":")
	var existing []byte
	if data, err := os.ReadFile(path); err == nil {
		existing = data
		if strings.TrimSpace(stripComments(string(data))) != "" {
			ring, err := ParseKeys(string(data), path)
			if err != nil {
				return "", false, err
			}
			if slices.Contains(ring.IDs(), id) {
				return "", false, fmt.Errorf("key file %s: a key %q exists already; wait a second and retry", path, id)
			}
			entry = Pending + " " + entry
		}
	} else if !errors.Is(err, os.ErrNotExist) {
		return "", false, fmt.Errorf("key file %s: %w", path, err)
	}
	active = !strings.HasPrefix(entry, Pending+" ")
	out := string(existing)
	if out == "" {
		out = KeyFileHeader
	} else if !strings.HasSuffix(out, "\n") {
		out += "\n"
	}
	out += entry + "\n"
	if err := os.WriteFile(path, []byte(out), 0o600); err != nil {
		return "", false, fmt.Errorf("key file %s: %w", path, err)
	}
	return id, active, nil
}

// ActivateKeys removes the pending mark from every key of the key file, so
// the newest of them encrypts for programs started from now on; nothing else
// in the file changes. Run it only when every program that reads the file
// has been restarted since the keys were added (make dev does it as it
// starts, before anything runs). It returns the ids it activated.
func ActivateKeys(path string) ([]string, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("key file %s: %w", path, err)
	}
	ring, err := ParseKeys(string(data), path)
	if err != nil {
		return nil, err
	}
	ids := ring.PendingIDs()
	if len(ids) == 0 {
		return nil, nil
	}
	lines := strings.SplitAfter(string(data), "\n")
	for i, line := range lines {
		if !strings.HasPrefix(strings.TrimSpace(line), "#") {
			lines[i] = pendingMark.ReplaceAllString(line, "$1")
		}
	}
	if err := os.WriteFile(path, []byte(strings.Join(lines, "")), 0o600); err != nil {
		return nil, fmt.Errorf("key file %s: %w", path, err)
	}
	return ids, nil
}

// pendingMark matches the mark at the start of a line or after a comma.
var pendingMark = regexp.MustCompile(`(^|,)\s*` + Pending + `\s+`)

// stripComments drops the comment lines of a key file.
func stripComments(text string) string {
	var b strings.Builder
	for _, line := range strings.Split(text, "\n") {
		if !strings.HasPrefix(strings.TrimSpace(line), "#") {
			b.WriteString(line + "\n")
		}
	}
	return b.String()
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
