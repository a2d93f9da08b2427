package auditlog_test

import (
	"context"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/batonhq/baton/internal/auditlog"
	"github.com/batonhq/baton/internal/auditlog/auditlogtest"
)

func TestAnchoredEntriesAreProvenAndForgeriesRefused(t *testing.T) {
	s := auditlogtest.NewStack(t)
	ctx := context.Background()
	if _, err := s.Store.Append(ctx, auditlogtest.Entries("loan-A", 3)); err != nil {
		t.Fatal(err)
	}
	if _, err := s.Store.Append(ctx, auditlogtest.Entries("loan-B", 2)); err != nil {
		t.Fatal(err)
	}
	// A row appended with the writer's rights but without its key: the
	// anchor refuses it.
	s.Store.SetAttestor(nil)
	if _, err := s.Store.Append(ctx, auditlogtest.Entries("loan-A", 4)[3:]); err != nil {
		t.Fatal(err)
	}
	s.Store.SetAttestor(s.Keys.Writer)
	cp := s.AnchorAll(t, 5)
	if cp.Size != 5 {
		t.Fatalf("checkpoint of %d leaves, want 5 (the forgery left out)", cp.Size)
	}
	leaves, err := s.Verifier.Leaves(ctx, "loan-A")
	if err != nil || len(leaves) != 3 {
		t.Fatalf("loan-A's leaves: %v %v", leaves, err)
	}
	p, err := s.Verifier.Prover(ctx, cp)
	if err != nil {
		t.Fatal(err)
	}
	recs, _ := s.Store.Trail(ctx, "loan-A")
	var proven []auditlog.Proven
	for _, l := range leaves {
		pr, err := p.Prove(ctx, l.Index)
		if err != nil {
			t.Fatal(err)
		}
		proven = append(proven, pr)
	}
	writers, _ := auditlog.Verifiers("w", []string{s.Keys.WriterPub})
	for _, r := range recs[:3] {
		if kind, d := auditlog.Attested(r, writers); kind != "" {
			t.Errorf("genuine entry %d: %s %s", r.Pos, kind, d)
		}
	}
	if kind, _ := auditlog.Attested(recs[3], writers); kind != auditlog.ProblemUnattested {
		t.Errorf("the forged row: %q, want unattested", kind)
	}
	got := auditlog.CompareLog(recs, proven, 0, time.Minute, time.Now().Add(time.Hour))
	if got.Anchored != 3 || len(got.Problems) != 1 || got.Problems[0].Kind != auditlog.ProblemNotAnchored || got.Problems[0].Pos != 4 {
		t.Errorf("compare: %+v", got)
	}
	// A second checkpoint later extends the first: the verifier checks
	// the consistency proof from the one it kept.
	if _, err := s.Store.Append(ctx, auditlogtest.Entries("loan-C", 1)); err != nil {
		t.Fatal(err)
	}
	if cp2 := s.AnchorAll(t, 6); cp2.Since != 5 {
		t.Errorf("second checkpoint: since %d, want 5", cp2.Since)
	}
}

// A restarted anchor appends nothing twice and carries on from its
// cursor; one that lost its cursor and index rebuilds the index from the
// log and appends nothing again.
func TestRestartedAnchorAppendsOnce(t *testing.T) {
	s := auditlogtest.NewStack(t)
	ctx := context.Background()
	if _, err := s.Store.Append(ctx, auditlogtest.Entries("loan-R", 3)); err != nil {
		t.Fatal(err)
	}
	s.AnchorAll(t, 3)
	s.Restart(t)
	if _, err := s.Store.Append(ctx, auditlogtest.Entries("loan-R", 5)[3:]); err != nil {
		t.Fatal(err)
	}
	cp := s.AnchorAll(t, 5)
	leaves, err := s.Verifier.Leaves(ctx, "loan-R")
	if err != nil || len(leaves) != 5 || cp.Size != 5 {
		t.Fatalf("after a restart: %d leaves, checkpoint of %d: %v", len(leaves), cp.Size, err)
	}
	for i, l := range leaves {
		if l.Index != uint64(i) || l.Pos != int64(i+1) {
			t.Errorf("leaf %d: %+v", i, l)
		}
	}
	// Lose the index and the cursor (a crash right after sequencing): the
	// anchor rebuilds its index from the log and appends nothing again.
	s.Anchor.Close()
	if err := os.Remove(filepath.Join(s.Keys.Dir, "anchor", "cursor.json")); err != nil {
		t.Fatal(err)
	}
	if err := os.Truncate(filepath.Join(s.Keys.Dir, "anchor", "index.jsonl"), 0); err != nil {
		t.Fatal(err)
	}
	s.Restart(t)
	if cp := s.AnchorAll(t, 5); cp.Size != 5 {
		t.Fatalf("re-read from the start: checkpoint of %d leaves, want 5", cp.Size)
	}
	if leaves, _ := s.Verifier.Leaves(ctx, "loan-R"); len(leaves) != 5 {
		t.Fatalf("index rebuilt with %d leaves", len(leaves))
	}
}
