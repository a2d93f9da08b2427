package witness_test

import (
	"bytes"
	"crypto/rand"
	"fmt"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"strings"
	"testing"

	"github.com/transparency-dev/formats/log"
	"github.com/transparency-dev/merkle/proof"
	"github.com/transparency-dev/merkle/rfc6962"
	"golang.org/x/mod/sumdb/note"

	"github.com/batonhq/baton/internal/auditlog"
	"github.com/batonhq/baton/internal/witness"
)

// tree is a log of n leaves held in memory: its roots and proofs.
type tree struct{ leaves [][]byte }

func (t *tree) add(n int) {
	for range n {
		t.leaves = append(t.leaves, rfc6962.DefaultHasher.HashLeaf(fmt.Appendf(nil, "leaf %d", len(t.leaves))))
	}
}

func (t *tree) root(size uint64) []byte { return mth(t.leaves[:size]) }

// mth is RFC 6962's Merkle tree hash.
func mth(l [][]byte) []byte {
	h := rfc6962.DefaultHasher
	switch len(l) {
	case 0:
		return h.EmptyRoot()
	case 1:
		return l[0]
	}
	k := 1
	for k*2 < len(l) {
		k *= 2
	}
	return h.HashChildren(mth(l[:k]), mth(l[k:]))
}

// consistency builds the RFC 6962 consistency proof from the tree.
func (t *tree) consistency(a, b uint64) [][]byte {
	nodes, err := proof.Consistency(a, b)
	if err != nil {
		panic(err)
	}
	var out [][]byte
	for _, id := range nodes.IDs {
		lo, hi := id.Coverage()
		out = append(out, mth(t.leaves[lo:hi]))
	}
	p, err := nodes.Rehash(out, rfc6962.DefaultHasher.HashChildren)
	if err != nil {
		panic(err)
	}
	return p
}

type fixture struct {
	w      *witness.Witness
	signer note.Signer
	t      tree
	dir    string
	logKey note.Verifier
	cosig  note.Signer
}

func newFixture(t *testing.T) *fixture {
	dir := t.TempDir()
	skey, vkey, _ := note.GenerateKey(rand.Reader, auditlog.LogOrigin)
	signer, _ := note.NewSigner(skey)
	logKey, _ := note.NewVerifier(vkey)
	if _, err := auditlog.NewKeyFile(filepath.Join(dir, "w.key"), auditlog.WitnessKeyName); err != nil {
		t.Fatal(err)
	}
	cosig, err := auditlog.LoadCosigner("w", filepath.Join(dir, "w.key"))
	if err != nil {
		t.Fatal(err)
	}
	w, err := witness.New(filepath.Join(dir, "state"), cosig, logKey)
	if err != nil {
		t.Fatal(err)
	}
	return &fixture{w: w, signer: signer, dir: dir, logKey: logKey, cosig: cosig}
}

func (f *fixture) checkpoint(size uint64, root []byte, by note.Signer) []byte {
	cp := log.Checkpoint{Origin: auditlog.LogOrigin, Size: size, Hash: root}
	b, err := note.Sign(&note.Note{Text: string(cp.Marshal())}, by)
	if err != nil {
		panic(err)
	}
	return b
}

func TestWitnessCosignsOnlyConsistentCheckpoints(t *testing.T) {
	f := newFixture(t)
	f.t.add(5)
	sig, status, msg := f.w.Add(0, nil, f.checkpoint(5, f.t.root(5), f.signer))
	if status != http.StatusOK {
		t.Fatalf("first checkpoint: %d %s", status, msg)
	}
	pub, _ := auditlog.PublicKeyOf(filepath.Join(f.dir, "w.key"))
	cv, _ := auditlog.CosignatureVerifiers("w", []string{pub})
	if _, err := auditlog.ParseCheckpoint(append(f.checkpoint(5, f.t.root(5), f.signer), sig...), f.logKey, cv); err != nil {
		t.Fatalf("the cosignature does not verify: %v", err)
	}
	f.t.add(4)
	// A consistent extension is cosigned.
	if _, status, msg := f.w.Add(5, f.t.consistency(5, 9), f.checkpoint(9, f.t.root(9), f.signer)); status != http.StatusOK {
		t.Fatalf("consistent extension: %d %s", status, msg)
	}
	// A rewritten past: another tree of 12 leaves whose first 9 differ.
	var forked tree
	forked.add(1)
	forked.leaves[0] = rfc6962.DefaultHasher.HashLeaf([]byte("rewritten"))
	forked.leaves = append(forked.leaves, f.t.leaves[1:]...)
	forked.add(3)
	if _, status, _ := f.w.Add(9, forked.consistency(9, 12), f.checkpoint(12, forked.root(12), f.signer)); status != http.StatusUnprocessableEntity {
		t.Errorf("a fork: %d, want 422", status)
	}
	// The wrong old size is answered with the size the witness holds.
	if _, status, _ := f.w.Add(5, f.t.consistency(5, 9), f.checkpoint(9, f.t.root(9), f.signer)); status != http.StatusConflict || f.w.Size() != 9 {
		t.Errorf("stale old size: %d, witness at %d", status, f.w.Size())
	}
	// Same size, another root.
	if _, status, _ := f.w.Add(9, nil, f.checkpoint(9, forked.root(9), f.signer)); status != http.StatusConflict {
		t.Errorf("same size, other root: %d, want 409", status)
	}
	// Not the log's key.
	skey, _, _ := note.GenerateKey(rand.Reader, auditlog.LogOrigin)
	other, _ := note.NewSigner(skey)
	if _, status, _ := f.w.Add(9, nil, f.checkpoint(9, f.t.root(9), other)); status != http.StatusForbidden && status != http.StatusNotFound {
		t.Errorf("another key: %d, want 403 or 404", status)
	}
	// The witness remembers across restarts.
	w2, err := witness.New(filepath.Join(f.dir, "state"), f.cosig, f.logKey)
	if err != nil || w2.Size() != 9 {
		t.Fatalf("restarted witness at %d: %v", w2.Size(), err)
	}
	if _, status, _ := w2.Add(0, nil, f.checkpoint(3, f.t.root(3), f.signer)); status != http.StatusConflict {
		t.Errorf("a rolled back log after a restart: %d, want 409", status)
	}
}

func TestWitnessRequestFormat(t *testing.T) {
	f := newFixture(t)
	f.t.add(2)
	srv := f.w.Handler()
	body := "old 0\n\n" + string(f.checkpoint(2, f.t.root(2), f.signer))
	rec := httptest.NewRecorder()
	srv.ServeHTTP(rec, httptest.NewRequest(http.MethodPost, "/add-checkpoint", strings.NewReader(body)))
	if rec.Code != http.StatusOK || !bytes.HasPrefix(rec.Body.Bytes(), []byte("— "+auditlog.WitnessKeyName+" ")) {
		t.Errorf("add-checkpoint: %d %q", rec.Code, rec.Body.String())
	}
	rec = httptest.NewRecorder()
	srv.ServeHTTP(rec, httptest.NewRequest(http.MethodPost, "/add-checkpoint", strings.NewReader("old x\n\n")))
	if rec.Code != http.StatusBadRequest {
		t.Errorf("malformed: %d", rec.Code)
	}
}
