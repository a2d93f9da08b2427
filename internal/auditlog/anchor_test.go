package auditlog_test

import (
	"context"
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
