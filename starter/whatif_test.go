package main

import (
	"bytes"
	"strings"
	"testing"
	"time"

	"baton/internal/whatif"
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
	if err := printWhatif(&b, rep); err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{
		"Proposed policy sha256:abc",
		"loan: 5 finished, 4 evaluated",
		"automated        2 (50%)  3 (75%)   +1",
		"human tasks      2        1.5       -0.5",
		"person time      10.0h    4.5h      -5.5h",
		"mean cycle time  2.0h     60m       -60m",
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
