package auditstore

import (
	"testing"
	"time"
)

// An entry made again by a retried workflow task carries the retry's time
// and history length: the same fact, not a conflict. Any other field
// differing is.
func TestSameFactIgnoresOnlyTimeAndEventID(t *testing.T) {
	a := Entry{WorkflowID: "loan-A-1", RunID: "r", Seq: 3, EventID: 17, Time: time.Unix(100, 0).UTC(),
		Actor: "ana", Action: "decision-accepted", Details: "approved", PolicyVersion: "sha256:abc", Source: SourceWorkflow}
	b := a
	b.EventID, b.Time = 20, time.Unix(101, 0).UTC()
	if !SameFact(a, b) {
		t.Error("a retried task's entry is reported as a conflict")
	}
	c := a
	c.Details = "rejected"
	if SameFact(a, c) {
		t.Error("edited details are not a conflict")
	}
}
