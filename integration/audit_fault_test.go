// The audit store under faults: every entry of every instance reaches the
// store exactly once through the record's writer, whatever is killed, and a
// reset that rewrites an instance's history is reported, not accepted.
package integration

import (
	"context"
	"encoding/json"
	"os"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/batonhq/baton/audit"

	"go.temporal.io/api/enums/v1"

	"github.com/batonhq/baton/internal/auditstore"
)

// storeMatchesQuery checks that the store holds the instance's trail exactly
// once: as many workflow entries as the audit query shows, seq 1..n, and an
// intact chain.
func storeMatchesQuery(t *testing.T, st *auditstore.Store, id string) {
	t.Helper()
	var query []audit.Entry
	v, err := env.client.QueryWorkflow(context.Background(), id, "", "audit")
	if err != nil || v.Get(&query) != nil {
		t.Fatalf("%s: audit query: %v", id, err)
	}
	var recs []audit.Stored
	eventually(t, "the store to catch up with "+id, func() bool {
		all, err := st.Trail(context.Background(), id)
		if err != nil {
			t.Fatal(err)
		}
		recs = recs[:0]
		for _, r := range all {
			if r.Source == audit.SourceWorkflow {
				recs = append(recs, r)
			}
		}
		return len(recs) >= len(query)
	})
	if len(recs) != len(query) {
		t.Fatalf("%s: store holds %d workflow entries, the trail has %d (lost or duplicated)", id, len(recs), len(query))
	}
	for i, r := range recs {
		if r.Seq != int64(i+1) || r.Action != query[i].Action || r.Actor != query[i].Actor || r.Details != query[i].Details {
			t.Errorf("%s entry %d: store %s/%s/%q, trail %s/%s/%q", id, i+1, r.Actor, r.Action, r.Details, query[i].Actor, query[i].Action, query[i].Details)
		}
	}
	if rep, err := st.Verify(context.Background(), id); err != nil || !rep.OK() {
		t.Errorf("%s chain: %v %+v", id, err, rep.Problems)
	}
}

// The worker killed while it writes audit entries, and PostgreSQL crashed
// and restarted: every entry is in the store once, the chain intact.
func TestAuditSurvivesWorkerKillAndPostgresRestart(t *testing.T) {
	st := auditStore(t)
	var ids []string
	for i := range 6 {
		app := uniq("AF" + strconv.Itoa(i))
		starter(t, "start", "loan", "--file", "examples/loan-auto-approve.json", "--id", app)
		ids = append(ids, "loan-"+app)
	}
	// Mid-write: the first entries are in, the instances are not done.
	eventually(t, "the first audit writes", func() bool {
		recs, _ := st.Trail(context.Background(), ids[0])
		return len(recs) > 0
	})
	if err := env.worker.Process.Signal(syscall.SIGKILL); err != nil {
		t.Fatal(err)
	}
	_ = env.worker.Wait()
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	if err := env.pg.Stop(ctx, "immediate"); err != nil {
		t.Fatal(err)
	}
	tmp, _ := os.MkdirTemp("", "baton-worker-")
	defer os.RemoveAll(tmp)
	// The worker cannot start without its store: bring PostgreSQL back
	// first, as an operator would, while the instances wait in Temporal.
	time.Sleep(time.Second)
	if err := env.pg.StartServer(ctx); err != nil {
		t.Fatal(err)
	}
	if err := startWorker(ctx, tmp); err != nil {
		t.Fatalf("restart worker: %v", err)
	}
	// PostgreSQL crashes again while the restarted worker writes.
	if err := env.pg.Stop(ctx, "immediate"); err != nil {
		t.Fatal(err)
	}
	time.Sleep(2 * time.Second)
	if err := env.pg.StartServer(ctx); err != nil {
		t.Fatal(err)
	}
	for _, id := range ids {
		if res := outcomeOf(t, id); res["outcome"] != "approved" {
			t.Errorf("%s: %v", id, res)
		}
		storeMatchesQuery(t, st, id)
	}
}

// A reset that drops an accepted decision: the store keeps it, and
// --verify reports the divergence (exit 5) instead of accepting the
// rewritten trail.
func TestResetDroppingADecisionIsADivergence(t *testing.T) {
	app := uniq("RS")
	id := "loan-" + app
	starter(t, "start", "loan", "--id", app, "--applicant", "C-1002", "--amount", "40000", "--term-months", "36")
	waitTask(t, id)
	starter(t, "approve", id, "--as", "ana", "--comment", "income verified")
	if res := outcomeOf(t, id); res["outcome"] != "approved" {
		t.Fatalf("result = %v", res)
	}
	st := auditStore(t)
	storeMatchesQuery(t, st, id)
	if out := starter(t, "audit", "--verify", id); !strings.Contains(out, "verified") {
		t.Fatalf("before the reset: %s", out)
	}

	// Reset to the workflow task that accepted ana's decision, without
	// reapplying it: the new run waits for a decision again.
	var resetTo int64
	it := env.client.GetWorkflowHistory(context.Background(), id, "", false, enums.HISTORY_EVENT_FILTER_TYPE_ALL_EVENT)
	var lastTaskCompleted int64
	for it.HasNext() && resetTo == 0 {
		ev, err := it.Next()
		if err != nil {
			t.Fatal(err)
		}
		switch ev.GetEventType() {
		case enums.EVENT_TYPE_WORKFLOW_TASK_COMPLETED:
			lastTaskCompleted = ev.GetEventId()
		case enums.EVENT_TYPE_WORKFLOW_EXECUTION_UPDATE_ACCEPTED:
			resetTo = lastTaskCompleted
		}
	}
	if out, err := temporalCLI(t, "workflow", "reset", "--workflow-id", id, "--event-id", strconv.FormatInt(resetTo, 10),
		"--reason", "test: drop the decision", "--reapply-exclude", "All"); err != nil {
		t.Fatalf("reset: %v\n%s", err, out)
	}
	waitTask(t, id)

	r := runBin(t, "starter", "audit", "--verify", id, "-o", "json")
	if r.code != 5 {
		t.Fatalf("--verify after the reset: exit %d, want 5\n%s%s", r.code, r.stdout, r.stderr)
	}
	var doc struct {
		Chain struct {
			Problems []any `json:"problems"`
		} `json:"chain"`
		ResetFrom   []string `json:"resetFrom"`
		Divergences []struct {
			Kind, Detail string
		} `json:"divergences"`
	}
	if err := json.Unmarshal([]byte(r.stdout), &doc); err != nil {
		t.Fatal(err)
	}
	if len(doc.Chain.Problems) != 0 || len(doc.ResetFrom) != 1 {
		t.Errorf("chain problems %v, reset from %v: the chain is intact, the history was reset once", doc.Chain.Problems, doc.ResetFrom)
	}
	if !droppedReported(doc.Divergences, "decision-accepted by ana") {
		t.Errorf("the dropped decision is not reported: %+v", doc.Divergences)
	}
	// The store still shows ana's decision, the reset run's entries after it.
	trail := auditTrail(t, id)
	if !hasEntry(trail, "ana", audit.ActionDecisionAccepted, "income verified") {
		t.Errorf("starter audit lost ana's decision after the reset: %+v", trail)
	}
	// The reset run honours the approval the trail recorded before it acts
	// on anything: ben's rejection finds the task approved.
	r = runBin(t, "starter", "reject", id, "--as", "ben", "--reason", "changed my mind for ana")
	if r.code != 3 || !strings.Contains(r.stderr, `task "underwriting" is already approved`) {
		t.Errorf("ben's rejection after the reset: exit %d %s", r.code, r.stderr)
	}
	if res := outcomeOf(t, id); res["outcome"] != "approved" {
		t.Errorf("after the reset: %v", res)
	}
	if !hasEntry(auditTrail(t, id), "ana", audit.ActionDecisionHonoured, "income verified") {
		t.Errorf("the reset run does not say it honoured ana's approval")
	}
	if k := noDuplicates(t, app).kinds(); k != "offer disbursement" {
		t.Errorf("ledger = %s, want one offer and one disbursement", k)
	}
}
