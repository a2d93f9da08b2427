package workflows

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"strings"
	"testing"
	"time"

	"github.com/batonhq/baton/audit"
	"github.com/batonhq/baton/config"
	"github.com/batonhq/baton/internal/frameact"
	"github.com/batonhq/baton/process"

	"github.com/stretchr/testify/mock"
	"go.temporal.io/sdk/activity"
	"go.temporal.io/sdk/client"
	"go.temporal.io/sdk/converter"
	"go.temporal.io/sdk/log"
	"go.temporal.io/sdk/temporal"
	"go.temporal.io/sdk/testsuite"

	"github.com/batonhq/baton/activities"
	"github.com/batonhq/baton/humantask"
	"github.com/batonhq/baton/policy"
	"github.com/batonhq/baton/record"
)

// Nil pointers of every activity struct, to name methods in mocks.
var (
	aKYC    *activities.KYC
	aCredit *activities.CreditBureau
	aLoans  *activities.LoanCore
	aPay    *activities.Payments
	aFraud  *activities.Fraud
	aInv    *activities.Inventory
	aShip   *activities.Shipping
	aHR     *activities.HR
	aIT     *activities.ITProvisioning
	aEquip  *activities.Equipment
	aPayrl  *activities.Payroll
	aFac    *activities.Facilities
	aMail   *activities.Mail
)

type (
	activityInfo  = activity.Info
	ctxT          = context.Context
	encodedValues = converter.EncodedValues
)

var testStart = time.Date(2026, 11, 24, 9, 0, 0, 0, time.UTC)

type harness struct {
	activityIDs []string // in start order
	t           *testing.T
	env         *testsuite.TestWorkflowEnvironment
	pol         *policy.Policy
	calls       []string // activity types in the order they ran
	mails       []activities.MailInput
}

func loadDevPolicy(t *testing.T) *policy.Policy {
	t.Helper()
	p, err := config.LoadPolicy("../config/policy.yaml", nil)
	if err != nil {
		t.Fatal(err)
	}
	return p
}

// With a store, the audit activities write to it (else they discard).
func newHarness(t *testing.T, store ...frameact.AuditStore) *harness {
	var s testsuite.WorkflowTestSuite
	s.SetLogger(log.NewStructuredLogger(slog.New(slog.NewTextHandler(io.Discard, nil))))
	h := &harness{t: t, env: s.NewTestWorkflowEnvironment(), pol: loadDevPolicy(t)}
	h.env.SetStartTime(testStart)
	Catalog().Register(h.env, record.Settings{})
	var st frameact.AuditStore = discardAudit{}
	if len(store) > 0 {
		st = store[0]
	}
	frameact.NewFrame(h.pol, st).Register(h.env)
	h.env.OnUpsertTypedSearchAttributes(mock.Anything).Return(nil)
	h.env.SetOnActivityStartedListener(func(info *activityInfo, _ ctxT, _ encodedValues) {
		if info.ActivityType.Name == record.ActivityAppendAudit {
			return // the record's writer; the record's tests check it
		}
		h.calls = append(h.calls, info.ActivityType.Name)
		h.activityIDs = append(h.activityIDs, info.ActivityID)
	})
	h.env.OnActivity(aMail.SendMail, mock.Anything, mock.Anything).Return(
		func(_ ctxT, in activities.MailInput) (*activities.MailResult, error) {
			h.mails = append(h.mails, in)
			return &activities.MailResult{MessageID: "m"}, nil
		}).Maybe()
	return h
}

// refuse is a non-retryable business refusal from a system.
func refuse(typ, msg string) error {
	return temporal.NewNonRetryableApplicationError(msg, typ, nil)
}

func (h *harness) update(at time.Duration, d humantask.Decision) *decisionOutcome {
	o := &decisionOutcome{}
	h.env.RegisterDelayedCallback(func() {
		h.env.UpdateWorkflow(humantask.UpdateDecide, fmt.Sprintf("%s-%s-%s", d.Actor, d.Verdict, at), &testsuite.TestUpdateCallback{
			OnAccept:   func() {},
			OnReject:   func(err error) { o.err = err },
			OnComplete: func(v any, err error) { o.err = err; o.done = err == nil },
		}, d)
	}, at)
	return o
}

// request sends a withdraw or cancel as an update.
func (h *harness) request(at time.Duration, name string, req record.Request) *decisionOutcome {
	o := &decisionOutcome{}
	h.env.RegisterDelayedCallback(func() {
		h.env.UpdateWorkflow(name, fmt.Sprintf("%s-%s-%s", name, req.By, at), &testsuite.TestUpdateCallback{
			OnAccept:   func() {},
			OnReject:   func(err error) { o.err = err },
			OnComplete: func(v any, err error) { o.err = err; o.done = err == nil },
		}, req)
	}, at)
	return o
}

type decisionOutcome struct {
	done bool
	err  error
}

func (h *harness) signal(at time.Duration, name string, arg any) {
	h.env.RegisterDelayedCallback(func() { h.env.SignalWorkflow(name, arg) }, at)
}

// execute starts a process (its description, or a workflow) under its
// business key, as the starter does.
func (h *harness) execute(wf any, in any) {
	if d, ok := wf.(*process.Description); ok {
		wf = d.Name
	}
	if k, ok := in.(interface{ Key() string }); ok {
		h.env.SetStartWorkflowOptions(client.StartWorkflowOptions{ID: k.Key()})
	}
	h.env.ExecuteWorkflow(wf, in)
}

// run executes a process and returns its result into out.
func (h *harness) run(wf any, in any, out any) {
	h.t.Helper()
	h.execute(wf, in)
	if !h.env.IsWorkflowCompleted() {
		h.t.Fatal("workflow did not complete")
	}
	if err := h.env.GetWorkflowError(); err != nil {
		h.t.Fatalf("workflow error: %v", err)
	}
	if err := h.env.GetWorkflowResult(out); err != nil {
		h.t.Fatal(err)
	}
}

// audit returns the trail through the query (it works after completion).
func (h *harness) audit() []audit.Entry {
	h.t.Helper()
	v, err := h.env.QueryWorkflow(record.QueryAudit)
	if err != nil {
		h.t.Fatal(err)
	}
	var a []audit.Entry
	if err := v.Get(&a); err != nil {
		h.t.Fatal(err)
	}
	return a
}

func (h *harness) auditHas(action, detailPart string) bool {
	for _, e := range h.audit() {
		if e.Action == action && strings.Contains(e.Details, detailPart) {
			return true
		}
	}
	return false
}

// ran reports the activities that ran, excluding policy and mail.
func (h *harness) ran() string {
	var out []string
	for _, c := range h.calls {
		if c != "LoadPolicy" && c != "SendMail" {
			out = append(out, c)
		}
	}
	return strings.Join(out, " ")
}

func wantInvalidInput(t *testing.T, env *testsuite.TestWorkflowEnvironment, field string) {
	t.Helper()
	err := env.GetWorkflowError()
	var ae *temporal.ApplicationError
	if !errors.As(err, &ae) || ae.Type() != process.ErrInvalidStart || !ae.NonRetryable() || !strings.Contains(ae.Error(), field+":") {
		t.Fatalf("err = %v, want a non-retryable InvalidInput naming %s", err, field)
	}
}

// discardAudit is an audit store that accepts everything (the record's
// tests check what reaches the store).
type discardAudit struct{}

func (discardAudit) Append(_ context.Context, e []audit.Entry) (audit.AppendResult, error) {
	return audit.AppendResult{Stored: len(e)}, nil
}

func (discardAudit) KeyState(context.Context, string, string, []string) (audit.KeyState, error) {
	return audit.KeyState{}, nil
}

func (discardAudit) Earlier(context.Context, string, string, []string) ([]audit.Stored, error) {
	return nil, nil
}
