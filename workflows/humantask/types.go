// Package humantask is the primitive every Baton process uses for a manual
// step: a task that named users or holders of candidate roles decide
// (approve, reject, delegate) under the policy — quorum, separation of
// duties, deadlines, reminders and escalation — with every attempt written
// to the instance record (a small interface, Record) and its audit trail.
//
// Decisions arrive as the Update "decide" (a validator refuses what the
// policy forbids before anything reaches history) or as the Signal
// "decision" (a refused signal is audited as decision-refused). Both go
// through the same check and apply code.
package humantask

import (
	"slices"
	"strings"
	"time"

	"github.com/batonhq/baton/policy"
)

// Verdicts.
const (
	Approve  = "approve"
	Reject   = "reject"
	Delegate = "delegate"
)

// Task states.
const (
	StateOpen      = "open"
	StateApproved  = "approved"
	StateRejected  = "rejected"
	StateExpired   = "expired"
	StateCancelled = "cancelled"
)

// Audit actions of tasks (the record declares the process's own).
const (
	ActionTaskOpened       = "task-opened"
	ActionDecisionAccepted = "decision-accepted"
	ActionDecisionRefused  = "decision-refused"
	ActionReminded         = "reminded"
	ActionEscalated        = "escalated"
	ActionDelegated        = "delegated"
	ActionTaskClosed       = "task-closed"
	// ActionDecisionHonoured: a reset run re-applied a decision an earlier
	// run of the instance recorded for the same task occurrence.
	ActionDecisionHonoured = "decision-honoured"
	// ActionTaskHeld: a reset run could not honour a recorded decision (the
	// task differs from the one decided): the task waits for an operator.
	ActionTaskHeld = "task-held"
)

// SystemActor is the actor of automated entries.
const SystemActor = "system"

// Decision is the payload of the decide update and the decision signal.
type Decision struct {
	// TaskID may be omitted when exactly one task is open.
	TaskID     string `json:"taskId,omitempty"`
	Verdict    string `json:"verdict"`
	Actor      string `json:"actor"`
	Comment    string `json:"comment,omitempty"`
	DelegateTo string `json:"delegateTo,omitempty"`
	// Signature is an Ed25519 signature (base64) over SigningBytes of the
	// task's Subject and this decision.
	Signature string `json:"signature,omitempty"`
	// Signer names a service the policy trusts to sign for the users it
	// authenticated (policy signers, e.g. the web inbox); the signature is
	// then the signer's, and Authenticated says how it knew the actor
	// (e.g. "oidc https://login.example.com"). Both are covered by it.
	Signer        string `json:"signer,omitempty"`
	Authenticated string `json:"authenticated,omitempty"`
}

// DecisionResult answers an accepted decision.
type DecisionResult struct {
	TaskID    string `json:"taskId"`
	State     string `json:"state"`
	Approvals int    `json:"approvals"`
	Quorum    int    `json:"quorum"`
	Message   string `json:"message"`
}

// Exclusion keeps a user from deciding a task, with the reason shown when
// they try (separation of duties).
type Exclusion struct {
	User   string `json:"user"`
	Reason string `json:"reason"`
}

// Spec opens a task.
type Spec struct {
	ID    string `json:"id"`
	Title string `json:"title"`
	// Roles and Users are the candidates: holders of any role, or the
	// named users. At least one is needed.
	Roles  []string `json:"roles,omitempty"`
	Users  []string `json:"users,omitempty"`
	Quorum int      `json:"quorum"`
	// DelegateRoles are the roles a task addressed to named users may be
	// delegated to, beside its escalation roles (a task with roles
	// delegates only to their holders).
	DelegateRoles []string `json:"delegateRoles,omitempty"`
	// Rejections is how many distinct rejections end the task (at least 1).
	Rejections int         `json:"rejections,omitempty"`
	Exclusions []Exclusion `json:"exclusions,omitempty"`
	// Deadline counts from opening; OnDeadline says what happens then.
	Deadline      time.Duration `json:"deadline"`
	OnDeadline    string        `json:"onDeadline"`
	ReminderEvery time.Duration `json:"reminderEvery,omitempty"`
	EscalateAfter time.Duration `json:"escalateAfter,omitempty"`
	EscalateTo    []string      `json:"escalateTo,omitempty"`
}

// FromPolicy fills a Spec's governance from a policy task entry.
func FromPolicy(id, title string, t policy.Task) Spec {
	s := Spec{
		ID: id, Title: title,
		Roles:         append([]string(nil), t.Roles...),
		Quorum:        t.QuorumOrOne(),
		Rejections:    max(1, t.Rejections),
		Deadline:      t.Deadline.D(),
		OnDeadline:    t.OnDeadline,
		ReminderEvery: t.ReminderEvery.D(),
	}
	if s.OnDeadline == "" {
		s.OnDeadline = policy.OnDeadlineReject
	}
	if e := t.Escalation; e != nil {
		s.EscalateAfter = e.After.D()
		s.EscalateTo = append([]string(nil), e.AddRoles...)
	}
	return s
}

// Vote is one accepted decision on a task.
type Vote struct {
	Actor      string    `json:"actor"`
	Verdict    string    `json:"verdict"`
	Comment    string    `json:"comment,omitempty"`
	DelegateTo string    `json:"delegateTo,omitempty"`
	At         time.Time `json:"at"`
	Via        string    `json:"via"` // update or signal
	// Signer and Authenticated are set when a trusted signer vouched for
	// the actor (see Decision).
	Signer        string `json:"signer,omitempty"`
	Authenticated string `json:"authenticated,omitempty"`
}

// TaskView is a task as queries show it.
type TaskView struct {
	ID         string      `json:"id"`
	Title      string      `json:"title"`
	State      string      `json:"state"`
	Roles      []string    `json:"roles,omitempty"`
	Users      []string    `json:"users,omitempty"`
	Quorum     int         `json:"quorum"`
	Approvals  int         `json:"approvals"`
	Rejections int         `json:"rejections"`
	Votes      []Vote      `json:"votes,omitempty"`
	Exclusions []Exclusion `json:"exclusions,omitempty"`
	OpenedAt   time.Time   `json:"openedAt"`
	Deadline   time.Time   `json:"deadline"`
	ClosedAt   *time.Time  `json:"closedAt,omitempty"`
	Escalated  bool        `json:"escalated"`
	Reminders  int         `json:"reminders"`
	// Subject is what a signed decision on this task must sign (see
	// SigningBytes).
	Subject Subject `json:"subject"`
	// Delegates are the users among Users who were named by delegation:
	// each must still hold one of DelegateRoles to decide.
	Delegates     []string `json:"delegates,omitempty"`
	DelegateRoles []string `json:"delegateRoles,omitempty"`
	// Held says why the task waits for an operator (a reset run could not
	// honour a decision the trail recorded for it); no one may decide it.
	Held string `json:"held,omitempty"`
}

// UserCandidate is how a named candidate appears among PendingRoles and
// "who may act": "user:<id>", beside role names.
func UserCandidate(user string) string { return "user:" + user }

// WhoMayAct lists the task's candidate roles and its named users (as
// UserCandidate): the values PendingRoles holds for it.
func (t TaskView) WhoMayAct() []string {
	who := append([]string(nil), t.Roles...)
	for _, u := range t.Users {
		who = append(who, UserCandidate(u))
	}
	return who
}

// MayAct is the one eligibility rule, used by the workflow's check and by
// clients listing a user's inbox: "" when user may decide the task now, or
// the refusal code (RefusedExcluded, RefusedNoRole, RefusedAlreadyDecided).
//
// A user named by delegation may decide only while they hold a role the
// task delegates to (DelegateRoles, read from p: the live directory in the
// workflow), so revoking the role revokes the delegation.
func MayAct(p *policy.Policy, user string, t TaskView) string {
	if _, excluded := t.exclusion(user); excluded {
		return RefusedExcluded
	}
	if !t.named(user) && !t.holdsRole(p, user) && !t.holdsDelegation(p, user) {
		return RefusedNoRole
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

func (t TaskView) decided(user string) bool {
	return slices.ContainsFunc(t.Votes, func(v Vote) bool { return v.Actor == user })
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

// Summary is an open task as an inbox lists it, small enough for the
// instance's memo (record.MemoOpenTasks): who may act, who may not (excluded,
// or decided already), when it opened and is due, and the approvals so far.
// No personal data beyond user ids; its size grows only with candidates
// named by delegation and with votes, both bounded by the quorum and the
// directory.
type Summary struct {
	ID        string    `json:"id"`
	Title     string    `json:"title"`
	Roles     []string  `json:"roles,omitempty"`
	Users     []string  `json:"users,omitempty"`
	Excluded  []string  `json:"excluded,omitempty"`
	Voted     []string  `json:"voted,omitempty"`
	Opened    time.Time `json:"opened"`
	Deadline  time.Time `json:"deadline"`
	Approvals int       `json:"approvals"`
	Quorum    int       `json:"quorum"`
	Escalated bool      `json:"escalated,omitempty"`
	// Delegates and DelegateRoles: see TaskView.
	Delegates     []string `json:"delegates,omitempty"`
	DelegateRoles []string `json:"delegateRoles,omitempty"`
}

// Summary is the task's inbox line.
func (t TaskView) Summary() Summary {
	s := Summary{ID: t.ID, Title: t.Title, Roles: t.Roles, Users: t.Users, Opened: t.OpenedAt, Deadline: t.Deadline,
		Approvals: t.Approvals, Quorum: t.Quorum, Escalated: t.Escalated, Delegates: t.Delegates, DelegateRoles: t.DelegateRoles}
	for _, e := range t.Exclusions {
		s.Excluded = append(s.Excluded, e.User)
	}
	for _, v := range t.Votes {
		if !slices.Contains(s.Voted, v.Actor) {
			s.Voted = append(s.Voted, v.Actor)
		}
	}
	return s
}

// View is the open task a Summary describes, with what MayAct needs
// (exclusions without their reasons, votes without their verdicts).
func (s Summary) View() TaskView {
	t := TaskView{ID: s.ID, Title: s.Title, State: StateOpen, Roles: s.Roles, Users: s.Users, Quorum: s.Quorum,
		Approvals: s.Approvals, OpenedAt: s.Opened, Deadline: s.Deadline, Escalated: s.Escalated,
		Delegates: s.Delegates, DelegateRoles: s.DelegateRoles}
	for _, u := range s.Excluded {
		t.Exclusions = append(t.Exclusions, Exclusion{User: u})
	}
	for _, u := range s.Voted {
		t.Votes = append(t.Votes, Vote{Actor: u})
	}
	return t
}

// Result is how a task ended, for the process to branch on.
type Result struct {
	State     string   `json:"state"`
	Approvers []string `json:"approvers,omitempty"`
	Rejecter  string   `json:"rejecter,omitempty"`
	Comment   string   `json:"comment,omitempty"`
}

// Approved reports whether the task reached its quorum.
func (r Result) Approved() bool { return r.State == StateApproved }
