package auditlog_test

import (
	"context"
	"net/http/httptest"
	"path/filepath"
	"testing"
	"time"

	"go.uber.org/zap"

	"github.com/batonhq/baton/internal/auditlog"
	"github.com/batonhq/baton/internal/auditstore"
	"github.com/batonhq/baton/internal/auditstore/auditstoretest"
	"github.com/batonhq/baton/internal/witness"
)

// keys makes the three keys in dir: writer, log, witness.
type keys struct {
	writer              *auditlog.Writer
	writerPub           string
	logFile, witnessPub string
	dir                 string
}

func newKeys(t *testing.T) keys {
	t.Helper()
	dir := t.TempDir()
	k := keys{dir: dir, logFile: filepath.Join(dir, "log.key")}
	var err error
	if k.writerPub, err = auditlog.NewKeyFile(filepath.Join(dir, "writer.key"), auditlog.WriterKeyName); err != nil {
		t.Fatal(err)
	}
	if k.writer, err = auditlog.LoadWriter(filepath.Join(dir, "writer.key")); err != nil {
		t.Fatal(err)
	}
	if _, err = auditlog.NewKeyFile(k.logFile, auditlog.LogOrigin); err != nil {
		t.Fatal(err)
	}
	if k.witnessPub, err = auditlog.NewKeyFile(filepath.Join(dir, "witness.key"), auditlog.WitnessKeyName); err != nil {
		t.Fatal(err)
	}
	return k
}

// stack is a store, an anchor with a witness, and a verifier of them.
type stack struct {
	st       *auditstore.Store
	anchor   *auditlog.Anchor
	verifier *auditlog.Verifier
	keys     keys
}

func newStack(t *testing.T) stack {
	t.Helper()
	ctx := context.Background()
	k := newKeys(t)
	st, _ := auditstoretest.Start(t)
	st.SetAttestor(k.writer)
	logSigner, err := auditlog.LoadSigner("log", k.logFile)
	if err != nil {
		t.Fatal(err)
	}
	logPub, _ := auditlog.PublicKeyOf(k.logFile)
	logVs, err := auditlog.Verifiers("log", []string{logPub})
	if err != nil {
		t.Fatal(err)
	}
	cosigner, err := auditlog.LoadCosigner("witness", filepath.Join(k.dir, "witness.key"))
	if err != nil {
		t.Fatal(err)
	}
	w, err := witness.New(filepath.Join(k.dir, "witness"), cosigner, logVs[0])
	if err != nil {
		t.Fatal(err)
	}
	ws := httptest.NewServer(w.Handler())
	t.Cleanup(ws.Close)
	writers, _ := auditlog.Verifiers("writers", []string{k.writerPub})
	a, err := auditlog.NewAnchor(ctx, auditlog.AnchorConfig{Store: st, Dir: filepath.Join(k.dir, "anchor"), Signer: logSigner,
		Writers: writers, WitnessURL: ws.URL, WitnessKey: k.witnessPub, CheckpointInterval: 100 * time.Millisecond, Log: zap.NewNop()})
	if err != nil {
		t.Fatal(err)
	}
	as := httptest.NewServer(a.Handler())
	t.Cleanup(as.Close)
	wvs, _ := auditlog.CosignatureVerifiers("witness", []string{k.witnessPub})
	v, err := auditlog.NewVerifier(as.URL, logVs[0], wvs, filepath.Join(k.dir, "seen-checkpoint"))
	if err != nil {
		t.Fatal(err)
	}
	return stack{st: st, anchor: a, verifier: v, keys: k}
}

func entries(id string, n int) []auditstore.Entry {
	var out []auditstore.Entry
	t0 := time.Date(2026, 12, 1, 9, 0, 0, 0, time.UTC)
	for i := range n {
		out = append(out, auditstore.Entry{WorkflowID: id, RunID: "r1", Seq: int64(i + 1), Process: "loan", BusinessKey: id,
			Time: t0.Add(time.Duration(i) * time.Minute), Actor: "system", Action: "step-completed", Details: "step", Source: auditstore.SourceWorkflow})
	}
	return out
}

// anchorAll runs the anchor until the store has nothing new and a
// cosigned checkpoint covers size leaves.
func (s stack) anchorAll(t *testing.T, size uint64) *auditlog.Checked {
	t.Helper()
	ctx := context.Background()
	for {
		n, err := s.anchor.Step(ctx)
		if err != nil {
			t.Fatal(err)
		}
		if n == 0 {
			break
		}
	}
	deadline := time.Now().Add(20 * time.Second)
	for {
		cp, err := s.verifier.Checkpoint(ctx)
		if err == nil && cp.Size >= size {
			return cp
		}
		if time.Now().After(deadline) {
			t.Fatalf("no cosigned checkpoint of %d leaves: %v", size, err)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

func TestAnchoredEntriesAreProvenAndForgeriesRefused(t *testing.T) {
	s := newStack(t)
	ctx := context.Background()
	if _, err := s.st.Append(ctx, entries("loan-A", 3)); err != nil {
		t.Fatal(err)
	}
	if _, err := s.st.Append(ctx, entries("loan-B", 2)); err != nil {
		t.Fatal(err)
	}
	// A row appended with the writer's rights but without its key: the
	// anchor refuses it.
	s.st.SetAttestor(nil)
	if _, err := s.st.Append(ctx, entries("loan-A", 4)[3:]); err != nil {
		t.Fatal(err)
	}
	s.st.SetAttestor(s.keys.writer)
	cp := s.anchorAll(t, 5)
	if cp.Size != 5 {
		t.Fatalf("checkpoint of %d leaves, want 5 (the forgery left out)", cp.Size)
	}
	leaves, err := s.verifier.Leaves(ctx, "loan-A")
	if err != nil || len(leaves) != 3 {
		t.Fatalf("loan-A's leaves: %v %v", leaves, err)
	}
	p, err := s.verifier.Prover(ctx, cp)
	if err != nil {
		t.Fatal(err)
	}
	recs, _ := s.st.Trail(ctx, "loan-A")
	var proven []auditlog.Proven
	for _, l := range leaves {
		pr, err := p.Prove(ctx, l.Index)
		if err != nil {
			t.Fatal(err)
		}
		proven = append(proven, pr)
	}
	writers, _ := auditlog.Verifiers("w", []string{s.keys.writerPub})
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
	if _, err := s.st.Append(ctx, entries("loan-C", 1)); err != nil {
		t.Fatal(err)
	}
	if cp2 := s.anchorAll(t, 6); cp2.Since != 5 {
		t.Errorf("second checkpoint: since %d, want 5", cp2.Since)
	}
}
