package process

import (
	"time"

	"github.com/batonhq/baton/audit"
	"github.com/batonhq/baton/humantask"
)

// Outcomes shared by processes (each process adds its own).
const (
	OutcomeApproved = "approved"
	OutcomeDeclined = "declined"
	OutcomeRejected = "rejected"
	OutcomeFailed   = "failed"
)

// EndError is how a body ends its instance: the outcome and the reason
// people read. As an error it unwinds the body to the one place that
// finishes the instance (compensation, OnEnd, the record's Finish).
type EndError struct {
	Outcome string
	Reason  string
}

func (e *EndError) Error() string { return e.Outcome + ": " + e.Reason }

// End is the error a process body returns to end the instance with outcome.
func End(outcome, reason string) error { return &EndError{Outcome: outcome, Reason: reason} }

// Ending is how an instance ended; every process result embeds it. Facts
// and Tasks are what a what-if (starter whatif) re-decides and measures:
// the result is in history (and encrypted by the payload codec), so they
// are read without a worker. Decision is the routing decision taken and
// Facts those it was taken on: {} when the instance ended before routing,
// absent in results recorded before they existed. StartedAt and ClosedAt
// are the instance's start (workflow start time) and the time of its
// completed audit entry (microseconds, as the audit store keeps it): the
// cycle time a what-if measures, the same from the result as from the
// store. The completed entry carries the same as audit.EndData.
type Ending struct {
	Outcome      string              `json:"outcome"`
	HandlingPath string              `json:"handlingPath"`
	Reason       string              `json:"reason"`
	Decision     string              `json:"decision,omitempty"`
	Facts        map[string]string   `json:"facts"`
	Tasks        []audit.TaskOutcome `json:"tasks,omitempty"`
	StartedAt    time.Time           `json:"startedAt,omitzero"`
	ClosedAt     time.Time           `json:"closedAt,omitzero"`
}

func (e *Ending) ending() *Ending { return e }

// EndData is e as the completed entry's data: without its reason (already
// the entry's details) and close (the entry's own time); task decisions
// keep who decided what, when and how (their comments are in the decision
// entries already).
func EndData(e *Ending) audit.EndData {
	d := audit.EndData{StartedAt: e.StartedAt, HandlingPath: e.HandlingPath, Outcome: e.Outcome, Decision: e.Decision, Facts: e.Facts}
	for _, t := range e.Tasks {
		votes := make([]audit.Vote, len(t.Decisions))
		for i, v := range t.Decisions {
			votes[i] = audit.Vote{Actor: v.Actor, Verdict: v.Verdict, At: v.At, Via: v.Via}
		}
		t.Decisions = votes
		d.Tasks = append(d.Tasks, t)
	}
	return d
}

// EndingOf is the data of a completed entry as a what-if reads it (Reason
// empty; ClosedAt is the entry's time).
func EndingOf(d audit.EndData, closedAt time.Time) Ending {
	return Ending{Outcome: d.Outcome, HandlingPath: d.HandlingPath, Decision: d.Decision, Facts: d.Facts, Tasks: d.Tasks,
		StartedAt: d.StartedAt, ClosedAt: closedAt}
}

// taskOutcomes lists the instance's tasks, closed by now.
func taskOutcomes(views []humantask.TaskView) []audit.TaskOutcome {
	var out []audit.TaskOutcome
	for _, v := range views {
		t := audit.TaskOutcome{ID: v.ID, State: v.State, OpenedAt: v.OpenedAt, Decisions: v.Votes}
		if v.ClosedAt != nil {
			t.ClosedAt = *v.ClosedAt
		}
		out = append(out, t)
	}
	return out
}
