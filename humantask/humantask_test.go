package humantask_test

import (
	"context"
	"crypto/ed25519"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"maps"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/mock"
	"go.temporal.io/sdk/log"
	"go.temporal.io/sdk/temporal"
	"go.temporal.io/sdk/testsuite"
	"go.temporal.io/sdk/workflow"

	"github.com/batonhq/baton/activities"
	"github.com/batonhq/baton/audit"
	"github.com/batonhq/baton/config"
	ht "github.com/batonhq/baton/humantask"
	"github.com/batonhq/baton/internal/frameact"
	"github.com/batonhq/baton/policy"
	"github.com/batonhq/baton/record"
)

// plan is what the test process does.
type plan struct {
	Specs []ht.Spec
	// CancelAfter closes open tasks as cancelled after this long (0: never).
	CancelAfter time.Duration
	// HoldAfter keeps the instance running this long after the tasks end,
	// to prove their timers are gone.
	HoldAfter time.Duration
	// Sequential opens each task once the previous one ended.
	Sequential bool
	// Facts are recorded before the tasks open (an amount).
	Facts map[string]string
}

type outcome struct {
	Results []ht.Result
	Audit   []audit.Entry
	Tasks   []ht.TaskView
	// What the inbox would find once the tasks ended.
	PendingRolesAfter []string
	DeadlineSetAfter  bool
}

// testProcess opens the plan's tasks and waits for all of them.
func testProcess(ctx workflow.Context, s record.Settings, p plan) (*outcome, error) {
	m, err := record.New(ctx, record.Options{Process: "test", BusinessKey: "test-1", Stages: 1, Settings: s})
	if err != nil {
		return nil, err
	}
	if _, err := m.LoadPolicy(ctx); err != nil {
		return nil, err
	}
	m.SetStage(ctx, 1, "review", "awaiting review")
	m.SetCase("Test process", "Test 1: a case")
	for _, k := range slices.Sorted(maps.Keys(p.Facts)) {
		m.SetFact(k, p.Facts[k])
	}
	var tasks []*ht.Task
	for _, s := range p.Specs {
		t, err := m.Open(ctx, s)
		if err != nil {
			return nil, err
		}
		tasks = append(tasks, t)
		if p.Sequential {
			_, _ = t.Wait(ctx)
		}
	}
	allClosed := func() bool {
		for _, t := range tasks {
			if !t.Closed() {
				return false
			}
		}
		return true
	}
	if p.CancelAfter > 0 {
		if ok, _ := workflow.AwaitWithTimeout(ctx, p.CancelAfter, allClosed); !ok {
			m.CancelOpen(ctx, "withdrawn")
		}
	}
	_ = workflow.Await(ctx, allClosed)
	if p.HoldAfter > 0 {
		_ = workflow.Sleep(ctx, p.HoldAfter)
	}
	out := &outcome{}
	sa := workflow.GetTypedSearchAttributes(ctx)
	out.PendingRolesAfter, _ = sa.GetKeywordList(record.SAPendingRoles)
	_, out.DeadlineSetAfter = sa.GetTime(record.SATaskDeadline)
	for _, t := range tasks {
		out.Results = append(out.Results, t.Result())
	}
	m.Finish(ctx, "done", "")
	out.Audit, out.Tasks = m.AuditTrail(), m.Tasks()
	return out, nil
}

// policyTask is one task entry of a process's policy section.
func policyTask(t *testing.T, p *policy.Policy, process, key string) policy.Task {
	t.Helper()
	sec, err := policy.Section[map[string]json.RawMessage](p, process)
	if err != nil {
		t.Fatal(err)
	}
	var task policy.Task
	if err := json.Unmarshal(sec[key], &task); err != nil {
		t.Fatalf("processes.%s.%s: %v", process, key, err)
	}
	return task
}

func devPolicy(t *testing.T) *policy.Policy {
	t.Helper()
	p, err := config.LoadPolicy("../config/policy.yaml", nil)
	if err != nil {
		t.Fatal(err)
	}
	return p
}

// underwriting is the loan's underwriting task from the development policy:
// underwriter, 48h, reminders every 8h, escalation to senior-underwriter
// after 24h, rejected at the deadline.
func underwriting(t *testing.T, quorum int) ht.Spec {
	s := ht.FromPolicy("underwriting", "Underwriting decision", policyTask(t, devPolicy(t), "loan", "underwriting"))
	s.Quorum = quorum
	s.Exclusions = []ht.Exclusion{{User: "C-1002", Reason: "the applicant"}}
	return s
}

type harness struct {
	t       *testing.T
	env     *testsuite.TestWorkflowEnvironment
	mails   []activities.MailInput
	upserts int
	roles   []string // PendingRoles as upserted, in order
	pol     *policy.Policy
	pa      *frameact.Frame // the worker's current policy
	cancels int
	// settings are the worker's (fixed when the test process is
	// registered, as the worker fixes them).
	settings record.Settings
	acts     int // actions sent (their update ids)
}

func newHarness(t *testing.T) *harness { return newHarnessStore(t, nil) }

// newHarnessStore is newHarness with the frame's activities over store.
func newHarnessStore(t *testing.T, store frameact.AuditStore) *harness {
	var s testsuite.WorkflowTestSuite
	s.SetLogger(log.NewStructuredLogger(slog.New(slog.NewTextHandler(io.Discard, nil))))
	h := &harness{t: t, env: s.NewTestWorkflowEnvironment(), pol: devPolicy(t)}
	h.pa = frameact.NewFrame(h.pol, store)
	h.pa.Register(h.env)
	// As the worker does: the validator reads the current directory.
	h.settings.Directory = h.pa.Directory
	h.settings.Remind = func(ctx workflow.Context, m record.Reminder) error {
		var mail *activities.Mail
		return workflow.ExecuteActivity(ctx, mail.SendMail, activities.MailInput{To: m.To, Subject: m.Subject, Body: m.Body, Ref: m.BusinessKey}).Get(ctx, nil)
	}
	h.env.RegisterWorkflowWithOptions(func(ctx workflow.Context, p plan) (*outcome, error) { return testProcess(ctx, h.settings, p) },
		workflow.RegisterOptions{Name: "testProcess"})
	var mail *activities.Mail
	h.env.OnActivity(mail.SendMail, mock.Anything, mock.Anything).Return(
		func(_ context.Context, in activities.MailInput) (*activities.MailResult, error) {
			h.mails = append(h.mails, in)
			return &activities.MailResult{MessageID: "m"}, nil
		})
	h.env.OnUpsertTypedSearchAttributes(mock.Anything).Run(func(args mock.Arguments) {
		h.upserts++
		sa := args.Get(0).(temporal.SearchAttributes)
		if roles, ok := sa.GetKeywordList(record.SAPendingRoles); ok {
			h.roles = append(h.roles, strings.Join(roles, ","))
		}
	}).Return(nil)
	h.env.SetOnTimerCanceledListener(func(string) { h.cancels++ })
	return h
}

// sent is what happened to one decision.
type sent struct {
	accepted bool
	refusal  error
	result   ht.DecisionResult
	done     bool
}

// callback records the update's answer in s.
func (s *sent) callback() *testsuite.TestUpdateCallback {
	return &testsuite.TestUpdateCallback{
		OnAccept: func() { s.accepted = true },
		OnReject: func(err error) { s.refusal = err; s.done = true },
		OnComplete: func(v any, err error) {
			s.done = true
			if err != nil {
				s.refusal = err
				return
			}
			s.result = v.(ht.DecisionResult)
		},
	}
}

// reason is the refusal's message as the caller sees it, and its code.
func (s *sent) reason() (string, string) {
	var ae *temporal.ApplicationError
	if errors.As(s.refusal, &ae) {
		return ae.Message(), ae.Type()
	}
	if s.refusal != nil {
		return s.refusal.Error(), ""
	}
	return "", ""
}

func (h *harness) update(at time.Duration, d ht.Decision) *sent {
	s := &sent{}
	h.env.RegisterDelayedCallback(func() {
		h.env.UpdateWorkflow(ht.UpdateDecide, fmt.Sprintf("u-%s-%s-%d", d.Actor, d.Verdict, at), s.callback(), d)
	}, at)
	return s
}

func (h *harness) signal(at time.Duration, d ht.Decision) {
	h.env.RegisterDelayedCallback(func() { h.env.SignalWorkflow(ht.SignalDecision, d) }, at)
}

func (h *harness) status(at time.Duration, into *record.Status) {
	h.env.RegisterDelayedCallback(func() {
		v, err := h.env.QueryWorkflow(record.QueryStatus)
		if err != nil {
			h.t.Errorf("status query: %v", err)
			return
		}
		if err := v.Get(into); err != nil {
			h.t.Error(err)
		}
	}, at)
}

func (h *harness) run(p plan) *outcome {
	h.t.Helper()
	h.env.ExecuteWorkflow("testProcess", p)
	if !h.env.IsWorkflowCompleted() {
		h.t.Fatal("workflow did not complete")
	}
	if err := h.env.GetWorkflowError(); err != nil {
		h.t.Fatalf("workflow error: %v", err)
	}
	var out outcome
	if err := h.env.GetWorkflowResult(&out); err != nil {
		h.t.Fatal(err)
	}
	return &out
}

func actions(trail []audit.Entry, action string) []audit.Entry {
	var out []audit.Entry
	for _, e := range trail {
		if e.Action == action {
			out = append(out, e)
		}
	}
	return out
}

func approve(actor string) ht.Decision { return ht.Decision{Verdict: ht.Approve, Actor: actor} }

func TestQuorumOneApprovedByUpdate(t *testing.T) {
	h := newHarness(t)
	u := h.update(time.Hour, approve("ana"))
	out := h.run(plan{Specs: []ht.Spec{underwriting(t, 1)}})
	if !u.accepted || u.result.Message != "accepted: approved (1 of 1 approvals)" || u.result.State != ht.StateApproved {
		t.Fatalf("update = %+v", u)
	}
	if r := out.Results[0]; !r.Approved() || strings.Join(r.Approvers, ",") != "ana" {
		t.Errorf("result = %+v", r)
	}
	acc := actions(out.Audit, audit.ActionDecisionAccepted)
	if len(acc) != 1 || acc[0].Actor != "ana" || acc[0].PolicyVersion != h.pol.Version {
		t.Errorf("accepted entries = %+v", acc)
	}
}

func TestQuorumTwoNeedsTwoDistinctApprovers(t *testing.T) {
	h := newHarness(t)
	first := h.update(time.Hour, approve("ana"))
	again := h.update(2*time.Hour, approve("ana"))
	var mid record.Status
	h.status(3*time.Hour, &mid)
	second := h.update(4*time.Hour, approve("ben"))
	out := h.run(plan{Specs: []ht.Spec{underwriting(t, 2)}})
	if first.result.Message != "accepted: 1 of 2 approvals" {
		t.Errorf("first = %+v", first.result)
	}
	if msg, _ := again.reason(); !strings.Contains(msg, `ana already decided task "underwriting"`) {
		t.Errorf("second approval by ana: %v", again.refusal)
	}
	if len(mid.OpenTasks) != 1 || mid.OpenTasks[0].Approvals != 1 {
		t.Errorf("status between approvals = %+v", mid)
	}
	if second.result.Message != "accepted: approved (2 of 2 approvals)" {
		t.Errorf("second = %+v", second.result)
	}
	if got := strings.Join(out.Results[0].Approvers, ","); got != "ana,ben" {
		t.Errorf("approvers = %s", got)
	}
}

func TestEveryRefusalReason(t *testing.T) {
	second := underwriting(t, 1)
	second.ID, second.Title, second.Roles = "fraud-review", "Fraud review", []string{"fraud-analyst"}
	cases := []struct {
		name  string
		specs []ht.Spec
		prior []ht.Decision // accepted before the refused one
		d     ht.Decision
		want  string
		code  string
	}{
		{"bad verdict", nil, nil, ht.Decision{Verdict: "maybe", Actor: "ana"}, `verdict: "maybe" is not one of approve, reject, delegate`, ht.RefusedInvalid},
		{"no actor", nil, nil, ht.Decision{Verdict: ht.Approve}, "actor: required", ht.RefusedInvalid},
		{"unknown actor", nil, nil, approve("zed"), `actor: "zed" is not in the directory`, ht.RefusedInvalid},
		{"unknown task", nil, nil, ht.Decision{TaskID: "nope", Verdict: ht.Approve, Actor: "ana"}, `task "nope": unknown task (open: underwriting)`, ht.RefusedUnknownTask},
		{"lacks role", nil, nil, approve("fay"), `fay may not decide task "underwriting": needs role underwriter`, ht.RefusedNoRole},
		{"excluded requester", []ht.Spec{withExclusion(underwriting(t, 2), "ben", "the requester")}, nil, approve("ben"), `ben may not decide task "underwriting": separation of duties (the requester)`, ht.RefusedExcluded},
		{"already decided", nil, []ht.Decision{approve("ana")}, approve("ana"), `ana already decided task "underwriting"`, ht.RefusedAlreadyDecided},
		{"reject needs reason", nil, nil, ht.Decision{Verdict: ht.Reject, Actor: "ana"}, "comment: a reason is required to reject", ht.RefusedInvalid},
		{"delegate to user without role", nil, nil, ht.Decision{Verdict: ht.Delegate, Actor: "ana", DelegateTo: "fay"}, `delegateTo: fay lacks the role for task "underwriting" (needs one of: underwriter)`, ht.RefusedDelegation},
		{"delegate to nobody", nil, nil, ht.Decision{Verdict: ht.Delegate, Actor: "ana"}, "delegateTo: required to delegate", ht.RefusedDelegation},
		{"delegate to self", nil, nil, ht.Decision{Verdict: ht.Delegate, Actor: "ana", DelegateTo: "ana"}, "delegateTo: ana cannot delegate to themselves", ht.RefusedDelegation},
		{"two open tasks, no id", []ht.Spec{underwriting(t, 2), second}, nil, approve("ana"), "taskId: required, 2 tasks are open (underwriting, fraud-review)", ht.RefusedNoOpenTask},
		{"signature from user without key", nil, nil, ht.Decision{Verdict: ht.Approve, Actor: "ana", Signature: "AAAA"}, "signature: ana has no public key in the directory", ht.RefusedSignature},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			specs := tc.specs
			if specs == nil {
				specs = []ht.Spec{underwriting(t, 2)}
			}
			h := newHarness(t)
			for i, d := range tc.prior {
				h.update(time.Duration(i+1)*time.Minute, d)
			}
			u := h.update(time.Hour, tc.d)
			out := h.run(plan{Specs: specs, CancelAfter: 2 * time.Hour})
			msg, code := u.reason()
			if u.accepted || msg != tc.want || code != tc.code {
				t.Fatalf("refusal = %q [%s] (accepted %v), want %q [%s]", msg, code, u.accepted, tc.want, tc.code)
			}
			// The validator refused it before history: no trace, no change.
			if n := len(actions(out.Audit, audit.ActionDecisionAccepted)) + len(actions(out.Audit, audit.ActionDelegated)); n != len(tc.prior) {
				t.Errorf("%d accepted entries, want %d", n, len(tc.prior))
			}
			if len(actions(out.Audit, audit.ActionDecisionRefused)) != 0 {
				t.Error("an update refusal must not reach the audit trail (nothing is written)")
			}
			for _, r := range out.Results {
				if r.State != ht.StateCancelled {
					t.Errorf("task ended %s, want it untouched until cancelled", r.State)
				}
			}
		})
	}
}

func withExclusion(s ht.Spec, user, reason string) ht.Spec {
	s.Exclusions = append(s.Exclusions, ht.Exclusion{User: user, Reason: reason})
	return s
}

func TestClosedTaskRefusesDecisions(t *testing.T) {
	h := newHarness(t)
	h.update(time.Hour, ht.Decision{Verdict: ht.Reject, Actor: "ana", Comment: "income not verified"})
	late := h.update(2*time.Hour, approve("ben"))
	out := h.run(plan{Specs: []ht.Spec{underwriting(t, 2)}, HoldAfter: 3 * time.Hour})
	if msg, _ := late.reason(); msg != `no task is open: task "underwriting" is already rejected` {
		t.Fatalf("late decision: %v", late.refusal)
	}
	r := out.Results[0]
	if r.State != ht.StateRejected || r.Rejecter != "ana" || r.Comment != "income not verified" {
		t.Errorf("result = %+v", r)
	}
}

func TestRefusedSignalIsAuditedAndChangesNothing(t *testing.T) {
	h := newHarness(t)
	h.signal(time.Hour, approve("fay"))
	h.signal(2*time.Hour, approve("ana"))
	out := h.run(plan{Specs: []ht.Spec{underwriting(t, 1)}})
	ref := actions(out.Audit, audit.ActionDecisionRefused)
	if len(ref) != 1 || ref[0].Actor != "fay" || !strings.Contains(ref[0].Details, `needs role underwriter`) {
		t.Fatalf("refused entries = %+v", ref)
	}
	if !out.Results[0].Approved() || strings.Join(out.Results[0].Approvers, ",") != "ana" {
		t.Errorf("result = %+v", out.Results[0])
	}
}

// The same decisions by signal and by update end the same way.
func TestSignalAndUpdateGiveTheSameResult(t *testing.T) {
	decisions := []ht.Decision{approve("ana"), approve("fay"), approve("ana"), approve("ben")}
	run := func(bySignal bool) (*outcome, []string) {
		h := newHarness(t)
		var refusals []string
		var sents []*sent
		for i, d := range decisions {
			at := time.Duration(i+1) * time.Hour
			if bySignal {
				h.signal(at, d)
			} else {
				sents = append(sents, h.update(at, d))
			}
		}
		out := h.run(plan{Specs: []ht.Spec{underwriting(t, 2)}})
		if bySignal {
			for _, e := range actions(out.Audit, audit.ActionDecisionRefused) {
				refusals = append(refusals, e.Actor)
			}
		} else {
			for i, s := range sents {
				if s.refusal != nil {
					refusals = append(refusals, decisions[i].Actor)
				}
			}
		}
		return out, refusals
	}
	sig, sigRefused := run(true)
	upd, updRefused := run(false)
	if sig.Results[0].State != upd.Results[0].State || strings.Join(sig.Results[0].Approvers, ",") != strings.Join(upd.Results[0].Approvers, ",") {
		t.Errorf("signal %+v vs update %+v", sig.Results[0], upd.Results[0])
	}
	if strings.Join(sigRefused, ",") != "fay,ana" || strings.Join(updRefused, ",") != "fay,ana" {
		t.Errorf("refused: signal %v, update %v; want fay,ana both", sigRefused, updRefused)
	}
	if v := sig.Tasks[0].Votes; v[0].Via != "signal" || upd.Tasks[0].Votes[0].Via != "update" {
		t.Errorf("votes do not record their channel: %+v", v)
	}
}

func TestOmittedTaskIDWithOneOpenTask(t *testing.T) {
	h := newHarness(t)
	u := h.update(time.Hour, approve("ana"))
	h.run(plan{Specs: []ht.Spec{underwriting(t, 1)}})
	if u.result.TaskID != "underwriting" {
		t.Errorf("resolved task = %q", u.result.TaskID)
	}
}

func TestDelegation(t *testing.T) {
	h := newHarness(t)
	d := h.update(time.Hour, ht.Decision{Verdict: ht.Delegate, Actor: "ana", DelegateTo: "ben", Comment: "on leave"})
	back := h.update(2*time.Hour, approve("ana"))
	h.update(3*time.Hour, approve("ben"))
	out := h.run(plan{Specs: []ht.Spec{underwriting(t, 1)}})
	if d.result.Message != "accepted: delegated to ben" {
		t.Errorf("delegate = %+v", d.result)
	}
	if back.refusal == nil || !strings.Contains(back.refusal.Error(), "ana already decided") {
		t.Errorf("delegator deciding after delegating: %v", back.refusal)
	}
	if !out.Results[0].Approved() || out.Results[0].Approvers[0] != "ben" {
		t.Errorf("result = %+v", out.Results[0])
	}
	if del := actions(out.Audit, audit.ActionDelegated); len(del) != 1 || !strings.Contains(del[0].Details, "delegated to ben") {
		t.Errorf("delegated entries = %+v", del)
	}
}

// A named-user task (the onboarding manager) can be delegated to anyone in
// the directory who is not excluded; the delegate then decides.
func TestNamedUserTaskDelegation(t *testing.T) {
	h := newHarness(t)
	spec := ht.FromPolicy("manager-approval", "Access package", policyTask(h.t, h.pol, "onboarding", "managerApproval"))
	spec.DelegateRoles, spec.Roles, spec.Users = spec.Roles, nil, []string{"mia"}
	refused := h.update(time.Hour, approve("max"))
	h.update(2*time.Hour, ht.Decision{Verdict: ht.Delegate, Actor: "mia", DelegateTo: "max"})
	ok := h.update(3*time.Hour, approve("max"))
	var st record.Status
	h.status(90*time.Minute, &st)
	out := h.run(plan{Specs: []ht.Spec{spec}})
	if msg, _ := refused.reason(); msg != `max may not decide task "manager-approval": needs to be mia` {
		t.Errorf("max before delegation: %v", refused.refusal)
	}
	if !ok.accepted || !out.Results[0].Approved() {
		t.Errorf("max after delegation: %+v, result %+v", ok, out.Results[0])
	}
	if len(st.OpenTasks) != 1 || strings.Join(st.OpenTasks[0].Users, ",") != "mia" {
		t.Errorf("status before delegation = %+v", st.OpenTasks)
	}
}

func TestEscalationWidensCandidates(t *testing.T) {
	h := newHarness(t)
	early := h.update(time.Hour, approve("sam"))
	var before, after record.Status
	h.status(23*time.Hour, &before)
	h.status(25*time.Hour, &after)
	late := h.update(26*time.Hour, approve("sam"))
	out := h.run(plan{Specs: []ht.Spec{underwriting(t, 1)}})
	if early.refusal == nil || !strings.Contains(early.refusal.Error(), "needs role underwriter") {
		t.Errorf("sam before escalation: %v", early.refusal)
	}
	if !late.accepted {
		t.Errorf("sam after escalation refused: %v", late.refusal)
	}
	if before.OpenTasks[0].Escalated || strings.Join(after.OpenTasks[0].Roles, ",") != "senior-underwriter,underwriter" || !after.OpenTasks[0].Escalated {
		t.Errorf("roles before %v after %v", before.OpenTasks[0].Roles, after.OpenTasks[0].Roles)
	}
	if got := strings.Join(h.roles, " "); got != "underwriter senior-underwriter,underwriter" {
		t.Errorf("PendingRoles upserts = %q, want the escalation role added", got)
	}
	esc := actions(out.Audit, audit.ActionEscalated)
	if len(esc) != 1 || !strings.Contains(esc[0].Details, "no decision after 24h0m0s; added role senior-underwriter") {
		t.Errorf("escalated entries = %+v", esc)
	}
}

func TestRemindersAndExpiry(t *testing.T) {
	h := newHarness(t)
	spec := underwriting(t, 2)
	spec.Deadline = 46 * time.Hour // reminders at 8, 16, 24, 32, 40h
	h.update(time.Hour, approve("ana"))
	out := h.run(plan{Specs: []ht.Spec{spec}, HoldAfter: 100 * time.Hour})
	if r := out.Results[0]; r.State != ht.StateExpired {
		t.Fatalf("state = %s, want expired", r.State)
	}
	rem := actions(out.Audit, audit.ActionReminded)
	if len(rem) != 5 {
		t.Fatalf("%d reminders, want 5 (every 8h before a 46h deadline, none after it)", len(rem))
	}
	// Before escalation only ben (ana has approved) is reminded; after it
	// (24h, same instant as the third reminder or before) sam too.
	if !strings.Contains(rem[0].Details, "sent to ben;") || !strings.Contains(rem[4].Details, "sent to ben, sam;") {
		t.Errorf("reminders = %v / %v", rem[0].Details, rem[4].Details)
	}
	if len(h.mails) < 8 || h.mails[0].To != "ben" || !strings.Contains(h.mails[0].Subject, "test-1") {
		t.Errorf("mails = %+v", h.mails)
	}
	closed := actions(out.Audit, audit.ActionTaskClosed)
	if len(closed) != 1 || !strings.Contains(closed[0].Details, "expired: no decision by the deadline (1 of 2 approvals)") {
		t.Errorf("closed = %+v", closed)
	}
}

func TestDeadlineEscalatesOnceThenExpires(t *testing.T) {
	h := newHarness(t)
	spec := ht.Spec{ID: "t", Title: "T", Roles: []string{"manager"}, Quorum: 1, Deadline: 10 * time.Hour,
		OnDeadline: policy.OnDeadlineEscalate, EscalateTo: []string{"director"}}
	var mid record.Status
	h.status(15*time.Hour, &mid)
	out := h.run(plan{Specs: []ht.Spec{spec}})
	if len(mid.OpenTasks) != 1 || !mid.OpenTasks[0].Escalated || strings.Join(mid.OpenTasks[0].Roles, ",") != "director,manager" {
		t.Fatalf("after first deadline = %+v", mid.OpenTasks)
	}
	closed := out.Tasks[0].ClosedAt.Sub(out.Tasks[0].OpenedAt)
	if out.Results[0].State != ht.StateExpired || closed != 20*time.Hour {
		t.Errorf("state %s after %s, want expired after 20h", out.Results[0].State, closed)
	}
}

func TestTimersAreCancelledWhenTheTaskEnds(t *testing.T) {
	h := newHarness(t)
	h.update(time.Hour, approve("ana"))
	out := h.run(plan{Specs: []ht.Spec{underwriting(t, 1)}, HoldAfter: 200 * time.Hour})
	if n := len(actions(out.Audit, audit.ActionReminded)) + len(actions(out.Audit, audit.ActionEscalated)); n != 0 {
		t.Errorf("%d reminders/escalations after the task ended", n)
	}
	if len(h.mails) != 0 {
		t.Errorf("mails sent after the task ended: %+v", h.mails)
	}
	if len(out.PendingRolesAfter) != 0 || out.DeadlineSetAfter {
		t.Errorf("after the task: PendingRoles %v, TaskDeadline set %v; want both unset", out.PendingRolesAfter, out.DeadlineSetAfter)
	}
	if n := len(actions(out.Audit, audit.ActionPrioritySet)); n != 0 {
		t.Errorf("the priority was raised after the task ended")
	}
	if h.cancels != 4 {
		t.Errorf("%d timers cancelled, want 4 (deadline, escalation, reminder, the urgent priority 4h before the deadline)", h.cancels)
	}
}

func TestCancellationWhenTheProcessEndsFirst(t *testing.T) {
	h := newHarness(t)
	out := h.run(plan{Specs: []ht.Spec{underwriting(t, 1)}, CancelAfter: 5 * time.Hour})
	if out.Results[0].State != ht.StateCancelled {
		t.Fatalf("state = %s", out.Results[0].State)
	}
	if c := actions(out.Audit, audit.ActionTaskClosed); len(c) != 1 || c[0].Details != "cancelled: withdrawn" {
		t.Errorf("closed = %+v", c)
	}
}

func TestParallelTasks(t *testing.T) {
	h := newHarness(t)
	fraud := ht.FromPolicy("fraud-review", "Fraud review", policyTask(h.t, h.pol, "order", "fraudReview"))
	var st record.Status
	h.status(30*time.Minute, &st)
	h.update(time.Hour, ht.Decision{TaskID: "fraud-review", Verdict: ht.Approve, Actor: "fay"})
	h.update(2*time.Hour, approve("ana")) // only underwriting is open now
	out := h.run(plan{Specs: []ht.Spec{underwriting(t, 1), fraud}})
	if len(st.OpenTasks) != 2 {
		t.Fatalf("open tasks = %+v", st.OpenTasks)
	}
	if !out.Results[0].Approved() || !out.Results[1].Approved() {
		t.Errorf("results = %+v", out.Results)
	}
}

// A decision that arrives in the same instant as the deadline either wins
// (approved, no expiry) or loses (refused as expired); never both.
func TestDecisionAtTheDeadlineInstant(t *testing.T) {
	h := newHarness(t)
	u := h.update(48*time.Hour, approve("ana"))
	out := h.run(plan{Specs: []ht.Spec{underwriting(t, 1)}, HoldAfter: time.Hour})
	closed := actions(out.Audit, audit.ActionTaskClosed)
	if len(closed) != 1 {
		t.Fatalf("task closed %d times", len(closed))
	}
	switch out.Results[0].State {
	case ht.StateApproved:
		if !u.accepted || u.refusal != nil {
			t.Errorf("approved, but the update was %+v", u)
		}
	case ht.StateExpired:
		if msg, _ := u.reason(); !strings.HasSuffix(msg, `task "underwriting" is already expired`) {
			t.Errorf("expired, but the update was %+v: %v", u, u.refusal)
		}
	default:
		t.Errorf("state = %s", out.Results[0].State)
	}
}

// withKey gives user a fresh key pair in h's policy.
func (h *harness) withKey(user string) ed25519.PrivateKey {
	pub, priv, _ := ed25519.GenerateKey(nil)
	u := h.pol.Users[user]
	u.PublicKey = base64.StdEncoding.EncodeToString(pub)
	h.pol.Users[user] = u
	return priv
}

// subject reads a task's subject from the tasks query, as a client does
// before signing.
func (h *harness) subject(taskID string) ht.Subject {
	v, err := h.env.QueryWorkflow(ht.QueryTasks)
	if err != nil {
		h.t.Fatal(err)
	}
	var views []ht.TaskView
	if err := v.Get(&views); err != nil {
		h.t.Fatal(err)
	}
	for _, tv := range views {
		if tv.ID == taskID {
			return tv.Subject
		}
	}
	h.t.Fatalf("task %s not found", taskID)
	return ht.Subject{}
}

// signedUpdate signs d over the subject the workflow shows for taskID
// (changed by alter, to forge one), then sends it, all at time at.
func (h *harness) signedUpdate(at time.Duration, key ed25519.PrivateKey, taskID string, alter func(*ht.Subject), d ht.Decision) *sent {
	return h.signedUpdateThen(at, key, taskID, alter, d, nil)
}

// signedUpdateThen is signedUpdate with the decision changed by then after
// signing (a forgery), when then is not nil.
func (h *harness) signedUpdateThen(at time.Duration, key ed25519.PrivateKey, taskID string, alter func(*ht.Subject), d ht.Decision, then func(*ht.Decision)) *sent {
	s := &sent{}
	h.env.RegisterDelayedCallback(func() {
		sub := h.subject(taskID)
		if alter != nil {
			alter(&sub)
		}
		ht.Sign(key, sub, &d)
		if then != nil {
			then(&d)
		}
		h.env.UpdateWorkflow(ht.UpdateDecide, fmt.Sprintf("signed-%s-%d", d.Actor, at), s.callback(), d)
	}, at)
	return s
}

func TestSignedDecisions(t *testing.T) {
	h := newHarness(t)
	priv := h.withKey("ana")
	h.pol.RequireSignedDecisions = true
	unsigned := h.update(time.Hour, ht.Decision{TaskID: "underwriting", Verdict: ht.Approve, Actor: "ben"})
	otherInstance := h.signedUpdate(2*time.Hour, priv, "underwriting", func(s *ht.Subject) { s.WorkflowID = "another-workflow" }, ht.Decision{Verdict: ht.Approve, Actor: "ana", Comment: "ok"})
	// The task id is omitted, as the CLI may with one open task: the
	// signature covers the task the subject names.
	ok := h.signedUpdate(3*time.Hour, priv, "underwriting", nil, ht.Decision{Verdict: ht.Approve, Actor: "ana", Comment: "ok"})
	h.run(plan{Specs: []ht.Spec{underwriting(t, 1)}})
	if msg, _ := unsigned.reason(); msg != "signature: the policy requires signed decisions" {
		t.Errorf("unsigned: %v", unsigned.refusal)
	}
	if msg, _ := otherInstance.reason(); msg != "signature: does not verify for ana" {
		t.Errorf("signed for another instance: %v", otherInstance.refusal)
	}
	if !ok.accepted {
		t.Errorf("valid signature refused: %v", ok.refusal)
	}
}

// A signature binds the decision to the run, the task occurrence and the
// facts the approver saw: a signature captured from history is refused on
// a re-started instance (another run) and with other facts (another
// digest); one given without a task id for provisioning-fix-1 is refused
// on provisioning-fix-2.
func TestSignatureBoundToRunOccurrenceAndFacts(t *testing.T) {
	h := newHarness(t)
	key := h.withKey("ivy")
	h.pol.RequireSignedDecisions = true
	fix := func(n int) ht.Spec {
		return ht.FromPolicy(fmt.Sprintf("provisioning-fix-%d", n), "Provisioning failed", policyTask(t, h.pol, "onboarding", "provisioningFix"))
	}
	approveIvy := ht.Decision{Verdict: ht.Approve, Actor: "ivy", Comment: "retry"}
	otherRun := h.signedUpdate(time.Hour, key, "provisioning-fix-1", func(s *ht.Subject) { s.RunID = "an-earlier-run" }, approveIvy)
	otherFacts := h.signedUpdate(2*time.Hour, key, "provisioning-fix-1", func(s *ht.Subject) { s.Digest = "digest-of-a-smaller-amount" }, approveIvy)
	var captured ht.Decision
	first := &sent{}
	h.env.RegisterDelayedCallback(func() {
		captured = approveIvy
		ht.Sign(key, h.subject("provisioning-fix-1"), &captured)
		captured.TaskID = "" // sent without a task id: one task is open
		h.env.UpdateWorkflow(ht.UpdateDecide, "first", &testsuite.TestUpdateCallback{
			OnAccept: func() { first.accepted = true }, OnReject: func(err error) { first.refusal = err },
			OnComplete: func(any, error) {},
		}, captured)
	}, 3*time.Hour)
	replayed := &sent{}
	h.env.RegisterDelayedCallback(func() {
		h.env.UpdateWorkflow(ht.UpdateDecide, "replayed", &testsuite.TestUpdateCallback{
			OnAccept: func() { replayed.accepted = true }, OnReject: func(err error) { replayed.refusal = err },
			OnComplete: func(any, error) {},
		}, captured)
	}, 4*time.Hour)
	out := h.run(plan{Specs: []ht.Spec{fix(1), fix(2)}, Sequential: true})
	for name, s := range map[string]*sent{"another run": otherRun, "other facts": otherFacts, "fix-1's signature on fix-2": replayed} {
		if msg, code := s.reason(); s.accepted || msg != "signature: does not verify for ivy" || code != ht.RefusedSignature {
			t.Errorf("%s: accepted %v, refusal %q [%s]", name, s.accepted, msg, code)
		}
	}
	if !first.accepted || !out.Results[0].Approved() || out.Results[1].Approved() {
		t.Errorf("first %+v, results %+v", first, out.Results)
	}
	if a, b := out.Tasks[0].Subject, out.Tasks[1].Subject; a.Occurrence != 1 || b.Occurrence != 2 || a.RunID == "" || a.Digest == "" {
		t.Errorf("subjects = %+v, %+v", a, b)
	}
}

// Revocation reaches running instances: a key, a role or a user removed
// from the worker's policy after the instance pinned it no longer decides,
// while the task's routing (roles, quorum) stays as pinned.
func TestRevokedKeyRoleAndUserStopWorking(t *testing.T) {
	h := newHarness(t)
	anaKey, benKey, samKey := h.withKey("ana"), h.withKey("ben"), h.withKey("sam")
	h.pol.RequireSignedDecisions = true
	h.env.RegisterDelayedCallback(func() {
		live := *h.pol
		live.Users = maps.Clone(h.pol.Users)
		ana := live.Users["ana"]
		ana.PublicKey = "" // key revoked
		live.Users["ana"] = ana
		ben := live.Users["ben"]
		ben.Roles = []string{"finance"} // role removed
		live.Users["ben"] = ben
		delete(live.Users, "sam") // left the company
		live.Version = "sha256:live"
		h.pa.SetPolicy(&live)
	}, 30*time.Minute)
	spec := underwriting(t, 1)
	spec.Roles = []string{"underwriter", "senior-underwriter"}
	ana := h.signedUpdate(time.Hour, anaKey, "underwriting", nil, approve("ana"))
	ben := h.signedUpdate(2*time.Hour, benKey, "underwriting", nil, approve("ben"))
	sam := h.signedUpdate(3*time.Hour, samKey, "underwriting", nil, approve("sam"))
	out := h.run(plan{Specs: []ht.Spec{spec}, CancelAfter: 4 * time.Hour})
	for _, c := range []struct {
		s    *sent
		want string
	}{
		{ana, "signature: ana has no public key in the directory"},
		{ben, `ben may not decide task "underwriting": needs role senior-underwriter or underwriter`},
		{sam, `actor: "sam" is no longer in the directory`},
	} {
		if msg, _ := c.s.reason(); msg != c.want {
			t.Errorf("refusal = %q, want %q", msg, c.want)
		}
	}
	if out.Results[0].Approved() {
		t.Error("approved with revoked credentials")
	}
}

// Every field of a decision is bounded before anything is stored: an
// oversize update is refused by the validator with the field and its size,
// and an oversize signal is audited with clipped values only.
func TestOversizeDecisionsAreRefused(t *testing.T) {
	h := newHarness(t)
	big := strings.Repeat("A", 250_000) // far over the bound, small enough for -race on a busy machine
	u := h.update(time.Hour, ht.Decision{Verdict: ht.Approve, Actor: "ana", Comment: big})
	h.signal(2*time.Hour, ht.Decision{Verdict: strings.Repeat("\x1b[2J", 30_000), Actor: strings.Repeat("m", 100_000)})
	out := h.run(plan{Specs: []ht.Spec{underwriting(t, 1)}, CancelAfter: 3 * time.Hour})
	if msg, code := u.reason(); u.accepted || msg != "comment: 250000 bytes, at most 2000" || code != ht.RefusedTooLarge {
		t.Errorf("oversize update: accepted %v, %q [%s]", u.accepted, msg, code)
	}
	ref := actions(out.Audit, audit.ActionDecisionRefused)
	if len(ref) != 1 || len(ref[0].Actor) > ht.MaxNameBytes+10 || len(ref[0].Details) > 400 ||
		!strings.HasSuffix(ref[0].Details, "verdict: 120000 bytes, at most 128") || strings.Contains(ref[0].Details, "\x1b") {
		t.Errorf("refused signal entry: %d entries, actor %d bytes, details %.300q", len(ref), len(ref[0].Actor), ref[0].Details)
	}
}

// A task addressed to a named user (the manager) is delegated only to
// holders of its DelegateRoles or escalation roles, never to anyone in the
// directory (the manager handing her approval to a fraud analyst).
func TestNamedUserTaskDelegatesOnlyWithinRoles(t *testing.T) {
	h := newHarness(t)
	spec := ht.FromPolicy("manager-approval", "Access package", policyTask(h.t, h.pol, "onboarding", "managerApproval"))
	spec.DelegateRoles, spec.Roles, spec.Users = spec.Roles, nil, []string{"mia"}
	toFay := h.update(time.Hour, ht.Decision{Verdict: ht.Delegate, Actor: "mia", DelegateTo: "fay"})
	toHal := h.update(2*time.Hour, ht.Decision{Verdict: ht.Delegate, Actor: "mia", DelegateTo: "hal"})
	h.run(plan{Specs: []ht.Spec{spec}, CancelAfter: 3 * time.Hour})
	if msg, _ := toFay.reason(); msg != `delegateTo: fay lacks the role for task "manager-approval" (needs one of: hr, manager)` {
		t.Errorf("delegation to a fraud analyst: %q", msg)
	}
	if !toHal.accepted {
		t.Errorf("delegation to hr refused: %v", toHal.refusal)
	}
}

func TestSearchAttributesUpsertedOnlyOnChange(t *testing.T) {
	h := newHarness(t)
	h.update(time.Hour, approve("ana")) // 1 of 2: no attribute changes
	h.update(2*time.Hour, approve("ana"))
	h.update(3*time.Hour, approve("ben"))
	out := h.run(plan{Specs: []ht.Spec{underwriting(t, 2)}, HoldAfter: time.Hour})
	// One upsert per turn that changed something: policy version, stage and
	// the opened task together; the approval that closes the task (roles and
	// deadline unset); the outcome. The 1-of-2 approval and the refused
	// repeat change nothing searchable.
	if h.upserts != 3 {
		t.Errorf("%d upserts, want 3 (one per turn that changed something)", h.upserts)
	}
	if got := strings.Join(h.roles, " "); got != "underwriter" || len(out.PendingRolesAfter) != 0 {
		t.Errorf("PendingRoles set to %q, %v at the end; want underwriter, then unset", got, out.PendingRolesAfter)
	}
}

// The policy may ask for more than one rejection: one dissent alone does
// not end the task.
func TestRejectionsNeededFromPolicy(t *testing.T) {
	h := newHarness(t)
	task := policyTask(h.t, h.pol, "loan", "underwriting")
	task.Rejections = 2
	spec := ht.FromPolicy("underwriting", "Underwriting", task)
	spec.Quorum = 2
	first := h.update(time.Hour, ht.Decision{Verdict: ht.Reject, Actor: "ana", Comment: "thin file"})
	var mid record.Status
	h.status(90*time.Minute, &mid)
	h.update(2*time.Hour, ht.Decision{Verdict: ht.Reject, Actor: "ben", Comment: "agree"})
	out := h.run(plan{Specs: []ht.Spec{spec}})
	if first.result.Message != "accepted: 1 of 2 rejections" {
		t.Errorf("first rejection = %+v", first.result)
	}
	if len(mid.OpenTasks) != 1 || mid.OpenTasks[0].Rejections != 1 {
		t.Errorf("after one rejection = %+v", mid.OpenTasks)
	}
	if r := out.Results[0]; r.State != ht.StateRejected || r.Rejecter != "ben" {
		t.Errorf("result = %+v", r)
	}
}

// A decision signed by a signer the policy trusts (the web inbox) is
// accepted for the actor it names, and the trail records the signer and how
// it authenticated the actor; a signer the policy does not list, a signature
// over another actor, and a signer's decision without a signature are refused.
func TestTrustedSignerSignsForTheActor(t *testing.T) {
	pub, priv, _ := ed25519.GenerateKey(nil)
	_, rogue, _ := ed25519.GenerateKey(nil)
	h := newHarness(t)
	h.pol.Signers = map[string]policy.Signer{"inbox": {PublicKey: base64.StdEncoding.EncodeToString(pub)}}
	h.pol.RequireSignedDecisions = true
	base := ht.Decision{TaskID: "underwriting", Verdict: ht.Approve, Comment: "ok", Signer: "inbox", Authenticated: "oidc https://idp.example"}
	untrusted := base
	untrusted.Actor, untrusted.Signer = "ana", "laptop"
	r1 := h.signedUpdate(time.Hour, priv, "underwriting", nil, untrusted)
	forAna := ht.Decision{TaskID: "underwriting", Verdict: ht.Approve, Actor: "ana", Signer: "inbox", Authenticated: "oidc https://idp.example"}
	r2 := h.signedUpdateThen(2*time.Hour, priv, "underwriting", nil, forAna, func(d *ht.Decision) { d.Actor = "ben" }) // the signature was for ana
	notSigned := base
	notSigned.Actor = "ana"
	r3 := h.update(3*time.Hour, notSigned)
	wrongKey := base
	wrongKey.Actor = "ana"
	r4 := h.signedUpdate(4*time.Hour, rogue, "underwriting", nil, wrongKey)
	good := base
	good.Actor = "ana"
	huge := base
	huge.Actor, huge.Authenticated = "ana", strings.Repeat("x", ht.MaxTextBytes+1)
	r5 := h.signedUpdate(4*time.Hour+30*time.Minute, priv, "underwriting", nil, huge)
	ok := h.signedUpdate(5*time.Hour, priv, "underwriting", nil, good)
	out := h.run(plan{Specs: []ht.Spec{underwriting(t, 1)}})
	if msg, code := r5.reason(); msg != "authenticated: 2001 bytes, at most 2000" || code != ht.RefusedTooLarge {
		t.Errorf("oversize authenticated: %q (%s)", msg, code)
	}
	for _, c := range []struct {
		s    *sent
		want string
	}{
		{r1, "signature: signer laptop is not trusted by policy " + h.pol.Version},
		{r2, "signature: does not verify for ben by signer inbox"},
		{r3, "signature: signer inbox sent no signature"},
		{r4, "signature: does not verify for ana by signer inbox"},
	} {
		if msg, code := c.s.reason(); msg != c.want || code != ht.RefusedSignature {
			t.Errorf("refusal = %q (%s), want %q", msg, code, c.want)
		}
	}
	if !ok.accepted || ok.result.State != ht.StateApproved {
		t.Fatalf("signed by the trusted inbox: %+v %v", ok.result, ok.refusal)
	}
	acc := actions(out.Audit, audit.ActionDecisionAccepted)
	if len(acc) != 1 || acc[0].Actor != "ana" ||
		acc[0].Details != "approve (1 of 1) via update, signed by inbox (authenticated: oidc https://idp.example): ok" {
		t.Errorf("audit = %+v", acc)
	}
	if v := out.Tasks[0].Votes[0]; v.Signer != "inbox" || v.Authenticated != "oidc https://idp.example" {
		t.Errorf("vote = %+v", v)
	}
}

// A signer's key follows the same revocation path as a user's: once the
// worker's current policy no longer lists the signer, its decisions are
// refused on running instances too, though the pinned policy still lists it.
func TestRevokedSignerStopsSigning(t *testing.T) {
	pub, priv, _ := ed25519.GenerateKey(nil)
	h := newHarness(t)
	h.pol.Signers = map[string]policy.Signer{"inbox": {PublicKey: base64.StdEncoding.EncodeToString(pub)}}
	h.pol.RequireSignedDecisions = true
	h.env.RegisterDelayedCallback(func() {
		live := *h.pol
		live.Signers = nil // the inbox's key revoked
		h.pa.SetPolicy(&live)
	}, 30*time.Minute)
	d := ht.Decision{TaskID: "underwriting", Verdict: ht.Approve, Actor: "ana", Signer: "inbox", Authenticated: "oidc https://idp.example"}
	r := h.signedUpdate(time.Hour, priv, "underwriting", nil, d)
	out := h.run(plan{Specs: []ht.Spec{underwriting(t, 1)}, CancelAfter: 2 * time.Hour})
	if msg, code := r.reason(); msg != "signature: signer inbox is not trusted by policy "+h.pol.Version || code != ht.RefusedSignature {
		t.Errorf("refusal = %q (%s)", msg, code)
	}
	if out.Results[0].Approved() {
		t.Error("approved with a revoked signer")
	}
}
