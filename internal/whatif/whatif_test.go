package whatif

import (
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/batonhq/baton/audit"
	"github.com/batonhq/baton/config"

	"github.com/batonhq/baton/humantask"
	"github.com/batonhq/baton/policy"
	"github.com/batonhq/baton/record"
	"github.com/batonhq/baton/workflows"
)

// proposedPolicy is the development policy with the loan's thresholds
// moved: approval from a score of 730 (was 720) up to 50,000 (was 25,000),
// decline below 600 (was 550); and expenses need finance above 1,000 (was
// 500).
func proposedPolicy(t *testing.T) *policy.Policy {
	t.Helper()
	b, err := os.ReadFile("../../config/policy.yaml")
	if err != nil {
		t.Fatal(err)
	}
	s := string(b)
	for old, repl := range map[string]string{
		"autoApprove: {minScore: 720, maxAmount: 25000}": "autoApprove: {minScore: 730, maxAmount: 50000}",
		"autoDeclineBelow: 550":                          "autoDeclineBelow: 600",
		"{name: finance,  above: 500,":                   "{name: finance,  above: 1000,",
	} {
		if !strings.Contains(s, old) {
			t.Fatalf("config/policy.yaml no longer has %q", old)
		}
		s = strings.Replace(s, old, repl, 1)
	}
	path := filepath.Join(t.TempDir(), "proposed.yaml")
	if err := os.WriteFile(path, []byte(s), 0o600); err != nil {
		t.Fatal(err)
	}
	p, err := config.LoadPolicy(path, workflows.Catalog().CheckPolicy)
	if err != nil {
		t.Fatal(err)
	}
	return p
}

var t0 = time.Date(2026, 11, 20, 9, 0, 0, 0, time.UTC)

// loanAt is a loan instance that started at t0+start seconds and ran for
// cycle seconds.
func loanAt(key string, start, cycle int, path, score, amount string) Instance {
	in := Instance{
		Process: workflows.ProcessLoan, BusinessKey: key, Status: "completed", Recorded: true, Path: path,
		Start: t0.Add(time.Duration(start) * time.Second), Close: t0.Add(time.Duration(start+cycle) * time.Second),
		Facts: map[string]string{},
	}
	if score != "" {
		in.Facts["riskScore"], in.Facts["amount"] = score, amount
	}
	return in
}

// decided adds a task open from 5 s after the start for open seconds,
// closed by one decision.
func decided(in Instance, verdict, state string, open int) Instance {
	opened := in.Start.Add(5 * time.Second)
	closed := opened.Add(time.Duration(open) * time.Second)
	in.Tasks = append(in.Tasks, audit.TaskOutcome{ID: "underwriting", State: state, OpenedAt: opened, ClosedAt: closed,
		Decisions: []audit.Vote{{Actor: "ana", Verdict: verdict, At: closed}}})
	return in
}

func TestEvaluateAKnownLoanMix(t *testing.T) {
	notRecorded := loanAt("loan-6", 60, 10, record.PathAutomated, "", "")
	notRecorded.Recorded = false
	failed := loanAt("loan-7", 70, 10, "", "", "")
	failed.Status = "failed"
	instances := []Instance{
		loanAt("loan-9", 90, 20, record.PathAutomated, "725", "5000"), // to manual: 725 < 730
		loanAt("loan-1", 0, 10, record.PathAutomated, "780", "10000"), // stays automated
		decided(loanAt("loan-2", 10, 100, record.PathManual, "740", "40000"), humantask.Approve, humantask.StateApproved, 60),
		decided(loanAt("loan-3", 20, 200, record.PathManual, "730", "30000"), humantask.Reject, humantask.StateRejected, 120),
		decided(loanAt("loan-4", 30, 300, record.PathManual, "580", "10000"), humantask.Approve, humantask.StateApproved, 180),
		loanAt("loan-5", 40, 5, record.PathAutomated, "", ""), // KYC failed: ended before routing
		notRecorded,
		failed,
		loanAt("loan-8", 80, 10, record.PathAutomated, "x", "1"),
		{Process: workflows.ProcessOrder, BusinessKey: "order-1", Status: "terminated", Start: t0, Close: t0.Add(time.Second)},
	}
	rep := Evaluate(workflows.Catalog(), instances, proposedPolicy(t), t0, t0.Add(time.Hour))
	if len(rep.Processes) != 2 || rep.Processes[0].Process != "loan" || rep.Processes[1].Process != "order" {
		t.Fatalf("processes = %+v", rep.Processes)
	}
	p := rep.Processes[0]
	if p.Finished != 9 || p.Evaluated != 6 {
		t.Errorf("finished %d, evaluated %d; want 9, 6", p.Finished, p.Evaluated)
	}
	wantSkipped := []Skipped{
		{"loan-6", ReasonNotRecorded},
		{"loan-7", "no result: the instance failed"},
		{"loan-8", `facts unreadable: fact riskScore: "x" is not a number`},
	}
	if !reflect.DeepEqual(p.NotEvaluated, wantSkipped) {
		t.Errorf("not evaluated = %+v", p.NotEvaluated)
	}
	// Current: 1, 5, 9 automated; 2, 3, 4 manual, 1 task each, open 60,
	// 120 and 180 s. Proposed: 2 (740 up to 50,000) and 3 (730) approved,
	// 4 (580 < 600) declined automatically; 9 (725 < 730) to underwriting.
	wantCurrent := Side{Automated: 3, Manual: 3, AutomationRate: 0.5, Tasks: 3, PersonHours: 0.1, MeanCycleSeconds: 105.833}
	// Proposed cycle: 1 and 5 keep 10 and 5 s, 2, 3 and 4 take the mean
	// automated cycle (10+5+20)/3, 9 the mean manual one (100+200+300)/3.
	auto := 11.667
	wantProposed := Side{Automated: 5, Manual: 1, AutomationRate: 0.8333, Tasks: 1, PersonHours: 0.0333,
		MeanCycleSeconds: round((10+5+3*auto+200)/6, 3)}
	if p.Current != wantCurrent {
		t.Errorf("current = %+v\n want %+v", p.Current, wantCurrent)
	}
	if p.Proposed != wantProposed {
		t.Errorf("proposed = %+v\n want %+v", p.Proposed, wantProposed)
	}
	if p.CycleTimeChangeSeconds != round(wantProposed.MeanCycleSeconds-wantCurrent.MeanCycleSeconds, 3) {
		t.Errorf("cycle change = %v", p.CycleTimeChangeSeconds)
	}
	for name, pair := range map[string][2][]string{
		"to automated":            {p.ToAutomated, {"loan-2", "loan-3", "loan-4"}},
		"to manual":               {p.ToManual, {"loan-9"}},
		"auto-approved, rejected": {p.AutoApprovedRejected, {"loan-3"}},
		"auto-declined, approved": {p.AutoDeclinedApproved, {"loan-4"}},
	} {
		if !reflect.DeepEqual(pair[0], pair[1]) {
			t.Errorf("%s = %v, want %v", name, pair[0], pair[1])
		}
	}
	wantMeasured := Measured{
		MeanCycleSecondsByPath: map[string]float64{record.PathAutomated: auto, record.PathManual: 200},
		MeanTasksManual:        1, MeanPersonHoursManual: 0.0333, MeanTaskWaitSeconds: 120, MeanDecisionSeconds: 0,
	}
	if !reflect.DeepEqual(p.Measured, wantMeasured) {
		t.Errorf("measured = %+v\n want %+v", p.Measured, wantMeasured)
	}
	for _, e := range p.Instances {
		if e.BusinessKey == "loan-5" && (!e.BeforeRouting || e.ProposedPath != record.PathAutomated) {
			t.Errorf("loan-5 ended before routing, yet %+v", e)
		}
	}

	o := rep.Processes[1]
	if o.Finished != 1 || o.Evaluated != 0 || len(o.NotEvaluated) != 1 || o.NotEvaluated[0].Reason != "no result: the instance terminated" ||
		o.Current.AutomationRate != 0 || o.Proposed.MeanCycleSeconds != 0 {
		t.Errorf("order = %+v", o)
	}
}

// A path no instance took in the window cannot be measured: the instance
// keeps its own cycle time, adds no tasks, and is counted as unmeasured.
func TestEvaluateUnmeasuredPath(t *testing.T) {
	rep := Evaluate(workflows.Catalog(), []Instance{loanAt("loan-9", 0, 20, record.PathAutomated, "725", "5000")}, proposedPolicy(t), t0, t0.Add(time.Hour))
	p := rep.Processes[0]
	if p.Measured.Unmeasured != 1 || p.Proposed.Manual != 1 || p.Proposed.Tasks != 0 || p.Proposed.MeanCycleSeconds != 20 || p.CycleTimeChangeSeconds != 0 {
		t.Errorf("unmeasured manual path: %+v", p)
	}
}

// The same policy changes nothing: every instance keeps its path.
func TestEvaluateSamePolicyChangesNothing(t *testing.T) {
	cur, err := config.LoadPolicy("../../config/policy.yaml", workflows.Catalog().CheckPolicy)
	if err != nil {
		t.Fatal(err)
	}
	rep := Evaluate(workflows.Catalog(), []Instance{
		loanAt("loan-1", 0, 10, record.PathAutomated, "780", "10000"),
		decided(loanAt("loan-2", 0, 100, record.PathManual, "700", "40000"), humantask.Reject, humantask.StateRejected, 60),
		loanAt("loan-3", 0, 10, record.PathAutomated, "500", "10000"),
	}, cur, t0, t0.Add(time.Hour))
	p := rep.Processes[0]
	if p.Current != p.Proposed || len(p.ToAutomated)+len(p.ToManual)+len(p.AutoApprovedRejected)+len(p.AutoDeclinedApproved) != 0 || p.CycleTimeChangeSeconds != 0 {
		t.Errorf("same policy: %+v", p)
	}
}

// An expense keeps its manual path under a shorter approval chain: listed
// as a decision change, not a path change.
func TestEvaluateDecisionChangeOnTheSamePath(t *testing.T) {
	expense := func(key, amount, chain string) Instance {
		in := decided(loanAt(key, 0, 100, record.PathManual, "", ""), humantask.Approve, humantask.StateApproved, 60)
		in.Process, in.Decision, in.Facts = workflows.ProcessExpense, chain, map[string]string{"amount": amount}
		return in
	}
	rep := Evaluate(workflows.Catalog(), []Instance{
		expense("expense-1", "800", "manager → finance"),
		expense("expense-2", "300", "manager"),
		expense("expense-3", "6000", "manager → finance → director"),
	}, proposedPolicy(t), t0, t0.Add(time.Hour))
	p := rep.Processes[0]
	if !reflect.DeepEqual(p.DecisionChanged, []string{"expense-1"}) || len(p.ToAutomated)+len(p.ToManual) != 0 || p.Current != p.Proposed {
		t.Errorf("expense: %+v", p)
	}
	if p.Instances[0].CurrentDecision != "manager → finance" || p.Instances[0].Decision != "manager" {
		t.Errorf("expense-1: %+v", p.Instances[0])
	}
}
