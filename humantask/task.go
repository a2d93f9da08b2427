package humantask

import (
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/batonhq/baton/audit"

	"go.temporal.io/sdk/temporal"
	"go.temporal.io/sdk/workflow"

	"github.com/batonhq/baton/policy"
)

// Task is the handle a process holds on an opened task.
type Task struct {
	t *task
}

// ID is the task's id.
func (h *Task) ID() string { return h.t.spec.ID }

// Closed reports whether the task has ended.
func (h *Task) Closed() bool { return h.t.state != StateOpen }

// Result is how the task ended (State is open while it runs).
func (h *Task) Result() Result {
	r := Result{State: h.t.state, Approvers: h.t.approvers(), Rejecter: h.t.rejecter, Comment: h.t.lastReason, Values: h.t.entered}
	if h.t.state == StateRejected {
		r.Values = h.t.rejected
	}
	return r
}

// Wait blocks until the task ends, or ctx is cancelled.
func (h *Task) Wait(ctx workflow.Context) (Result, error) {
	if err := workflow.Await(ctx, h.Closed); err != nil {
		return h.Result(), err
	}
	return h.Result(), nil
}

// Open opens a task: audited, search attributes and details updated,
// reminders, escalation and deadline timers started on a context that is
// cancelled when the task ends.
func (m *Tasks) Open(ctx workflow.Context, s Spec) (*Task, error) {
	if err := m.validateSpec(s); err != nil {
		return nil, temporal.NewNonRetryableApplicationError(err.Error(), "InvalidTask", nil)
	}
	now := workflow.Now(ctx).UTC()
	t := &task{
		spec: s, state: StateOpen,
		roles: sortedUnique(s.Roles), users: slices.Clone(s.Users),
		openedAt: now, deadline: now.Add(s.Deadline),
	}
	info := workflow.GetInfo(ctx).WorkflowExecution
	t.subject = Subject{WorkflowID: info.ID, RunID: info.RunID, TaskID: s.ID, Occurrence: len(m.tasks) + 1, Digest: m.rec.FactsDigest(),
		Personal: s.Form.PersonalNames()}
	tctx, cancel := workflow.WithCancel(ctx)
	t.cancel, t.ctx = cancel, tctx
	m.tasks = append(m.tasks, t)
	kase := m.rec.Case()
	t.priority = m.openingPriority(t, kase)
	m.rec.AuditDecision(ctx, audit.SystemActor, audit.ActionTaskOpened, s.ID, fmt.Sprintf("%s: %s, quorum %d, due %s", s.Title, candidatesText(t.view()), s.Quorum, t.deadline.Format(time.RFC3339)),
		How{Data: openedData(t, kase)})
	m.rec.TasksChanged()

	workflow.Go(tctx, func(ctx workflow.Context) { m.runDeadline(ctx, t) })
	if s.EscalateAfter > 0 && len(s.EscalateTo) > 0 {
		workflow.Go(tctx, func(ctx workflow.Context) {
			if err := m.timer(ctx, s.EscalateAfter, "escalation: "+s.ID); err != nil || t.state != StateOpen {
				return
			}
			if m.reconcile(ctx, t); t.state != StateOpen || t.held != "" {
				return
			}
			m.escalate(ctx, t, fmt.Sprintf("no decision after %s", s.EscalateAfter))
		})
	}
	if s.ReminderEvery > 0 {
		workflow.Go(tctx, func(ctx workflow.Context) { m.runReminders(ctx, t) })
	}
	m.raisePriorityLater(t, kase)
	// A reset run honours what earlier runs decided on this occurrence.
	m.reconcile(ctx, t)
	return &Task{t: t}, nil
}

func (m *Tasks) validateSpec(s Spec) error {
	switch {
	case s.ID == "":
		return errors.New("task: id is required")
	case m.find(s.ID) != nil:
		return fmt.Errorf("task %q: already opened in this instance", s.ID)
	case len(s.Roles) == 0 && len(s.Users) == 0:
		return fmt.Errorf("task %q: needs candidate roles or users", s.ID)
	case s.Quorum < 1:
		return fmt.Errorf("task %q: quorum must be at least 1", s.ID)
	case s.Deadline <= 0:
		return fmt.Errorf("task %q: a deadline is required", s.ID)
	case s.OnDeadline != policy.OnDeadlineReject && s.OnDeadline != policy.OnDeadlineEscalate:
		return fmt.Errorf("task %q: onDeadline %q is not reject or escalate", s.ID, s.OnDeadline)
	case m.rec.Policy() == nil:
		return fmt.Errorf("task %q: the policy is not loaded", s.ID)
	}
	if err := s.Form.Validate(); err != nil {
		return fmt.Errorf("task %q: %w", s.ID, err)
	}
	for _, u := range s.Users {
		if _, ok := m.rec.Policy().Users[u]; !ok {
			return fmt.Errorf("task %q: user %q is not in the directory", s.ID, u)
		}
	}
	return nil
}

// timer waits d on a cancellable context; it names itself in the UI.
func (m *Tasks) timer(ctx workflow.Context, d time.Duration, summary string) error {
	return workflow.NewTimerWithOptions(ctx, d, workflow.TimerOptions{Summary: summary}).Get(ctx, nil)
}

func (m *Tasks) runDeadline(ctx workflow.Context, t *task) {
	for {
		wait := t.deadline.Sub(workflow.Now(ctx))
		if err := m.timer(ctx, wait, "deadline: "+t.spec.ID); err != nil || t.state != StateOpen {
			return
		}
		if m.reconcile(ctx, t); t.state != StateOpen || t.held != "" {
			return
		}
		if t.spec.OnDeadline == policy.OnDeadlineEscalate && !t.extended {
			t.extended = true
			t.deadline = workflow.Now(ctx).UTC().Add(t.spec.Deadline)
			m.escalate(ctx, t, "deadline passed; deadline extended to "+t.deadline.Format(time.RFC3339))
			continue
		}
		m.close(ctx, t, StateExpired, fmt.Sprintf("no decision by the deadline (%d of %d approvals)", t.approvals(), t.spec.Quorum))
		return
	}
}

func (m *Tasks) escalate(ctx workflow.Context, t *task, why string) {
	added := []string{}
	for _, r := range t.spec.EscalateTo {
		if !slices.Contains(t.roles, r) {
			added = append(added, r)
		}
	}
	t.escalated = true
	t.roles = sortedUnique(append(t.roles, added...))
	details := why
	if len(added) > 0 {
		details += "; added role " + strings.Join(added, ", ")
	}
	m.rec.AuditDecision(ctx, audit.SystemActor, audit.ActionEscalated, t.spec.ID, details, How{Data: escalatedData(t)})
	m.rec.Count(ctx, MetricEscalations, map[string]string{"task": t.spec.ID})
	m.rec.Logger().Info("task escalated", "TaskID", t.spec.ID, "Roles", t.roles)
	m.rec.TasksChanged()
}

// recipients are the users who may act now and have not yet.
func (m *Tasks) recipients(t *task) []string {
	pol := m.rec.Policy()
	v := t.view()
	candidates := slices.Clone(t.users)
	for _, r := range t.roles {
		candidates = append(candidates, pol.UsersWithRole(r)...)
	}
	var out []string
	for _, u := range sortedUnique(candidates) {
		if MayAct(pol, u, v) == "" {
			out = append(out, u)
		}
	}
	return out
}

func (m *Tasks) runReminders(ctx workflow.Context, t *task) {
	key := m.rec.BusinessKey()
	for {
		if err := m.timer(ctx, t.spec.ReminderEvery, "reminder: "+t.spec.ID); err != nil || t.state != StateOpen {
			return
		}
		if m.reconcile(ctx, t); t.state != StateOpen || t.held != "" {
			return
		}
		to := m.recipients(t)
		t.reminders++
		m.rec.Audit(ctx, audit.SystemActor, audit.ActionReminded, t.spec.ID, fmt.Sprintf("reminder %d sent to %s; due %s", t.reminders, orNone(to), t.deadline.Format(time.RFC3339)))
		for _, u := range to {
			err := m.rec.Remind(ctx, u,
				fmt.Sprintf("Reminder: %s (%s) awaits your decision", t.spec.Title, key),
				fmt.Sprintf("Task %s of %s is due %s. %d of %d approvals so far.", t.spec.ID, key, t.deadline.Format(time.RFC1123), t.approvals(), t.spec.Quorum))
			if err != nil {
				if temporal.IsCanceledError(err) {
					return
				}
				m.rec.Logger().Warn("reminder not sent", "To", u, "Error", err)
			}
		}
	}
}

// OpenedData is a task-opened entry's data: the occurrence, its subject and
// the task's governance as opened; and, for the people who list tasks, its
// title, what its instance is about and its priority.
type OpenedData struct {
	Occurrence int       `json:"occurrence"`
	Subject    Subject   `json:"subject"`
	Spec       SpecData  `json:"spec"`
	Title      string    `json:"title,omitempty"`
	Case       *CaseData `json:"case,omitempty"`
	Priority   int       `json:"priority,omitempty"`
}

// CaseData is what a task's instance is about, as its task-opened entry
// records it for the task lists: the process, its title, the instance's
// one-line summary and stage, and its amount. No personal data: a
// process's summary names the business key and facts only (its
// static summary, which operators see too).
type CaseData struct {
	Process string   `json:"process"`
	Title   string   `json:"title,omitempty"`
	Summary string   `json:"summary,omitempty"`
	Stage   string   `json:"stage,omitempty"`
	Amount  *float64 `json:"amount,omitempty"`
}

// EscalatedData is an escalated entry's data: the candidate roles and the
// deadline after the escalation.
type EscalatedData struct {
	Roles    []string  `json:"roles"`
	Deadline time.Time `json:"deadline"`
}

func escalatedData(t *task) json.RawMessage {
	b, _ := json.Marshal(EscalatedData{Roles: t.roles, Deadline: t.deadline})
	return b
}

// SpecData is a task's governance as its task-opened entry records it; the
// deadline is absolute (opening time plus the spec's deadline).
type SpecData struct {
	Roles         []string    `json:"roles,omitempty"`
	Users         []string    `json:"users,omitempty"`
	Quorum        int         `json:"quorum"`
	Rejections    int         `json:"rejections"`
	Exclusions    []Exclusion `json:"exclusions,omitempty"`
	Deadline      time.Time   `json:"deadline"`
	OnDeadline    string      `json:"onDeadline"`
	EscalateAfter string      `json:"escalateAfter,omitempty"`
	EscalateTo    []string    `json:"escalateTo,omitempty"`
	DelegateRoles []string    `json:"delegateRoles,omitempty"`
	// Form is the task's form as declared: what the decider was asked.
	Form Form `json:"form,omitempty"`
}

// openedData encodes t's task-opened data.
func openedData(t *task, kase CaseData) json.RawMessage {
	s := t.spec
	sd := SpecData{Roles: t.roles, Users: s.Users, Quorum: s.Quorum, Rejections: t.rejectionsNeeded(), Exclusions: s.Exclusions,
		Deadline: t.deadline, OnDeadline: s.OnDeadline, EscalateTo: s.EscalateTo, DelegateRoles: s.DelegateRoles, Form: s.Form}
	if s.EscalateAfter > 0 {
		sd.EscalateAfter = s.EscalateAfter.String()
	}
	b, _ := json.Marshal(OpenedData{Occurrence: t.subject.Occurrence, Subject: t.subject, Spec: sd, Title: s.Title, Case: &kase, Priority: t.priority})
	return b
}
