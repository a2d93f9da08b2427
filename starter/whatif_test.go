package starter

import (
	"bytes"
	"context"
	"fmt"
	"net"
	"strings"
	"testing"
	"time"

	"github.com/batonhq/baton/internal/whatif"
	"github.com/batonhq/baton/workflows"
)

func TestPrintWhatif(t *testing.T) {
	since := time.Date(2026, 11, 1, 0, 0, 0, 0, time.UTC)
	rep := whatif.Report{PolicyVersion: "sha256:abc", Since: since, Until: since.Add(30 * 24 * time.Hour), Processes: []whatif.Process{{
		Process: "loan", Finished: 5, Evaluated: 4,
		NotEvaluated: []whatif.Skipped{{BusinessKey: "loan-A-9", Reason: whatif.ReasonNotRecorded}},
		Current:      whatif.Side{Automated: 2, Manual: 2, AutomationRate: 0.5, Tasks: 2, PersonHours: 10, MeanCycleSeconds: 7200},
		Proposed:     whatif.Side{Automated: 3, Manual: 1, AutomationRate: 0.75, Tasks: 1.5, PersonHours: 4.5, MeanCycleSeconds: 3600},
		ToManual:     []string{}, ToAutomated: []string{"loan-A-2"},
		AutoApprovedRejected: []string{"loan-A-2"}, AutoDeclinedApproved: []string{},
		CycleTimeChangeSeconds: -3600, Measured: whatif.Measured{Unmeasured: 1},
	}}}
	var b bytes.Buffer
	if err := printWhatif(&b, rep, whatifShow{}); err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{
		"Proposed policy sha256:abc",
		"loan: 5 finished, 4 evaluated",
		"automated            2 (50%)  3 (75%)   +1",
		"human tasks          2        1.5       -0.5",
		"person time (h)      10.0     4.5       -5.5",
		"mean cycle time (h)  2.0      1.0       -1.0",
		"automated -> manual: none",
		"manual -> automated: 1: loan-A-2",
		"would auto-approve, people rejected: 1: loan-A-2",
		"would auto-decline, people approved: none",
		"1 instance(s) move to a path no instance took",
		"loan-A-9: " + whatif.ReasonNotRecorded,
	} {
		if !strings.Contains(b.String(), want) {
			t.Errorf("missing %q in\n%s", want, b.String())
		}
	}
}

// whatif without --process lists only the processes the proposal changes,
// and names the others; a long list of business keys is capped with its
// count unless --keys.
func TestPrintWhatifHidesUnchangedAndCapsKeys(t *testing.T) {
	same := whatif.Side{Automated: 3, AutomationRate: 1, MeanCycleSeconds: 2}
	var many []string
	for i := range 12 {
		many = append(many, fmt.Sprintf("loan-A-%d", i))
	}
	rep := whatif.Report{Processes: []whatif.Process{
		{Process: "claim", Finished: 3, Evaluated: 3, Current: same, Proposed: same, ToManual: []string{}, ToAutomated: []string{}},
		{Process: "loan", Finished: 12, Evaluated: 12, Current: whatif.Side{Automated: 12}, Proposed: whatif.Side{Manual: 12}, ToManual: many},
	}}
	var b bytes.Buffer
	if err := printWhatif(&b, rep, whatifShow{}); err != nil {
		t.Fatal(err)
	}
	out := b.String()
	if strings.Contains(out, "claim: 3 finished") || !strings.Contains(out, "Unchanged by the proposal (--all shows them): claim (3 finished)") {
		t.Errorf("unchanged claim shown, or not named:\n%s", out)
	}
	if !strings.Contains(out, "automated -> manual: 12: loan-A-0, loan-A-1, loan-A-2, loan-A-3, loan-A-4, ... and 7 more (--keys lists them all)") {
		t.Errorf("keys not capped:\n%s", out)
	}
	b.Reset()
	if err := printWhatif(&b, rep, whatifShow{all: true, keys: true}); err != nil {
		t.Fatal(err)
	}
	if out := b.String(); !strings.Contains(out, "claim: 3 finished") || !strings.Contains(out, "loan-A-11") || strings.Contains(out, "more (--keys") {
		t.Errorf("--all --keys:\n%s", out)
	}
}

func TestPrintWhatifSaysItsSource(t *testing.T) {
	for _, tc := range []struct{ source, note, want string }{
		{factsFromStore, "1 instance(s) Temporal ended without a last audit entry listed from visibility",
			"Facts from the audit store; 1 instance(s) Temporal ended without a last audit entry listed from visibility\n"},
		{factsFromHistory, "", "Facts from the Temporal histories\n"},
	} {
		var b bytes.Buffer
		if err := printWhatif(&b, whatif.Report{Source: tc.source, SourceNote: tc.note}, whatifShow{}); err != nil {
			t.Fatal(err)
		}
		if !strings.Contains(b.String(), tc.want) {
			t.Errorf("source %s: missing %q in\n%s", tc.source, tc.want, b.String())
		}
	}
}

// An audit store that was asked for, or configured, and does not answer is
// one line naming the setting and the way out; never a silent fall-back to
// the histories.
func TestWhatifUnreachableStoreIsAnError(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := ln.Addr().String()
	ln.Close()
	t.Setenv("BATON_AUDIT_DSN", "postgres://postgres@"+addr+"/baton?sslmode=disable&connect_timeout=2")
	t.Setenv("TEMPORAL_ADDRESS", addr)
	for _, args := range [][]string{{"--source", "store"}, {}} {
		var out, errOut bytes.Buffer
		root := newApp(workflows.Catalog(), &out, &errOut).rootCommand()
		root.SetArgs(append([]string{"whatif", "--policy", "../config/policy.yaml"}, args...))
		err := root.ExecuteContext(context.Background())
		if err == nil {
			t.Fatalf("%v: no error; out %s", args, out.String())
		}
		msg := err.Error()
		if strings.Contains(msg, "\n") || !strings.Contains(msg, "cannot reach the audit store (PostgreSQL) at "+addr) ||
			!strings.Contains(msg, "BATON_AUDIT_DSN") || !strings.Contains(msg, "--source history") {
			t.Errorf("%v: %q", args, msg)
		}
		if strings.Contains(errOut.String(), "facts from the histories") {
			t.Errorf("%v: fell back to the histories: %s", args, errOut.String())
		}
	}
}

// A window of more days than a time.Duration holds is refused, not wrapped
// into a window in the future (which listed nothing, silently).
func TestParseSinceRefusesAnOverflowingWindow(t *testing.T) {
	if _, err := parseSince("200000d"); err == nil || !strings.Contains(err.Error(), "--since") {
		t.Errorf("200000d: %v", err)
	}
	if d, err := parseSince("106751d"); err != nil || d <= 0 {
		t.Errorf("106751d: %v %v", d, err)
	}
}

// A business key's runs count once, by the run that closed last (a reset,
// or a rerun after a failure, supersedes the earlier run), as the audit
// store's chain of that key does.
func TestLatestRunsKeepsEachKeysLastRun(t *testing.T) {
	at := time.Date(2026, 11, 20, 9, 0, 0, 0, time.UTC)
	rows := []listRow{
		{WorkflowID: "loan-A-1", RunID: "r2", Status: "completed", ClosedAt: at.Add(time.Hour)},
		{WorkflowID: "loan-A-2", RunID: "r1", Status: "completed", ClosedAt: at.Add(30 * time.Minute)},
		{WorkflowID: "loan-A-1", RunID: "r1", Status: "failed", ClosedAt: at},
		{WorkflowID: "loan-A-3", RunID: "r1", Status: "failed", ClosedAt: at},
		{WorkflowID: "loan-A-3", RunID: "r2", Status: "completed", ClosedAt: at.Add(time.Minute)},
	}
	var got []string
	for _, r := range latestRuns(rows) {
		got = append(got, r.WorkflowID+"/"+r.RunID)
	}
	if strings.Join(got, " ") != "loan-A-1/r2 loan-A-2/r1 loan-A-3/r2" {
		t.Errorf("latest runs: %v", got)
	}
}
