package insight

import (
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/batonhq/baton/policy"
	"github.com/batonhq/baton/record"
	"github.com/batonhq/baton/workflows"
)

// TestCycleTimeCountsTheQueue: an instance that waited 85 s for a worker
// before its first entry has a cycle time from the workflow's start (the
// recorded startedAt), and the 85 s as its queue time.
func TestCycleTimeCountsTheQueue(t *testing.T) {
	tr := trailCopy(t, "auto", "queued")
	editData(t, tr, func(d *record.EndData) { d.StartedAt = d.StartedAt.Add(-85 * time.Second) })
	span := NewTrail(tr).Span
	if span.Queue() != 85*time.Second || span.Cycle() != span.Close.Sub(span.Begun)+85*time.Second {
		t.Fatalf("queue %v, cycle %v (started entry to close %v)", span.Queue(), span.Cycle(), span.Close.Sub(span.Begun))
	}
	f := Measure([]Run{NewTrail(tr).Run()}, 1, workflows.Catalog().Names())
	if f[0].CycleTime.P50 != span.Cycle().Seconds() || f[0].QueueTime.P50 != 85 || f[0].AutomationRate != 1 {
		t.Errorf("figures %+v", f[0].Figures)
	}
}

func TestFiguresPerProcessAndPath(t *testing.T) {
	var runs []Run
	for _, tr := range allTrails(t) {
		runs = append(runs, tr.Run())
	}
	runs = append(runs, Run{Process: "loan", Status: "failed", StepErrors: 1})
	f := Measure(runs, 24, workflows.Catalog().Names())
	if len(f) != 2 || f[0].Process != "expense" || f[1].Process != "loan" {
		t.Fatalf("processes %+v", f)
	}
	loan := f[1]
	// 7 loans completed (2 automated: auto-approve, auto-decline... and
	// the later one), 1 failed.
	if loan.Completed != 7 || loan.Failed != 1 || loan.FailureRate != 0.125 || loan.ErrorRate != 0.125 {
		t.Errorf("loan %+v", loan.Figures)
	}
	if loan.AutomationRate != round4(3.0/7) || loan.ByPath[record.PathAutomated].Completed != 3 || loan.ByPath[record.PathManual].Completed != 4 {
		t.Errorf("automation %v, by path %+v", loan.AutomationRate, loan.ByPath)
	}
	// Four underwriting tasks: one escalated (delegated, then sam), one
	// escalated and expired.
	if loan.Tasks != 4 || loan.EscalatedShare != 0.5 || loan.ExpiredShare != 0.25 {
		t.Errorf("tasks %d, escalated %v, expired %v", loan.Tasks, loan.EscalatedShare, loan.ExpiredShare)
	}
	if c := loan.ByPath[record.PathManual].CycleTime; c.Count != 4 || c.P90 < 48*3600 || c.StdDev <= 0 {
		t.Errorf("manual cycle time %+v", c)
	}
	weeks := Weekly(runs)
	if len(weeks) != 2 || weeks[1].Completed != 1 || weeks[1].AutomationRate != 1 || !weeks[0].Start.Equal(testStart.Truncate(24*time.Hour)) {
		t.Errorf("weeks %+v", weeks)
	}
}

func TestDiscoverVariantsMapReworkAndBottlenecks(t *testing.T) {
	pol := devPolicy(t)
	ds := Discover(allTrails(t), map[string]*policy.Policy{pol.Version: pol})
	if len(ds) != 2 || ds[1].Process != "loan" || ds[1].Instances != 7 {
		t.Fatalf("discoveries %+v", ds)
	}
	loan := ds[1]
	// The two automated approvals share a variant, the most common.
	if v := loan.Variants[0]; v.Count != 2 || v.Share != round4(2.0/7) || !slices.Contains(v.Steps, "route: auto-approve") {
		t.Errorf("top variant %+v", v)
	}
	handover := false
	for _, v := range loan.Variants {
		s := strings.Join(v.Steps, " > ")
		if strings.Contains(s, "underwriting: delegate by underwriter > underwriting escalated > underwriting: approve by senior-underwriter") {
			handover = true
		}
		if strings.Contains(s, "reminded") {
			t.Errorf("a reminder is a step of variant %s", s)
		}
	}
	if !handover {
		t.Errorf("no variant shows the delegation, the escalation and the senior underwriter's approval: %+v", loan.Variants)
	}
	rework := map[string]Rework{}
	for _, r := range loan.Rework {
		rework[r.Kind] = r
	}
	// Reminders: 3 on the escalated loan, 5 on the expired one (every 8 h
	// over 48 h, then the deadline).
	if rework[ReworkDelegation].Events != 1 || rework[ReworkEscalation].Instances != 2 || rework[ReworkReminder].Instances != 2 {
		t.Errorf("rework %+v", loan.Rework)
	}
	// The longest waiting is for underwriters: the open task before the
	// escalated approval or the expiry.
	if b := loan.Bottlenecks[0]; !strings.HasPrefix(b.From, "underwriting") || b.Total < 24*3600 || b.Share <= 0 {
		t.Errorf("bottleneck %+v", b)
	}
	edge := false
	for _, e := range loan.Edges {
		if e.From == "underwriting opened" && e.To == "underwriting: approve by underwriter" {
			edge = e.Count == 2 && e.Wait.P50 == 3600 && e.Wait.P90 == 7200
		}
	}
	if !edge {
		t.Errorf("edge underwriting opened > approve: %+v", loan.Edges)
	}
}

func TestBacklogByRoleOverTime(t *testing.T) {
	pts := Backlog(allTrails(t), testStart, testStart.Add(48*time.Hour), 5)
	if len(pts) != 5 {
		t.Fatalf("points %+v", pts)
	}
	// At 24 h: the escalated loan (underwriter, senior-underwriter after
	// its escalation, ben by delegation), the expired one (underwriter,
	// senior-underwriter) and the director's level of the expense.
	at := pts[2]
	if at.ByRole["underwriter"] != 2 || at.ByRole["senior-underwriter"] != 2 || at.ByRole["director"] != 1 || at.ByRole["user:ben"] != 1 {
		t.Errorf("backlog at %s: %v", at.At, at.ByRole)
	}
}
