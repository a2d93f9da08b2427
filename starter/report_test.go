package starter

import (
	"encoding/json"
	"fmt"
	"io"
	"math"
	"slices"
	"strings"
	"testing"
	"time"
	"unicode/utf8"

	"github.com/batonhq/baton/audit"
	"github.com/batonhq/baton/config"
	"github.com/batonhq/baton/workflows"

	"github.com/batonhq/baton/internal/insight"
	"github.com/batonhq/baton/internal/taskinbox"
)

// claimEntry is an audit entry of instance id, as its record writes it.
func claimEntry(id string, seq int64, at time.Time, action, details string, data string) audit.Entry {
	e := audit.Entry{WorkflowID: id, RunID: "r1", Seq: seq, Process: "claim", BusinessKey: id, Time: at, Actor: "system",
		Action: action, Details: details, PolicyVersion: "sha256:p", Source: audit.SourceWorkflow}
	if data != "" {
		e.Data = json.RawMessage(data)
	}
	return e
}

// The defect: for the same two completed claims the report printed an
// overall cycle time of 0.45 s (from the store: the started entry to the
// completed one) and a per-path one of 85.2 s (from visibility: from the
// workflow's start), so the queue time vanished from the headline. Both
// now count from the workflow's start, and the queue is its own figure.
func TestReportCountsFromTheWorkflowStartWithTheQueueApart(t *testing.T) {
	t0 := time.Date(2026, 11, 24, 8, 0, 0, 0, time.UTC)
	var rows []listRow
	var trails []*insight.Trail
	for i, id := range []string{"claim-CL-1", "claim-CL-2"} {
		start := t0.Add(time.Duration(i) * time.Minute)
		begun, closed := start.Add(84750*time.Millisecond), start.Add(85200*time.Millisecond)
		rows = append(rows, listRow{WorkflowID: id, Process: "claim", Status: "completed", HandlingPath: "automated", Outcome: "paid", StartedAt: start, ClosedAt: closed.Add(30 * time.Millisecond)})
		trails = append(trails, insight.NewTrail([]audit.Entry{
			claimEntry(id, 1, begun, audit.ActionStarted, "claim", ""),
			claimEntry(id, 2, begun.Add(100*time.Millisecond), audit.ActionRouted, "auto-pay: ...", ""),
			claimEntry(id, 3, closed, audit.ActionCompleted, "paid", fmt.Sprintf(`{"startedAt":%q,"handlingPath":"automated","outcome":"paid","decision":"auto-pay","facts":{"triageScore":"10","amount":"900"}}`, start.Format(time.RFC3339Nano))),
		}))
	}
	figures := func(runs []insight.Run) insight.ProcessFigures {
		f := insight.Measure(runs, 24, workflows.Catalog().Names())
		if len(f) != 1 {
			t.Fatalf("figures %+v", f)
		}
		return f[0]
	}
	store := figures(mergeRuns(rows, nil, trails))
	if c := store.CycleTime; c.Count != 2 || c.P50 != 85.2 || store.ByPath["automated"].CycleTime.P50 != 85.2 {
		t.Errorf("from the store: cycle %+v, automated %+v; want 85.2 s overall and per path", c, store.ByPath["automated"].CycleTime)
	}
	if q := store.QueueTime; q.Count != 2 || q.P50 != 84.75 {
		t.Errorf("queue %+v, want 84.75 s", q)
	}
	vis := figures(mergeRuns(rows, nil, nil))
	if c := vis.CycleTime.P50; c < 85.2 || c > 85.3 {
		t.Errorf("from visibility alone: cycle p50 %v, want the same instances' 85.2 s (close within a step)", c)
	}
	// An instance Temporal terminated has no terminal entry: visibility's
	// status stands; one visibility no longer lists counts from the store.
	rows = append(rows, listRow{WorkflowID: "claim-CL-3", Process: "claim", Status: "terminated", StartedAt: t0, ClosedAt: t0.Add(time.Hour)})
	trails = append(trails, insight.NewTrail([]audit.Entry{claimEntry("claim-CL-3", 1, t0, audit.ActionStarted, "claim", "")}),
		insight.NewTrail([]audit.Entry{claimEntry("claim-CL-4", 1, t0, audit.ActionStarted, "claim", "")}))
	all := figures(mergeRuns(rows, nil, trails))
	if all.Started != 4 || all.Failed != 1 || all.Open != 1 || all.Completed != 2 || all.FailureRate != round(1.0/3) {
		t.Errorf("counts %+v", all.Figures)
	}
}

func round(v float64) float64 { return math.Round(v*10000) / 10000 }

func TestBacklogNamesPeople(t *testing.T) {
	now := time.Date(2026, 11, 24, 12, 0, 0, 0, time.UTC)
	tasks := []taskinbox.Task{
		{WhoMayAct: []string{"underwriter"}, OpenedAt: now.Add(-2 * time.Hour)},
		{WhoMayAct: []string{"underwriter", "senior-underwriter"}, OpenedAt: now.Add(-30 * time.Hour)},
		{WhoMayAct: []string{"user:max"}, OpenedAt: now.Add(-time.Minute)},
	}
	pol, err := config.LoadPolicy("../config/policy.yaml", nil)
	if err != nil {
		t.Fatal(err)
	}
	rep := Report{Backlog: backlog(tasks, now, pol), CycleTimeSource: cycleFromStore}
	want := []Backlog{{Role: "senior-underwriter", OpenTasks: 1, OldestSeconds: 30 * 3600}, {Role: "underwriter", OpenTasks: 2, OldestSeconds: 30 * 3600},
		{User: "max", Name: "Max Meyer", OpenTasks: 1, OldestSeconds: 60}}
	if !slices.Equal(rep.Backlog, want) {
		t.Fatalf("backlog = %+v, want %+v", rep.Backlog, want)
	}
	var b strings.Builder
	a := newApp(workflows.Catalog(), &b, io.Discard)
	if err := a.printReport(rep); err != nil {
		t.Fatal(err)
	}
	if out := b.String(); !strings.Contains(out, "Max Meyer (max)") || strings.Contains(out, "user:max") || !strings.Contains(out, "OLDEST (h)") {
		t.Errorf("backlog table:\n%s", out)
	}
}

// Every duration column of the report is in one unit, named in its header.
func TestReportDurationsInOneUnitPerColumn(t *testing.T) {
	f := func(p50, p90 float64) insight.Figures {
		return insight.Figures{Started: 1, Completed: 1, CycleTime: insight.Dist{Count: 1, P50: p50, P90: p90, StdDev: 3}, QueueTime: insight.Dist{Count: 1, P50: 0.2}}
	}
	rep := Report{Processes: []ProcessReport{{Process: "loan", Figures: f(4, 90000), ByPath: map[string]insight.Figures{"automated": f(4, 5), "manual": f(3600, 90000)}}}}
	var b strings.Builder
	if err := newApp(workflows.Catalog(), &b, io.Discard).printReport(rep); err != nil {
		t.Fatal(err)
	}
	out := b.String()
	for _, want := range []string{"CYCLE P50 (min)", "CYCLE P90 (h)", "SPREAD (s)", "QUEUE P50 (ms)", "60.0", "25.0", "<0.1", "200"} {
		if !strings.Contains(out, want) {
			t.Errorf("missing %q in\n%s", want, out)
		}
	}
	for _, mixed := range []string{"60m", "1.0h", "25.0h"} {
		if strings.Contains(out, mixed) {
			t.Errorf("a value with its own unit (%q) in\n%s", mixed, out)
		}
	}
}

func TestParseSince(t *testing.T) {
	for in, want := range map[string]time.Duration{"24h": 24 * time.Hour, "7d": 7 * 24 * time.Hour, "90m": 90 * time.Minute} {
		if got, err := parseSince(in); err != nil || got != want {
			t.Errorf("%s = %v, %v", in, got, err)
		}
	}
	for _, bad := range []string{"", "0d", "-1h", "week"} {
		if _, err := parseSince(bad); err == nil || exitCode(err) != exitUsage {
			t.Errorf("%q: err %v", bad, err)
		}
	}
}

func TestOneLine(t *testing.T) {
	got := oneLine("unknown command \"approvee\" for \"starter\"\n\nDid you mean this?\n\tapprove\n\treject\n")
	if got != `unknown command "approvee" for "starter" (did you mean: approve, reject?)` {
		t.Errorf("got %q", got)
	}
}

func TestWriteWrappedKeepsLinesWithinWidth(t *testing.T) {
	var b strings.Builder
	long := "Underwriting decision for loan-A-90nb6m-3: role underwriter, quorum 2, due 2026-11-26T18:34:43Z and a very-long-token-" + strings.Repeat("x", 90)
	writeWrapped(&b, [][]string{{"TIME", "ACTOR", "DETAILS"}, {"11-24 18:34:43", "system", long}, {"11-24 18:34:44", "ana", "approve (1 of 2)"}}, 100)
	out := b.String()
	for _, line := range strings.Split(strings.TrimRight(out, "\n"), "\n") {
		if utf8.RuneCountInString(line) > 100 {
			t.Errorf("line of %d runes: %q", utf8.RuneCountInString(line), line)
		}
	}
	if got := strings.Join(strings.Fields(out), " "); !strings.Contains(got, strings.Join(strings.Fields(long[:60]), " ")) || !strings.Contains(out, "approve (1 of 2)") {
		t.Errorf("text lost:\n%s", out)
	}
	if !strings.HasPrefix(strings.Split(out, "\n")[2], strings.Repeat(" ", len("11-24 18:34:43  system  "))) {
		t.Errorf("continuation not aligned under DETAILS:\n%s", out)
	}
}
