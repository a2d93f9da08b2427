package humantask

// Work on a task that decides nothing: claim and release, comments,
// priority and follow-up. They arrive as the update "act" (a validator
// refuses what the policy forbids before history is written) or the signal
// "action" (a refusal is audited), through one check (checkAction, which
// calls the gate's own resolve, signature and eligibility checks) and one
// writer (applyAction). A claim never widens who may decide: only someone
// who may decide a task may claim it, and an exclusive claim narrows who
// may decide it to its holder until it is released or lapses.

import (
	"cmp"
	"encoding/json"
	"fmt"
	"strconv"
	"strings"
	"time"

	"go.temporal.io/sdk/converter"
	"go.temporal.io/sdk/workflow"

	"github.com/batonhq/baton/audit"
	"github.com/batonhq/baton/policy"
	"github.com/batonhq/baton/strictjson"
)

// Names that cross the wire: work on a task.
const (
	// UpdateAct takes an Action and answers synchronously.
	UpdateAct = "act"
	// SignalAction takes the same payload; refusals land in the trail.
	SignalAction = "action"
)

// Action kinds.
const (
	ActClaim    = "claim"
	ActRelease  = "release"
	ActComment  = "comment"
	ActPriority = "priority"
	ActFollowUp = "follow-up"
)

// Refusal codes of actions (beside the gate's).
const (
	// RefusedNotClaimed: a release of a task nobody claimed.
	RefusedNotClaimed = "not-claimed"
	// RefusedThreadFull: the task's thread has as many comments as the
	// policy allows.
	RefusedThreadFull = "thread-full"
)

// Action is the payload of the act update and the action signal.
type Action struct {
	// TaskID may be omitted when exactly one task is open.
	TaskID string `json:"taskId,omitempty"`
	Kind   string `json:"kind"`
	Actor  string `json:"actor"`
	// Text is a comment's text, or why (a release, a priority).
	Text string `json:"text,omitempty"`
	// Priority is the priority to set: low, normal, high or urgent.
	Priority string `json:"priority,omitempty"`
	// Until is the follow-up date (RFC 3339); empty clears it.
	Until string `json:"until,omitempty"`
	// Signature, Signer and Authenticated: as a Decision's, over
	// ActionSigningBytes.
	Signature     string `json:"signature,omitempty"`
	Signer        string `json:"signer,omitempty"`
	Authenticated string `json:"authenticated,omitempty"`
}

// ActionResult answers an accepted action.
type ActionResult struct {
	TaskID  string `json:"taskId"`
	Message string `json:"message"`
}

// ActionData is the data of every action entry (task-claimed, -released,
// -commented, priority-set, follow-up-set, claim-lapsed and refusals): the
// action as received and its task's subject. Entries the workflow makes
// itself (a lapse, a priority a rule raised) carry an action by system.
type ActionData struct {
	Action  Action  `json:"action"`
	Subject Subject `json:"subject"`
	// Claim is the claim a claim entry made (its mode, as the pinned
	// policy gave it).
	Claim *Claim `json:"claim,omitempty"`
}

// Claim is who works on a task.
type Claim struct {
	By string    `json:"by"`
	At time.Time `json:"at"`
	// Exclusive: only By may decide the task while the claim holds.
	Exclusive bool `json:"exclusive,omitempty"`
}

// Comment is one comment of a task's thread.
type Comment struct {
	By   string    `json:"by"`
	At   time.Time `json:"at"`
	Text string    `json:"text"`
}

// work is a task's state that decides nothing.
type work struct {
	claim       *Claim
	claimActive time.Time // the holder's last act on the task
	claimCancel workflow.CancelFunc
	comments    []Comment
	priority    int
	prioritySet bool // set by a person: rules leave it alone
	followUp    *time.Time
}

// ActionSigningBytes is what an action's signature covers: its task's
// subject and every field of the action (and, from a trusted signer, the
// signer and how it authenticated the actor).
func ActionSigningBytes(s Subject, a Action) []byte {
	fields := []string{"baton-action/v1",
		s.WorkflowID, s.RunID, s.TaskID, strconv.Itoa(s.Occurrence), s.Digest,
		a.Kind, a.Actor, a.Text, a.Priority, a.Until}
	if a.Signer != "" {
		fields = append(fields, "signer:"+a.Signer, "authenticated:"+a.Authenticated)
	}
	return []byte(strings.Join(fields, "\n"))
}

func (a Action) bounds() error {
	return CheckBounds(
		Bound{"taskId", a.TaskID, MaxNameBytes}, Bound{"kind", a.Kind, MaxNameBytes},
		Bound{"actor", a.Actor, MaxNameBytes}, Bound{"text", a.Text, MaxTextBytes},
		Bound{"priority", a.Priority, MaxNameBytes}, Bound{"until", a.Until, MaxNameBytes},
		Bound{"signature", a.Signature, MaxSignatureBytes},
		Bound{"signer", a.Signer, MaxNameBytes}, Bound{"authenticated", a.Authenticated, MaxTextBytes})
}

func (a Action) clipped() Action {
	a.TaskID, a.Kind, a.Actor = cut(a.TaskID, MaxNameBytes), cut(a.Kind, MaxNameBytes), cut(a.Actor, MaxNameBytes)
	a.Text, a.Priority, a.Until = cut(a.Text, MaxTextBytes), cut(a.Priority, MaxNameBytes), cut(a.Until, MaxNameBytes)
	a.Signature, a.Signer, a.Authenticated = cut(a.Signature, MaxSignatureBytes), cut(a.Signer, MaxNameBytes), cut(a.Authenticated, MaxTextBytes)
	return a
}

func actionData(a Action, s Subject) json.RawMessage {
	b, _ := json.Marshal(ActionData{Action: a, Subject: s})
	return b
}

// registerActions registers the act update and the action signal.
func (m *Tasks) registerActions(ctx workflow.Context) error {
	err := workflow.SetUpdateHandlerWithOptions(ctx, UpdateAct,
		func(ctx workflow.Context, a Action) (ActionResult, error) {
			m.reconcileOpen(ctx)
			checked := a
			t, err := m.checkActionLive(ctx, &checked)
			if err != nil {
				m.refusedAction(ctx, a, err, "update")
				return ActionResult{}, m.refusedUpdate(ctx, err)
			}
			return m.applyAction(ctx, t, a, checked, "update"), nil
		},
		workflow.UpdateHandlerOptions{
			Validator: func(ctx workflow.Context, a Action) error {
				_, err := m.checkAction(ctx, &a, m.currentPolicy(ctx, a.Actor))
				return m.refusedUpdate(ctx, err)
			},
			Description: "Work on a human task without deciding it: claim, release, comment, priority, follow-up",
		})
	if err != nil {
		return err
	}
	m.actions = workflow.GetSignalChannel(ctx, SignalAction)
	workflow.Go(ctx, func(ctx workflow.Context) {
		for {
			var raw converter.RawValue
			if !m.actions.Receive(ctx, &raw) {
				return
			}
			m.onAction(ctx, raw)
		}
	})
	return nil
}

func (m *Tasks) onAction(ctx workflow.Context, raw converter.RawValue) {
	var a Action
	err := decodeStrict(raw, &a)
	if err == nil {
		m.reconcileOpen(ctx)
		checked := a
		var t *task
		if t, err = m.checkActionLive(ctx, &checked); err == nil {
			m.applyAction(ctx, t, a, checked, "signal")
			return
		}
	}
	if r, ok := err.(*Refusal); ok {
		m.rec.Count(ctx, MetricRefusals, map[string]string{"reason": r.Code, "via": "signal"})
	} else {
		m.rec.Count(ctx, MetricRefusals, map[string]string{"reason": RefusedInvalid, "via": "signal"})
	}
	m.refusedAction(ctx, a, err, "signal")
}

// drainActions refuses, audited, the actions that arrived after the
// process ended.
func (m *Tasks) drainActions(ctx workflow.Context) {
	for m.actions != nil {
		var raw converter.RawValue
		if !m.actions.ReceiveAsync(&raw) {
			return
		}
		m.onAction(ctx, raw)
	}
}

// decodeStrict decodes a signal's JSON payload strictly, naming the field.
func decodeStrict(raw converter.RawValue, into any) error {
	p := raw.Payload()
	if p == nil {
		return fmt.Errorf("payload: empty")
	}
	if enc := string(p.GetMetadata()[converter.MetadataEncoding]); enc != converter.MetadataEncodingJSON {
		return fmt.Errorf("payload: encoding %q is not JSON", cut(enc, MaxNameBytes))
	}
	return strictjson.Decode(p.GetData(), into)
}

// refusedAction audits a refused action (within the instance's cap on
// refusals), with the action as received, cut to its bounds.
func (m *Tasks) refusedAction(ctx workflow.Context, a Action, err error, via string) {
	actor, task := ActorOrUnknown(Clip(a.Actor, MaxNameBytes)), Clip(a.TaskID, MaxNameBytes)
	how := How{Via: via, Signature: Clip(a.Signature, MaxSignatureBytes), Reason: RefusedInvalid}
	if r, ok := err.(*Refusal); ok {
		how.Reason = r.Code
	}
	subject := m.subjectOf(ctx, Decision{TaskID: a.TaskID})
	how.Data = actionData(a.clipped(), subject)
	m.rec.AuditRefused(ctx, actor, audit.ActionActionRefused, task,
		fmt.Sprintf("%s refused (%s): %s", cmp.Or(Clip(a.Kind, MaxNameBytes), "action"), via, Clip(err.Error(), MaxTextBytes)), how)
	m.rec.Logger().Warn("action refused", "Actor", actor, "TaskID", task, "Kind", a.Kind, "Via", via, "Reason", err.Error())
}

// checkActionLive is checkAction under the live directory (see checkLive).
func (m *Tasks) checkActionLive(ctx workflow.Context, a *Action) (*task, error) {
	pol, err := m.livePolicy(ctx, a.bounds() == nil, a.Actor)
	if err != nil {
		return nil, err
	}
	return m.checkAction(ctx, a, pol)
}

// checkAction is the one check of an action under pol: the message's
// bounds, the actor and task (the gate's resolve), the signature (the
// gate's), then what the kind needs: a claim, a follow-up and a comment
// need someone who may decide the task (MayAct: a comment also from one
// who already decided); a release the holder or a role of
// tasks.claims.releaseRoles; a priority a role of tasks.priority.setRoles.
func (m *Tasks) checkAction(ctx workflow.Context, a *Action, pol *policy.Policy) (*task, error) {
	if err := a.bounds(); err != nil {
		return nil, refuse(RefusedTooLarge, "%v", err)
	}
	switch a.Kind {
	case ActClaim, ActRelease, ActComment, ActPriority, ActFollowUp:
	default:
		return nil, refuse(RefusedInvalid, "kind: %q is not one of claim, release, comment, priority, follow-up", a.Kind)
	}
	if a.Actor == "" {
		return nil, refuse(RefusedInvalid, "actor: required")
	}
	t, user, err := m.resolve(a.Actor, &a.TaskID, pol)
	if err != nil {
		return nil, err
	}
	if err := verifySigned(pol, user, a.Actor, a.Signer, a.Signature, func() []byte { return ActionSigningBytes(t.subject, *a) }); err != nil {
		return nil, refuse(RefusedSignature, "%s", err.Error())
	}
	set := pol.TaskSettings()
	v := t.view()
	switch a.Kind {
	case ActClaim:
		if r := mayActRefusal(pol, a.Actor, "claim", v); r != nil {
			return nil, r
		}
		if c := t.claim; c != nil && c.By == a.Actor {
			return nil, refuse(RefusedClaimed, "%s already holds the claim on task %q (since %s)", a.Actor, t.spec.ID, clock(c.At))
		}
		if r := t.claimedByOther(a.Actor, "claim"); r != nil {
			return nil, r
		}
	case ActRelease:
		c := t.claim
		if c == nil {
			return nil, refuse(RefusedNotClaimed, "task %q is not claimed", t.spec.ID)
		}
		if c.By != a.Actor && !pol.HoldsAny(a.Actor, set.Claims.ReleaseRoles) {
			return nil, refuse(RefusedNoRole, "%s may not release %s's claim on task %q: only %s%s may", a.Actor, c.By, t.spec.ID, c.By, rolesText(" or role ", set.Claims.ReleaseRoles))
		}
	case ActComment:
		if code := MayAct(pol, a.Actor, v); code != "" && code != RefusedAlreadyDecided {
			return nil, mayActRefusal(pol, a.Actor, "comment on", v)
		}
		if strings.TrimSpace(a.Text) == "" {
			return nil, refuse(RefusedInvalid, "text: a comment needs text")
		}
		if len(t.comments) >= set.Comments.Max {
			return nil, refuse(RefusedThreadFull, "task %q has %d comments, the most the policy allows (tasks.comments.max)", t.spec.ID, set.Comments.Max)
		}
	case ActPriority:
		if !pol.HoldsAny(a.Actor, set.Priority.SetRoles) {
			return nil, refuse(RefusedNoRole, "%s may not set the priority of task %q: needs %s (tasks.priority.setRoles)", a.Actor, t.spec.ID, orNone(rolesOr(set.Priority.SetRoles)))
		}
		if _, err := policy.ParsePriority(a.Priority); err != nil {
			return nil, refuse(RefusedInvalid, "priority: %v", err)
		}
	case ActFollowUp:
		if r := mayActRefusal(pol, a.Actor, "follow up", v); r != nil {
			return nil, r
		}
		if a.Until != "" {
			until, err := time.Parse(time.RFC3339, a.Until)
			switch {
			case err != nil:
				return nil, refuse(RefusedInvalid, "until: %q is not a time such as 2026-12-20T09:00:00Z", a.Until)
			case !until.After(workflow.Now(ctx)):
				return nil, refuse(RefusedInvalid, "until: %s has passed", clock(until))
			case !until.Before(t.deadline):
				return nil, refuse(RefusedInvalid, "until: %s is not before the task's deadline (%s): a follow-up must not hide a task past it", clock(until), clock(t.deadline))
			}
		}
	}
	return t, nil
}

// claimedByOther refuses actor when another user holds an exclusive claim
// on t (nil otherwise).
func (t *task) claimedByOther(actor, what string) *Refusal {
	c := t.claim
	if c == nil || !c.Exclusive || c.By == actor {
		return nil
	}
	return refuse(RefusedClaimed, "%s may not %s task %q: %s claimed it at %s (an exclusive claim); ask them to release it, or wait until it lapses", actor, what, t.spec.ID, c.By, clock(c.At))
}

// applyAction records an accepted action, a as received; checked is the
// same after checkAction (task id resolved).
func (m *Tasks) applyAction(ctx workflow.Context, t *task, a, checked Action, via string) ActionResult {
	now := workflow.Now(ctx).UTC()
	a.TaskID = checked.TaskID
	how := How{Via: via, Signature: a.Signature, Data: actionData(a, t.subject)}
	audit1 := func(action, details string) {
		m.rec.AuditDecision(ctx, a.Actor, action, t.spec.ID, details+" via "+via+signerText(a.Signer, a.Authenticated), how)
	}
	set := m.rec.Policy().TaskSettings()
	res := ActionResult{TaskID: t.spec.ID}
	switch a.Kind {
	case ActClaim:
		took := ""
		if c := t.claim; c != nil {
			took = fmt.Sprintf("; %s's claim since %s ends", c.By, clock(c.At))
		}
		m.endClaim(t)
		t.claim = &Claim{By: a.Actor, At: now, Exclusive: set.Claims.Mode == policy.ClaimExclusive}
		t.claimActive = now
		b, _ := json.Marshal(ActionData{Action: a, Subject: t.subject, Claim: t.claim})
		how.Data = b
		audit1(audit.ActionClaimed, fmt.Sprintf("claimed by %s (%s)%s", a.Actor, set.Claims.Mode, took))
		m.watchClaim(t, set.Claims.LapseAfter.D())
		res.Message = fmt.Sprintf("claimed by %s (%s)", a.Actor, set.Claims.Mode)
	case ActRelease:
		c := t.claim
		m.endClaim(t)
		t.claim = nil
		audit1(audit.ActionReleased, fmt.Sprintf("%s's claim since %s released by %s%s", c.By, clock(c.At), a.Actor, commentSuffix(a.Text)))
		res.Message = fmt.Sprintf("released %s's claim", c.By)
	case ActComment:
		t.comments = append(t.comments, Comment{By: a.Actor, At: now, Text: a.Text})
		m.touch(t, a.Actor, now)
		audit1(audit.ActionCommented, "comment")
		res.Message = fmt.Sprintf("comment %d of at most %d added", len(t.comments), set.Comments.Max)
	case ActPriority:
		p, _ := policy.ParsePriority(a.Priority)
		was := t.priority
		t.priority, t.prioritySet = p, true
		audit1(audit.ActionPrioritySet, fmt.Sprintf("priority %s (was %s) set by %s%s", policy.PriorityName(p), policy.PriorityName(was), a.Actor, commentSuffix(a.Text)))
		res.Message = "priority " + policy.PriorityName(p)
	case ActFollowUp:
		m.touch(t, a.Actor, now)
		if a.Until == "" {
			t.followUp = nil
			audit1(audit.ActionFollowUpSet, "follow-up cleared")
			res.Message = "follow-up cleared"
			break
		}
		until, _ := time.Parse(time.RFC3339, a.Until)
		until = until.UTC()
		t.followUp = &until
		audit1(audit.ActionFollowUpSet, fmt.Sprintf("follow up at %s: out of the default view until then", clock(until)))
		res.Message = "follow up at " + clock(until)
	}
	m.rec.TasksChanged()
	m.rec.Logger().Info("task action accepted", "TaskID", t.spec.ID, "Actor", a.Actor, "Kind", a.Kind, "Via", via)
	return res
}

// touch marks the claim's holder active on t (a claim lapses when idle).
func (m *Tasks) touch(t *task, actor string, now time.Time) {
	if t.claim != nil && t.claim.By == actor {
		t.claimActive = now
	}
}

// endClaim stops the lapse timer of t's claim, if any.
func (m *Tasks) endClaim(t *task) {
	if t.claimCancel != nil {
		t.claimCancel()
		t.claimCancel = nil
	}
}

// watchClaim lapses t's claim once its holder has left it idle for lapse
// (0: never), on a timer cancelled when the claim ends or the task closes.
func (m *Tasks) watchClaim(t *task, lapse time.Duration) {
	if lapse <= 0 || t.ctx == nil {
		return
	}
	ctx, cancel := workflow.WithCancel(t.ctx)
	t.claimCancel = cancel
	c := t.claim
	workflow.Go(ctx, func(ctx workflow.Context) {
		for {
			wait := t.claimActive.Add(lapse).Sub(workflow.Now(ctx))
			if wait > 0 {
				if err := m.timer(ctx, wait, "claim lapse: "+t.spec.ID); err != nil {
					return
				}
				continue
			}
			if t.claim != c || t.state != StateOpen || t.held != "" {
				return
			}
			t.claim, t.claimCancel = nil, nil
			a := Action{TaskID: t.spec.ID, Kind: ActRelease, Actor: audit.SystemActor, Text: "lapsed"}
			m.rec.AuditDecision(ctx, audit.SystemActor, audit.ActionClaimLapsed, t.spec.ID,
				fmt.Sprintf("%s's claim since %s lapsed: idle for %s (tasks.claims.lapseAfter)", c.By, clock(c.At), lapse), How{Data: actionData(a, t.subject)})
			m.rec.TasksChanged()
			return
		}
	})
}

// afterDecision ends the claim of a holder who has decided t while it
// stays open (their part is done: a four-eyes task waits for someone else).
func (m *Tasks) afterDecision(ctx workflow.Context, t *task, d Decision) {
	c := t.claim
	if c == nil || c.By != d.Actor {
		return
	}
	m.endClaim(t)
	t.claim = nil
	if t.state != StateOpen {
		return // closing ends the claim with the task
	}
	a := Action{TaskID: t.spec.ID, Kind: ActRelease, Actor: d.Actor, Text: "decided"}
	m.rec.AuditDecision(ctx, d.Actor, audit.ActionReleased, t.spec.ID,
		fmt.Sprintf("%s's claim since %s ends: they decided", c.By, clock(c.At)), How{Data: actionData(a, t.subject)})
}

// openingPriority is the priority the policy's rules give t as it opens.
func (m *Tasks) openingPriority(t *task, c CaseData) int {
	return m.rec.Policy().TaskSettings().Priority.Priority(c.Process, c.Amount, t.deadline.Sub(t.openedAt))
}

// raisePriorityLater starts, for each rule that would raise t's priority
// as its deadline nears, a timer on the task's context; when it fires
// (the task still open, its priority not set by a person) the priority is
// raised, audited. No rule, no timer.
func (m *Tasks) raisePriorityLater(t *task, c CaseData) {
	rules := m.rec.Policy().TaskSettings().Priority
	for _, within := range rules.Raises(c.Process, c.Amount) {
		at := t.deadline.Add(-within)
		p := rules.Priority(c.Process, c.Amount, within)
		if !at.After(t.openedAt) || p <= t.priority {
			continue
		}
		workflow.Go(t.ctx, func(ctx workflow.Context) {
			if err := m.timer(ctx, at.Sub(workflow.Now(ctx)), "priority: "+t.spec.ID); err != nil {
				return
			}
			if t.state != StateOpen || t.held != "" || t.prioritySet || p <= t.priority {
				return
			}
			was := t.priority
			t.priority = p
			a := Action{TaskID: t.spec.ID, Kind: ActPriority, Actor: audit.SystemActor, Priority: policy.PriorityName(p)}
			m.rec.AuditDecision(ctx, audit.SystemActor, audit.ActionPrioritySet, t.spec.ID,
				fmt.Sprintf("priority %s (was %s): %s left before the deadline (tasks.priority.rules)", policy.PriorityName(p), policy.PriorityName(was), within), How{Data: actionData(a, t.subject)})
			m.rec.TasksChanged()
		})
	}
}

// clock writes a time for messages and the trail.
func clock(t time.Time) string { return t.UTC().Format("2006-01-02 15:04 UTC") }

func signerText(signer, authn string) string {
	if signer == "" {
		return ""
	}
	return fmt.Sprintf(", signed by %s (authenticated: %s)", signer, cmp.Or(authn, "unstated"))
}

func rolesOr(roles []string) []string {
	if len(roles) == 0 {
		return nil
	}
	return []string{"role " + strings.Join(roles, " or ")}
}

func rolesText(prefix string, roles []string) string {
	if len(roles) == 0 {
		return ""
	}
	return prefix + strings.Join(roles, " or ")
}
