package integration

import (
	"context"
	"encoding/json"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/batonhq/baton/audit"

	"github.com/batonhq/baton/humantask"
	"github.com/batonhq/baton/record"
)

// `temporal workflow reset` of a completed loan re-runs the offer and the
// disbursement: the systems see the same idempotency keys (business key
// and step), so the ledger still shows one disbursement.
func TestResetCompletedLoanDisbursesOnce(t *testing.T) {
	id := uniq("RS")
	wf := "loan-" + id
	if res := startWait(t, "loan", "loan-auto-approve.json", id); res["outcome"] != "approved" {
		t.Fatalf("result = %v", res)
	}
	before, err := env.client.DescribeWorkflowExecution(context.Background(), wf, "")
	if err != nil {
		t.Fatal(err)
	}
	out, err := temporalCLI(t, "workflow", "reset", "--workflow-id", wf, "--type", "FirstWorkflowTask", "--reason", "attack: pay twice")
	if err != nil {
		t.Fatalf("temporal workflow reset: %v\n%s", err, out)
	}
	eventually(t, "the reset run of "+wf+" to complete", func() bool {
		desc, err := env.client.DescribeWorkflowExecution(context.Background(), wf, "")
		return err == nil && desc.WorkflowExecutionInfo.Status.String() == "Completed" &&
			desc.WorkflowExecutionInfo.Execution.RunId != before.WorkflowExecutionInfo.Execution.RunId
	})
	l := noDuplicates(t, id)
	if k := l.kinds(); k != "offer disbursement" {
		t.Errorf("ledger after reset = %s, want one offer and one disbursement", k)
	}
	if l.Repeats == 0 {
		t.Errorf("the reset run's calls were not answered as repeats: %+v", l)
	}
}

// Two workflows started with the official CLI for one application: the one
// whose workflow ID is not the business key refuses to run, so only one
// can ever disburse.
func TestCLIStartUnderAnotherWorkflowIDIsRefused(t *testing.T) {
	app := uniq("DUP")
	input := `{"applicationId":"` + app + `","applicantId":"C-1001","amount":12000,"termMonths":36}`
	for _, id := range []string{"loan-" + app, "loan-" + app + "-again"} {
		if out, err := temporalCLI(t, "workflow", "start", "--type", "loan", "--task-queue", "baton", "--workflow-id", id, "--input", input); err != nil {
			t.Fatalf("temporal workflow start %s: %v\n%s", id, err, out)
		}
	}
	if res := outcomeOf(t, "loan-"+app); res["outcome"] != "approved" {
		t.Fatalf("the instance under the business key: %v", res)
	}
	eventually(t, "the copy to fail", func() bool {
		desc, err := env.client.DescribeWorkflowExecution(context.Background(), "loan-"+app+"-again", "")
		return err == nil && desc.WorkflowExecutionInfo.Status.String() == "Failed"
	})
	// The failure's message is encrypted; the client's failure converter
	// decodes it.
	err := env.client.GetWorkflow(context.Background(), "loan-"+app+"-again", "").Get(context.Background(), nil)
	if err == nil || !strings.Contains(err.Error(), `is not the business key`) {
		t.Errorf("the copy's failure does not say why: %v", err)
	}
	if k := noDuplicates(t, app).kinds(); k != "offer disbursement" {
		t.Errorf("ledger = %s, want one offer and one disbursement", k)
	}
}

// An instance survives 1,000 hostile signals: oversize ones are refused by
// the server (the namespace's blob limit), the rest by the workflow, which
// audits the first few and counts the others; the trail stays small, the
// instance stays queryable and decidable, and an oversize update from an
// eligible underwriter is refused with the reason.
func TestInstanceSurvivesAThousandHostileSignals(t *testing.T) {
	id := uniq("FL")
	wf := startOpen(t, "loan", "loan-manual.json", id)
	waitTask(t, wf)
	huge := strings.Repeat("\x1b[2J", 100_000) // 400 KB: above the blob limit
	big := strings.Repeat("m", 20_000)         // under the blob limit, over the workflow's bounds
	var accepted, refusedByServer atomic.Int64
	var wg sync.WaitGroup
	const n, workers = 1000, 8
	for w := range workers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := w; i < n; i += workers {
				d := humantask.Decision{Verdict: humantask.Approve, Actor: "mallory", Comment: "let me in"}
				switch i % 4 {
				case 0:
					d.Verdict = huge
				case 1:
					d.Actor = big
				}
				ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
				err := env.client.SignalWorkflow(ctx, wf, "", humantask.SignalDecision, d)
				cancel()
				if err != nil {
					refusedByServer.Add(1)
				} else {
					accepted.Add(1)
				}
			}
		}()
	}
	wg.Wait()
	if refusedByServer.Load() < n/4 {
		t.Errorf("the server refused %d signals; the oversize ones (%d) should be refused", refusedByServer.Load(), n/4)
	}
	var st record.Status
	eventually(t, "every accepted signal to be counted", func() bool {
		r := runBin(t, "starter", "status", wf, "-o", "json")
		return json.Unmarshal([]byte(r.stdout), &st) == nil && int64(st.RefusedMessages) == accepted.Load()
	})
	trail := auditTrail(t, wf)
	if len(trail) > record.MaxRefusedAudited+20 {
		t.Errorf("the trail has %d entries", len(trail))
	}
	r := runBin(t, "starter", "approve", wf, "--as", "ana", "--comment", strings.Repeat("c", 2500))
	if r.code != 3 || !strings.Contains(r.stderr, "comment: 2500 bytes, at most 2000") {
		t.Errorf("oversize update: exit %d %s", r.code, r.stderr)
	}
	starter(t, "approve", wf, "--as", "ana")
	if res := outcomeOf(t, wf); res["outcome"] != "approved" {
		t.Fatalf("result = %v", res)
	}
	trail = auditTrail(t, wf)
	if !hasEntry(trail, audit.SystemActor, audit.ActionRefusedSummary, "more refused messages were counted") {
		t.Errorf("no summary of the refusals beyond the cap")
	}
	if r := runBin(t, "starter", "audit", wf); r.code != 0 {
		t.Errorf("starter audit: exit %d %s", r.code, r.stderr)
	}
}

// withdraw by someone who is neither the applicant nor a role the policy
// names is refused with exit 3 and audited as who asked; so is a withdraw
// that comes too late.
func TestWithdrawByAnotherIsRefused(t *testing.T) {
	id := uniq("WM")
	wf := startOpen(t, "loan", "loan-manual.json", id)
	waitTask(t, wf)
	wantExit(t, runBin(t, "starter", "withdraw", wf, "--by", "mallory"), 3, "refused: by: mallory may not withdraw this instance (the owner C-1002)")
	wantExit(t, runBin(t, "starter", "withdraw", wf), 2, "--by: who asks is required")
	starter(t, "approve", wf, "--as", "ana")
	if res := outcomeOf(t, wf); res["outcome"] != "approved" {
		t.Fatalf("result = %v", res)
	}
	wantExit(t, runBin(t, "starter", "withdraw", wf, "--by", "C-1002"), 3, "too late")
}
