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
	"encoding/json"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/batonhq/baton/audit"

	"github.com/batonhq/baton/humantask"
	"github.com/batonhq/baton/policy"
	"github.com/batonhq/baton/process"
)

// Trail is one instance as its audit entries tell it: the entries of the
// run that ended it, in order, and what they say about its timeline,
// routing, facts and human tasks.
type Trail struct {
	WorkflowID  string
	Process     string
	BusinessKey string
	RunID       string
	// Entries are the ending run's entries in chain order (validator
	// refusals of that run included).
	Entries []audit.Entry
	Span    Span
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
	// OpenedAt and ClosedAt index the entries that opened and closed it
	// (-1: none).
	OpenedAt, ClosedAt int
}

// OpenedSpec is a task-opened entry's data (trails written since tasks
// record their spec): the governance the workflow applied.
type OpenedSpec struct {
	Roles         []string              `json:"roles,omitempty"`
	Users         []string              `json:"users,omitempty"`
	Quorum        int                   `json:"quorum"`
	Rejections    int                   `json:"rejections,omitempty"`
	Exclusions    []humantask.Exclusion `json:"exclusions,omitempty"`
	Deadline      time.Time             `json:"deadline"`
	OnDeadline    string                `json:"onDeadline,omitempty"`
	EscalateAfter policy.Duration       `json:"escalateAfter,omitempty"`
	EscalateTo    []string              `json:"escalateTo,omitempty"`
	DelegateRoles []string              `json:"delegateRoles,omitempty"`
}

// openedData and decisionData are the data of task-opened and decision
// entries (the integrity round's trail format); absent on older trails.
type openedData struct {
	Occurrence int                `json:"occurrence"`
	Subject    *humantask.Subject `json:"subject"`
	Spec       *OpenedSpec        `json:"spec"`
}

type decisionData struct {
	Decision *humantask.Decision `json:"decision"`
	Subject  *humantask.Subject  `json:"subject"`
}

// Decision is one accepted decision (approve, reject, delegate).
type Decision struct {
	// Entry indexes the decision's entry in Trail.Entries.
	Entry      int
	At         time.Time
	Actor      string
	Verdict    string
	DelegateTo string
	Via        string
	Signer     string
	Signature  string
	// Sent and Subject are the decision as received and what it signed,
	// from the entry's data (nil on older trails).
	Sent    *humantask.Decision
	Subject *humantask.Subject
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

var (
	quorumRe    = regexp.MustCompile(`, quorum (\d+), due (\S+)$`)
	addedRe     = regexp.MustCompile(`; added role (.+)$`)
	delegateRe  = regexp.MustCompile(`^delegated to (\S+) via `)
	signerRe    = regexp.MustCompile(`, signed by (\S+) \(authenticated: `)
	extendedRe  = regexp.MustCompile(`deadline extended to ([^;\s]+)`)
	stepIndexRe = regexp.MustCompile(`#\d+$`)
)

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
	first := t.Entries[0]
	t.WorkflowID, t.Process, t.BusinessKey, t.RunID = first.WorkflowID, first.Process, first.BusinessKey, last
	open := map[string]*Task{}
	for i, e := range t.Entries {
		if e.Source != audit.SourceWorkflow {
			continue
		}
		if t.PolicyVersion == "" {
			t.PolicyVersion = e.PolicyVersion
		}
		switch e.Action {
		case audit.ActionStarted:
			if t.Span.Begun.IsZero() {
				t.Span.Begun = e.Time
			}
		case audit.ActionCompleted, audit.ActionFailed:
			t.Ended, t.Span.Close = e.Action, e.Time
			if e.Action == audit.ActionCompleted {
				t.readEnd(e)
			} else {
				t.Outcome = process.OutcomeFailed
			}
		case audit.ActionTaskOpened:
			k := &Task{ID: e.TaskID, Opened: e.Time, OpenedAt: i, ClosedAt: -1, Occurrence: len(t.Tasks) + 1}
			k.readOpened(e)
			t.Tasks = append(t.Tasks, k)
			open[e.TaskID] = k
		case audit.ActionDecisionAccepted, audit.ActionDelegated:
			if k := open[e.TaskID]; k != nil {
				k.Decisions = append(k.Decisions, readDecision(i, e))
			}
		case audit.ActionEscalated:
			if k := open[e.TaskID]; k != nil {
				k.Escalations = append(k.Escalations, e.Time)
				if m := addedRe.FindStringSubmatch(e.Details); m != nil {
					k.AddedRoles = append(k.AddedRoles, strings.Split(m[1], ", ")...)
				}
				if m := extendedRe.FindStringSubmatch(e.Details); m != nil {
					k.Extended, _ = time.Parse(time.RFC3339, m[1])
				}
			}
		case audit.ActionReminded:
			if k := open[e.TaskID]; k != nil {
				k.Reminders++
			}
		case audit.ActionTaskClosed:
			if k := open[e.TaskID]; k != nil && k.ClosedAt < 0 {
				k.Closed, k.ClosedAt = e.Time, i
				k.State, _, _ = strings.Cut(e.Details, ":")
			}
		}
	}
	return t
}

// readEnd reads the completed entry's data (audit.EndData).
func (t *Trail) readEnd(e audit.Entry) {
	if len(e.Data) == 0 {
		return
	}
	// The fields of audit.EndData read here (its tasks are read from
	// the task entries, which prove more): decoding only these keeps a
	// hundred thousand trails quick.
	var d struct {
		StartedAt    time.Time         `json:"startedAt"`
		HandlingPath string            `json:"handlingPath"`
		Outcome      string            `json:"outcome"`
		Decision     string            `json:"decision"`
		Facts        map[string]string `json:"facts"`
		Omitted      string            `json:"omitted"`
	}
	if err := json.Unmarshal(e.Data, &d); err != nil {
		t.Unreadable = "the completed entry's data is not what Baton wrote: " + err.Error()
		return
	}
	if d.Omitted != "" {
		t.Unreadable = "the completed entry's data was not stored: " + d.Omitted
		return
	}
	t.Outcome, t.Path, t.Decision, t.Facts, t.Recorded = d.Outcome, d.HandlingPath, d.Decision, d.Facts, d.Facts != nil
	if !d.StartedAt.IsZero() {
		t.Span.Start = d.StartedAt
	}
}

// readOpened reads a task-opened entry: its data when recorded, else what
// its details say ("<title>: role a or b, or to be u, quorum 2, due <time>").
func (k *Task) readOpened(e audit.Entry) {
	var d openedData
	if len(e.Data) > 0 && json.Unmarshal(e.Data, &d) == nil && d.Spec != nil {
		k.Spec = d.Spec
		k.Quorum, k.Due, k.Roles, k.Users = d.Spec.Quorum, d.Spec.Deadline, d.Spec.Roles, d.Spec.Users
		if d.Occurrence > 0 {
			k.Occurrence = d.Occurrence
		}
		return
	}
	loc := quorumRe.FindStringSubmatchIndex(e.Details)
	if loc == nil {
		return
	}
	k.Quorum, _ = strconv.Atoi(e.Details[loc[2]:loc[3]])
	k.Due, _ = time.Parse(time.RFC3339, e.Details[loc[4]:loc[5]])
	// The candidates follow the title's last ": " before them.
	head := e.Details[:loc[0]]
	i := max(strings.LastIndex(head, ": role "), strings.LastIndex(head, ": to be "))
	if i < 0 {
		return
	}
	for _, part := range strings.Split(head[i+2:], ", or ") {
		if r, ok := strings.CutPrefix(part, "role "); ok {
			k.Roles = strings.Split(r, " or ")
		} else if u, ok := strings.CutPrefix(part, "to be "); ok {
			k.Users = strings.Split(u, " or ")
		}
	}
}

// readDecision reads a decision entry: its data when recorded, else its
// action and details ("approve (1 of 2) via update", "reject via signal:
// why", "delegated to ben via update").
func readDecision(i int, e audit.Entry) Decision {
	d := Decision{Entry: i, At: e.Time, Actor: e.Actor, Via: e.Via, Signature: e.Signature}
	var data decisionData
	if len(e.Data) > 0 && json.Unmarshal(e.Data, &data) == nil && data.Decision != nil {
		d.Sent, d.Subject = data.Decision, data.Subject
		d.Verdict, d.DelegateTo, d.Signer = data.Decision.Verdict, data.Decision.DelegateTo, data.Decision.Signer
		return d
	}
	if e.Action == audit.ActionDelegated {
		d.Verdict = humantask.Delegate
		if m := delegateRe.FindStringSubmatch(e.Details); m != nil {
			d.DelegateTo = m[1]
		}
	} else {
		d.Verdict, _, _ = strings.Cut(e.Details, " ")
	}
	if m := signerRe.FindStringSubmatch(e.Details); m != nil {
		d.Signer = m[1]
	}
	return d
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

// stepName is a step's name without its occurrence ("provision-equipment#2").
func stepName(details string) string {
	name, _, _ := strings.Cut(details, ":")
	return stepIndexRe.ReplaceAllString(name, "")
}
