// Package humantask is the primitive every Baton process uses for a manual
// step: a task that named users or holders of candidate roles decide
// (approve, reject, delegate) under the policy — quorum, separation of
// duties, deadlines, reminders and escalation — with every attempt written
// to an append-only audit trail.
//
// Decisions arrive as the Update "decide" (a validator refuses what the
// policy forbids before anything reaches history) or as the Signal
// "decision" (a refused signal is audited as decision-refused). Both go
// through the same check and apply code.
package humantask

import (
	"time"

	"baton/policy"
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

// Audit actions.
const (
	ActionStarted          = "started"
	ActionStepCompleted    = "step-completed"
	ActionStepFailed       = "step-failed"
	ActionRouted           = "routed"
	ActionTaskOpened       = "task-opened"
	ActionDecisionAccepted = "decision-accepted"
	ActionDecisionRefused  = "decision-refused"
	ActionReminded         = "reminded"
	ActionEscalated        = "escalated"
	ActionDelegated        = "delegated"
	ActionTaskClosed       = "task-closed"
	ActionRequested        = "requested"       // a customer or applicant message (withdraw, cancel)
	ActionRequestRefused   = "request-refused" // such a message that came too late
	ActionCompensated      = "compensated"
	ActionCompleted        = "completed"
	ActionFailed           = "failed"
)

// Stages every process ends in.
const (
	StageCompleted = "completed"
	StageFailed    = "failed"
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
	// Signature is an Ed25519 signature (base64) over SigningBytes.
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
}

// WhoMayAct lists the task's candidate roles and, as "user:<id>", its named
// users: the values PendingRoles holds for it.
func (t TaskView) WhoMayAct() []string {
	who := append([]string(nil), t.Roles...)
	for _, u := range t.Users {
		who = append(who, "user:"+u)
	}
	return who
}

// AuditEntry is one line of the append-only trail.
type AuditEntry struct {
	Time          time.Time `json:"time"`
	Actor         string    `json:"actor"`
	Action        string    `json:"action"`
	TaskID        string    `json:"taskId,omitempty"`
	Details       string    `json:"details,omitempty"`
	PolicyVersion string    `json:"policyVersion,omitempty"`
}

// Status is the status query's answer.
type Status struct {
	Process       string            `json:"process"`
	BusinessKey   string            `json:"businessKey"`
	Stage         string            `json:"stage"`
	StageIndex    int               `json:"stageIndex"`
	StageTotal    int               `json:"stageTotal"`
	HandlingPath  string            `json:"handlingPath,omitempty"`
	Outcome       string            `json:"outcome,omitempty"`
	PolicyVersion string            `json:"policyVersion,omitempty"`
	StartedAt     time.Time         `json:"startedAt"`
	ClosedAt      *time.Time        `json:"closedAt,omitempty"`
	OpenTasks     []TaskView        `json:"openTasks"`
	Facts         map[string]string `json:"facts,omitempty"`
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
