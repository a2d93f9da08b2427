package audit

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

// A task opened in a workflow task that is retried is made again at the
// retry's time, and its deadline (counted from then) with it: the same
// fact. A deadline at another distance from the entry, or other data, is
// not.
func TestSameFactAllowsTimesDerivedFromTheEntrysOwn(t *testing.T) {
	opened := func(at time.Time, deadline time.Duration, quorum string) Entry {
		return Entry{WorkflowID: "loan-A-1", RunID: "r", Seq: 4, Time: at, Actor: "system", Action: "task-opened", Source: SourceWorkflow,
			Data: []byte(`{"occurrence":1,"spec":{"quorum":` + quorum + `,"deadline":"` + at.Add(deadline).Format(time.RFC3339Nano) + `"}}`)}
	}
	first := time.Date(2026, 11, 20, 9, 0, 0, 123456789, time.UTC)
	retry := first.Add(3*time.Second + 17*time.Microsecond)
	if !SameFact(opened(first, 48*time.Hour, "1"), opened(retry, 48*time.Hour, "1")) {
		t.Error("a retried task-opened entry with its deadline moved by the retry is a conflict")
	}
	if SameFact(opened(first, 48*time.Hour, "1"), opened(retry, 24*time.Hour, "1")) {
		t.Error("another deadline is the same fact")
	}
	if SameFact(opened(first, 48*time.Hour, "1"), opened(retry, 48*time.Hour, "2")) {
		t.Error("another quorum is the same fact")
	}
}
