package auditlog_test

import (
	"encoding/hex"
	"path/filepath"
	"testing"
	"time"

	"github.com/batonhq/baton/audit"
	"github.com/batonhq/baton/internal/auditlog"
	"github.com/batonhq/baton/internal/auditstore"
)

// record is an entry as the store holds it, attested by w (nil: not).
func record(t *testing.T, w *auditlog.Writer, id, details string) audit.Stored {
	t.Helper()
	e := audit.Entry{WorkflowID: id, RunID: "r", Seq: 1, Process: "loan", BusinessKey: id, Time: time.Date(2026, 12, 1, 9, 0, 0, 0, time.UTC),
		Actor: "system", Action: "completed", Details: details, Source: audit.SourceWorkflow}
	h := audit.ChainHash(audit.GenesisHash, 1, e)
	r := audit.Stored{Entry: e, Pos: 1, PrevHash: hex.EncodeToString(audit.GenesisHash), Hash: hex.EncodeToString(h)}
	if w != nil {
		att, err := w.Attest(h)
		if err != nil {
			t.Fatal(err)
		}
		r.Attestation = att
	}
	return r
}

// A verifier that verified an entry once does not check its signature
// again, but still its content against the hash it verified: an entry
// changed in the database is checked in full, and fails.
func TestVerifiedEntriesAreCheckedOnce(t *testing.T) {
	dir := t.TempDir()
	keyFile := filepath.Join(dir, "writer.key")
	pub, err := auditlog.NewKeyFile(keyFile, auditlog.WriterKeyName)
	if err != nil {
		t.Fatal(err)
	}
	w, _ := auditlog.LoadWriter(keyFile)
	writers, _ := auditlog.Verifiers("w", []string{pub})
	path := auditlog.VerifiedFile(dir, []string{pub})
	genuine := record(t, w, "loan-A", "approved")
	forged := record(t, nil, "loan-B", "approved")

	v, err := auditlog.OpenVerified(path, writers)
	if err != nil {
		t.Fatal(err)
	}
	if kind, _ := v.Check(genuine); kind != "" {
		t.Fatalf("genuine entry: %s", kind)
	}
	if kind, _ := v.Check(forged); kind != auditlog.ProblemUnattested {
		t.Fatalf("unattested entry: %q", kind)
	}
	if err := v.Save(); err != nil {
		t.Fatal(err)
	}

	v, err = auditlog.OpenVerified(path, writers)
	if err != nil {
		t.Fatal(err)
	}
	// Its signature is not checked again (here it is gone, which a fresh
	// verifier calls unattested) ...
	unsigned := genuine
	unsigned.Attestation = ""
	if kind, _ := v.Check(unsigned); kind != "" {
		t.Errorf("verified entry checked again: %s", kind)
	}
	if kind, _ := auditlog.Attested(unsigned, writers); kind != auditlog.ProblemUnattested {
		t.Errorf("without the file: %q", kind)
	}
	// ... its content is: edited under its old hash, or rewritten with a
	// new hash and the old attestation, it fails.
	edited := genuine
	edited.Details = "declined"
	if kind, _ := v.Check(edited); kind != auditstore.ProblemHash {
		t.Errorf("edited entry: %q", kind)
	}
	rewritten := record(t, nil, "loan-A", "declined")
	rewritten.Attestation = genuine.Attestation
	if kind, _ := v.Check(rewritten); kind != auditlog.ProblemForged {
		t.Errorf("rewritten entry: %q", kind)
	}
	// The unattested entry was not remembered.
	if kind, _ := v.Check(forged); kind != auditlog.ProblemUnattested {
		t.Errorf("unattested entry, second time: %q", kind)
	}
	// Another set of writer keys keeps its own file.
	if other := auditlog.VerifiedFile(dir, []string{pub, "other+00000000+key"}); other == path {
		t.Errorf("one file for two sets of keys: %s", path)
	}
}
