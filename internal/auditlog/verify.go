package auditlog

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/transparency-dev/formats/log"
	"github.com/transparency-dev/merkle/proof"
	"github.com/transparency-dev/merkle/rfc6962"
	"github.com/transparency-dev/tessera/client"
	"golang.org/x/mod/sumdb/note"
)

// Verifier reads the anchor's log over HTTP and checks it: checkpoints
// signed by the log's key and cosigned by every witness, consistent with
// the last checkpoint this verifier kept, and leaves proven included.
type Verifier struct {
	URL       string
	Log       note.Verifier   // its name is the log's origin
	Witnesses []note.Verifier // cosignature/v1; every one must cosign
	// StateFile keeps the last checkpoint seen (the user's config dir).
	StateFile string

	fetch *client.HTTPFetcher
	http  *http.Client
}

// NewVerifier checks the settings and builds a verifier.
func NewVerifier(rawURL string, logKey note.Verifier, witnesses []note.Verifier, stateFile string) (*Verifier, error) {
	u, err := url.Parse(rawURL)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return nil, fmt.Errorf("audit.log_url: %q is not an http(s) URL", rawURL)
	}
	if len(witnesses) == 0 {
		return nil, errors.New("audit.witness_public_keys: no witness key: a checkpoint only the log signed proves nothing to a verifier that cannot see its past")
	}
	hc := &http.Client{Timeout: 10 * time.Second}
	f, err := client.NewHTTPFetcher(u.JoinPath("/"), hc)
	if err != nil {
		return nil, err
	}
	return &Verifier{URL: strings.TrimSuffix(rawURL, "/"), Log: logKey, Witnesses: witnesses, StateFile: stateFile, fetch: f, http: hc}, nil
}

// DefaultStateDir is the folder of a user's verifier state: the user's
// config dir.
func DefaultStateDir() (string, error) {
	dir, err := os.UserConfigDir()
	if err != nil {
		return "", fmt.Errorf("audit.checkpoint_file: no user config dir (%v): set it", err)
	}
	return filepath.Join(dir, "baton", "checkpoints"), nil
}

// DefaultStateFile is where a user's last seen checkpoint of the log that
// key verifies is kept: one file per log name and key (as a signed note's
// verifier names a key: name and key hash), so that another log (a second
// development stack, a log whose key an operator replaced and the verifier
// was configured with) starts its own history rather than failing against
// the first one's checkpoint. The configured key is the verifier's trust
// anchor; a kept checkpoint protects that log's past.
func DefaultStateFile(key note.Verifier) (string, error) {
	dir, err := DefaultStateDir()
	if err != nil {
		return "", err
	}
	safe := strings.Map(func(r rune) rune {
		if r == '/' || r == '\\' || r == ':' {
			return '_'
		}
		return r
	}, key.Name())
	return filepath.Join(dir, fmt.Sprintf("%s+%08x", safe, key.KeyHash())), nil
}

// Checked is a checkpoint that verified: signatures, cosignatures and
// consistency with the last one kept.
type Checked struct {
	log.Checkpoint
	Raw []byte
	// Since is the checkpoint kept before this one (its size), 0 at first.
	Since uint64
}

// ParseCheckpoint verifies a checkpoint's log signature and every witness's
// cosignature.
func ParseCheckpoint(raw []byte, logKey note.Verifier, witnesses []note.Verifier) (*log.Checkpoint, error) {
	cp, _, n, err := log.ParseCheckpoint(raw, logKey.Name(), logKey, witnesses...)
	if err != nil {
		return nil, fmt.Errorf("checkpoint: %v", err)
	}
	for _, w := range witnesses {
		found := false
		for _, s := range n.Sigs {
			if s.Name == w.Name() && s.Hash == w.KeyHash() {
				found = true
			}
		}
		if !found {
			return nil, fmt.Errorf("checkpoint: not cosigned by witness %s", w.Name())
		}
	}
	return cp, nil
}

// Checkpoint fetches the log's checkpoint, verifies it, demands a
// consistency proof from the checkpoint kept last time, and keeps the new
// one. A log that went back or forked is an error naming both sizes.
func (v *Verifier) Checkpoint(ctx context.Context) (*Checked, error) {
	raw, err := v.fetch.ReadCheckpoint(ctx)
	if err != nil {
		return nil, fmt.Errorf("audit log at %s: %v (is the anchor running? audit.log_url)", v.URL, err)
	}
	cp, err := ParseCheckpoint(raw, v.Log, v.Witnesses)
	if err != nil {
		return nil, fmt.Errorf("audit log at %s: %w", v.URL, err)
	}
	c := &Checked{Checkpoint: *cp, Raw: raw}
	kept, err := os.ReadFile(v.StateFile)
	if err == nil {
		old, err := ParseCheckpoint(kept, v.Log, nil)
		if err != nil {
			return nil, fmt.Errorf("the checkpoint kept in %s does not verify with the log's key: %w", v.StateFile, err)
		}
		if err := v.Consistent(ctx, old, cp); err != nil {
			return nil, err
		}
		c.Since = old.Size
		if old.Size == cp.Size {
			return c, nil
		}
	}
	if err := os.MkdirAll(filepath.Dir(v.StateFile), 0o700); err != nil {
		return nil, err
	}
	tmp := v.StateFile + ".tmp"
	if err := os.WriteFile(tmp, raw, 0o600); err != nil {
		return nil, err
	}
	return c, os.Rename(tmp, v.StateFile)
}

// ErrInconsistent: the log's new checkpoint does not extend one seen
// before.
var ErrInconsistent = errors.New("the audit log is not consistent with the checkpoint seen before")

// Consistent proves that checkpoint b extends a.
func (v *Verifier) Consistent(ctx context.Context, a, b *log.Checkpoint) error {
	switch {
	case b.Size < a.Size:
		return fmt.Errorf("%w: it shrank from %d to %d leaves (rolled back)", ErrInconsistent, a.Size, b.Size)
	case b.Size == a.Size:
		if !bytes.Equal(a.Hash, b.Hash) {
			return fmt.Errorf("%w: two different trees of %d leaves (a fork)", ErrInconsistent, a.Size)
		}
		return nil
	case a.Size == 0:
		return nil
	}
	pb, err := client.NewProofBuilder(ctx, b.Size, v.fetch.ReadTile)
	if err != nil {
		return fmt.Errorf("audit log: consistency proof: %w", err)
	}
	p, err := pb.ConsistencyProof(ctx, a.Size, b.Size)
	if err != nil {
		return fmt.Errorf("audit log: consistency proof %d..%d: %w", a.Size, b.Size, err)
	}
	if err := proof.VerifyConsistency(rfc6962.DefaultHasher, a.Size, b.Size, p, a.Hash, b.Hash); err != nil {
		return fmt.Errorf("%w: the tree of %d leaves does not extend the one of %d seen before (%v)", ErrInconsistent, b.Size, a.Size, err)
	}
	return nil
}

// Proven is a leaf read from the log with its inclusion proof, verified
// against a checkpoint.
type Proven struct {
	Index uint64   `json:"index"`
	Leaf  Leaf     `json:"leaf"`
	Data  []byte   `json:"data"`
	Proof [][]byte `json:"proof"`
}

// Prover proves leaves against one checkpoint.
type Prover struct {
	v  *Verifier
	cp *Checked
	pb *client.ProofBuilder
	// bundles already read, by bundle index.
	bundles map[uint64][][]byte
}

// Prover builds inclusion proofs against cp.
func (v *Verifier) Prover(ctx context.Context, cp *Checked) (*Prover, error) {
	pb, err := client.NewProofBuilder(ctx, cp.Size, v.fetch.ReadTile)
	if err != nil {
		return nil, fmt.Errorf("audit log: %w", err)
	}
	return &Prover{v: v, cp: cp, pb: pb, bundles: map[uint64][][]byte{}}, nil
}

// Prove reads leaf index, proves it included in the checkpoint and
// returns it.
func (p *Prover) Prove(ctx context.Context, index uint64) (Proven, error) {
	if index >= p.cp.Size {
		return Proven{}, fmt.Errorf("leaf %d is beyond the checkpoint (%d leaves)", index, p.cp.Size)
	}
	b, ok := p.bundles[index/256]
	if !ok {
		eb, err := client.GetEntryBundle(ctx, p.v.fetch.ReadEntryBundle, index/256, p.cp.Size)
		if err != nil {
			return Proven{}, fmt.Errorf("audit log: read leaf %d: %w", index, err)
		}
		b = eb.Entries
		p.bundles[index/256] = b
	}
	if int(index%256) >= len(b) {
		return Proven{}, fmt.Errorf("audit log: leaf %d missing from its bundle", index)
	}
	data := b[index%256]
	prf, err := p.pb.InclusionProof(ctx, index)
	if err != nil {
		return Proven{}, fmt.Errorf("audit log: inclusion proof of leaf %d: %w", index, err)
	}
	if err := VerifyInclusion(index, p.cp.Size, data, prf, p.cp.Hash); err != nil {
		return Proven{}, err
	}
	l, err := ParseLeaf(data)
	if err != nil {
		return Proven{}, fmt.Errorf("audit log: leaf %d: %w", index, err)
	}
	return Proven{Index: index, Leaf: l, Data: data, Proof: prf}, nil
}

// VerifyInclusion checks that data is leaf index of the tree of size
// leaves with root.
func VerifyInclusion(index, size uint64, data []byte, prf [][]byte, root []byte) error {
	h := rfc6962.DefaultHasher
	if err := proof.VerifyInclusion(h, index, size, h.HashLeaf(data), prf, root); err != nil {
		return fmt.Errorf("leaf %d is not included in the checkpoint's tree: %v", index, err)
	}
	return nil
}

// Leaves asks the anchor's index for an instance's leaves.
func (v *Verifier) Leaves(ctx context.Context, workflowID string) ([]Indexed, error) {
	var doc IndexDoc
	err := v.getJSON(ctx, "/baton/index?workflow="+url.QueryEscape(workflowID), &doc)
	return doc.Leaves, err
}

// Instances asks the anchor for the instances with a leaf at or after
// since.
func (v *Verifier) Instances(ctx context.Context, since time.Time) ([]string, error) {
	var ids []string
	err := v.getJSON(ctx, "/baton/instances?since="+url.QueryEscape(since.UTC().Format(time.RFC3339Nano)), &ids)
	return ids, err
}

func (v *Verifier) getJSON(ctx context.Context, path string, out any) error {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, v.URL+path, nil)
	if err != nil {
		return err
	}
	resp, err := v.http.Do(req)
	if err != nil {
		return fmt.Errorf("audit log at %s: %v (is the anchor running? audit.log_url)", v.URL, err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		b, _ := io.ReadAll(io.LimitReader(resp.Body, 200))
		return fmt.Errorf("audit log at %s: %s: %s", v.URL, resp.Status, strings.TrimSpace(string(b)))
	}
	if err := json.NewDecoder(io.LimitReader(resp.Body, 64<<20)).Decode(out); err != nil {
		return fmt.Errorf("audit log at %s: %s: %v", v.URL, path, err)
	}
	return nil
}
