package integration

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/batonhq/baton/audit"

	"go.temporal.io/sdk/client"
	"go.temporal.io/sdk/temporal"

	"github.com/batonhq/baton/humantask"
	"github.com/batonhq/baton/internal/auditlog"
	"github.com/batonhq/baton/internal/auditstore"
	"github.com/batonhq/baton/workflows"
)

func auditStore(t *testing.T) *auditstore.Store {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	st, err := auditstore.Open(ctx, env.auditDSN)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(st.Close)
	// Entries a test writes are the worker's: attested with its key.
	w, err := auditlog.LoadWriter(env.audit.writerKey)
	if err != nil {
		t.Fatal(err)
	}
	st.SetAttestor(w)
	return st
}

func refusals(t *testing.T, st *auditstore.Store, id string) []audit.Stored {
	t.Helper()
	recs, err := st.Trail(context.Background(), id)
	if err != nil {
		t.Fatal(err)
	}
	var out []audit.Stored
	for _, r := range recs {
		if r.Source == audit.SourceValidator {
			out = append(out, r)
		}
	}
	return out
}

// A decision refused by the update validator never reaches history; the
// worker's interceptor writes it to the audit store before the caller hears
// the refusal, once per update ID however often the caller retries.
func TestValidatorRefusalIsRecordedOnceInTheStore(t *testing.T) {
	app := uniq("AR")
	id := "loan-" + app
	starter(t, "start", "loan", "--id", app, "--applicant", "C-1002", "--amount", "40000", "--term-months", "36")
	eventually(t, id+" to open its task", func() bool {
		var tasks []humantask.TaskView
		v, err := env.client.QueryWorkflow(context.Background(), id, "", humantask.QueryTasks)
		return err == nil && v.Get(&tasks) == nil && len(tasks) > 0
	})
	st := auditStore(t)

	// The same update, sent three times: a signature fay cannot have made
	// (she has no key), kept as evidence (a client retrying after a lost
	// answer reuses its update ID).
	d := humantask.Decision{TaskID: "underwriting", Verdict: humantask.Approve, Actor: "fay", Signature: "bm90LWEtc2lnbmF0dXJl"}
	for range 3 {
		ctx, cancel := context.WithTimeout(context.Background(), 15*time.Second)
		h, err := env.client.UpdateWorkflow(ctx, client.UpdateWorkflowOptions{
			WorkflowID: id, UpdateID: "retried-" + app, UpdateName: humantask.UpdateDecide, Args: []any{d},
			WaitForStage: client.WorkflowUpdateStageCompleted,
		})
		if err == nil {
			err = h.Get(ctx, nil)
		}
		cancel()
		var ae *temporal.ApplicationError
		if !errors.As(err, &ae) || ae.Type() != "signature" {
			t.Fatalf("fay's approval: %v, want a signature refusal", err)
		}
		if strings.Contains(ae.Message(), "not yet recorded") {
			t.Fatalf("the store is up, yet: %s", ae.Message())
		}
	}
	// And one through the starter (its own update ID).
	if r := runBin(t, "starter", "approve", id, "--as", "sam"); r.code != 3 {
		t.Fatalf("sam's approval: exit %d %s", r.code, r.stderr)
	}
	got := refusals(t, st, id)
	if len(got) != 2 {
		t.Fatalf("store holds %d refusals, want 2 (one per update ID): %+v", len(got), got)
	}
	f := got[0]
	if f.Actor != "fay" || f.Reason != "signature" || f.UpdateID != "retried-"+app || f.Via != "update" ||
		f.Signature != d.Signature || f.TaskID != "underwriting" || !strings.Contains(f.BusinessKey, app) || f.Process != workflows.ProcessLoan ||
		f.PolicyVersion == "" || f.RunID == "" || f.EventID == 0 || !strings.Contains(f.Details, "approve refused (update): signature: fay has no public key") {
		t.Errorf("refusal entry: %+v", f.Entry)
	}
	if got[1].Actor != "sam" {
		t.Errorf("second refusal: %+v", got[1].Entry)
	}

	// starter audit shows them among the workflow's own entries.
	trail := auditTrail(t, id)
	if !hasEntry(trail, "fay", audit.ActionDecisionRefused, "fay has no public key") || !hasEntry(trail, "sam", audit.ActionDecisionRefused, "needs role underwriter") || !hasEntry(trail, "system", audit.ActionStarted, "") {
		t.Errorf("starter audit: %+v", trail)
	}
	// The chain verifies; the export finds them.
	all, err := st.Trail(context.Background(), id)
	if err != nil {
		t.Fatal(err)
	}
	if out := starter(t, "audit", "--verify", id); !strings.Contains(out, fmt.Sprintf("chain:   intact, %d entries", len(all))) || !strings.Contains(out, "verified") {
		t.Errorf("verify: %s", out)
	}
	var export struct {
		Entries []audit.Stored    `json:"entries"`
		Count   int               `json:"count"`
		Heads   map[string]string `json:"heads"`
	}
	if err := json.Unmarshal([]byte(starter(t, "audit", "--since", "1h", "--process", "loan", "-o", "json")), &export); err != nil {
		t.Fatal(err)
	}
	n, refused := 0, 0
	for _, r := range export.Entries {
		if r.WorkflowID == id {
			n++
			if r.Source == audit.SourceValidator {
				refused++
			}
		}
	}
	if n != len(all) || refused != 2 || export.Count != len(export.Entries) || export.Heads[id] == "" {
		t.Errorf("export: %d entries of %s (%d refusals), the store %d; count %d, head %q", n, id, refused, len(all), export.Count, export.Heads[id])
	}
	starter(t, "withdraw", id, "--by", "C-1002", "--reason", "test cleanup")
}

// The worker refuses to run without its audit store, in one line.
func TestWorkerWithoutAuditStoreIsOneClearLine(t *testing.T) {
	r := runWorkerOnce(t, "BATON_AUDIT_DSN=postgres://postgres@127.0.0.1:"+strings.Split(freePort(), ":")[1]+"/baton?sslmode=disable&connect_timeout=3")
	if r.code == 0 {
		t.Fatal("the worker ran without its audit store")
	}
	mustContain(t, "stderr", r.stderr, "worker: cannot reach the audit store (PostgreSQL) at 127.0.0.1:", "try: make dev")
	if n := strings.Count(r.stderr, "worker: "); n != 1 {
		t.Errorf("want one error line, got %d: %q", n, r.stderr)
	}
}

// starter audit, the worker gone: the store still answers for what it holds.
func TestStarterAuditExportNeedsNoWorker(t *testing.T) {
	r := runBin(t, "starter", "audit", "--since", "7d", "--address", freePort())
	if r.code != 0 || !strings.Contains(r.stdout, "entries of") {
		t.Errorf("export with Temporal unreachable: exit %d\n%s%s", r.code, r.stdout, r.stderr)
	}
	r = runBin(t, "starter", "audit", "--since", "7d", "--audit-dsn", "postgres://postgres@127.0.0.1:1/baton?connect_timeout=2")
	if r.code != 1 || !strings.Contains(r.stderr, "cannot reach the audit store") {
		t.Errorf("export with the store unreachable: exit %d %s", r.code, r.stderr)
	}
}

// An instance whose history is gone (retention) and no worker, no Temporal
// even: starter audit answers from the store, and --verify checks its chain.
func TestStarterAuditReadsTheStoreWithoutTemporal(t *testing.T) {
	st := auditStore(t)
	id := "loan-" + uniq("GONE")
	t0 := time.Now().Add(-72 * time.Hour).UTC()
	var entries []audit.Entry
	for i, a := range []struct{ actor, action, details string }{
		{"system", audit.ActionStarted, "application for 40,000.00"},
		{"system", audit.ActionTaskOpened, "Underwriting decision"},
		{"ana", audit.ActionDecisionAccepted, "approve (1 of 1) via update: income verified"},
		{"system", audit.ActionCompleted, "approved"},
	} {
		entries = append(entries, audit.Entry{WorkflowID: id, RunID: "r-gone", Seq: int64(i + 1), Process: "loan",
			BusinessKey: strings.TrimPrefix(id, "loan-"), Time: t0.Add(time.Duration(i) * time.Minute), Actor: a.actor,
			Action: a.action, Details: a.details, PolicyVersion: "sha256:old", Source: audit.SourceWorkflow})
	}
	if _, err := st.Append(context.Background(), entries); err != nil {
		t.Fatal(err)
	}
	nowhere := "--address=" + freePort()
	var doc struct {
		Source  string         `json:"source"`
		Entries []audit.Stored `json:"entries"`
	}
	r := runBin(t, "starter", "audit", id, "-o", "json", nowhere)
	if r.code != 0 || json.Unmarshal([]byte(r.stdout), &doc) != nil {
		t.Fatalf("audit with Temporal unreachable: exit %d\n%s%s", r.code, r.stdout, r.stderr)
	}
	if doc.Source != "store" || len(doc.Entries) != 4 || doc.Entries[2].Actor != "ana" || doc.Entries[2].Hash == "" {
		t.Errorf("trail from the store: %+v", doc)
	}
	r = runBin(t, "starter", "audit", "--verify", id, nowhere)
	if r.code != 0 || !strings.Contains(r.stdout, "chain:   intact, 4 entries") || !strings.Contains(r.stdout, "history: not compared") {
		t.Errorf("verify with Temporal unreachable: exit %d\n%s%s", r.code, r.stdout, r.stderr)
	}
}

// A worker with only the writer's DSN does not migrate: on a database
// nobody migrated it says what to run, in one line; without its writer
// key it says how to make one.
func TestWorkerOnAnUnmigratedStoreSaysWhatToRun(t *testing.T) {
	dsns, err := env.pg.CreateAuditDB(context.Background(), "unmigrated_"+strings.ToLower(strings.ReplaceAll(uniq("u"), "-", "_")))
	if err != nil {
		t.Fatal(err)
	}
	r := runWorkerOnce(t, "BATON_AUDIT_DSN="+dsns.Writer)
	if r.code == 0 {
		t.Fatal("the worker ran on a store without schema")
	}
	mustContain(t, "stderr", r.stderr, "worker: audit store at 127.0.0.1:", "run `worker --migrate` with audit.owner_dsn / BATON_AUDIT_OWNER_DSN")
	if n := strings.Count(r.stderr, "worker: "); n != 1 {
		t.Errorf("want one error line, got %d: %q", n, r.stderr)
	}
	r = runWorkerOnce(t, "BATON_AUDIT_WRITER_KEY="+filepath.Join(t.TempDir(), "none.key"))
	if r.code == 0 || !strings.Contains(r.stderr, "audit.writer_key: cannot read") || !strings.Contains(r.stderr, "worker --new-key FILE") {
		t.Errorf("without a writer key: exit %d %q", r.code, r.stderr)
	}
	r = runBinEnv(t, "worker", nil, "--migrate")
	if r.code == 0 || !strings.Contains(r.stderr, "audit.owner_dsn: required for --migrate") {
		t.Errorf("--migrate without the owner's DSN: exit %d %q", r.code, r.stderr)
	}
}
