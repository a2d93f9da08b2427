package integration

import (
	"context"
	"encoding/json"
	"math"
	"os"
	"slices"
	"strings"
	"testing"

	"go.temporal.io/api/workflowservice/v1"

	"github.com/batonhq/baton/process"
)

// whatifSide and whatifProcess are starter whatif's JSON.
type whatifSide struct {
	Automated        int     `json:"automated"`
	Manual           int     `json:"manual"`
	AutomationRate   float64 `json:"automationRate"`
	Tasks            float64 `json:"tasks"`
	PersonHours      float64 `json:"personHours"`
	MeanCycleSeconds float64 `json:"meanCycleSeconds"`
}

type whatifProcess struct {
	Process      string `json:"process"`
	Finished     int    `json:"finished"`
	Evaluated    int    `json:"evaluated"`
	NotEvaluated []struct {
		BusinessKey string `json:"businessKey"`
		Reason      string `json:"reason"`
	} `json:"notEvaluated"`
	Current                whatifSide `json:"current"`
	Proposed               whatifSide `json:"proposed"`
	ToManual               []string   `json:"toManual"`
	ToAutomated            []string   `json:"toAutomated"`
	AutoApprovedRejected   []string   `json:"autoApprovedButRejected"`
	AutoDeclinedApproved   []string   `json:"autoDeclinedButApproved"`
	DecisionChanged        []string   `json:"decisionChanged"`
	CycleTimeChangeSeconds float64    `json:"cycleTimeChangeSeconds"`
	Instances              []struct {
		BusinessKey  string  `json:"businessKey"`
		CurrentPath  string  `json:"currentPath"`
		ProposedPath string  `json:"proposedPath"`
		Current      string  `json:"currentDecision"`
		Proposed     string  `json:"decision"`
		CycleSeconds float64 `json:"cycleSeconds"`
	} `json:"instances"`
}

// whatifReport is starter whatif's JSON, its figures kept raw to compare.
type whatifReport struct {
	Source     string          `json:"source"`
	SourceNote string          `json:"sourceNote"`
	Processes  json.RawMessage `json:"processes"`
}

// whatifBothSources runs starter whatif with policyFile over the last hour
// twice: with facts from the audit store (the default when it answers) and
// from the histories.
func (r *reportEnv) whatifBothSources(t *testing.T, policyFile string) (fromStore, fromHistory whatifReport) {
	t.Helper()
	for _, run := range []struct {
		rep  *whatifReport
		args []string
	}{{&fromStore, nil}, {&fromHistory, []string{"--source", "history"}}} {
		out := r.starter(t, append([]string{"whatif", "--policy", policyFile, "--since", "1h", "-o", "json"}, run.args...)...)
		if err := json.Unmarshal([]byte(out), run.rep); err != nil {
			t.Fatalf("%v\n%s", err, out)
		}
	}
	return fromStore, fromHistory
}

// TestWhatifOverAKnownMix runs loans and orders through every path, people
// approving and rejecting, terminates one, then replays a proposed policy
// (loans approved automatically up to 50,000, declined below 670; fraud
// review from a score of 10) with facts from the audit store and from the
// histories, and checks that both give the same figures, and each figure.
func TestWhatifOverAKnownMix(t *testing.T) {
	r := newNamespaceWorker(t, "whatif")
	start := func(process, file string, flags ...string) string {
		id := uniq("W")
		r.starter(t, append([]string{"start", process, "--file", "examples/" + file, "--id", id}, flags...)...)
		return process + "-" + id
	}
	approve := start("loan", "loan-auto-approve.json")                                                  // 780, 12,000: automated
	approvedByPeople := start("loan", "loan-manual.json", "--applicant", "C-1001", "--amount", "40000") // 780 above 25,000
	rejectedByPeople := start("loan", "loan-manual.json", "--applicant", "C-1001", "--amount", "45000")
	decline := start("loan", "loan-auto-decline.json")                    // 510: automated
	lowApproved := start("loan", "loan-manual.json", "--amount", "20000") // 660: underwriting
	kyc := start("loan", "loan-kyc-fail.json")                            // ends before routing
	terminated := start("loan", "loan-manual.json")
	straight := start("order", "order-straight-through.json") // fraud score 10
	reviewed := start("order", "order-fraud-review.json")     // fraud score 100
	for _, id := range []string{approvedByPeople, rejectedByPeople, lowApproved, terminated, reviewed} {
		waitTask(t, id, "--namespace", r.ns)
	}
	r.starter(t, "approve", approvedByPeople, "--as", "ana")
	r.starter(t, "reject", rejectedByPeople, "--as", "ben", "--reason", "debt ratio too high")
	r.starter(t, "approve", lowApproved, "--as", "ana")
	r.starter(t, "approve", reviewed, "--as", "fay")
	if err := r.client.TerminateWorkflow(context.Background(), terminated, "", "test: a finished instance without a result"); err != nil {
		t.Fatal(err)
	}
	done := []string{approve, approvedByPeople, rejectedByPeople, decline, lowApproved, kyc, straight, reviewed}
	for _, id := range done {
		r.wait(t, id)
	}
	eventually(t, "visibility to show every close", func() bool {
		return strings.Count(r.starter(t, "list", "--closed", "-o", "json"), `"workflowId"`) == len(done)+1
	})

	b, err := os.ReadFile("../config/policy.yaml")
	if err != nil {
		t.Fatal(err)
	}
	proposed := string(b)
	for old, repl := range map[string]string{
		"autoApprove: {minScore: 720, maxAmount: 25000}": "autoApprove: {minScore: 720, maxAmount: 50000}",
		"autoDeclineBelow: 550":                          "autoDeclineBelow: 670",
		"fraudReviewAt: 70":                              "fraudReviewAt: 10",
	} {
		if !strings.Contains(proposed, old) {
			t.Fatalf("config/policy.yaml no longer has %q", old)
		}
		proposed = strings.Replace(proposed, old, repl, 1)
	}
	// The same mix, its facts read once from the audit store (the default
	// when it answers: each completed entry carries them; the terminated
	// loan, which has no last entry, comes from visibility) and once from
	// the histories: every figure is the same.
	policyFile := writeTemp(t, proposed)
	fromStore, fromHistory := r.whatifBothSources(t, policyFile)
	if fromStore.Source != "audit-store" || fromHistory.Source != "history" {
		t.Errorf("sources: %q, %q; want audit-store, history", fromStore.Source, fromHistory.Source)
	}
	if fromStore.SourceNote != "1 instance(s) Temporal ended without a last audit entry listed from visibility" || fromHistory.SourceNote != "" {
		t.Errorf("source notes: store %q, history %q", fromStore.SourceNote, fromHistory.SourceNote)
	}
	if string(fromStore.Processes) != string(fromHistory.Processes) {
		t.Errorf("the audit store and the histories give different figures:\nstore   %s\nhistory %s", fromStore.Processes, fromHistory.Processes)
	}
	var rep struct {
		Processes []whatifProcess `json:"processes"`
	}
	out := string(fromStore.Processes)
	if err := json.Unmarshal(fromStore.Processes, &rep.Processes); err != nil {
		t.Fatalf("%v\n%s", err, out)
	}
	if len(rep.Processes) != 2 || rep.Processes[0].Process != "loan" || rep.Processes[1].Process != "order" {
		t.Fatalf("processes: %s", out)
	}
	// Cycle times are from the recorded start to the completed entry (the
	// result and the store hold both), a little before the execution
	// closes (the last audit write).
	visible := r.closedCycles(t)
	results := map[string]process.Ending{}
	cycles := map[string]float64{}
	for _, id := range done {
		var e process.Ending
		if err := r.client.GetWorkflow(context.Background(), id, "").Get(context.Background(), &e); err != nil {
			t.Fatal(err)
		}
		results[id] = e
		cycles[id] = e.ClosedAt.Sub(e.StartedAt).Seconds()
		if cycles[id] <= 0 || cycles[id] > visible[id] {
			t.Errorf("%s: recorded cycle %vs, visibility's %vs", id, cycles[id], visible[id])
		}
	}
	hours := func(id string) float64 {
		h := 0.0
		for _, task := range results[id].Tasks {
			h += task.ClosedAt.Sub(task.OpenedAt).Hours()
		}
		return h
	}

	loan := rep.Processes[0]
	if loan.Finished != 7 || loan.Evaluated != 6 || len(loan.NotEvaluated) != 1 ||
		loan.NotEvaluated[0].BusinessKey != terminated || loan.NotEvaluated[0].Reason != "no result: the instance terminated" {
		t.Errorf("loan: finished %d, evaluated %d, not evaluated %+v", loan.Finished, loan.Evaluated, loan.NotEvaluated)
	}
	decisions := map[string][2]string{
		approve: {"auto-approve", "auto-approve"}, approvedByPeople: {"underwriting", "auto-approve"}, rejectedByPeople: {"underwriting", "auto-approve"},
		decline: {"auto-decline", "auto-decline"}, lowApproved: {"underwriting", "auto-decline"}, kyc: {"", ""},
	}
	for _, e := range loan.Instances {
		if d := decisions[e.BusinessKey]; e.Current != d[0] || e.Proposed != d[1] {
			t.Errorf("%s: decided %q, proposed %q; want %q", e.BusinessKey, e.Current, e.Proposed, d)
		}
		if e.CycleSeconds != cycles[e.BusinessKey] {
			t.Errorf("%s: cycle %v, its result says %v", e.BusinessKey, e.CycleSeconds, cycles[e.BusinessKey])
		}
	}
	auto := round3(mean(cycles[approve], cycles[decline], cycles[kyc]))
	wantCurrent := whatifSide{Automated: 3, Manual: 3, AutomationRate: 0.5, Tasks: 3,
		PersonHours:      round4(hours(approvedByPeople) + hours(rejectedByPeople) + hours(lowApproved)),
		MeanCycleSeconds: round3(mean(cycles[approve], cycles[approvedByPeople], cycles[rejectedByPeople], cycles[decline], cycles[lowApproved], cycles[kyc]))}
	wantProposed := whatifSide{Automated: 6, Manual: 0, AutomationRate: 1, Tasks: 0, PersonHours: 0,
		MeanCycleSeconds: round3(mean(cycles[approve], auto, auto, cycles[decline], auto, cycles[kyc]))}
	if loan.Current != wantCurrent || loan.Proposed != wantProposed {
		t.Errorf("loan current %+v\n want %+v\nproposed %+v\n want %+v", loan.Current, wantCurrent, loan.Proposed, wantProposed)
	}
	if loan.CycleTimeChangeSeconds != round3(wantProposed.MeanCycleSeconds-wantCurrent.MeanCycleSeconds) {
		t.Errorf("loan cycle change %v", loan.CycleTimeChangeSeconds)
	}
	sameKeys(t, "loan to automated", loan.ToAutomated, approvedByPeople, rejectedByPeople, lowApproved)
	sameKeys(t, "loan to manual", loan.ToManual)
	sameKeys(t, "loan auto-approved but rejected", loan.AutoApprovedRejected, rejectedByPeople)
	sameKeys(t, "loan auto-declined but approved", loan.AutoDeclinedApproved, lowApproved)
	sameKeys(t, "loan decision changed on the same path", loan.DecisionChanged)

	order := rep.Processes[1]
	h := hours(reviewed)
	wantCurrent = whatifSide{Automated: 1, Manual: 1, AutomationRate: 0.5, Tasks: 1, PersonHours: round4(h),
		MeanCycleSeconds: round3(mean(cycles[straight], cycles[reviewed]))}
	// The straight-through order moves to fraud review: it takes the
	// measured means of the manual path (one task, its hours, its cycle).
	wantProposed = whatifSide{Automated: 0, Manual: 2, AutomationRate: 0, Tasks: 2, PersonHours: round4(h + round4(h)),
		MeanCycleSeconds: round3(mean(round3(cycles[reviewed]), cycles[reviewed]))}
	if order.Finished != 2 || order.Evaluated != 2 || len(order.NotEvaluated) != 0 || order.Current != wantCurrent || order.Proposed != wantProposed {
		t.Errorf("order %+v\n want current %+v, proposed %+v", order, wantCurrent, wantProposed)
	}
	sameKeys(t, "order to manual", order.ToManual, straight)
	sameKeys(t, "order to automated", order.ToAutomated)
	sameKeys(t, "order risk and decision changes", slices.Concat(order.AutoApprovedRejected, order.AutoDeclinedApproved, order.DecisionChanged))

	table := r.starter(t, "whatif", "--policy", policyFile, "--since", "1h", "--process", "loan")
	mustContain(t, "whatif table", table, "Facts from the audit store; 1 instance(s) Temporal ended without a last audit entry listed from visibility",
		"loan: 7 finished, 6 evaluated", "automated", "3 (50%)", "6 (100%)",
		"would auto-approve, people rejected: 1: "+rejectedByPeople, "would auto-decline, people approved: 1: "+lowApproved,
		terminated+": no result: the instance terminated")
	t.Logf("starter whatif --process loan:\n%s", table)
	if strings.Contains(table, "order") {
		t.Errorf("--process loan shows orders:\n%s", table)
	}
}

// closedCycles is each closed instance's cycle time in seconds, from
// visibility.
func (r *reportEnv) closedCycles(t *testing.T) map[string]float64 {
	t.Helper()
	resp, err := env.client.WorkflowService().ListWorkflowExecutions(context.Background(), &workflowservice.ListWorkflowExecutionsRequest{
		Namespace: r.ns, Query: "ExecutionStatus != 'Running'",
	})
	if err != nil {
		t.Fatal(err)
	}
	out := map[string]float64{}
	for _, e := range resp.GetExecutions() {
		out[e.GetExecution().GetWorkflowId()] = e.GetCloseTime().AsTime().Sub(e.GetStartTime().AsTime()).Seconds()
	}
	return out
}

func sameKeys(t *testing.T, what string, got []string, want ...string) {
	t.Helper()
	got, want = slices.Clone(got), slices.Clone(want)
	slices.Sort(got)
	slices.Sort(want)
	if !slices.Equal(got, want) {
		t.Errorf("%s = %v, want %v", what, got, want)
	}
}

func mean(v ...float64) float64 {
	s := 0.0
	for _, x := range v {
		s += x
	}
	return s / float64(len(v))
}

func round3(v float64) float64 { return math.Round(v*1000) / 1000 }
func round4(v float64) float64 { return math.Round(v*10000) / 10000 }

// Instances Temporal completed whose trail the audit store does not have
// (a worker without audit writes here; in service: instances that finished
// before the store existed, or whose trail the store refused) are still
// counted and evaluated when the what-if reads the store: their facts come
// from their results, and the figures are the histories'.
func TestWhatifFromTheStoreCountsCompletedInstancesItDoesNotHave(t *testing.T) {
	r := newNamespaceWorker(t, "whatifnostore", "BATON_AUDIT_WRITES=off")
	id := uniq("N")
	r.starter(t, "start", "loan", "--file", "examples/loan-auto-approve.json", "--id", id)
	r.wait(t, "loan-"+id)
	eventually(t, "visibility to show the close", func() bool {
		return strings.Contains(r.starter(t, "list", "--closed", "-o", "json"), "loan-"+id)
	})
	current, err := os.ReadFile("../config/policy.yaml")
	if err != nil {
		t.Fatal(err)
	}
	fromStore, fromHistory := r.whatifBothSources(t, writeTemp(t, string(current)))
	if fromStore.Source != "audit-store" || fromHistory.Source != "history" {
		t.Errorf("sources: %q, %q", fromStore.Source, fromHistory.Source)
	}
	if string(fromStore.Processes) != string(fromHistory.Processes) {
		t.Errorf("the completed instance the store does not have is dropped:\nstore   %s\nhistory %s", fromStore.Processes, fromHistory.Processes)
	}
	var procs []whatifProcess
	if err := json.Unmarshal(fromStore.Processes, &procs); err != nil {
		t.Fatal(err)
	}
	if len(procs) != 1 || procs[0].Finished != 1 || procs[0].Evaluated != 1 {
		t.Errorf("store: %s", fromStore.Processes)
	}
}
