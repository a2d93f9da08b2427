package humantask

import (
	"slices"
	"sort"
	"strings"
	"time"

	"github.com/batonhq/baton/audit"

	"go.temporal.io/sdk/converter"
	"go.temporal.io/sdk/log"
	"go.temporal.io/sdk/workflow"

	"github.com/batonhq/baton/policy"
)

// Host is what tasks report to: the instance record (package record)
// implements it. Tasks never write search attributes, details, memo or
// audit themselves, and call no activity.
type Host interface {
	// Policy is the pinned policy (nil before it is loaded).
	Policy() *policy.Policy
	BusinessKey() string
	Logger() log.Logger
	// Audit appends an entry to the instance's trail.
	Audit(ctx workflow.Context, actor, action, taskID, details string)
	// AuditRefused audits a refused message, up to a cap per instance;
	// beyond it refusals are only counted (a flood must not grow the trail).
	AuditRefused(ctx workflow.Context, actor, action, taskID, details string, how How)
	// LiveDirectory reads the worker's current directory entries of users
	// (a local activity): keys and roles removed since the policy was
	// pinned stop working at once.
	LiveDirectory(ctx workflow.Context, users ...string) (*policy.Policy, error)
	// CurrentDirectory is the same as LiveDirectory read in memory, for
	// the update validator, which cannot call an activity; nil when the
	// worker gave none (unit tests, a replayer): the validator then judges
	// with the pinned policy. Validators never run on replay and change
	// nothing, so reading live state there is safe.
	CurrentDirectory(users ...string) *policy.Policy
	// FactsDigest digests the instance's business facts as they stand: a
	// signature binds the decision to what the approver saw.
	FactsDigest() string
	// AuditDecision is Audit for a decision, with how it came.
	AuditDecision(ctx workflow.Context, actor, action, taskID, details string, how How)
	// Count and Observe record business metrics.
	Count(ctx workflow.Context, name string, tags map[string]string)
	Observe(ctx workflow.Context, name string, d time.Duration, tags map[string]string)
	// TasksChanged says the open tasks changed (opened, decided, escalated,
	// closed): search attributes, current details and memo follow.
	TasksChanged()
	// Remind mails a reminder to a user.
	Remind(ctx workflow.Context, to, subject, body string) error
	// Earlier is, in a run made by a reset, what the runs it was reset
	// from recorded in the durable trail (tasks opened, decisions
	// accepted), so that it never acts against them; nil otherwise.
	Earlier(ctx workflow.Context) []Recorded
	// Case is what the instance is about, for the people who list its
	// tasks (recorded when a task opens): no personal data.
	Case() CaseData
}

// task is an open or closed task's state.
type task struct {
	spec       Spec
	state      string
	roles      []string // current candidate roles (grows on escalation)
	users      []string // named candidates (grows on delegation)
	votes      []audit.Vote
	openedAt   time.Time
	deadline   time.Time
	closedAt   *time.Time
	escalated  bool
	extended   bool
	reminders  int
	cancel     workflow.CancelFunc
	rejecter   string
	lastReason string
	// delegates are the users named by delegation (also in users).
	delegates []string
	// held says why the task waits for an operator (see hold).
	held string
	// entered are the form values of the task's first approval (canonical),
	// which later approvals confirm; rejected those of its rejection.
	entered, rejected Values
	// subject is what a signature on a decision must cover: the run, the
	// occurrence (the tasks of an instance are numbered from 1 in opening
	// order) and the facts digest when the task opened.
	subject Subject
	// ctx is the task's context, cancelled when it closes: timers started
	// later (a claim's lapse) run on it.
	ctx workflow.Context
	// Work that decides nothing (actions.go).
	work
}

// Tasks holds an instance's human tasks: the one gate (check), the one
// writer (apply), timers and refusals. Create it with New before the
// workflow first blocks.
type Tasks struct {
	rec     Host
	tasks   []*task
	signals workflow.ReceiveChannel
	actions workflow.ReceiveChannel
}

// Drain handles decisions and actions that arrived as signals after the
// process ended: each is audited as refused. The record calls it when the instance ends.
func (m *Tasks) Drain(ctx workflow.Context) {
	for {
		var raw converter.RawValue
		if !m.signals.ReceiveAsync(&raw) {
			break
		}
		m.onSignal(ctx, raw)
	}
	m.drainActions(ctx)
}

// Stats counts the tasks, escalated and expired ones.
func (m *Tasks) Stats() TaskStats {
	var st TaskStats
	for _, t := range m.tasks {
		st.Tasks++
		if t.escalated {
			st.Escalated++
		}
		if t.state == StateExpired {
			st.Expired++
		}
	}
	return st
}

// TaskStats summarise an instance's human tasks; written to the memo at the
// end for reports (counts only: memos are not encrypted).
type TaskStats struct {
	Tasks     int `json:"tasks"`
	Escalated int `json:"escalated"`
	Expired   int `json:"expired"`
}

// Views lists every task, open and closed.
func (m *Tasks) Views() []TaskView {
	out := make([]TaskView, 0, len(m.tasks))
	for _, t := range m.tasks {
		out = append(out, t.view())
	}
	return out
}

// OpenViews lists the open tasks.
func (m *Tasks) OpenViews() []TaskView {
	out := []TaskView{}
	for _, t := range m.tasks {
		if t.state == StateOpen {
			out = append(out, t.view())
		}
	}
	return out
}

func (t *task) view() TaskView {
	return TaskView{
		ID: t.spec.ID, Title: t.spec.Title, State: t.state,
		Roles: t.roles, Users: t.users, Quorum: t.spec.Quorum, Approvals: t.approvals(), Rejections: t.count(Reject),
		Votes: t.votes, Exclusions: t.spec.Exclusions,
		OpenedAt: t.openedAt, Deadline: t.deadline, ClosedAt: t.closedAt,
		Escalated: t.escalated, Reminders: t.reminders, Subject: t.subject,
		Delegates: t.delegates, DelegateRoles: t.delegateRoles(), Held: t.held,
		Claim: t.claim, Comments: t.comments, Priority: t.priority, FollowUp: t.followUp,
		Form: t.spec.Form, Entered: t.clearValues(t.entered),
	}
}

// delegateRoles are the roles a delegate must hold: the task's candidate
// roles or, for a task addressed to named users, its DelegateRoles and
// escalation roles (none: it cannot be delegated).
func (t *task) delegateRoles() []string {
	if len(t.roles) > 0 {
		return t.roles
	}
	return sortedUnique(append(slices.Clone(t.spec.DelegateRoles), t.spec.EscalateTo...))
}

func (t *task) approvals() int { return t.count(Approve) }

func (t *task) count(verdict string) int {
	n := 0
	for _, v := range t.votes {
		if v.Verdict == verdict {
			n++
		}
	}
	return n
}

// rejectionsNeeded is how many rejections end the task (at least 1).
func (t *task) rejectionsNeeded() int { return max(1, t.spec.Rejections) }

func (t *task) approvers() []string {
	var out []string
	for _, v := range t.votes {
		if v.Verdict == Approve {
			out = append(out, v.Actor)
		}
	}
	return out
}

func (m *Tasks) find(id string) *task {
	for _, t := range m.tasks {
		if t.spec.ID == id {
			return t
		}
	}
	return nil
}

func (m *Tasks) openIDs() []string {
	var ids []string
	for _, t := range m.tasks {
		if t.state == StateOpen {
			ids = append(ids, t.spec.ID)
		}
	}
	return ids
}

func orNone(ids []string) string {
	if len(ids) == 0 {
		return "none"
	}
	return strings.Join(ids, ", ")
}

// sortedUnique returns the sorted set of s.
func sortedUnique(s []string) []string {
	out := slices.Clone(s)
	sort.Strings(out)
	return slices.Compact(out)
}
