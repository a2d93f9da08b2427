// Package auditlogtest gives tests the audit log's whole stack: a store on
// a throwaway PostgreSQL attesting with a writer key, an anchor and a
// witness served over HTTP, and a verifier.
package auditlogtest

import (
	"context"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"testing"
	"time"

	"github.com/batonhq/baton/audit"

	"go.uber.org/zap"

	"github.com/batonhq/baton/internal/auditlog"
	"github.com/batonhq/baton/internal/auditstore"
	"github.com/batonhq/baton/internal/auditstore/auditstoretest"
	"github.com/batonhq/baton/internal/witness"
)

// Keys are the three keys, in a temporary folder: writer, log, witness.
type Keys struct {
	Writer                        *auditlog.Writer
	WriterPub, LogPub, WitnessPub string
	LogFile, Dir                  string
}

func NewKeys(t testing.TB) Keys {
	t.Helper()
	dir := t.TempDir()
	k := Keys{Dir: dir, LogFile: filepath.Join(dir, "log.key")}
	var err error
	if k.WriterPub, err = auditlog.NewKeyFile(filepath.Join(dir, "writer.key"), auditlog.WriterKeyName); err != nil {
		t.Fatal(err)
	}
	if k.Writer, err = auditlog.LoadWriter(filepath.Join(dir, "writer.key")); err != nil {
		t.Fatal(err)
	}
	if k.LogPub, err = auditlog.NewKeyFile(k.LogFile, auditlog.LogOrigin); err != nil {
		t.Fatal(err)
	}
	if k.WitnessPub, err = auditlog.NewKeyFile(filepath.Join(dir, "witness.key"), auditlog.WitnessKeyName); err != nil {
		t.Fatal(err)
	}
	return k
}

// Stack is an audit store that attests with the writer key, an anchor
// with a witness, both served over HTTP, and a verifier of them.
type Stack struct {
	Store    *auditstore.Store
	Anchor   *auditlog.Anchor
	Verifier *auditlog.Verifier
	Keys     Keys
	cfg      auditlog.AnchorConfig
}

// Restart stops the anchor and starts another on the same folder, as
// after a crash or a deployment.
func (s *Stack) Restart(t testing.TB) {
	t.Helper()
	s.Anchor.Close()
	a, err := auditlog.NewAnchor(context.Background(), s.cfg)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(a.Close)
	s.Anchor = a
}

// NewStack starts a PostgreSQL, an anchor and a witness for the test.
func NewStack(t testing.TB) *Stack {
	t.Helper()
	ctx := context.Background()
	k := NewKeys(t)
	st, _ := auditstoretest.Start(t)
	st.SetAttestor(k.Writer)
	logSigner, err := auditlog.LoadSigner("log", k.LogFile)
	if err != nil {
		t.Fatal(err)
	}
	logPub, _ := auditlog.PublicKeyOf(k.LogFile)
	logVs, err := auditlog.Verifiers("log", []string{logPub})
	if err != nil {
		t.Fatal(err)
	}
	cosigner, err := auditlog.LoadCosigner("witness", filepath.Join(k.Dir, "witness.key"))
	if err != nil {
		t.Fatal(err)
	}
	w, err := witness.New(filepath.Join(k.Dir, "witness"), cosigner, logVs[0])
	if err != nil {
		t.Fatal(err)
	}
	ws := httptest.NewServer(w.Handler())
	t.Cleanup(ws.Close)
	writers, _ := auditlog.Verifiers("writers", []string{k.WriterPub})
	cfg := auditlog.AnchorConfig{Store: st, Dir: filepath.Join(k.Dir, "anchor"), Signer: logSigner,
		Writers: writers, WitnessURL: ws.URL, WitnessKey: k.WitnessPub, CheckpointInterval: 100 * time.Millisecond, Log: zap.NewNop()}
	a, err := auditlog.NewAnchor(ctx, cfg)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(a.Close)
	s := &Stack{Store: st, Anchor: a, Keys: k, cfg: cfg}
	as := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { s.Anchor.Handler().ServeHTTP(w, r) }))
	t.Cleanup(as.Close)
	wvs, _ := auditlog.CosignatureVerifiers("witness", []string{k.WitnessPub})
	v, err := auditlog.NewVerifier(as.URL, logVs[0], wvs, filepath.Join(k.Dir, "seen-checkpoint"))
	if err != nil {
		t.Fatal(err)
	}
	s.Verifier = v
	return s
}

// Entries are n entries of instance id, positions 1..n.
func Entries(id string, n int) []audit.Entry {
	var out []audit.Entry
	t0 := time.Date(2026, 12, 1, 9, 0, 0, 0, time.UTC)
	for i := range n {
		out = append(out, audit.Entry{WorkflowID: id, RunID: "r1", Seq: int64(i + 1), Process: "loan", BusinessKey: id,
			Time: t0.Add(time.Duration(i) * time.Minute), Actor: "system", Action: "step-completed", Details: "step", Source: audit.SourceWorkflow})
	}
	return out
}

// AnchorAll runs the anchor until the store has nothing new and a
// cosigned checkpoint covers size leaves.
func (s *Stack) AnchorAll(t testing.TB, size uint64) *auditlog.Checked {
	t.Helper()
	ctx := context.Background()
	for {
		n, err := s.Anchor.Step(ctx)
		if err != nil {
			t.Fatal(err)
		}
		if n == 0 {
			break
		}
	}
	deadline := time.Now().Add(20 * time.Second)
	for {
		cp, err := s.Verifier.Checkpoint(ctx)
		if err == nil && cp.Size >= size {
			return cp
		}
		if time.Now().After(deadline) {
			t.Fatalf("no cosigned checkpoint of %d leaves: %v", size, err)
		}
		time.Sleep(50 * time.Millisecond)
	}
}
