package auditlog

import (
	"bufio"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"

	"golang.org/x/mod/sumdb/note"

	"github.com/batonhq/baton/audit"
)

// Verified is what a verifier remembers of the entries whose attestation
// it has checked: each one's instance, position and hash, kept in a file
// on the verifier's machine (beside the checkpoint it keeps, as go.sum
// keeps the checksums a go command verified). Check recomputes every
// entry's hash from its content, as Attested does, and checks the writer's
// signature only for an entry it has not verified before: the content of
// an entry it has must hash to the hash it verified then, which nobody can
// forge (a SHA-256 second preimage), so a rewritten entry is checked in
// full and fails. Ed25519 verification is most of the cost of reading a
// hundred thousand instances; a verifier that reads the same window again
// pays it once. The file is per set of writer keys (another set verifies
// again). Safe for concurrent use.
type Verified struct {
	path    string
	writers []note.Verifier
	known   map[verifiedKey]string // loaded; not changed after
	mu      sync.Mutex
	added   map[verifiedKey]string
}

type verifiedKey struct {
	workflow string
	pos      int64
}

// VerifiedFile is where a verifier keeps the entries it verified with
// these writer keys: in dir (the folder of its checkpoint file).
func VerifiedFile(dir string, writerKeys []string) string {
	keys := slices.Clone(writerKeys)
	slices.Sort(keys)
	sum := sha256.Sum256([]byte(strings.Join(keys, "\n")))
	return filepath.Join(dir, "verified-"+hex.EncodeToString(sum[:8]))
}

// OpenVerified reads the entries verified before from path (none when
// the file does not exist yet).
func OpenVerified(path string, writers []note.Verifier) (*Verified, error) {
	v := &Verified{path: path, writers: writers, known: map[verifiedKey]string{}, added: map[verifiedKey]string{}}
	f, err := os.Open(path)
	if os.IsNotExist(err) {
		return v, nil
	}
	if err != nil {
		return nil, fmt.Errorf("verified entries: %w", err)
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		// "<hash hex> <pos> <workflow id>"
		hash, rest, ok1 := strings.Cut(sc.Text(), " ")
		pos, id, ok2 := strings.Cut(rest, " ")
		p, err := strconv.ParseInt(pos, 10, 64)
		if !ok1 || !ok2 || err != nil || len(hash) != 64 {
			return nil, fmt.Errorf("verified entries: %s is not a file Baton wrote: delete it (the entries are verified again)", path)
		}
		v.known[verifiedKey{id, p}] = hash
	}
	if err := sc.Err(); err != nil {
		return nil, fmt.Errorf("verified entries: %w", err)
	}
	return v, nil
}

// Check is Attested, with the signature checked only for an entry not
// verified before.
func (v *Verified) Check(r audit.Stored) (kind, detail string) {
	k := verifiedKey{r.WorkflowID, r.Pos}
	if h, ok := v.known[k]; ok && h == r.Hash {
		if kind, detail := contentMatches(r); kind != "" {
			return kind, detail
		}
		return "", ""
	}
	if kind, detail := Attested(r, v.writers); kind != "" {
		return kind, detail
	}
	if !strings.ContainsAny(r.WorkflowID, " \n\r") {
		v.mu.Lock()
		v.added[k] = r.Hash
		v.mu.Unlock()
	}
	return "", ""
}

// Save adds the entries verified since OpenVerified to the file (written
// whole to a temporary file, then renamed).
func (v *Verified) Save() error {
	v.mu.Lock()
	defer v.mu.Unlock()
	if len(v.added) == 0 {
		return nil
	}
	if err := os.MkdirAll(filepath.Dir(v.path), 0o700); err != nil {
		return fmt.Errorf("verified entries: %w", err)
	}
	tmp, err := os.CreateTemp(filepath.Dir(v.path), ".verified-*")
	if err != nil {
		return fmt.Errorf("verified entries: %w", err)
	}
	defer os.Remove(tmp.Name())
	w := bufio.NewWriter(tmp)
	for k, h := range v.known {
		if _, again := v.added[k]; !again {
			fmt.Fprintf(w, "%s %d %s\n", h, k.pos, k.workflow)
		}
	}
	for k, h := range v.added {
		fmt.Fprintf(w, "%s %d %s\n", h, k.pos, k.workflow)
	}
	if err := w.Flush(); err != nil {
		tmp.Close()
		return fmt.Errorf("verified entries: %w", err)
	}
	if err := tmp.Close(); err != nil {
		return fmt.Errorf("verified entries: %w", err)
	}
	return os.Rename(tmp.Name(), v.path)
}
