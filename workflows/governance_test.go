package workflows

import (
	"context"
	"encoding/json"
	"errors"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/batonhq/baton/audit"
	"github.com/batonhq/baton/process"

	"github.com/stretchr/testify/mock"
	"go.temporal.io/sdk/client"
	"go.temporal.io/sdk/temporal"

	"github.com/batonhq/baton/activities"
	"github.com/batonhq/baton/humantask"
	"github.com/batonhq/baton/record"
)

// Two instances for one application (started with the official CLI under
// another workflow ID) cannot both pay out: a process refuses to run under
// any workflow ID but its input's business key.
func TestProcessRefusesAWorkflowIDThatIsNotTheBusinessKey(t *testing.T) {
	h := newHarness(t)
	in := loanIn("C-1001", 10000)
	h.env.SetStartWorkflowOptions(client.StartWorkflowOptions{ID: "loan-A-1-again"})
	h.env.ExecuteWorkflow(Loan.Name, in)
	wantInvalidInput(t, h.env, "applicationId")
	if !strings.Contains(h.env.GetWorkflowError().Error(), `the workflow ID "loan-A-1-again" is not the business key "loan-A-1"`) {
		t.Errorf("err = %v", h.env.GetWorkflowError())
	}
	if len(h.calls) != 0 {
		t.Errorf("steps ran: %v", h.calls)
	}
}

// Activity IDs name the business step (the systems' idempotency keys are
// the business key and this ID), with "#n" where a step legitimately
// repeats: a reset re-runs a step under the same key.
func TestActivityIDsNameTheBusinessStep(t *testing.T) {
	h := newHarness(t)
	in := loanIn("C-1001", 10000)
	mockLoanSystems(h, in, 780, 5.9)
	var res LoanResult
	h.run(Loan, in, &res)
	if got := strings.Join(h.activityIDs, " "); got != "policy kyc credit-score offer disbursement notify-applicant" {
		t.Errorf("loan activity IDs = %s", got)
	}

	h = newHarness(t)
	on := onboardingIn("2026-11-01")
	fails := 0
	h.env.OnActivity(aEquip.OrderEquipment, mock.Anything, mock.Anything).Return(func(_ ctxT, _ activities.ProvisionInput) (*activities.ProvisionResult, error) {
		if fails++; fails <= 3 {
			return nil, errors.New("equipment: supplier unavailable (HTTP 503)")
		}
		return &activities.ProvisionResult{Reference: "EQP-2"}, nil
	})
	mockProvisioning(h, on)
	h.update(time.Hour, humantask.Decision{Verdict: humantask.Approve, Actor: "mia"})
	h.update(2*time.Hour, humantask.Decision{Verdict: humantask.Approve, Actor: "ivy", Comment: "fixed"})
	var ores OnboardingResult
	h.run(Onboarding, on, &ores)
	ids := slices.Compact(slices.Clone(h.activityIDs)) // retries of one activity share its ID
	if !slices.Contains(ids, "provision-equipment") || !slices.Contains(ids, "provision-equipment#2") || slices.Contains(ids, "provision-accounts#2") {
		t.Errorf("onboarding activity IDs = %v", ids)
	}
}

// withSection adds key: value to a process's section of h's policy.
func (h *harness) withSection(process, key string, value any) {
	var sec map[string]any
	if err := json.Unmarshal(h.pol.Processes[process], &sec); err != nil {
		h.t.Fatal(err)
	}
	sec[key] = value
	raw, err := json.Marshal(sec)
	if err != nil {
		h.t.Fatal(err)
	}
	h.pol.Processes[process] = raw
}

// Withdraw is authorised like a decision: the applicant or a role the
// policy names; anyone else is refused with the reason (update) or audited
// as who they are (signal); the ending names the real requester.
func TestWithdrawOnlyByTheApplicantOrAPolicyRole(t *testing.T) {
	h := newHarness(t)
	h.withSection("loan", "withdrawRoles", []string{"senior-underwriter"})
	in := loanIn("C-1002", 40000)
	mockLoanSystems(h, in, 660, 8.9)
	mallory := h.request(time.Hour, SignalWithdraw, record.Request{By: "mallory"})
	nobody := h.request(time.Hour+time.Minute, SignalWithdraw, record.Request{})
	ana := h.request(time.Hour+2*time.Minute, SignalWithdraw, record.Request{By: "ana", Reason: "an underwriter is not enough"})
	h.signal(90*time.Minute, SignalWithdraw, record.Request{By: "mallory", Reason: "spite"})
	sam := h.request(2*time.Hour, SignalWithdraw, record.Request{By: "sam", Reason: "duplicate application"})
	var res LoanResult
	h.run(Loan, in, &res)
	for _, c := range []struct {
		o    *decisionOutcome
		want string
	}{
		{mallory, "by: mallory may not withdraw this instance (the owner C-1002, or a holder of role senior-underwriter)"},
		{nobody, "by: required (the owner C-1002, or a holder of role senior-underwriter)"},
		{ana, "by: ana may not withdraw this instance (the owner C-1002, or a holder of role senior-underwriter)"},
	} {
		var ae *temporal.ApplicationError
		if c.o.done || !errors.As(c.o.err, &ae) || ae.Message() != c.want {
			t.Errorf("refusal = %v, want %q", c.o.err, c.want)
		}
	}
	if !sam.done || res.Outcome != OutcomeWithdrawn || res.Reason != "withdrawn by sam: duplicate application" {
		t.Fatalf("sam: %+v; result %+v", sam, res)
	}
	if !h.auditHas(audit.ActionRequestRefused, "withdraw refused: by: mallory may not withdraw") {
		t.Errorf("refused signal not audited: %+v", h.audit())
	}
	for _, e := range h.audit() {
		if e.Action == audit.ActionRequested && e.Actor != "sam" {
			t.Errorf("requested by %s", e.Actor)
		}
	}
}

// When the policy requires signatures, an unsigned withdraw is refused too.
func TestWithdrawMustBeSignedWhenThePolicySaysSo(t *testing.T) {
	h := newHarness(t)
	h.pol.RequireSignedDecisions = true
	in := loanIn("C-1002", 40000)
	mockLoanSystems(h, in, 660, 8.9)
	o := h.request(time.Hour, SignalWithdraw, record.Request{By: "C-1002"})
	var res LoanResult
	h.run(Loan, in, &res)
	if o.done || o.err == nil || !strings.Contains(o.err.Error(), "signature: the policy requires signed requests") {
		t.Errorf("unsigned withdraw: %v", o.err)
	}
}

// Onboarding's manager approval follows the rules of every task: the named
// manager must hold a role of the approval (not a fraud analyst), the new
// hire never approves their own access, and the manager cannot delegate
// outside the approval's roles.
func TestOnboardingManagerApprovalUnderSeparationOfDuties(t *testing.T) {
	h := newHarness(t)
	in := onboardingIn("2026-11-01")
	in.Manager = "fay"
	h.execute(Onboarding, in)
	wantInvalidInput(t, h.env, "manager")
	if !strings.Contains(h.env.GetWorkflowError().Error(), `"fay" does not hold a role of processes.onboarding.managerApproval (manager)`) {
		t.Errorf("err = %v", h.env.GetWorkflowError())
	}

	h = newHarness(t)
	in = onboardingIn("2026-11-01")
	in.EmployeeID, in.Manager = "mia", "mia"
	h.execute(Onboarding, in)
	wantInvalidInput(t, h.env, "manager")

	h = newHarness(t)
	in = onboardingIn("2026-11-01")
	mockProvisioning(h, in)
	toFay := h.update(time.Hour, humantask.Decision{Verdict: humantask.Delegate, Actor: "mia", DelegateTo: "fay"})
	h.update(2*time.Hour, humantask.Decision{Verdict: humantask.Approve, Actor: "mia"})
	var res OnboardingResult
	h.run(Onboarding, in, &res)
	if toFay.err == nil || !strings.Contains(toFay.err.Error(), `delegateTo: fay lacks the role for task "manager-approval" (needs one of: hr, manager)`) {
		t.Errorf("delegation to a fraud analyst: %v", toFay.err)
	}
}

// ownedStore is an audit store whose key was started by another lineage
// and ended as state says; it keeps what it is asked to append.
type ownedStore struct {
	discardAudit
	state    audit.KeyState
	appended []audit.Entry
}

func (s *ownedStore) KeyState(context.Context, string, string, []string) (audit.KeyState, error) {
	return s.state, nil
}

func (s *ownedStore) Append(_ context.Context, e []audit.Entry) (audit.AppendResult, error) {
	s.appended = append(s.appended, e...)
	return audit.AppendResult{Stored: len(e)}, nil
}

// A business key whose instance has ended never runs again: the run
// refuses before any step (one line, non-retryable) and records the refused
// start under its own run. A key owned by this run's lineage (a reset of
// it) runs.
func TestEndedKeyIsRefusedBeforeAnySideEffect(t *testing.T) {
	ended := time.Date(2026, 11, 20, 10, 15, 2, 0, time.UTC)
	start := &audit.Stored{Entry: audit.Entry{RunID: "first-run", Action: audit.ActionStarted, Data: json.RawMessage(`{"originalRunId":"first-run"}`)}}
	end := &audit.Stored{Entry: audit.Entry{RunID: "first-run", Action: audit.ActionCompleted, Time: ended, Data: json.RawMessage(`{"outcome":"declined"}`)}}

	st := &ownedStore{state: audit.KeyState{Start: start, End: end}}
	h := newHarness(t, st)
	in := loanIn("C-1001", 10000)
	h.execute(Loan, in)
	var ae *temporal.ApplicationError
	err := h.env.GetWorkflowError()
	if !errors.As(err, &ae) || ae.Type() != record.ErrKeyEnded || !ae.NonRetryable() ||
		ae.Message() != "loan-A-1 has ended (declined, 2026-11-20 10:15:02 UTC): a business key never runs again; start the case under a new key" {
		t.Fatalf("err = %v", err)
	}
	if len(h.calls) != 0 {
		t.Errorf("steps ran: %v", h.calls)
	}
	if len(st.appended) != 1 || st.appended[0].Action != audit.ActionStartRefused || st.appended[0].Seq != 1 || st.appended[0].Details != ae.Message() {
		t.Errorf("recorded = %+v", st.appended)
	}

	// The test environment's run is its own lineage: a key it started runs.
	own := *start
	own.Data = json.RawMessage(`{"originalRunId":"default-test-run-id"}`)
	h = newHarness(t, &ownedStore{state: audit.KeyState{Start: &own}})
	mockLoanSystems(h, in, 780, 5.9)
	var res LoanResult
	h.run(Loan, in, &res)
	if res.Outcome != process.OutcomeApproved {
		t.Errorf("a key this lineage owns: %+v", res)
	}
}
