package whatifstore_test

import (
	"context"
	"encoding/json"
	"os"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/batonhq/baton/audit"
	"github.com/batonhq/baton/config"

	"github.com/batonhq/baton/humantask"
	"github.com/batonhq/baton/internal/auditstore"
	"github.com/batonhq/baton/internal/auditstore/auditstoretest"
	"github.com/batonhq/baton/internal/whatif"
	"github.com/batonhq/baton/internal/whatifstore"
	"github.com/batonhq/baton/record"
	"github.com/batonhq/baton/workflows"
)

var t0 = time.Date(2026, 11, 20, 9, 0, 0, 0, time.UTC)

// instance writes an instance's trail as its record would: started at
// start, one routed entry, ended (action) at end with data (nil: an
// instance that ended before Baton recorded data).
func instance(t *testing.T, st *auditstore.Store, process, id string, start, end time.Time, action string, data *audit.EndData) {
	t.Helper()
	e := func(seq int64, at time.Time, action string) audit.Entry {
		return audit.Entry{WorkflowID: id, RunID: "r1", Seq: seq, Process: process, BusinessKey: id, Time: at,
			Actor: audit.SystemActor, Action: action, Source: audit.SourceWorkflow}
	}
	last := e(3, end, action)
	if data != nil {
		b, err := json.Marshal(data)
		if err != nil {
			t.Fatal(err)
		}
		last.Data = b
	}
	// The started entry is made a little after the workflow starts.
	if _, err := st.Append(context.Background(), []audit.Entry{e(1, start.Add(20*time.Millisecond), audit.ActionStarted), e(2, start.Add(time.Second), audit.ActionRouted), last}); err != nil {
		t.Fatal(err)
	}
}

func loanData(start time.Time, path, decision, score, amount string, tasks ...audit.TaskOutcome) *audit.EndData {
	return &audit.EndData{StartedAt: start, HandlingPath: path, Outcome: "approved", Decision: decision,
		Facts: map[string]string{"riskScore": score, "amount": amount}, Tasks: tasks}
}

func TestFinishedFromTheStore(t *testing.T) {
	st, _ := auditstoretest.Start(t)
	ctx := context.Background()
	// Four loans end in the window [t0, t0+1h]: one automated, one
	// approved by an underwriter after 30 minutes, one that ended before
	// data was recorded, one failed. One ended before the window, one
	// after; an order ends inside.
	s1, s2 := t0.Add(time.Minute), t0.Add(2*time.Minute)
	instance(t, st, "loan", "loan-A-1", s1, s1.Add(2*time.Second), audit.ActionCompleted, loanData(s1, record.PathAutomated, workflows.LoanAutoApprove, "780", "12000"))
	task := audit.TaskOutcome{ID: "underwriting", State: humantask.StateApproved, OpenedAt: s2.Add(time.Second), ClosedAt: s2.Add(31 * time.Minute),
		Decisions: []audit.Vote{{Actor: "ana", Verdict: humantask.Approve, At: s2.Add(31 * time.Minute), Via: "update"}}}
	instance(t, st, "loan", "loan-A-2", s2, s2.Add(32*time.Minute), audit.ActionCompleted, loanData(s2, record.PathManual, workflows.LoanUnderwriting, "780", "40000", task))
	instance(t, st, "loan", "loan-A-3", t0.Add(3*time.Minute), t0.Add(4*time.Minute), audit.ActionCompleted, nil)
	instance(t, st, "loan", "loan-A-4", t0.Add(5*time.Minute), t0.Add(6*time.Minute), audit.ActionFailed, nil)
	instance(t, st, "loan", "loan-A-5", t0.Add(-time.Hour), t0.Add(-time.Second), audit.ActionCompleted, loanData(t0.Add(-time.Hour), record.PathAutomated, workflows.LoanAutoApprove, "780", "1000"))
	instance(t, st, "loan", "loan-A-6", t0, t0.Add(time.Hour+time.Second), audit.ActionCompleted, loanData(t0, record.PathAutomated, workflows.LoanAutoApprove, "780", "1000"))
	instance(t, st, "order", "order-O-1", t0, t0.Add(time.Minute), audit.ActionCompleted, &audit.EndData{StartedAt: t0, HandlingPath: record.PathAutomated,
		Outcome: "shipped", Decision: workflows.OrderStraightThrough, Facts: map[string]string{"fraudScore": "10"}})

	src := whatifstore.Source{Store: st}
	w := whatif.Window{Process: "loan", Since: t0, Until: t0.Add(time.Hour)}
	got, err := src.Finished(ctx, w)
	if err != nil {
		t.Fatal(err)
	}
	var keys []string
	for _, in := range got {
		keys = append(keys, in.BusinessKey)
	}
	if strings.Join(keys, " ") != "loan-A-1 loan-A-3 loan-A-4 loan-A-2" {
		t.Fatalf("finished in the window: %v", keys)
	}
	a2 := got[3]
	want := whatif.Instance{Process: "loan", BusinessKey: "loan-A-2", Status: "completed", Start: s2, Close: s2.Add(32 * time.Minute), Recorded: true,
		Path: record.PathManual, Outcome: "approved", Decision: workflows.LoanUnderwriting, Facts: map[string]string{"riskScore": "780", "amount": "40000"},
		Tasks: []audit.TaskOutcome{task}}
	if !reflect.DeepEqual(a2, want) {
		t.Errorf("loan-A-2:\n%+v\nwant\n%+v", a2, want)
	}
	// Not recorded: its times are its entries'.
	if a3 := got[1]; a3.Recorded || a3.Status != "completed" || !a3.Start.Equal(t0.Add(3*time.Minute+20*time.Millisecond)) || !a3.Close.Equal(t0.Add(4*time.Minute)) {
		t.Errorf("loan-A-3: %+v", a3)
	}
	if a4 := got[2]; a4.Status != "failed" || a4.Recorded {
		t.Errorf("loan-A-4: %+v", a4)
	}

	// The what-if over them (the task was open 30m59s, the cycles 2 s and
	// 32 min): loans up to 50,000 approved automatically.
	b, err := os.ReadFile("../../config/policy.yaml")
	if err != nil {
		t.Fatal(err)
	}
	path := t.TempDir() + "/proposed.yaml"
	if err := os.WriteFile(path, []byte(strings.Replace(string(b), "maxAmount: 25000", "maxAmount: 50000", 1)), 0o600); err != nil {
		t.Fatal(err)
	}
	pol, err := config.LoadPolicy(path, workflows.Catalog().CheckPolicy)
	if err != nil {
		t.Fatal(err)
	}
	rep := whatif.Evaluate(workflows.Catalog(), got, pol, w.Since, w.Until)
	if len(rep.Processes) != 1 {
		t.Fatalf("processes: %+v", rep.Processes)
	}
	p := rep.Processes[0]
	wantSkipped := []whatif.Skipped{{BusinessKey: "loan-A-3", Reason: whatif.ReasonNotRecorded}, {BusinessKey: "loan-A-4", Reason: "no result: the instance failed"}}
	if p.Finished != 4 || p.Evaluated != 2 || !reflect.DeepEqual(p.NotEvaluated, wantSkipped) {
		t.Errorf("finished %d, evaluated %d, not evaluated %+v", p.Finished, p.Evaluated, p.NotEvaluated)
	}
	if p.Current != (whatif.Side{Automated: 1, Manual: 1, AutomationRate: 0.5, Tasks: 1, PersonHours: 0.5164, MeanCycleSeconds: 961}) {
		t.Errorf("current: %+v", p.Current)
	}
	if p.Proposed != (whatif.Side{Automated: 2, Manual: 0, AutomationRate: 1, Tasks: 0, PersonHours: 0, MeanCycleSeconds: 2}) {
		t.Errorf("proposed: %+v", p.Proposed)
	}
	if !reflect.DeepEqual(p.ToAutomated, []string{"loan-A-2"}) || p.Measured.MeanTaskWaitSeconds != 1859 {
		t.Errorf("to automated %v, task wait %v", p.ToAutomated, p.Measured.MeanTaskWaitSeconds)
	}

	// Every process: the order too.
	w.Process = ""
	all, err := src.Finished(ctx, w)
	if err != nil || len(all) != 5 || all[0].BusinessKey != "order-O-1" || !all[0].Recorded || all[0].Facts["fraudScore"] != "10" {
		t.Errorf("every process: %v %+v", err, all)
	}
}

// Data the store holds but Baton did not write as it stands (only a change
// in the database makes it), and data the record left out (over the
// store's bound), make their instances unreadable: each is listed with
// why, and the rest of the window is read.
func TestUnreadableDataIsListedNotFatal(t *testing.T) {
	st, _ := auditstoretest.Start(t)
	ctx := context.Background()
	raw := func(id, data string) {
		e := func(seq int64, at time.Time, action string) audit.Entry {
			return audit.Entry{WorkflowID: id, RunID: "r1", Seq: seq, Process: "loan", BusinessKey: id, Time: at,
				Actor: audit.SystemActor, Action: action, Source: audit.SourceWorkflow}
		}
		last := e(2, t0.Add(time.Minute), audit.ActionCompleted)
		last.Data = json.RawMessage(data)
		if _, err := st.Append(ctx, []audit.Entry{e(1, t0, audit.ActionStarted), last}); err != nil {
			t.Fatal(err)
		}
	}
	raw("loan-U-1", `{"facts":"not a map"}`)
	raw("loan-U-2", `{"omitted":"40000 bytes, over the audit store's bound of 32768"}`)
	instance(t, st, "loan", "loan-U-3", t0, t0.Add(2*time.Minute), audit.ActionCompleted, loanData(t0, record.PathAutomated, workflows.LoanAutoApprove, "780", "1000"))

	got, err := whatifstore.Source{Store: st}.Finished(ctx, whatif.Window{Process: "loan", Since: t0, Until: t0.Add(time.Hour)})
	if err != nil {
		t.Fatal(err)
	}
	if len(got) != 3 {
		t.Fatalf("instances: %+v", got)
	}
	if u := got[0].Unreadable; !strings.Contains(u, "not what Baton wrote") || !strings.Contains(u, "starter audit loan-U-1 --verify") {
		t.Errorf("tampered data: %q", u)
	}
	if u := got[1].Unreadable; u != "not in the audit store (40000 bytes, over the audit store's bound of 32768): --source history reads them while Temporal keeps the history" {
		t.Errorf("omitted data: %q", u)
	}
	if got[2].Unreadable != "" || !got[2].Recorded {
		t.Errorf("loan-U-3: %+v", got[2])
	}
	pol, err := config.LoadPolicy("../../config/policy.yaml", workflows.Catalog().CheckPolicy)
	if err != nil {
		t.Fatal(err)
	}
	p := whatif.Evaluate(workflows.Catalog(), got, pol, t0, t0.Add(time.Hour)).Processes[0]
	if p.Finished != 3 || p.Evaluated != 1 || len(p.NotEvaluated) != 2 || !strings.HasPrefix(p.NotEvaluated[1].Reason, "facts unreadable: not in the audit store") {
		t.Errorf("finished %d, evaluated %d, not evaluated %+v", p.Finished, p.Evaluated, p.NotEvaluated)
	}
}
