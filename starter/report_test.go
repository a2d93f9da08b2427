package starter

import (
	"strings"
	"testing"
	"time"
	"unicode/utf8"

	"github.com/batonhq/baton/audit"
	"github.com/batonhq/baton/workflows"

	"github.com/batonhq/baton/humantask"
	"github.com/batonhq/baton/internal/auditstore"
	"github.com/batonhq/baton/internal/taskinbox"
)

func TestPercentileNearestRank(t *testing.T) {
	v := []float64{1, 2, 3, 4, 5, 6, 7, 8, 9, 10}
	for p, want := range map[float64]float64{50: 5, 90: 9, 99: 10, 10: 1} {
		if got := percentile(v, p); got != want {
			t.Errorf("p%v = %v, want %v", p, got, want)
		}
	}
	if percentile(nil, 50) != 0 || percentile([]float64{7}, 99) != 7 {
		t.Error("edge cases")
	}
}

func TestAggregate(t *testing.T) {
	t0 := time.Date(2026, 11, 24, 8, 0, 0, 0, time.UTC)
	in := func(status, path, outcome string, secs int, tasks humantask.TaskStats) instance {
		return instance{Process: "loan", Status: status, HandlingPath: path, Outcome: outcome, Start: t0, Close: t0.Add(time.Duration(secs) * time.Second), Tasks: tasks}
	}
	rows := []instance{
		in("completed", "automated", "approved", 2, humantask.TaskStats{}),
		in("completed", "automated", "declined", 4, humantask.TaskStats{}),
		in("completed", "manual", "approved", 3600, humantask.TaskStats{Tasks: 1, Escalated: 1}),
		in("completed", "manual", "declined", 7200, humantask.TaskStats{Tasks: 1, Expired: 1, Escalated: 1}),
		in("running", "manual", "", 0, humantask.TaskStats{}),
		in("failed", "", "", 0, humantask.TaskStats{}),
		{Process: "order", Status: "completed", HandlingPath: "automated", Outcome: "fulfilled", Start: t0, Close: t0.Add(time.Second)},
	}
	reps := aggregate(workflows.Catalog().Names(), rows, 24)
	if len(reps) != 2 || reps[0].Process != "loan" || reps[1].Process != "order" {
		t.Fatalf("reports = %+v", reps)
	}
	l := reps[0]
	if l.Started != 6 || l.Completed != 4 || l.Failed != 1 || l.Open != 1 {
		t.Errorf("counts = %+v", l)
	}
	if l.AutomationRate != 0.5 || l.ThroughputPerHour != 0.1667 {
		t.Errorf("automation %v, throughput %v", l.AutomationRate, l.ThroughputPerHour)
	}
	if l.CycleTime != (Cycle{Count: 4, P50: 4, P90: 7200, P99: 7200}) {
		t.Errorf("cycle = %+v", l.CycleTime)
	}
	if c := l.CycleTimeByPath["manual"]; c.Count != 2 || c.P50 != 3600 {
		t.Errorf("manual cycle = %+v", c)
	}
	if l.ManualTasks != 2 || l.EscalatedShare != 1 || l.ExpiredShare != 0.5 {
		t.Errorf("tasks %d escalated %v expired %v", l.ManualTasks, l.EscalatedShare, l.ExpiredShare)
	}
	if l.Outcomes["approved"] != 2 || l.Outcomes["declined"] != 2 {
		t.Errorf("outcomes = %v", l.Outcomes)
	}
}

func TestBacklog(t *testing.T) {
	now := time.Date(2026, 11, 24, 12, 0, 0, 0, time.UTC)
	tasks := []taskinbox.Task{
		{WhoMayAct: []string{"underwriter"}, OpenedAt: now.Add(-2 * time.Hour)},
		{WhoMayAct: []string{"underwriter", "senior-underwriter"}, OpenedAt: now.Add(-30 * time.Hour)},
		{WhoMayAct: []string{"user:mia"}, OpenedAt: now.Add(-time.Minute)},
	}
	got := backlog(tasks, now)
	want := []Backlog{{"senior-underwriter", 1, 30 * 3600}, {"underwriter", 2, 30 * 3600}, {"user:mia", 1, 60}}
	if len(got) != len(want) {
		t.Fatalf("backlog = %+v", got)
	}
	for i := range want {
		if got[i] != want[i] {
			t.Errorf("row %d = %+v, want %+v", i, got[i], want[i])
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

func TestMergeStoreCycles(t *testing.T) {
	t0 := time.Date(2026, 11, 1, 9, 0, 0, 0, time.UTC)
	procs := []ProcessReport{{Process: "order", CycleTime: Cycle{Count: 1, P50: 99}}}
	cycles := []auditstore.Cycle{
		{WorkflowID: "order-1", Process: "order", Started: t0, Closed: t0.Add(10 * time.Second), EndAction: audit.ActionCompleted},
		{WorkflowID: "order-2", Process: "order", Started: t0, Closed: t0.Add(30 * time.Second), EndAction: audit.ActionCompleted},
		{WorkflowID: "order-3", Process: "order", Started: t0, Closed: t0.Add(time.Second), EndAction: audit.ActionFailed},
		{WorkflowID: "order-4", Process: "order", Started: t0}, // still running
		// Gone from visibility, still in the store.
		{WorkflowID: "loan-1", Process: "loan", Started: t0, Closed: t0.Add(time.Minute), EndAction: audit.ActionCompleted},
	}
	out := mergeStoreCycles(workflows.Catalog().Names(), procs, cycles)
	if len(out) != 2 || out[0].Process != "loan" || out[1].Process != "order" {
		t.Fatalf("processes = %+v, want loan then order", out)
	}
	if c := out[0].CycleTime; c.Count != 1 || c.P50 != 60 {
		t.Errorf("loan cycle = %+v, want one of 60 s", c)
	}
	if c := out[1].CycleTime; c.Count != 2 || c.P50 != 10 || c.P99 != 30 {
		t.Errorf("order cycle = %+v, want the two completed (10 s, 30 s), not the failed or running ones", c)
	}
}
