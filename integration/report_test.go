package integration

import (
	"context"
	"encoding/json"
	"math"
	"os/exec"
	"sort"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/batonhq/baton/audit"

	"go.temporal.io/api/workflowservice/v1"
	"go.temporal.io/sdk/client"
	"google.golang.org/protobuf/types/known/durationpb"

	"github.com/batonhq/baton/config"
	"github.com/batonhq/baton/internal/auditstore"
	"github.com/batonhq/baton/tclient"
)

// reportEnv is a namespace with its own worker, so the report sees exactly
// the mix this test starts.
type reportEnv struct {
	ns     string
	dsn    string // its own audit database: one per namespace
	log    lockedBuffer
	client client.Client
	worker *exec.Cmd
}

// stopWorker stops the namespace's worker and waits for it to exit (again,
// or at the test's cleanup: a no-op).
func (r *reportEnv) stopWorker() {
	_ = r.worker.Process.Signal(syscall.SIGTERM)
	_ = r.worker.Wait()
}

func newReportNamespace(t *testing.T) *reportEnv {
	t.Helper()
	return newNamespaceWorker(t, "report")
}

// newNamespace registers a fresh namespace (without waiting: the worker
// started right after must itself wait for the namespace a real server
// does not know yet) and creates an audit database for it.
func newNamespace(t testing.TB, prefix string) (ns, dsn string) {
	t.Helper()
	ns = prefix + "-" + uniq("ns")
	if _, err := env.client.WorkflowService().RegisterNamespace(context.Background(), &workflowservice.RegisterNamespaceRequest{
		Namespace: ns, WorkflowExecutionRetentionPeriod: durationpb.New(24 * time.Hour),
	}); err != nil {
		t.Fatal(err)
	}
	dsns, err := newAuditDB(context.Background(), strings.NewReplacer("-", "_").Replace(ns))
	if err != nil {
		t.Fatal(err)
	}
	return ns, dsns.Writer
}

// newNamespaceWorker registers a fresh namespace and runs a worker of its
// own there, with extra environment (e.g. another policy file).
func newNamespaceWorker(t testing.TB, prefix string, extraEnv ...string) *reportEnv {
	t.Helper()
	r := &reportEnv{}
	r.ns, r.dsn = newNamespace(t, prefix)
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	r.worker = spawnWorker(t, ctx, r.ns, &r.log, append([]string{"BATON_AUDIT_DSN=" + r.dsn}, extraEnv...)...)
	cl, err := tclient.Dial(ctx, config.Temporal{Address: env.address, Namespace: r.ns, Codec: config.Codec{KeyFile: env.keyFile}}, tclient.Options{Logger: quiet{}})
	if err != nil {
		t.Fatal(err)
	}
	r.client = cl
	t.Cleanup(cl.Close)
	if !strings.Contains(r.log.String(), "search attributes created") {
		t.Errorf("the worker did not create the search attributes in a fresh namespace:\n%s", r.log.String())
	}
	return r
}

func (r *reportEnv) starter(t *testing.T, args ...string) string {
	t.Helper()
	return starterEnv(t, []string{"BATON_AUDIT_DSN=" + r.dsn}, append(args, "--namespace", r.ns)...)
}

func TestReportMatchesAKnownMix(t *testing.T) {
	r := newReportNamespace(t)
	start := func(process, file string) string {
		id := uniq("R")
		r.starter(t, "start", process, "--file", "examples/"+file, "--id", id)
		return process + "-" + id
	}
	done := []string{
		start("loan", "loan-auto-approve.json"),
		start("loan", "loan-auto-approve.json"),
		start("loan", "loan-auto-decline.json"),
		start("order", "order-straight-through.json"),
		start("order", "order-declined-card.json"),
	}
	manual := start("loan", "loan-manual.json")
	openLoan := start("loan", "loan-four-eyes.json")
	openExpense := start("expense", "expense-small.json")
	for _, id := range []string{manual, openLoan, openExpense} {
		waitTask(t, id, "--namespace", r.ns)
	}
	r.starter(t, "approve", manual, "--as", "ana")
	done = append(done, manual)
	for _, id := range done {
		r.wait(t, id)
	}

	var rep struct {
		CycleTimeSource string `json:"cycleTimeSource"`
		Processes       []struct {
			Process         string             `json:"process"`
			Started         int                `json:"started"`
			Completed       int                `json:"completed"`
			Failed          int                `json:"failed"`
			Open            int                `json:"open"`
			AutomationRate  float64            `json:"automationRate"`
			ManualTasks     int                `json:"manualTasks"`
			Outcomes        map[string]int     `json:"outcomes"`
			CycleTime       map[string]float64 `json:"cycleTime"`
			CycleTimeByPath map[string]struct {
				Completed int `json:"completed"`
			} `json:"byPath"`
		} `json:"processes"`
		Backlog []struct {
			Role      string `json:"role"`
			OpenTasks int    `json:"openTasks"`
		} `json:"backlog"`
	}
	eventually(t, "visibility to show every close", func() bool {
		return strings.Count(r.starter(t, "list", "--closed", "-o", "json"), `"workflowId"`) == len(done)
	})
	// The store named by --audit-dsn, over the harness's BATON_AUDIT_DSN
	// (another database, which holds none of these instances).
	out := starterEnv(t, nil, "report", "--since", "1h", "-o", "json", "--audit-dsn", r.dsn, "--namespace", r.ns)
	if err := json.Unmarshal([]byte(out), &rep); err != nil {
		t.Fatal(err)
	}
	byProcess := map[string]int{}
	for i, p := range rep.Processes {
		byProcess[p.Process] = i
	}
	loan, order, expense := rep.Processes[byProcess["loan"]], rep.Processes[byProcess["order"]], rep.Processes[byProcess["expense"]]
	// Two human tasks: the approved loan's and the open four-eyes loan's
	// (the store's trail shows tasks of instances still running).
	if loan.Started != 5 || loan.Completed != 4 || loan.Failed != 0 || loan.Open != 1 || loan.AutomationRate != 0.75 || loan.ManualTasks != 2 ||
		loan.Outcomes["approved"] != 3 || loan.Outcomes["declined"] != 1 {
		t.Errorf("loan = %+v", loan)
	}
	if order.Started != 2 || order.Completed != 2 || order.Open != 0 || order.AutomationRate != 1 || order.Outcomes["fulfilled"] != 1 || order.Outcomes["card-declined"] != 1 {
		t.Errorf("order = %+v", order)
	}
	if expense.Started != 1 || expense.Open != 1 || expense.Completed != 0 {
		t.Errorf("expense = %+v", expense)
	}
	// Cycle times come from the audit store and equal those computed from
	// each instance's trail (the workflow's start its completed entry
	// records, to that entry), within a step of those visibility gives
	// (start to close).
	if rep.CycleTimeSource != "audit-store" {
		t.Errorf("cycle times from %q, want audit-store", rep.CycleTimeSource)
	}
	var loans []string
	for _, id := range done {
		if strings.HasPrefix(id, "loan-") {
			loans = append(loans, id)
		}
	}
	want := r.trailCycleTimes(t, loans)
	if loan.CycleTime["count"] != 4 || loan.CycleTime["p50Seconds"] != want[0] || loan.CycleTime["p90Seconds"] != want[1] || loan.CycleTime["p99Seconds"] != want[2] {
		t.Errorf("loan cycle time %v, computed from the trails %v", loan.CycleTime, want)
	}
	vis := r.cycleTimes(t, "loan")
	if d := math.Abs(vis[2] - want[2]); d > 1 {
		t.Errorf("loan p99: store %.3fs, visibility %.3fs", want[2], vis[2])
	}
	if loan.CycleTimeByPath["manual"].Completed != 1 || loan.CycleTimeByPath["automated"].Completed != 3 {
		t.Errorf("by path = %v", loan.CycleTimeByPath)
	}
	backlog := map[string]int{}
	for _, b := range rep.Backlog {
		backlog[b.Role] = b.OpenTasks
	}
	if len(backlog) != 2 || backlog["underwriter"] != 1 || backlog["manager"] != 1 {
		t.Errorf("backlog = %v, want underwriter 1 and manager 1", rep.Backlog)
	}
	table := r.starter(t, "report", "--since", "1h")
	mustContain(t, "report table", table, "PROCESS", "loan", "75%", "Open tasks by role", "underwriter", "manager", "QUEUE P50")
}

func (r *reportEnv) wait(t *testing.T, id string) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	if err := r.client.GetWorkflow(ctx, id, "").Get(ctx, nil); err != nil {
		t.Fatalf("%s: %v", id, err)
	}
}

// cycleTimes computes p50/p90/p99 (nearest rank) of completed instances.
func (r *reportEnv) cycleTimes(t *testing.T, process string) [3]float64 {
	t.Helper()
	resp, err := env.client.WorkflowService().ListWorkflowExecutions(context.Background(), &workflowservice.ListWorkflowExecutionsRequest{
		Namespace: r.ns, Query: "ProcessType = '" + process + "' AND ExecutionStatus = 'Completed'",
	})
	if err != nil {
		t.Fatal(err)
	}
	var v []float64
	for _, e := range resp.GetExecutions() {
		v = append(v, e.GetCloseTime().AsTime().Sub(e.GetStartTime().AsTime()).Seconds())
	}
	return nearestRanks(v)
}

// trailCycleTimes computes p50/p90/p99 (nearest rank) from the instances'
// trails in the namespace's audit store: the workflow's start (recorded in
// the completed entry) to the completed entry.
func (r *reportEnv) trailCycleTimes(t *testing.T, ids []string) [3]float64 {
	t.Helper()
	st, err := auditstore.Open(context.Background(), r.dsn)
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	var d []float64
	for _, id := range ids {
		trail, err := st.Trail(context.Background(), id)
		if err != nil {
			t.Fatal(err)
		}
		var started, ended time.Time
		for _, e := range trail {
			if e.Action == audit.ActionCompleted {
				var d audit.EndData
				if err := json.Unmarshal(e.Data, &d); err != nil {
					t.Fatal(err)
				}
				started, ended = d.StartedAt, e.Time
			}
		}
		if started.IsZero() || ended.IsZero() {
			t.Fatalf("%s: trail without start or completion: %+v", id, trail)
		}
		d = append(d, ended.Sub(started).Seconds())
	}
	r3 := nearestRanks(d)
	for i := range r3 {
		r3[i] = round3(r3[i]) // the report's precision
	}
	return r3
}

// nearestRanks is p50/p90/p99 of v (sorted in place) by nearest rank.
func nearestRanks(v []float64) [3]float64 {
	sort.Float64s(v)
	rank := func(p float64) float64 { return v[max(int(math.Ceil(p/100*float64(len(v)))), 1)-1] }
	return [3]float64{rank(50), rank(90), rank(99)}
}
