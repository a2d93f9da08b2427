// Package insight reads ended instances' audit trails and answers what a
// manager and an auditor ask of them: one cycle-time definition (Span),
// figures per process and handling path (Figures), the process as it ran
// (Discover: variants, the directly-follows map, rework, bottlenecks) and
// conformance to the policy each instance pinned (Conform).
//
// It is pure: trails come as audit entries (internal/audit.Entry, from
// the durable store or read back from histories), policies through
// Policies and the processes' routing and task rules through Processes, so
// nothing here talks to a server and every rule is tested on trails built
// in memory.
package insight

import (
	"cmp"
	"context"
	"slices"
	"time"

	jsonv2 "github.com/go-json-experiment/json"

	"github.com/batonhq/baton/audit"
	"github.com/batonhq/baton/humantask"
	"github.com/batonhq/baton/process"
	"github.com/batonhq/baton/record"
)

// Trail is one instance as its audit entries tell it: the entries of the
// run that ended it, in order, and what they say about its timeline,
// routing, facts and human tasks.
type Trail struct {
	WorkflowID  string
	Process     string
	BusinessKey string
	RunID       string
	// Entries are the ending run's entries read, in chain order
	// (validator refusals of that run included): all of them (NewTrail),
	// or, for a trail read from its terminal entry's course (FromCourse),
	// the terminal entry, the entries after it and the validator
	// refusals.
	Entries []audit.Entry
	// Course is the run's listed entries in brief (record.Brief), in
	// order: the analyses read these. at maps each to its index in
	// Entries (-1: known from the terminal entry's course only).
	Course []record.Brief
	at     []int
	// FromCourse says the trail was read from its terminal entry's course:
	// the entries before it were not read (an analysis that shows them,
	// conformance's evidence, reads the whole trail again: Full).
	FromCourse bool
	// Full reads the instance's whole trail again (set by the reader of a
	// trail read from its course; nil otherwise).
	Full func(ctx context.Context) (*Trail, error)
	// refused counts the run's refused decisions (rework).
	refused int
	// end is the terminal entry's data when decoded already.
	end  *endData
	Span Span
	// Ended is the terminal action (completed or failed); empty while the
	// instance runs.
	Ended         string
	Outcome       string
	Path          string
	Decision      string
	PolicyVersion string
	// Facts are those the routing decision was taken on; Recorded says the
	// completed entry carried them (trails from before Baton recorded
	// facts, and failed instances, have none).
	Facts    map[string]string
	Recorded bool
	Tasks    []*Task
	// Unreadable says why the completed entry's data could not be read.
	Unreadable string
}

// Task is one human task occurrence as the trail tells it.
type Task struct {
	ID         string
	Occurrence int
	Opened     time.Time
	Closed     time.Time // zero while open
	// State is how it closed (approved, rejected, expired, cancelled).
	State string
	// Spec is the task as opened, from the task-opened entry's data
	// (trails from before it was recorded: nil; see Quorum, Due, Roles,
	// Users parsed from its details).
	Spec   *OpenedSpec
	Quorum int
	Due    time.Time
	Roles  []string
	Users  []string
	// Escalations and DeadlineExtensions are when the task escalated and
	// to which deadline it was extended.
	Escalations []time.Time
	AddedRoles  []string
	Extended    time.Time
	Reminders   int
	Decisions   []Decision
	// OpenedAt and ClosedAt index the course entries that opened and
	// closed it (-1: none).
	OpenedAt, ClosedAt int
}

// OpenedSpec is a task-opened entry's spec (trails written since tasks
// record their spec): the governance the workflow applied.
type OpenedSpec = humantask.SpecData

// Decision is one accepted decision (approve, reject, delegate).
type Decision struct {
	// Entry indexes the decision's entry in Trail.Course.
	Entry      int
	At         time.Time
	Actor      string
	Verdict    string
	DelegateTo string
	Via        string
	Signer     string
	// Signed says the decision carried a signature.
	Signed bool
}

// Span is the one cycle-time definition, used by every figure Baton
// reports (report, whatif, discover, charts, metrics): an instance's cycle
// time runs from the workflow's start (Temporal's start time: when it was
// asked for; the completed entry records it as startedAt) to its close (the
// terminal audit entry, or the close time visibility records); queue time
// is the part before the first entry (`started`), while the instance
// waited for a worker.
type Span struct {
	Start time.Time // workflow start (zero when the trail does not record it)
	Begun time.Time // the started entry (zero when unknown)
	Close time.Time // terminal entry or close (zero while running)
}

// Cycle is start to close; a trail that does not record the workflow's
// start (one that failed, or ended before Baton recorded it) counts from
// its started entry. 0 while running.
func (s Span) Cycle() time.Duration {
	start := cmp.Or(s.Start, s.Begun)
	if start.IsZero() || s.Close.IsZero() {
		return 0
	}
	return s.Close.Sub(start)
}

// QueueKnown reports whether both ends of the queue time are known.
func (s Span) QueueKnown() bool { return !s.Start.IsZero() && !s.Begun.IsZero() }

// Queue is start to the started entry (0 when either is unknown).
func (s Span) Queue() time.Duration {
	if !s.QueueKnown() {
		return 0
	}
	return max(0, s.Begun.Sub(s.Start))
}

// Cycle is the span's cycle time in seconds, for a caller that has only
// a start and a close (visibility's StartTime and CloseTime).
func Cycle(start, closed time.Time) float64 {
	return Span{Start: start, Close: closed}.Cycle().Seconds()
}

// terminal reports whether action ends an instance.
func terminal(action string) bool {
	return action == audit.ActionCompleted || action == audit.ActionFailed
}

// NewTrail reads one instance's entries (its whole chain, in order, as the
// store or a history gives them). Entries of runs before the one that
// ended it (a reset, or a business key run again) are left out.
func NewTrail(entries []audit.Entry) *Trail {
	t := &Trail{}
	if len(entries) == 0 {
		return t
	}
	last := entries[len(entries)-1].RunID
	for i := len(entries) - 1; i >= 0; i-- {
		if entries[i].Source == audit.SourceWorkflow && terminal(entries[i].Action) {
			last = entries[i].RunID
			break
		}
	}
	for _, e := range entries {
		if e.RunID == last {
			t.Entries = append(t.Entries, e)
		}
	}
	for i, e := range t.Entries {
		if e.Source == audit.SourceWorkflow && record.Listed(e.Action) {
			t.Course, t.at = append(t.Course, record.Read(e)), append(t.at, i)
		}
	}
	t.build()
	return t
}

// courseTrail is the trail of an instance read from its terminal entry's
// course: rows are what was read of the ending run (the terminal entry,
// the entries after it, validator refusals), in chain order, end the
// terminal entry's index among them. ok is false when the entry carries
// no course (written before it was recorded, or over the store's bound):
// the whole trail must be read.
func courseTrail(rows []audit.Entry, end int) (*Trail, bool) {
	d, err := decodeEnd(rows[end].Data)
	if err != nil || d.Course == nil {
		return nil, false
	}
	t := &Trail{Entries: rows, FromCourse: true, refused: d.Course.Refused, end: &d}
	t.Course = d.Course.Entries
	t.at = make([]int, len(t.Course), len(t.Course)+len(rows))
	for i := range t.at {
		t.at[i] = -1
	}
	for i, e := range rows {
		if e.Source == audit.SourceWorkflow && record.Listed(e.Action) && i >= end {
			t.Course, t.at = append(t.Course, record.Read(e)), append(t.at, i)
		}
	}
	t.build()
	return t, true
}

// endData is what a trail reads of its terminal entry's data
// (workflows.EndData; its tasks are read from the task entries, which
// prove more).
type endData struct {
	StartedAt    time.Time         `json:"startedAt"`
	HandlingPath string            `json:"handlingPath"`
	Outcome      string            `json:"outcome"`
	Decision     string            `json:"decision"`
	Facts        map[string]string `json:"facts"`
	Omitted      string            `json:"omitted"`
	Course       *record.Course    `json:"course"`
}

// decodeEnd decodes a terminal entry's data, once per trail: with the
// faster JSON decoder (github.com/go-json-experiment/json; a hundred
// thousand courses are read at a time), the same fields encoding/json
// would read (every field is tagged, names match exactly).
func decodeEnd(data []byte) (endData, error) {
	var d endData
	err := jsonv2.Unmarshal(data, &d)
	return d, err
}

// build reads what the trail's course says: its span, end, tasks.
func (t *Trail) build() {
	if len(t.Entries) == 0 {
		return
	}
	first := t.Entries[0]
	t.WorkflowID, t.Process, t.BusinessKey, t.RunID = first.WorkflowID, first.Process, first.BusinessKey, first.RunID
	for _, e := range t.Entries {
		if e.Action == audit.ActionDecisionRefused {
			t.refused++
		}
		if t.PolicyVersion == "" && e.Source == audit.SourceWorkflow {
			t.PolicyVersion = e.PolicyVersion
		}
	}
	open := map[string]*Task{}
	for i, b := range t.Course {
		switch b.Action {
		case audit.ActionStarted:
			if t.Span.Begun.IsZero() {
				t.Span.Begun = b.At
			}
		case audit.ActionCompleted, audit.ActionFailed:
			t.Ended, t.Span.Close = b.Action, b.At
			t.readEnd(t.Entries[t.at[i]])
		case audit.ActionTaskOpened:
			k := &Task{ID: b.Task, Opened: b.At, OpenedAt: i, ClosedAt: -1, Occurrence: len(t.Tasks) + 1,
				Spec: b.Spec, Quorum: b.Quorum, Due: b.Due, Roles: b.Roles, Users: b.Users}
			if b.Spec != nil {
				k.Quorum, k.Due, k.Roles, k.Users = b.Spec.Quorum, b.Spec.Deadline, b.Spec.Roles, b.Spec.Users
				if b.Occurrence > 0 {
					k.Occurrence = b.Occurrence
				}
			}
			t.Tasks = append(t.Tasks, k)
			open[b.Task] = k
		case audit.ActionDecisionAccepted, audit.ActionDelegated:
			if k := open[b.Task]; k != nil {
				k.Decisions = append(k.Decisions, Decision{Entry: i, At: b.At, Actor: b.Actor, Verdict: b.Verdict, DelegateTo: b.DelegateTo,
					Via: b.Via, Signer: b.Signer, Signed: b.Signed})
			}
		case audit.ActionEscalated:
			if k := open[b.Task]; k != nil {
				k.Escalations = append(k.Escalations, b.At)
				k.AddedRoles = append(k.AddedRoles, b.AddedRoles...)
				if !b.Extended.IsZero() {
					k.Extended = b.Extended
				}
			}
		case audit.ActionReminded:
			if k := open[b.Task]; k != nil {
				k.Reminders++
			}
		case audit.ActionTaskClosed:
			if k := open[b.Task]; k != nil && k.ClosedAt < 0 {
				k.Closed, k.ClosedAt, k.State = b.At, i, b.Name
			}
		}
	}
}

// entry is the stored entry behind the course entry i (false: known from
// the terminal entry's course only).
func (t *Trail) entry(i int) (audit.Entry, bool) {
	if i < 0 || i >= len(t.at) || t.at[i] < 0 {
		return audit.Entry{}, false
	}
	return t.Entries[t.at[i]], true
}

// readEnd reads the terminal entry's data (workflows.EndData): the
// workflow's start (completed and failed entries), and a completed one's
// path, outcome, decision and facts.
func (t *Trail) readEnd(e audit.Entry) {
	if e.Action == audit.ActionFailed {
		t.Outcome = process.OutcomeFailed
	}
	if len(e.Data) == 0 {
		return
	}
	var d endData
	var err error
	if t.end != nil {
		d = *t.end // decoded already (courseTrail)
	} else {
		d, err = decodeEnd(e.Data)
	}
	if err != nil {
		if e.Action == audit.ActionCompleted {
			t.Unreadable = "the completed entry's data is not what Baton wrote: " + err.Error()
		}
		return
	}
	if d.Omitted != "" {
		if e.Action == audit.ActionCompleted {
			t.Unreadable = "the completed entry's data was not stored: " + d.Omitted
		}
		return
	}
	if !d.StartedAt.IsZero() {
		t.Span.Start = d.StartedAt
	}
	if e.Action == audit.ActionCompleted {
		t.Outcome, t.Path, t.Decision, t.Facts, t.Recorded = d.Outcome, d.HandlingPath, d.Decision, d.Facts, d.Facts != nil
	}
}

// Approvers are the distinct actors who approved the task, in order.
func (k *Task) Approvers() []string {
	var out []string
	for _, d := range k.Decisions {
		if d.Verdict == humantask.Approve && !slices.Contains(out, d.Actor) {
			out = append(out, d.Actor)
		}
	}
	return out
}

// Deadline is the task's deadline as it stood at the end: the opened
// deadline, or the one an escalation extended it to.
func (k *Task) Deadline() time.Time {
	return cmp.Or(k.Extended, k.Due)
}
