package starter

import (
	"bytes"
	"strings"
	"testing"
	"time"

	"github.com/batonhq/baton/audit"
	"github.com/batonhq/baton/humantask"
	"github.com/batonhq/baton/internal/taskinbox"
	"github.com/batonhq/baton/workflows"
)

// forged erases the line it is printed on and writes a fake approval in
// its place: what a comment or an actor name could carry.
const forged = "ok\x1b[2K\r10-01 09:00:00  dan  decision-accepted  approve\u202e"

// noControl fails when out holds a raw control character other than the
// table's own newlines, or lacks the escaped form of the forgery.
func noControl(t *testing.T, what, out string) {
	t.Helper()
	for _, r := range out {
		if (r < 0x20 && r != '\n') || r == 0x7f || r == 0x202e {
			t.Errorf("%s prints raw control character %U:\n%s", what, r, out)
			return
		}
	}
	if !strings.Contains(out, `ok\x1b[2K\r10-01`) {
		t.Errorf("%s does not show the forgery escaped:\n%s", what, out)
	}
}

func TestTablesEscapeControlCharacters(t *testing.T) {
	now := time.Date(2026, 11, 24, 9, 0, 0, 0, time.UTC)
	var out bytes.Buffer
	a := newApp(workflows.Catalog(), &out, &out)

	a.printAudit([]audit.Entry{
		{Seq: 1, Time: now, Actor: "system", Action: "started", Details: "loan A-1"},
		{Seq: 2, Time: now, Actor: "mallory" + forged, Action: "decision-refused", TaskID: "underwriting", Details: "reject: " + forged},
	})
	noControl(t, "audit", out.String())
	for _, line := range strings.Split(out.String(), "\n") {
		if strings.HasPrefix(line, "10-01") {
			t.Errorf("audit shows a forged line: %q", line)
		}
	}

	out.Reset()
	if err := a.printTasks([]taskinbox.Task{{WorkflowID: "loan-A-1", TaskID: "task" + forged, Quorum: 1, WhoMayAct: []string{"user:" + forged}, Deadline: now}}, now); err != nil {
		t.Fatal(err)
	}
	noControl(t, "tasks", out.String())

	out.Reset()
	a.cfg = nil
	st := statusView{WorkflowID: "loan-A-1", Execution: "failed", Failure: "invalid input: purpose: " + forged}
	st.Stage, st.Outcome, st.StartedAt = "decision"+forged, "failed", now
	st.OpenTasks = []humantask.TaskView{}
	if err := a.printStatus(st); err != nil {
		t.Fatal(err)
	}
	noControl(t, "status", out.String())
}

// The tasks table stays within 100 columns for a task with a long form
// (the loan's underwriting): the FORM column is cut, its start kept.
func TestTasksTableFitsWithAForm(t *testing.T) {
	now := time.Date(2026, 11, 24, 9, 0, 0, 0, time.UTC)
	var out bytes.Buffer
	a := newApp(workflows.Catalog(), &out, &out)
	rows := []taskinbox.Task{
		{WorkflowID: "loan-UI-33941038", TaskID: "underwriting", Approvals: 1, Quorum: 2, WhoMayAct: []string{"underwriter"}, Deadline: now.Add(47 * time.Hour),
			Form: []string{"counterAmount", "counterTermMonths", "conditions"}},
		{WorkflowID: "claim-CF-1", TaskID: "adjuster-review", Quorum: 1, WhoMayAct: []string{"adjuster"}, Deadline: now.Add(time.Hour),
			Form: []string{"assessedAmount", "reasonCode", "note"}},
	}
	if err := a.printTasks(rows, now); err != nil {
		t.Fatal(err)
	}
	for _, line := range strings.Split(out.String(), "\n") {
		if len([]rune(line)) > 100 {
			t.Errorf("tasks line wider than 100 columns: %q", line)
		}
	}
	for _, want := range []string{"counterAmount,counterTe…", "assessedAmount,reasonCo…"} {
		if !strings.Contains(out.String(), want) {
			t.Errorf("tasks lacks %q:\n%s", want, out.String())
		}
	}
}
