package humantask

import (
	"cmp"
	"fmt"
	"slices"
	"sort"
	"strings"
	"time"

	"go.temporal.io/sdk/converter"
	"go.temporal.io/sdk/log"
	"go.temporal.io/sdk/temporal"
	"go.temporal.io/sdk/workflow"

	"github.com/batonhq/baton/policy"
)

// Names that cross the wire: the messages of human tasks.
const (
	// UpdateDecide takes a Decision and answers synchronously; its
	// validator refuses what the policy forbids before history is written.
	UpdateDecide = "decide"
	// SignalDecision takes the same payload; refusals land in the audit trail.
	SignalDecision = "decision"
	// QueryTasks lists every task, open and closed.
	QueryTasks = "tasks"
)

// Record is what tasks report to: the instance record (package
// workflows/record) implements it. Tasks never write search attributes,
// details, memo or audit themselves, and call no activity.
type Record interface {
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
}

// task is an open or closed task's state.
type task struct {
	spec       Spec
	state      string
	roles      []string // current candidate roles (grows on escalation)
	users      []string // named candidates (grows on delegation)
	votes      []Vote
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
	// subject is what a signature on a decision must cover: the run, the
	// occurrence (the tasks of an instance are numbered from 1 in opening
	// order) and the facts digest when the task opened.
	subject Subject
}

// Tasks holds an instance's human tasks: the one gate (check), the one
// writer (apply), timers and refusals. Create it with New before the
// workflow first blocks.
type Tasks struct {
	rec     Record
	tasks   []*task
	signals workflow.ReceiveChannel
}

// New registers the decide update, the decision signal and the tasks query,
// so they exist before the workflow first blocks.
func New(ctx workflow.Context, rec Record) (*Tasks, error) {
	m := &Tasks{rec: rec}
	if err := workflow.SetQueryHandler(ctx, QueryTasks, func() ([]TaskView, error) { return m.Views(), nil }); err != nil {
		return nil, err
	}
	err := workflow.SetUpdateHandlerWithOptions(ctx, UpdateDecide,
		func(ctx workflow.Context, d Decision) (DecisionResult, error) {
			m.reconcileOpen(ctx)
			checked := d
			t, err := m.checkLive(ctx, &checked)
			if err != nil {
				// Reached if the live directory revoked the actor's key
				// or role, does not trust a signature the validator
				// deferred, or state changed between validation and
				// handling (the deadline passed): the update is in
				// history, so the refusal goes to the trail too.
				m.refused(ctx, d, err, "update")
				return DecisionResult{}, m.refusedUpdate(ctx, err)
			}
			return m.apply(ctx, t, d, "update", nil), nil
		},
		workflow.UpdateHandlerOptions{
			// The validator cannot call an activity: it reads the
			// worker's current directory in memory (ValidatorDirectory),
			// the same entries the handler then reads, recorded, through
			// the local activity, and checks with them laid over the
			// pinned policy, as the handler does.
			Validator: func(ctx workflow.Context, d Decision) error {
				pol := m.rec.Policy()
				if dir := ValidatorDirectory; pol != nil && dir != nil {
					pol = Overlay(pol, dir(d.Actor, d.DelegateTo), d.Actor, d.DelegateTo)
				}
				_, err := m.check(ctx, &d, pol)
				return m.refusedUpdate(ctx, err)
			},
			Description: "Decide a human task: approve, reject or delegate",
		})
	if err != nil {
		return nil, err
	}
	m.signals = workflow.GetSignalChannel(ctx, SignalDecision)
	workflow.Go(ctx, func(ctx workflow.Context) {
		for {
			// Received raw and decoded strictly here, so a payload that
			// is not a decision is refused and audited, not dropped.
			var raw converter.RawValue
			if !m.signals.Receive(ctx, &raw) {
				return
			}
			m.onSignal(ctx, raw)
		}
	})
	return m, nil
}

// refusedUpdate counts a refusal of the decide update and turns it into
// the update's error (its code as the type); any other error (nil
// included) passes as it is.
func (m *Tasks) refusedUpdate(ctx workflow.Context, err error) error {
	r, ok := err.(*Refusal)
	if !ok {
		return err
	}
	m.rec.Count(ctx, MetricRefusals, map[string]string{"reason": r.Code, "via": "update"})
	return temporal.NewApplicationError(r.msg, r.Code)
}

func (m *Tasks) onSignal(ctx workflow.Context, raw converter.RawValue) {
	d, err := decodeDecision(raw)
	if err != nil {
		m.rec.Count(ctx, MetricRefusals, map[string]string{"reason": RefusedInvalid, "via": "signal"})
		actor := ActorOrUnknown(Clip(d.Actor, MaxNameBytes))
		info := workflow.GetInfo(ctx).WorkflowExecution
		how := How{Via: "signal", Reason: RefusedInvalid, Data: malformedData(raw, Subject{WorkflowID: info.ID, RunID: info.RunID})}
		m.rec.AuditRefused(ctx, actor, ActionDecisionRefused, "", "decision refused (signal): "+Clip(err.Error(), MaxTextBytes), how)
		m.rec.Logger().Warn("decision refused: malformed", "Actor", actor, "Reason", err.Error())
		return
	}
	m.reconcileOpen(ctx)
	checked := d
	t, err := m.checkLive(ctx, &checked)
	if err != nil {
		if r, ok := err.(*Refusal); ok {
			m.rec.Count(ctx, MetricRefusals, map[string]string{"reason": r.Code, "via": "signal"})
		}
		m.refused(ctx, d, err, "signal")
		return
	}
	m.apply(ctx, t, d, "signal", nil)
}

// refused audits a refused decision (the first MaxRefusedAudited of an
// instance one by one): only clipped values are recorded in its fields,
// since an oversize message is refused by its size before anything else
// reads it; its data holds the decision as received (cut to its bounds)
// and its task's subject.
func (m *Tasks) refused(ctx workflow.Context, d Decision, err error, via string) {
	actor, task := ActorOrUnknown(Clip(d.Actor, MaxNameBytes)), Clip(d.TaskID, MaxNameBytes)
	m.rec.AuditRefused(ctx, actor, ActionDecisionRefused, task, fmt.Sprintf("%s refused (%s): %v", Clip(d.Verdict, MaxNameBytes), via, err),
		refusedHow(d, err, via, m.subjectOf(ctx, d)))
	m.rec.Logger().Warn("decision refused", "Actor", actor, "TaskID", task, "Via", via, "Reason", err.Error())
}

// subjectOf is the subject of the task d names (the only open one when it
// names none), or, when there is no such task, the instance's run and the
// task id as sent.
func (m *Tasks) subjectOf(ctx workflow.Context, d Decision) Subject {
	id := d.TaskID
	if open := m.openIDs(); id == "" && len(open) == 1 {
		id = open[0]
	}
	if t := m.find(id); t != nil {
		return t.subject
	}
	info := workflow.GetInfo(ctx).WorkflowExecution
	return Subject{WorkflowID: info.ID, RunID: info.RunID, TaskID: cut(d.TaskID, MaxNameBytes)}
}

// ActorOrUnknown names an anonymous sender in the trail.
func ActorOrUnknown(a string) string {
	if a == "" {
		return "(unknown)"
	}
	return a
}

// ValidatorDirectory, when set, returns the worker's current directory
// entries of users, with its signers, version and requireSignedDecisions
// (what the Directory activity returns), read in memory: the worker sets
// it, so that the update's validator judges trust as the handler does.
// Validators never run on replay and change nothing, so reading live state
// there is safe; the handler reads the same through a recorded local
// activity. Unset (tests, a replayer), the validator checks the pinned
// policy and the handler decides with the live directory.
var ValidatorDirectory func(users ...string) *policy.Policy

// checkLive is the handlers' check: against the pinned policy, then against
// the worker's live directory entries of the actor and delegate laid over
// it (a local activity). The directory decides who may act and whose
// signature counts: a key, role, user or signer removed since the policy
// was pinned no longer decides, and one added since does, from the next
// decision. So a refusal the live directory could lift (an unknown actor
// or delegate, a missing role, a signature it might verify) goes on to the
// live check; any other refusal stands without reading the directory.
func (m *Tasks) checkLive(ctx workflow.Context, d *Decision) (*task, error) {
	pinned := m.rec.Policy()
	if _, err := m.check(ctx, d, pinned); err != nil {
		if r, ok := err.(*Refusal); !ok || !r.directory {
			return nil, err
		}
	}
	live, err := m.rec.LiveDirectory(ctx, d.Actor, d.DelegateTo)
	if err != nil {
		return nil, refuse(RefusedUnavailable, "the directory could not be read: %v", err)
	}
	return m.check(ctx, d, Overlay(pinned, live, d.Actor, d.DelegateTo))
}

// Drain handles decisions that arrived as signals after the process ended:
// each is audited as refused. The record calls it when the instance ends.
func (m *Tasks) Drain(ctx workflow.Context) {
	for {
		var raw converter.RawValue
		if !m.signals.ReceiveAsync(&raw) {
			return
		}
		m.onSignal(ctx, raw)
	}
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

// Refusal is a decision the policy forbids: Code classifies it (a metric
// label and the update's error type), the message says why to a person.
type Refusal struct {
	Code string
	msg  string
	// directory: the live directory could lift it (see checkLive).
	directory bool
}

func (r *Refusal) Error() string { return r.msg }

// Refusal codes.
const (
	RefusedInvalid        = "invalid"
	RefusedNoOpenTask     = "no-open-task"
	RefusedUnknownTask    = "unknown-task"
	RefusedClosed         = "closed"
	RefusedSignature      = "signature"
	RefusedExcluded       = "separation-of-duties"
	RefusedNoRole         = "not-a-candidate"
	RefusedAlreadyDecided = "already-decided"
	RefusedDelegation     = "bad-delegation"
	RefusedTooLarge       = "too-large"
	RefusedUnavailable    = "directory-unavailable"
	// RefusedHeld: the task waits for an operator (see hold).
	RefusedHeld = "held"
	// RefusedStarting: the instance has not pinned its policy yet; the same
	// request a moment later is decided (the starter retries it).
	RefusedStarting = "starting"
)

func refuse(code, format string, args ...any) *Refusal {
	return &Refusal{Code: code, msg: fmt.Sprintf(format, args...)}
}

// refuseByDirectory is a refusal the directory's entries decided.
func refuseByDirectory(code, format string, args ...any) *Refusal {
	r := refuse(code, format, args...)
	r.directory = true
	return r
}

// check is the one place that decides whether a decision is allowed under
// pol (the pinned policy, or it with live directory entries laid over). It
// resolves an omitted task id and changes nothing else.
func (m *Tasks) check(ctx workflow.Context, d *Decision, pol *policy.Policy) (*task, error) {
	if err := d.bounds(); err != nil {
		return nil, refuse(RefusedTooLarge, "%v", err)
	}
	switch d.Verdict {
	case Approve, Reject, Delegate:
	default:
		return nil, refuse(RefusedInvalid, "verdict: %q is not one of approve, reject, delegate", d.Verdict)
	}
	if d.Actor == "" {
		return nil, refuse(RefusedInvalid, "actor: required")
	}
	if pol == nil {
		return nil, refuse(RefusedNoOpenTask, "the process is starting: no task is open yet")
	}
	user, known := pol.Users[d.Actor]
	if !known {
		if _, pinned := m.rec.Policy().Users[d.Actor]; pinned {
			return nil, refuseByDirectory(RefusedNoRole, "actor: %q is no longer in the directory", d.Actor)
		}
		return nil, refuseByDirectory(RefusedInvalid, "actor: %q is not in the directory", d.Actor)
	}
	if d.TaskID == "" {
		open := m.openIDs()
		switch len(open) {
		case 0:
			if n := len(m.tasks); n > 0 {
				last := m.tasks[n-1]
				return nil, refuse(RefusedNoOpenTask, "no task is open: task %q is already %s", last.spec.ID, last.state)
			}
			return nil, refuse(RefusedNoOpenTask, "no task is open")
		case 1:
			d.TaskID = open[0]
		default:
			return nil, refuse(RefusedNoOpenTask, "taskId: required, %d tasks are open (%s)", len(open), strings.Join(open, ", "))
		}
	}
	t := m.find(d.TaskID)
	if t == nil {
		return nil, refuse(RefusedUnknownTask, "task %q: unknown task (open: %s)", d.TaskID, orNone(m.openIDs()))
	}
	if t.state != StateOpen {
		return nil, refuse(RefusedClosed, "task %q is already %s", d.TaskID, t.state)
	}
	if t.held != "" {
		return nil, refuse(RefusedHeld, "task %q is held for an operator: %s", d.TaskID, t.held)
	}
	if err := m.checkSignature(ctx, t, d, pol, user); err != nil {
		return nil, refuseByDirectory(RefusedSignature, "%s", err.Error())
	}
	v := t.view()
	switch MayAct(pol, d.Actor, v) {
	case RefusedExcluded:
		reason, _ := v.exclusion(d.Actor)
		return nil, refuse(RefusedExcluded, "%s may not decide task %q: separation of duties (%s)", d.Actor, d.TaskID, reason)
	case RefusedNoRole:
		if slices.Contains(v.Delegates, d.Actor) && !v.named(d.Actor) {
			return nil, refuseByDirectory(RefusedNoRole, "%s may not decide task %q: it was delegated to %s, who no longer holds %s",
				d.Actor, d.TaskID, d.Actor, "role "+strings.Join(v.DelegateRoles, " or "))
		}
		return nil, refuseByDirectory(RefusedNoRole, "%s may not decide task %q: needs %s", d.Actor, d.TaskID, candidatesText(v))
	case RefusedAlreadyDecided:
		return nil, refuse(RefusedAlreadyDecided, "%s already decided task %q", d.Actor, d.TaskID)
	}
	switch d.Verdict {
	case Reject:
		if strings.TrimSpace(d.Comment) == "" {
			return nil, refuse(RefusedInvalid, "comment: a reason is required to reject")
		}
	case Delegate:
		if d.DelegateTo == "" {
			return nil, refuse(RefusedDelegation, "delegateTo: required to delegate")
		}
		if d.DelegateTo == d.Actor {
			return nil, refuse(RefusedDelegation, "delegateTo: %s cannot delegate to themselves", d.Actor)
		}
		if _, ok := pol.Users[d.DelegateTo]; !ok {
			return nil, refuseByDirectory(RefusedDelegation, "delegateTo: %q is not in the directory", d.DelegateTo)
		}
		if reason, excluded := v.exclusion(d.DelegateTo); excluded {
			return nil, refuse(RefusedDelegation, "delegateTo: %s may not decide task %q: separation of duties (%s)", d.DelegateTo, d.TaskID, reason)
		}
		if v.decided(d.DelegateTo) {
			return nil, refuse(RefusedDelegation, "delegateTo: %s already decided task %q", d.DelegateTo, d.TaskID)
		}
		// A task addressed to named users (a manager) delegates only to
		// holders of its DelegateRoles or of the roles it escalates to:
		// delegation never widens a task beyond what the policy names.
		roles := t.delegateRoles()
		if len(roles) == 0 {
			return nil, refuse(RefusedDelegation, "delegateTo: task %q is addressed to %s and names no role to delegate to", d.TaskID, strings.Join(t.users, ", "))
		}
		if !slices.ContainsFunc(roles, func(r string) bool { return pol.HasRole(d.DelegateTo, r) }) {
			return nil, refuseByDirectory(RefusedDelegation, "delegateTo: %s lacks the role for task %q (needs one of: %s)", d.DelegateTo, d.TaskID, strings.Join(roles, ", "))
		}
	}
	return t, nil
}

// checkSignature verifies a signed decision over its task's subject:
// against the actor's key, or, when it names a signer, against that
// signer's key if the policy (pinned, with the worker's live signers laid
// over it) lists it: a trusted signer may sign for any actor, only then.
func (m *Tasks) checkSignature(ctx workflow.Context, t *task, d *Decision, pol *policy.Policy, u policy.User) error {
	if d.Signature == "" {
		if d.Signer != "" {
			return fmt.Errorf("signature: signer %s sent no signature", d.Signer)
		}
		if pol.RequireSignedDecisions {
			return fmt.Errorf("signature: the policy requires signed decisions")
		}
		return nil
	}
	msg := SigningBytes(t.subject, *d)
	if d.Signer != "" {
		s, trusted := pol.Signers[d.Signer]
		if !trusted {
			return fmt.Errorf("signature: signer %s is not trusted by policy %s", d.Signer, pol.Version)
		}
		return VerifySignerSignature(d.Signer, d.Actor, s, msg, d.Signature)
	}
	return VerifySignature(d.Actor, u, msg, d.Signature)
}

// apply records an accepted decision, d as received; check has passed. A
// decision an earlier run recorded (from: a reset run honours it) is
// applied the same way and audited as decision-honoured, naming from.
func (m *Tasks) apply(ctx workflow.Context, t *task, d Decision, via string, from *Recorded) DecisionResult {
	now := workflow.Now(ctx).UTC()
	t.votes = append(t.votes, Vote{Actor: d.Actor, Verdict: d.Verdict, Comment: d.Comment, DelegateTo: d.DelegateTo, At: now, Via: via,
		Signer: d.Signer, Authenticated: d.Authenticated})
	trail := "via " + via + signedBy(d) // the trail's wording; metrics and How keep the bare via
	res := DecisionResult{TaskID: t.spec.ID, Quorum: t.spec.Quorum}
	how := How{Via: via, Signature: d.Signature, Reason: d.Comment, Data: decisionData(d, t.subject)}
	accepted, delegated := ActionDecisionAccepted, ActionDelegated
	if from != nil {
		trail = "honoured from " + from.ref() + signedBy(d)
		how.Data = from.Data
		accepted, delegated = ActionDecisionHonoured, ActionDecisionHonoured
	}
	m.rec.Count(ctx, MetricDecisions, map[string]string{"verdict": d.Verdict, "via": via})
	switch d.Verdict {
	case Approve:
		res.Approvals = t.approvals()
		m.rec.AuditDecision(ctx, d.Actor, accepted, t.spec.ID, fmt.Sprintf("approve (%d of %d) %s%s", res.Approvals, t.spec.Quorum, trail, commentSuffix(d.Comment)), how)
		if res.Approvals >= t.spec.Quorum {
			m.close(ctx, t, StateApproved, fmt.Sprintf("approved by %s", strings.Join(t.approvers(), ", ")))
			res.Message = fmt.Sprintf("accepted: approved (%d of %d approvals)", res.Approvals, t.spec.Quorum)
		} else {
			res.Message = fmt.Sprintf("accepted: %d of %d approvals", res.Approvals, t.spec.Quorum)
		}
	case Reject:
		res.Approvals = t.approvals()
		t.rejecter, t.lastReason = d.Actor, d.Comment
		n, need := t.count(Reject), t.rejectionsNeeded()
		if need == 1 {
			m.rec.AuditDecision(ctx, d.Actor, accepted, t.spec.ID, "reject "+trail+commentSuffix(d.Comment), how)
		} else {
			m.rec.AuditDecision(ctx, d.Actor, accepted, t.spec.ID, fmt.Sprintf("reject (%d of %d) %s%s", n, need, trail, commentSuffix(d.Comment)), how)
		}
		if n >= need {
			m.close(ctx, t, StateRejected, "rejected by "+d.Actor)
			res.Message = "accepted: rejected"
		} else {
			res.Message = fmt.Sprintf("accepted: %d of %d rejections", n, need)
		}
	case Delegate:
		res.Approvals = t.approvals()
		if !slices.Contains(t.users, d.DelegateTo) {
			t.users = append(t.users, d.DelegateTo)
			t.delegates = append(t.delegates, d.DelegateTo)
		}
		m.rec.AuditDecision(ctx, d.Actor, delegated, t.spec.ID, fmt.Sprintf("delegated to %s %s%s", d.DelegateTo, trail, commentSuffix(d.Comment)), how)
		res.Message = "accepted: delegated to " + d.DelegateTo
	}
	res.State = t.state
	m.rec.TasksChanged() // approvals so far show in the current details
	m.rec.Logger().Info("decision accepted", "TaskID", t.spec.ID, "Actor", d.Actor, "Verdict", d.Verdict, "Via", via)
	return res
}

// signedBy names the trusted signer that vouched for the actor, and how it
// authenticated them, for the audit trail.
func signedBy(d Decision) string {
	if d.Signer == "" {
		return ""
	}
	return fmt.Sprintf(", signed by %s (authenticated: %s)", d.Signer, cmp.Or(d.Authenticated, "unstated"))
}

func commentSuffix(c string) string {
	if c == "" {
		return ""
	}
	return ": " + c
}

func (m *Tasks) close(ctx workflow.Context, t *task, state, details string) {
	now := workflow.Now(ctx).UTC()
	t.state, t.closedAt = state, &now
	if t.cancel != nil {
		t.cancel()
	}
	m.rec.Count(ctx, MetricTasksClosed, map[string]string{"task": t.spec.ID, "state": state, "escalated": fmt.Sprint(t.escalated)})
	m.rec.Observe(ctx, MetricTaskWait, now.Sub(t.openedAt), map[string]string{"task": t.spec.ID})
	m.rec.Audit(ctx, SystemActor, ActionTaskClosed, t.spec.ID, state+": "+details)
	m.rec.TasksChanged()
}

// CancelOpen closes every open task as cancelled (the process ended first).
func (m *Tasks) CancelOpen(ctx workflow.Context, reason string) {
	for _, t := range m.tasks {
		if t.state == StateOpen {
			m.close(ctx, t, StateCancelled, reason)
		}
	}
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
