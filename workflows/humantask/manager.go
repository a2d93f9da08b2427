package humantask

import (
	"cmp"
	"crypto/ed25519"
	"encoding/base64"
	"fmt"
	"slices"
	"sort"
	"strings"
	"time"

	"go.temporal.io/sdk/log"
	"go.temporal.io/sdk/temporal"
	"go.temporal.io/sdk/workflow"

	"baton/activities"
	"baton/policy"
)

// Names that cross the wire. Package workflows re-exports them with every
// other wire name; callers use those.
const (
	UpdateName = "decide"
	SignalName = "decision"
	QueryTasks = "tasks"
	QueryAudit = "audit"
	QueryState = "status"
)

// SearchKeys are the search attributes the manager keeps current.
type SearchKeys struct {
	// ProcessType and BusinessKey are written when the starter did not set
	// them (e.g. an instance started with the official temporal CLI).
	ProcessType   temporal.SearchAttributeKeyKeyword
	BusinessKey   temporal.SearchAttributeKeyKeyword
	ProcessStage  temporal.SearchAttributeKeyKeyword
	PendingRoles  temporal.SearchAttributeKeyKeywordList
	TaskDeadline  temporal.SearchAttributeKeyTime
	HandlingPath  temporal.SearchAttributeKeyKeyword
	Outcome       temporal.SearchAttributeKeyKeyword
	PolicyVersion temporal.SearchAttributeKeyKeyword
}

// Options configure a Manager.
type Options struct {
	Process     string
	BusinessKey string
	Keys        SearchKeys
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
}

// Manager holds an instance's tasks, audit trail, stage and search
// attributes. Create it first thing in a workflow with New.
type Manager struct {
	opts      Options
	log       log.Logger
	policy    *policy.Policy
	tasks     []*task
	audit     []AuditEntry
	stage     string
	stageIdx  int
	stageTot  int
	stageText string
	path      string
	outcome   string
	facts     map[string]string
	startedAt time.Time
	closedAt  *time.Time
	// last upserted search attribute values and details, to write only changes
	lastSA      map[string]string
	lastDetails string
	dirty       bool
	signals     workflow.ReceiveChannel
}

// New registers the decide update, the decision signal and the queries, so
// they exist before the workflow first blocks.
func New(ctx workflow.Context, opts Options) (*Manager, error) {
	m := &Manager{
		opts:      opts,
		log:       log.With(workflow.GetLogger(ctx), "BusinessKey", opts.BusinessKey, "Process", opts.Process),
		facts:     map[string]string{},
		startedAt: workflow.GetInfo(ctx).WorkflowStartTime,
		lastSA:    map[string]string{},
	}
	m.readStartAttributes(ctx)
	if err := workflow.SetQueryHandler(ctx, QueryTasks, func() ([]TaskView, error) { return m.Tasks(), nil }); err != nil {
		return nil, err
	}
	if err := workflow.SetQueryHandler(ctx, QueryAudit, func() ([]AuditEntry, error) { return m.audit, nil }); err != nil {
		return nil, err
	}
	if err := workflow.SetQueryHandler(ctx, QueryState, func() (Status, error) { return m.Status(), nil }); err != nil {
		return nil, err
	}
	err := workflow.SetUpdateHandlerWithOptions(ctx, UpdateName,
		func(ctx workflow.Context, d Decision) (DecisionResult, error) {
			t, err := m.check(ctx, &d)
			if err != nil {
				// Reached only if state changed between validation and
				// handling; the validator refuses everything else.
				return DecisionResult{}, err
			}
			return m.apply(ctx, t, d, "update"), nil
		},
		workflow.UpdateHandlerOptions{
			Validator: func(ctx workflow.Context, d Decision) error {
				_, err := m.check(ctx, &d)
				if r, ok := err.(*Refusal); ok {
					m.Count(ctx, MetricRefusals, map[string]string{"reason": r.Code, "via": "update"})
					return temporal.NewApplicationError(r.msg, r.Code)
				}
				return err
			},
			Description: "Decide a human task: approve, reject or delegate",
		})
	if err != nil {
		return nil, err
	}
	workflow.Go(ctx, m.runFlusher)
	m.signals = workflow.GetSignalChannel(ctx, SignalName)
	workflow.Go(ctx, func(ctx workflow.Context) {
		for {
			var d Decision
			if !m.signals.Receive(ctx, &d) {
				return
			}
			m.onSignal(ctx, d)
		}
	})
	return m, nil
}

// readStartAttributes remembers what the starter already set, so it is not
// upserted again.
func (m *Manager) readStartAttributes(ctx workflow.Context) {
	sa := workflow.GetTypedSearchAttributes(ctx)
	k := m.opts.Keys
	for _, key := range []temporal.SearchAttributeKeyKeyword{k.ProcessType, k.BusinessKey, k.ProcessStage, k.HandlingPath, k.Outcome, k.PolicyVersion} {
		if key.GetName() == "" {
			continue
		}
		if v, ok := sa.GetKeyword(key); ok {
			m.lastSA[key.GetName()] = v
		}
	}
}

func (m *Manager) onSignal(ctx workflow.Context, d Decision) {
	t, err := m.check(ctx, &d)
	if err != nil {
		if r, ok := err.(*Refusal); ok {
			m.Count(ctx, MetricRefusals, map[string]string{"reason": r.Code, "via": "signal"})
		}
		m.Audit(ctx, actorOrUnknown(d.Actor), ActionDecisionRefused, d.TaskID, fmt.Sprintf("%s refused (signal): %v", d.Verdict, err))
		m.log.Warn("decision refused", "Actor", d.Actor, "TaskID", d.TaskID, "Reason", err.Error())
		return
	}
	m.apply(ctx, t, d, "signal")
}

func actorOrUnknown(a string) string {
	if a == "" {
		return "(unknown)"
	}
	return a
}

// SetPolicy pins the policy snapshot for this instance and records its
// version in the audit trail and search attributes.
func (m *Manager) SetPolicy(ctx workflow.Context, p *policy.Policy) {
	m.policy = p
	m.changed()
}

// LoadPolicy reads the policy through the activity (recorded in history,
// so replay sees the same policy) and pins it.
func (m *Manager) LoadPolicy(ctx workflow.Context) (*policy.Policy, error) {
	actx := workflow.WithActivityOptions(ctx, workflow.ActivityOptions{
		StartToCloseTimeout: 10 * time.Second,
		Summary:             "policy: load and pin for " + m.opts.BusinessKey,
	})
	var pa *activities.Policy
	var res activities.LoadPolicyResult
	if err := workflow.ExecuteActivity(actx, pa.LoadPolicy).Get(ctx, &res); err != nil {
		return nil, fmt.Errorf("load policy: %w", err)
	}
	m.SetPolicy(ctx, &res.Policy)
	return &res.Policy, nil
}

// Start pins the policy, audits the start and counts it.
func (m *Manager) Start(ctx workflow.Context, details string) (*policy.Policy, error) {
	p, err := m.LoadPolicy(ctx)
	if err != nil {
		return nil, err
	}
	m.Audit(ctx, SystemActor, ActionStarted, "", details)
	m.Count(ctx, MetricProcessStarted, nil)
	return p, nil
}

// Policy returns the pinned policy (nil before LoadPolicy).
func (m *Manager) Policy() *policy.Policy { return m.policy }

// Audit appends an entry to the trail.
func (m *Manager) Audit(ctx workflow.Context, actor, action, taskID, details string) {
	version := ""
	if m.policy != nil {
		version = m.policy.Version
	}
	m.audit = append(m.audit, AuditEntry{
		Time: workflow.Now(ctx).UTC(), Actor: actor, Action: action, TaskID: taskID,
		Details: details, PolicyVersion: version,
	})
}

// AuditTrail returns the trail so far.
func (m *Manager) AuditTrail() []AuditEntry { return m.audit }

// SetFact records a business fact shown in status and details (no
// personal data: details are not encrypted).
func (m *Manager) SetFact(key, value string) { m.facts[key] = value }

// SetStage moves the process to a stage: index of total, and a one-line
// description for people ("awaiting underwriter approval").
func (m *Manager) SetStage(ctx workflow.Context, name string, index, total int, description string) {
	m.stage, m.stageIdx, m.stageTot, m.stageText = name, index, total, description
	m.log.Info("stage", "Stage", name, "Index", index, "Total", total)
	m.changed()
}

// SetHandlingPath records automated or manual handling.
func (m *Manager) SetHandlingPath(ctx workflow.Context, path string) {
	m.path = path
	m.changed()
}

// HandlingPath returns the recorded handling path.
func (m *Manager) HandlingPath() string { return m.path }

// Finish cancels open tasks, records the outcome, waits for running
// handlers and drains decisions that arrived too late (they are audited
// as refused: the process has ended).
func (m *Manager) Finish(ctx workflow.Context, outcome, details string) {
	m.CancelOpen(ctx, "the process ended: "+outcome)
	now := workflow.Now(ctx).UTC()
	m.closedAt = &now
	m.outcome = outcome
	m.Audit(ctx, SystemActor, ActionCompleted, "", cmp.Or(details, outcome))
	m.stage, m.stageIdx, m.stageText = StageCompleted, m.stageTot, "ended: "+outcome
	m.flush(ctx)
	m.ended(ctx, now)
	_ = workflow.Await(ctx, func() bool { return workflow.AllHandlersFinished(ctx) })
	for {
		var d Decision
		if !m.signals.ReceiveAsync(&d) {
			break
		}
		m.onSignal(ctx, d)
	}
	m.log.Info("process finished", "Outcome", outcome)
}

// Fail records a failed process (a step that could not be completed).
func (m *Manager) Fail(ctx workflow.Context, outcome string, err error) {
	m.CancelOpen(ctx, "the process failed")
	now := workflow.Now(ctx).UTC()
	m.closedAt = &now
	m.outcome = outcome
	m.Audit(ctx, SystemActor, ActionFailed, "", err.Error())
	m.stage, m.stageText = StageFailed, "failed: "+err.Error()
	m.flush(ctx)
	m.ended(ctx, now)
	_ = workflow.Await(ctx, func() bool { return workflow.AllHandlersFinished(ctx) })
}

// TaskStats summarise an instance's human tasks; written to the memo at the
// end for reports (counts only: memos are not encrypted).
type TaskStats struct {
	Tasks     int `json:"tasks"`
	Escalated int `json:"escalated"`
	Expired   int `json:"expired"`
}

// MemoTaskStats is the memo key of TaskStats.
const MemoTaskStats = "taskStats"

func (m *Manager) ended(ctx workflow.Context, now time.Time) {
	path := cmp.Or(m.path, "none")
	m.Count(ctx, MetricProcessCompleted, map[string]string{"outcome": m.outcome, "handling_path": path})
	m.observe(ctx, MetricProcessDuration, now.Sub(m.startedAt), map[string]string{"handling_path": path})
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
	if st.Tasks > 0 {
		if err := workflow.UpsertMemo(ctx, map[string]any{MemoTaskStats: st}); err != nil {
			m.log.Warn("memo not updated", "Error", err)
		}
	}
}

// Outcome returns the recorded outcome.
func (m *Manager) Outcome() string { return m.outcome }

// Tasks lists every task, open and closed.
func (m *Manager) Tasks() []TaskView {
	out := make([]TaskView, 0, len(m.tasks))
	for _, t := range m.tasks {
		out = append(out, t.view())
	}
	return out
}

// Status answers the status query.
func (m *Manager) Status() Status {
	s := Status{
		Process: m.opts.Process, BusinessKey: m.opts.BusinessKey,
		Stage: m.stage, StageIndex: m.stageIdx, StageTotal: m.stageTot,
		HandlingPath: m.path, Outcome: m.outcome, StartedAt: m.startedAt, ClosedAt: m.closedAt,
		OpenTasks: []TaskView{}, Facts: m.facts,
	}
	if m.policy != nil {
		s.PolicyVersion = m.policy.Version
	}
	for _, t := range m.tasks {
		if t.state == StateOpen {
			s.OpenTasks = append(s.OpenTasks, t.view())
		}
	}
	return s
}

func (t *task) view() TaskView {
	return TaskView{
		ID: t.spec.ID, Title: t.spec.Title, State: t.state,
		Roles: t.roles, Users: t.users, Quorum: t.spec.Quorum, Approvals: t.approvals(), Rejections: t.count(Reject),
		Votes: t.votes, Exclusions: t.spec.Exclusions,
		OpenedAt: t.openedAt, Deadline: t.deadline, ClosedAt: t.closedAt,
		Escalated: t.escalated, Reminders: t.reminders,
	}
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

func (t *task) decided(user string) bool {
	return slices.ContainsFunc(t.votes, func(v Vote) bool { return v.Actor == user })
}

func (t *task) exclusion(user string) (string, bool) {
	for _, e := range t.spec.Exclusions {
		if e.User == user {
			return e.Reason, true
		}
	}
	return "", false
}

// eligible reports whether user is a candidate: a named user, or a holder of
// a current candidate role.
func (m *Manager) eligible(t *task, user string) bool {
	if slices.Contains(t.users, user) {
		return true
	}
	for _, r := range t.roles {
		if m.policy != nil && m.policy.HasRole(user, r) {
			return true
		}
	}
	return false
}

func (m *Manager) find(id string) *task {
	for _, t := range m.tasks {
		if t.spec.ID == id {
			return t
		}
	}
	return nil
}

func (m *Manager) openIDs() []string {
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
)

func refuse(code, format string, args ...any) *Refusal {
	return &Refusal{Code: code, msg: fmt.Sprintf(format, args...)}
}

// check is the one place that decides whether a decision is allowed. It
// resolves an omitted task id and changes nothing else.
func (m *Manager) check(ctx workflow.Context, d *Decision) (*task, error) {
	sent := *d // the signature covers the decision as sent, before the task id is resolved
	switch d.Verdict {
	case Approve, Reject, Delegate:
	default:
		return nil, refuse(RefusedInvalid, "verdict: %q is not one of approve, reject, delegate", d.Verdict)
	}
	if d.Actor == "" {
		return nil, refuse(RefusedInvalid, "actor: required")
	}
	if m.policy == nil {
		return nil, refuse(RefusedNoOpenTask, "the process is starting: no task is open yet")
	}
	user, known := m.policy.Users[d.Actor]
	if !known {
		return nil, refuse(RefusedInvalid, "actor: %q is not in the directory", d.Actor)
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
	if err := m.checkSignature(ctx, &sent, user); err != nil {
		return nil, refuse(RefusedSignature, "%s", err.Error())
	}
	if reason, excluded := t.exclusion(d.Actor); excluded {
		return nil, refuse(RefusedExcluded, "%s may not decide task %q: separation of duties (%s)", d.Actor, d.TaskID, reason)
	}
	if !m.eligible(t, d.Actor) {
		return nil, refuse(RefusedNoRole, "%s may not decide task %q: needs %s", d.Actor, d.TaskID, m.candidatesText(t))
	}
	if t.decided(d.Actor) {
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
		if _, ok := m.policy.Users[d.DelegateTo]; !ok {
			return nil, refuse(RefusedDelegation, "delegateTo: %q is not in the directory", d.DelegateTo)
		}
		if reason, excluded := t.exclusion(d.DelegateTo); excluded {
			return nil, refuse(RefusedDelegation, "delegateTo: %s may not decide task %q: separation of duties (%s)", d.DelegateTo, d.TaskID, reason)
		}
		if t.decided(d.DelegateTo) {
			return nil, refuse(RefusedDelegation, "delegateTo: %s already decided task %q", d.DelegateTo, d.TaskID)
		}
		if len(t.roles) > 0 && !m.holdsCandidateRole(t, d.DelegateTo) {
			return nil, refuse(RefusedDelegation, "delegateTo: %s lacks the role for task %q (needs one of: %s)", d.DelegateTo, d.TaskID, strings.Join(t.roles, ", "))
		}
	}
	return t, nil
}

func (m *Manager) holdsCandidateRole(t *task, user string) bool {
	for _, r := range t.roles {
		if m.policy.HasRole(user, r) {
			return true
		}
	}
	return false
}

func (m *Manager) candidatesText(t *task) string {
	var parts []string
	if len(t.roles) > 0 {
		parts = append(parts, "role "+strings.Join(t.roles, " or "))
	}
	if len(t.users) > 0 {
		parts = append(parts, "to be "+strings.Join(t.users, " or "))
	}
	return strings.Join(parts, ", or ")
}

// SigningBytes is what a decision's signature covers: the instance, the
// task and every field of the decision, so it cannot be replayed elsewhere.
// A decision from a trusted signer also covers the signer and how it
// authenticated the actor.
func SigningBytes(workflowID string, d Decision) []byte {
	fields := []string{"baton-decision/v1", workflowID, d.TaskID, d.Verdict, d.Actor, d.DelegateTo, d.Comment}
	if d.Signer != "" {
		fields = append(fields, "signer:"+d.Signer, "authenticated:"+d.Authenticated)
	}
	return []byte(strings.Join(fields, "\n"))
}

// checkSignature verifies a signed decision: against the actor's key, or,
// when it names a signer, against that signer's key if the policy lists it
// (a trusted signer may sign for any actor, only then).
func (m *Manager) checkSignature(ctx workflow.Context, d *Decision, u policy.User) error {
	if d.Signature == "" {
		if d.Signer != "" {
			return fmt.Errorf("signature: signer %s sent no signature", d.Signer)
		}
		if m.policy.RequireSignedDecisions {
			return fmt.Errorf("signature: the policy requires signed decisions")
		}
		return nil
	}
	key, owner := u.PublicKey, d.Actor
	if d.Signer != "" {
		s, trusted := m.policy.Signers[d.Signer]
		if !trusted {
			return fmt.Errorf("signature: signer %s is not trusted by policy %s", d.Signer, m.policy.Version)
		}
		key, owner = s.PublicKey, "signer "+d.Signer
	} else if key == "" {
		return fmt.Errorf("signature: %s has no public key in the directory", d.Actor)
	}
	pub, err := base64.StdEncoding.DecodeString(key)
	if err != nil || len(pub) != ed25519.PublicKeySize {
		return fmt.Errorf("signature: %s's public key is not an Ed25519 key", owner)
	}
	sig, err := base64.StdEncoding.DecodeString(d.Signature)
	if err != nil || !ed25519.Verify(pub, SigningBytes(workflow.GetInfo(ctx).WorkflowExecution.ID, *d), sig) {
		if d.Signer != "" {
			return fmt.Errorf("signature: does not verify for %s by signer %s", d.Actor, d.Signer)
		}
		return fmt.Errorf("signature: does not verify for %s", d.Actor)
	}
	return nil
}

// apply records an accepted decision; check has passed.
func (m *Manager) apply(ctx workflow.Context, t *task, d Decision, via string) DecisionResult {
	now := workflow.Now(ctx).UTC()
	t.votes = append(t.votes, Vote{Actor: d.Actor, Verdict: d.Verdict, Comment: d.Comment, DelegateTo: d.DelegateTo, At: now, Via: via,
		Signer: d.Signer, Authenticated: d.Authenticated})
	how := via + signedBy(d) // for the trail; metrics keep the bare via
	res := DecisionResult{TaskID: t.spec.ID, Quorum: t.spec.Quorum}
	m.Count(ctx, MetricDecisions, map[string]string{"verdict": d.Verdict, "via": via})
	switch d.Verdict {
	case Approve:
		res.Approvals = t.approvals()
		m.Audit(ctx, d.Actor, ActionDecisionAccepted, t.spec.ID, fmt.Sprintf("approve (%d of %d) via %s%s", res.Approvals, t.spec.Quorum, how, commentSuffix(d.Comment)))
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
			m.Audit(ctx, d.Actor, ActionDecisionAccepted, t.spec.ID, "reject via "+how+commentSuffix(d.Comment))
		} else {
			m.Audit(ctx, d.Actor, ActionDecisionAccepted, t.spec.ID, fmt.Sprintf("reject (%d of %d) via %s%s", n, need, how, commentSuffix(d.Comment)))
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
		}
		m.Audit(ctx, d.Actor, ActionDelegated, t.spec.ID, fmt.Sprintf("delegated to %s via %s%s", d.DelegateTo, how, commentSuffix(d.Comment)))
		res.Message = "accepted: delegated to " + d.DelegateTo
	}
	res.State = t.state
	m.changed() // approvals so far show in the current details
	m.log.Info("decision accepted", "TaskID", t.spec.ID, "Actor", d.Actor, "Verdict", d.Verdict, "Via", via)
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

func (m *Manager) close(ctx workflow.Context, t *task, state, details string) {
	now := workflow.Now(ctx).UTC()
	t.state, t.closedAt = state, &now
	if t.cancel != nil {
		t.cancel()
	}
	m.Count(ctx, MetricTasksClosed, map[string]string{"task": t.spec.ID, "state": state, "escalated": fmt.Sprint(t.escalated)})
	m.observe(ctx, MetricTaskWait, now.Sub(t.openedAt), map[string]string{"task": t.spec.ID})
	m.Audit(ctx, SystemActor, ActionTaskClosed, t.spec.ID, state+": "+details)
	m.changed()
}

// CancelOpen closes every open task as cancelled (the process ended first).
func (m *Manager) CancelOpen(ctx workflow.Context, reason string) {
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
