package humantask

// The gate: the decide update (its validator) and the decision signal, the
// one check (check) each runs once, and the one writer (apply) of an
// accepted decision.

import (
	"fmt"
	"slices"
	"strings"

	"go.temporal.io/sdk/converter"
	"go.temporal.io/sdk/temporal"
	"go.temporal.io/sdk/workflow"

	"github.com/batonhq/baton/audit"
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

// New registers the decide update, the decision signal and the tasks query,
// so they exist before the workflow first blocks.
func New(ctx workflow.Context, rec Host) (*Tasks, error) {
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
			d.acting = checked.acting
			return m.apply(ctx, t, d, "update", nil), nil
		},
		workflow.UpdateHandlerOptions{
			// The validator cannot call an activity: it reads the
			// worker's current directory in memory (CurrentDirectory),
			// the same entries the handler then reads, recorded, through
			// the local activity, and checks with them laid over the
			// pinned policy, as the handler does.
			Validator: func(ctx workflow.Context, d Decision) error {
				_, err := m.check(ctx, &d, m.currentPolicy(ctx, d.Actor, d.DelegateTo))
				return m.refusedUpdate(ctx, err)
			},
			Description: "Decide a human task: approve, reject or delegate",
		})
	if err != nil {
		return nil, err
	}
	if err := m.registerActions(ctx); err != nil {
		return nil, err
	}
	if err := m.registerViews(ctx); err != nil {
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
		m.rec.AuditRefused(ctx, actor, audit.ActionDecisionRefused, "", "decision refused (signal): "+Clip(err.Error(), MaxTextBytes), how)
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
	d.acting = checked.acting
	m.apply(ctx, t, d, "signal", nil)
}

// refused audits a refused decision (the first MaxRefusedAudited of an
// instance one by one): only clipped values are recorded in its fields,
// since an oversize message is refused by its size before anything else
// reads it; its data holds the decision as received (cut to its bounds)
// and its task's subject.
func (m *Tasks) refused(ctx workflow.Context, d Decision, err error, via string) {
	actor, task := ActorOrUnknown(Clip(d.Actor, MaxNameBytes)), Clip(d.TaskID, MaxNameBytes)
	m.rec.AuditRefused(ctx, actor, audit.ActionDecisionRefused, task, fmt.Sprintf("%s refused (%s): %v", Clip(d.Verdict, MaxNameBytes), via, err),
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

// checkLive is the handlers' gate: the one check, once, under the policy a
// decision is judged by now: the pinned policy (routing: roles, quorum,
// deadlines, exclusions) with the worker's live directory entries of the
// actor and the delegate laid over it (who holds a role, whose key, which
// signers are trusted), read first through a recorded local activity. So
// a key, role, user or signer removed since the policy was pinned no
// longer decides, and one added since does, from the next decision. A
// message out of its bounds, or one before the policy is pinned, reads
// nothing: the check refuses it as it is.
func (m *Tasks) checkLive(ctx workflow.Context, d *Decision) (*task, error) {
	pol, err := m.livePolicy(ctx, d.bounds() == nil, d.Actor, d.DelegateTo)
	if err != nil {
		return nil, err
	}
	return m.check(ctx, d, pol)
}

// livePolicy is the policy a message is judged by in a handler: the pinned
// one with the live directory entries of users (and the substitutions in
// force now, workflow time, in which they stand in) laid over it, read
// through the recorded local activity. A message out of its bounds
// (inBounds false), or one before the policy is pinned, reads nothing.
func (m *Tasks) livePolicy(ctx workflow.Context, inBounds bool, users ...string) (*policy.Policy, error) {
	pol := m.rec.Policy()
	if pol == nil || !inBounds {
		return pol, nil
	}
	live, err := m.rec.LiveDirectory(ctx, users...)
	if err != nil {
		return nil, refuse(RefusedUnavailable, "the directory could not be read: %v", err)
	}
	return OverlayAt(pol, live, workflow.Now(ctx), users...), nil
}

// currentPolicy is livePolicy for an update's validator, which cannot
// call an activity: the worker's current directory read in memory, or the
// pinned policy alone when the worker gave none.
func (m *Tasks) currentPolicy(ctx workflow.Context, users ...string) *policy.Policy {
	pol := m.rec.Policy()
	if pol != nil {
		if live := m.rec.CurrentDirectory(users...); live != nil {
			pol = OverlayAt(pol, live, workflow.Now(ctx), users...)
		}
	}
	return pol
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
	RefusedTooLarge       = "too-large"
	RefusedUnavailable    = "directory-unavailable"
	// RefusedValue: a form value is missing, malformed or out of bounds;
	// the message starts with the field's name ("assessedAmount: ...").
	RefusedValue = "invalid-value"
	// RefusedHeld: the task waits for an operator (see hold).
	RefusedHeld = "held"
	// RefusedStarting: the instance has not pinned its policy yet; the same
	// request a moment later is decided (the starter retries it).
	RefusedStarting = "starting"
	// RefusedClaimed: another user holds an exclusive claim on the task.
	RefusedClaimed = "claimed"
)

func refuse(code, format string, args ...any) *Refusal {
	return &Refusal{Code: code, msg: fmt.Sprintf(format, args...)}
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
	t, user, err := m.resolve(d.Actor, &d.TaskID, pol)
	if err != nil {
		return nil, err
	}
	if err := m.checkSignature(ctx, t, d, pol, user); err != nil {
		return nil, refuse(RefusedSignature, "%s", err.Error())
	}
	v := t.view()
	if r := mayActRefusal(pol, d.Actor, "decide", v); r != nil {
		return nil, r
	}
	if r := t.claimedByOther(d.Actor, "decide"); r != nil {
		return nil, r
	}
	d.acting = v.actingFor(pol, d.Actor)
	if err := t.checkValues(d); err != nil {
		return nil, refuse(RefusedValue, "%s", err.Error())
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
			return nil, refuse(RefusedDelegation, "delegateTo: %q is not in the directory", d.DelegateTo)
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
			return nil, refuse(RefusedDelegation, "delegateTo: %s lacks the role for task %q (needs one of: %s)", d.DelegateTo, d.TaskID, strings.Join(roles, ", "))
		}
	}
	return t, nil
}

// resolve finds the open task a message by actor names (the only open
// one when taskID is empty, which it then fills in) and actor's directory
// entry under pol: the checks every message on a task passes first.
func (m *Tasks) resolve(actor string, taskID *string, pol *policy.Policy) (*task, policy.User, error) {
	if pol == nil {
		return nil, policy.User{}, refuse(RefusedNoOpenTask, "the process is starting: no task is open yet")
	}
	user, known := pol.Users[actor]
	if !known {
		if _, pinned := m.rec.Policy().Users[actor]; pinned {
			return nil, user, refuse(RefusedNoRole, "actor: %q is no longer in the directory", actor)
		}
		return nil, user, refuse(RefusedInvalid, "actor: %q is not in the directory", actor)
	}
	if *taskID == "" {
		open := m.openIDs()
		switch len(open) {
		case 0:
			if n := len(m.tasks); n > 0 {
				last := m.tasks[n-1]
				return nil, user, refuse(RefusedNoOpenTask, "no task is open: task %q is already %s", last.spec.ID, last.state)
			}
			return nil, user, refuse(RefusedNoOpenTask, "no task is open")
		case 1:
			*taskID = open[0]
		default:
			return nil, user, refuse(RefusedNoOpenTask, "taskId: required, %d tasks are open (%s)", len(open), strings.Join(open, ", "))
		}
	}
	t := m.find(*taskID)
	if t == nil {
		return nil, user, refuse(RefusedUnknownTask, "task %q: unknown task (open: %s)", *taskID, orNone(m.openIDs()))
	}
	if t.state != StateOpen {
		return nil, user, refuse(RefusedClosed, "task %q is already %s", *taskID, t.state)
	}
	if t.held != "" {
		return nil, user, refuse(RefusedHeld, "task %q is held for an operator: %s", *taskID, t.held)
	}
	return t, user, nil
}

// mayActRefusal is MayAct's answer as a refusal saying why (nil when
// actor may decide the task); what names the attempt ("decide", "claim").
func mayActRefusal(pol *policy.Policy, actor, what string, v TaskView) *Refusal {
	switch MayAct(pol, actor, v) {
	case RefusedExcluded:
		return refuse(RefusedExcluded, "%s may not %s task %q: separation of duties (%s)", actor, what, v.ID, v.exclusionText(pol, actor))
	case RefusedNoRole:
		if slices.Contains(v.Delegates, actor) && !v.named(actor) {
			return refuse(RefusedNoRole, "%s may not %s task %q: it was delegated to %s, who no longer holds %s",
				actor, what, v.ID, actor, "role "+strings.Join(v.DelegateRoles, " or "))
		}
		return refuse(RefusedNoRole, "%s may not %s task %q: needs %s", actor, what, v.ID, candidatesText(v))
	case RefusedAlreadyDecided:
		return refuse(RefusedAlreadyDecided, "%s", v.decidedText(pol, actor, what))
	}
	return nil
}

// checkValues checks a decision's form values against the task's form:
// types, bounds, required fields, the salt personal values need. The
// first approval of a task enters its values; a later approval of the same
// task (a quorum above one) confirms them: it carries none, or the same.
func (t *task) checkValues(d *Decision) error {
	if len(d.Digests) > 0 {
		return fieldErr("digests", "set by the trail, not by a sender: send the values and a salt")
	}
	if d.Verdict == Approve && t.entered != nil && len(d.Values) == 0 {
		return nil // confirms the values entered first
	}
	vals, err := t.spec.Form.Check(d.Verdict, d.Values)
	if err != nil {
		return err
	}
	if d.Verdict == Approve && t.entered != nil {
		for _, f := range t.spec.Form {
			if vals[f.Name] != t.entered[f.Name] {
				by := t.approvers()[0]
				was := "nothing"
				if v, ok := t.entered[f.Name]; ok {
					was = f.Display(v)
					if f.Personal {
						was = "a personal value"
					}
				}
				return fieldErr(f.Name, "differs from what %s entered (%s): approve without values to confirm them, or reject", by, was)
			}
		}
	}
	return checkSalt(t.spec.Form, d.Values, d.Salt)
}

// checkSignature verifies a signed decision over its task's subject (see
// verifySigned).
func (m *Tasks) checkSignature(_ workflow.Context, t *task, d *Decision, pol *policy.Policy, u policy.User) error {
	return verifySigned(pol, u, d.Actor, d.Signer, d.Signature, func() []byte { return SigningBytes(t.subject, *d) })
}

// VerifySigned checks a signed message of actor under pol (see
// verifySigned): for messages beside decisions and actions that are signed
// the same way (a substitution).
func VerifySigned(pol *policy.Policy, actor, signer, signature string, msg []byte) error {
	return verifySigned(pol, pol.Users[actor], actor, signer, signature, func() []byte { return msg })
}

// verifySigned verifies a signed message of actor: against the actor's
// key, or, when it names a signer, against that signer's key if the
// policy (pinned, with the worker's live signers laid over it) lists it: a
// trusted signer may sign for any actor, only then. An unsigned message
// passes unless the policy requires signatures. msg gives the signed bytes.
func verifySigned(pol *policy.Policy, u policy.User, actor, signer, signature string, msg func() []byte) error {
	if signature == "" {
		if signer != "" {
			return fmt.Errorf("signature: signer %s sent no signature", signer)
		}
		if pol.RequireSignedDecisions {
			return fmt.Errorf("signature: the policy requires signed decisions")
		}
		return nil
	}
	if signer != "" {
		s, trusted := pol.Signers[signer]
		if !trusted {
			return fmt.Errorf("signature: signer %s is not trusted by policy %s", signer, pol.Version)
		}
		return VerifySignerSignature(signer, actor, s, msg(), signature)
	}
	return VerifySignature(actor, u, msg(), signature)
}

// apply records an accepted decision, d as received; check has passed. A
// decision an earlier run recorded (from: a reset run honours it) is
// applied the same way and audited as decision-honoured, naming from.
func (m *Tasks) apply(ctx workflow.Context, t *task, d Decision, via string, from *Recorded) DecisionResult {
	now := workflow.Now(ctx).UTC()
	vals := t.canonicalValues(d, from != nil)
	t.votes = append(t.votes, audit.Vote{Actor: d.Actor, Verdict: d.Verdict, Comment: d.Comment, DelegateTo: d.DelegateTo, At: now, Via: via,
		Signer: d.Signer, Authenticated: d.Authenticated, For: principalOf(d.acting), Values: t.clearValues(vals)})
	switch {
	case d.Verdict == Approve && t.entered == nil && vals != nil:
		t.entered = vals
	case d.Verdict == Reject:
		t.rejected = vals
	}
	trail := "via " + via + signedBy(d) + actingText(d) // the trail's wording; metrics and How keep the bare via
	entered := t.enteredText(vals)
	res := DecisionResult{TaskID: t.spec.ID, Quorum: t.spec.Quorum}
	how := How{Via: via, Signature: d.Signature, Reason: d.Comment, Data: decisionData(Seal(t.subject, d), t.subject)}
	accepted, delegated := audit.ActionDecisionAccepted, audit.ActionDelegated
	if from != nil {
		trail = "honoured from " + from.ref() + signedBy(d) + actingText(d)
		how.Data = from.Data
		accepted, delegated = audit.ActionDecisionHonoured, audit.ActionDecisionHonoured
	}
	m.rec.Count(ctx, MetricDecisions, map[string]string{"verdict": d.Verdict, "via": via})
	switch d.Verdict {
	case Approve:
		res.Approvals = t.approvals()
		m.rec.AuditDecision(ctx, d.Actor, accepted, t.spec.ID, fmt.Sprintf("approve (%d of %d) %s%s%s", res.Approvals, t.spec.Quorum, trail, commentSuffix(d.Comment), entered), how)
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
			m.rec.AuditDecision(ctx, d.Actor, accepted, t.spec.ID, "reject "+trail+commentSuffix(d.Comment)+entered, how)
		} else {
			m.rec.AuditDecision(ctx, d.Actor, accepted, t.spec.ID, fmt.Sprintf("reject (%d of %d) %s%s%s", n, need, trail, commentSuffix(d.Comment), entered), how)
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
	m.afterDecision(ctx, t, d)
	m.rec.TasksChanged() // approvals so far show in the current details
	m.rec.Logger().Info("decision accepted", "TaskID", t.spec.ID, "Actor", d.Actor, "Verdict", d.Verdict, "Via", via)
	return res
}

// canonicalValues are d's values as the process receives them: checked
// and canonical (check passed); a decision honoured from the trail keeps
// the values it recorded (its personal ones are digests there, so they
// are not handed on).
func (t *task) canonicalValues(d Decision, honoured bool) Values {
	if honoured {
		if len(d.Values) == 0 {
			return nil
		}
		return Values(d.Values)
	}
	vals, err := t.spec.Form.Check(d.Verdict, d.Values)
	if err != nil || len(vals) == 0 {
		return nil
	}
	return vals
}

// clearValues are the values that may be shown in clear (a vote, the
// task's outcome in the completed entry): the personal ones left out.
func (t *task) clearValues(vals Values) map[string]string {
	var out map[string]string
	for k, v := range vals {
		if f, ok := t.spec.Form.Field(k); ok && f.Personal {
			continue
		}
		if out == nil {
			out = map[string]string{}
		}
		out[k] = v
	}
	return out
}

// enteredText lists the entered values for the trail's details: the clear
// ones by label and value, personal ones by name only.
func (t *task) enteredText(vals Values) string {
	if len(vals) == 0 {
		return ""
	}
	var parts []string
	for _, f := range t.spec.Form {
		v, ok := vals[f.Name]
		switch {
		case !ok:
		case f.Personal:
			parts = append(parts, f.Name+" (personal, recorded as a digest)")
		default:
			parts = append(parts, f.Name+" "+f.Display(v))
		}
	}
	return "; entered " + strings.Join(parts, ", ")
}

// signedBy names the trusted signer that vouched for the actor, and how it
// authenticated them, for the audit trail.
func signedBy(d Decision) string { return signerText(d.Signer, d.Authenticated) }

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
	m.rec.Audit(ctx, audit.SystemActor, audit.ActionTaskClosed, t.spec.ID, state+": "+details)
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

// MayAct is the one eligibility rule, used by the workflow's check and by
// clients listing a user's inbox: "" when user may decide the task now, or
// the refusal code (RefusedExcluded, RefusedNoRole, RefusedAlreadyDecided).
//
// A user named by delegation may decide only while they hold a role the
// task delegates to (DelegateRoles, read from p: the live directory in the
// workflow), so revoking the role revokes the delegation.
//
// A substitute (p.Substitutes, those in force) may decide what the user
// they stand in for may: for the roles the substitution covers (all of
// them, and the tasks named to that user, when it names none), only while
// neither of them is excluded and neither has decided (see actingFor).
func MayAct(p *policy.Policy, user string, t TaskView) string {
	if _, excluded := t.exclusion(user); excluded {
		return RefusedExcluded
	}
	if !t.named(user) && !t.holdsRole(p, user) && !t.holdsDelegation(p, user) {
		if t.actingFor(p, user) == nil {
			return t.substituteRefusal(p, user)
		}
	}
	if t.decided(user) {
		return RefusedAlreadyDecided
	}
	return ""
}

func (t TaskView) exclusion(user string) (string, bool) {
	for _, e := range t.Exclusions {
		if e.User == user {
			return e.Reason, true
		}
	}
	return "", false
}

// decided reports whether user decided the task, themselves or through
// their substitute.
func (t TaskView) decided(user string) bool {
	return slices.ContainsFunc(t.Votes, func(v audit.Vote) bool { return v.Actor == user || v.For == user })
}

// holdsRole reports whether user holds one of the current candidate roles.
func (t TaskView) holdsRole(p *policy.Policy, user string) bool {
	return p != nil && slices.ContainsFunc(t.Roles, func(r string) bool { return p.HasRole(user, r) })
}

// named reports whether the task names user other than by delegation.
func (t TaskView) named(user string) bool {
	return slices.Contains(t.Users, user) && !slices.Contains(t.Delegates, user)
}

// holdsDelegation reports whether user was delegated the task and still
// holds a role it delegates to.
func (t TaskView) holdsDelegation(p *policy.Policy, user string) bool {
	return p != nil && slices.Contains(t.Delegates, user) && slices.ContainsFunc(t.DelegateRoles, func(r string) bool { return p.HasRole(user, r) })
}

// candidatesText says who may decide, for refusals and the audit trail.
func candidatesText(t TaskView) string {
	var parts []string
	if len(t.Roles) > 0 {
		parts = append(parts, "role "+strings.Join(t.Roles, " or "))
	}
	if len(t.Users) > 0 {
		parts = append(parts, "to be "+strings.Join(t.Users, " or "))
	}
	return strings.Join(parts, ", or ")
}
