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
	"cmp"
	"slices"
	"time"

	"github.com/batonhq/baton/audit"

	"github.com/batonhq/baton/policy"
)

// Task states.
const (
	StateOpen      = "open"
	StateApproved  = "approved"
	StateRejected  = "rejected"
	StateExpired   = "expired"
	StateCancelled = "cancelled"
)

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
	// Form is what the decider fills in (form.go): the first approval
	// enters the values, later approvals confirm them; the process reads
	// them from Result.Values.
	Form Form `json:"form,omitempty"`
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

// TaskView is a task as queries show it.
type TaskView struct {
	ID         string       `json:"id"`
	Title      string       `json:"title"`
	State      string       `json:"state"`
	Roles      []string     `json:"roles,omitempty"`
	Users      []string     `json:"users,omitempty"`
	Quorum     int          `json:"quorum"`
	Approvals  int          `json:"approvals"`
	Rejections int          `json:"rejections"`
	Votes      []audit.Vote `json:"votes,omitempty"`
	Exclusions []Exclusion  `json:"exclusions,omitempty"`
	OpenedAt   time.Time    `json:"openedAt"`
	Deadline   time.Time    `json:"deadline"`
	ClosedAt   *time.Time   `json:"closedAt,omitempty"`
	Escalated  bool         `json:"escalated"`
	Reminders  int          `json:"reminders"`
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
	// Claim is who works on the task, since when (nil: nobody).
	Claim *Claim `json:"claim,omitempty"`
	// Comments are the task's thread, oldest first.
	Comments []Comment `json:"comments,omitempty"`
	// Priority is policy.PriorityLow to PriorityUrgent.
	Priority int `json:"priority,omitempty"`
	// FollowUp keeps the task out of the default view until then.
	FollowUp *time.Time `json:"followUp,omitempty"`
	// Form is the task's form; Entered the values its first approval
	// entered (personal ones left out), which a later approval confirms.
	Form    Form              `json:"form,omitempty"`
	Entered map[string]string `json:"entered,omitempty"`
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
	// Claim, Priority (0: normal) and FollowUp: see TaskView.
	Claim    *Claim     `json:"claim,omitempty"`
	Priority int        `json:"priority,omitempty"`
	FollowUp *time.Time `json:"followUp,omitempty"`
	// Fields names the task form's fields (Form.Names: "*" marks one an
	// approval needs), so a listing says what a decision must carry.
	Fields []string `json:"fields,omitempty"`
}

// Summary is the task's inbox line.
func (t TaskView) Summary() Summary {
	s := Summary{ID: t.ID, Title: t.Title, Roles: t.Roles, Users: t.Users, Opened: t.OpenedAt, Deadline: t.Deadline,
		Approvals: t.Approvals, Quorum: t.Quorum, Escalated: t.Escalated, Delegates: t.Delegates, DelegateRoles: t.DelegateRoles,
		Claim: t.Claim, FollowUp: t.FollowUp, Fields: t.Form.Names()}
	if t.Priority != policy.PriorityNormal {
		s.Priority = t.Priority
	}
	for _, e := range t.Exclusions {
		s.Excluded = append(s.Excluded, e.User)
	}
	for _, v := range t.Votes {
		for _, u := range []string{v.Actor, v.For} {
			if u != "" && !slices.Contains(s.Voted, u) {
				s.Voted = append(s.Voted, u)
			}
		}
	}
	return s
}

// View is the open task a Summary describes, with what MayAct needs
// (exclusions without their reasons, votes without their verdicts).
func (s Summary) View() TaskView {
	t := TaskView{ID: s.ID, Title: s.Title, State: StateOpen, Roles: s.Roles, Users: s.Users, Quorum: s.Quorum,
		Approvals: s.Approvals, OpenedAt: s.Opened, Deadline: s.Deadline, Escalated: s.Escalated,
		Delegates: s.Delegates, DelegateRoles: s.DelegateRoles, Claim: s.Claim, Priority: cmp.Or(s.Priority, policy.PriorityNormal), FollowUp: s.FollowUp}
	for _, u := range s.Excluded {
		t.Exclusions = append(t.Exclusions, Exclusion{User: u})
	}
	for _, u := range s.Voted {
		t.Votes = append(t.Votes, audit.Vote{Actor: u})
	}
	return t
}

// Result is how a task ended, for the process to branch on.
type Result struct {
	State     string   `json:"state"`
	Approvers []string `json:"approvers,omitempty"`
	Rejecter  string   `json:"rejecter,omitempty"`
	Comment   string   `json:"comment,omitempty"`
	// Values are the form's values, canonical, personal ones included:
	// those the approval entered (approved), or the rejection's (rejected).
	Values Values `json:"values,omitempty"`
}

// Approved reports whether the task reached its quorum.
func (r Result) Approved() bool { return r.State == StateApproved }
