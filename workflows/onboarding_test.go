package workflows

import (
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/batonhq/baton/audit"
	"github.com/batonhq/baton/process"

	"github.com/stretchr/testify/mock"

	"github.com/batonhq/baton/activities"
	"github.com/batonhq/baton/humantask"
)

func onboardingIn(start string) OnboardingInput {
	return OnboardingInput{EmployeeID: "E-7", Name: "Nora Noll", Role: "engineer", Department: "platform",
		Manager: "mia", StartDate: start, Equipment: []string{"laptop"}}
}

func mockProvisioning(h *harness, in OnboardingInput) {
	req := activities.ProvisionInput{EmployeeID: in.EmployeeID, Role: in.Role, Items: in.Equipment, StartDate: in.StartDate, AccessPackage: "engineering"}
	h.env.OnActivity(aHR.CreateEmployeeRecord, mock.Anything, activities.EmployeeInput{EmployeeID: in.EmployeeID, Name: in.Name, Role: in.Role, Department: in.Department, StartDate: in.StartDate}).Return(&activities.EmployeeResult{RecordID: "EMP-1"}, nil)
	for _, fn := range []any{aIT.CreateAccounts, aEquip.OrderEquipment, aPayrl.EnrolPayroll, aFac.IssueBadge} {
		h.env.OnActivity(fn, mock.Anything, req).Return(&activities.ProvisionResult{Reference: "ref"}, nil).Maybe()
	}
}

func TestOnboardingHappyPathWaitsForTheStartDate(t *testing.T) {
	h := newHarness(t)
	in := onboardingIn("2026-12-01")
	mockProvisioning(h, in)
	h.update(2*time.Hour, humantask.Decision{Verdict: humantask.Approve, Actor: "mia"})
	var res OnboardingResult
	h.run(Onboarding, in, &res)
	if res.Outcome != OutcomeOnboarded || len(res.Provisioned) != 4 {
		t.Fatalf("result = %+v", res)
	}
	a := h.audit()
	last := a[len(a)-1]
	if want := time.Date(2026, 12, 1, 0, 0, 0, 0, time.UTC); !last.Time.Equal(want) {
		t.Errorf("finished at %s, want the start date %s (durable wait)", last.Time, want)
	}
	if len(h.mails) != 1 || h.mails[0].Subject != "Welcome aboard" || h.mails[0].To != "E-7" {
		t.Errorf("mails = %+v", h.mails)
	}
	h.env.AssertExpectations(t)
}

func TestOnboardingNoWaitWhenTheStartDateHasPassed(t *testing.T) {
	h := newHarness(t)
	in := onboardingIn("2026-11-01")
	mockProvisioning(h, in)
	h.update(time.Hour, humantask.Decision{Verdict: humantask.Approve, Actor: "mia"})
	var res OnboardingResult
	h.run(Onboarding, in, &res)
	a := h.audit()
	if res.Outcome != OutcomeOnboarded || a[len(a)-1].Time.After(testStart.Add(2*time.Hour)) {
		t.Fatalf("result %+v, ended %s", res, a[len(a)-1].Time)
	}
}

func TestOnboardingManagerApprovalEscalatesToHR(t *testing.T) {
	h := newHarness(t)
	in := onboardingIn("2026-11-01")
	mockProvisioning(h, in)
	early := h.update(time.Hour, humantask.Decision{Verdict: humantask.Approve, Actor: "hal"})
	h.update(49*time.Hour, humantask.Decision{Verdict: humantask.Approve, Actor: "hal"})
	var res OnboardingResult
	h.run(Onboarding, in, &res)
	if early.err == nil || !strings.Contains(early.err.Error(), "needs to be mia") {
		t.Errorf("hal before escalation: %v", early.err)
	}
	if res.Outcome != OutcomeOnboarded {
		t.Fatalf("result = %+v", res)
	}
}

func TestOnboardingManagerRejects(t *testing.T) {
	h := newHarness(t)
	in := onboardingIn("2026-11-01")
	mockProvisioning(h, in)
	h.update(time.Hour, humantask.Decision{Verdict: humantask.Reject, Actor: "mia", Comment: "role not budgeted"})
	var res OnboardingResult
	h.run(Onboarding, in, &res)
	if res.Outcome != process.OutcomeRejected || strings.Contains(h.ran(), "CreateAccounts") {
		t.Fatalf("result %+v after %s", res, h.ran())
	}
}

func TestOnboardingProvisioningFailureOpensAnITTask(t *testing.T) {
	for _, tc := range []struct {
		verdict humantask.Decision
		outcome string
	}{
		{humantask.Decision{Verdict: humantask.Approve, Actor: "ivy", Comment: "supplier fixed"}, OutcomeOnboarded},
		{humantask.Decision{Verdict: humantask.Reject, Actor: "ivy", Comment: "hire cancelled"}, OutcomeAborted},
	} {
		h := newHarness(t)
		in := onboardingIn("2026-11-01")
		attempts := 0
		h.env.OnActivity(aEquip.OrderEquipment, mock.Anything, mock.Anything).Return(func(_ ctxT, _ activities.ProvisionInput) (*activities.ProvisionResult, error) {
			attempts++
			if attempts <= 3 { // the first round's three attempts fail
				return nil, errors.New("equipment: supplier unavailable (HTTP 503)")
			}
			return &activities.ProvisionResult{Reference: "EQP-2"}, nil
		})
		mockProvisioning(h, in)
		h.update(time.Hour, humantask.Decision{Verdict: humantask.Approve, Actor: "mia"})
		refused := h.update(2*time.Hour, humantask.Decision{Verdict: humantask.Approve, Actor: "mia"})
		h.update(3*time.Hour, tc.verdict)
		var res OnboardingResult
		h.run(Onboarding, in, &res)
		if res.Outcome != tc.outcome {
			t.Fatalf("%s: result = %+v", tc.verdict.Verdict, res)
		}
		if refused.err == nil || !strings.Contains(refused.err.Error(), "needs role it-admin") {
			t.Errorf("mia on the fix task: %v", refused.err)
		}
		if !h.auditHas(audit.ActionTaskOpened, "Provisioning failed for onboarding-E-7: equipment") {
			t.Errorf("fix task not opened: %+v", h.audit())
		}
		if attempts != 3 && tc.outcome == OutcomeAborted || attempts != 4 && tc.outcome == OutcomeOnboarded {
			t.Errorf("%d equipment attempts", attempts)
		}
		// Only the failed branch is retried.
		if n := strings.Count(h.ran(), "CreateAccounts"); n != 1 {
			t.Errorf("accounts provisioned %d times", n)
		}
	}
}

func TestOnboardingUnknownManagerFailsNamingTheField(t *testing.T) {
	h := newHarness(t)
	in := onboardingIn("2026-12-01")
	in.Manager = "zed"
	h.execute(Onboarding, in)
	wantInvalidInput(t, h.env, "manager")
	if h.ran() != "" {
		t.Errorf("steps ran: %s", h.ran())
	}
	h = newHarness(t)
	in.StartDate = "next monday"
	h.execute(Onboarding, in)
	wantInvalidInput(t, h.env, "startDate")
}

// The manager picks the access package and the equipment from the allowed
// lists; provisioning uses them. A package not on the list is refused.
func TestOnboardingManagerPicksAccessAndEquipment(t *testing.T) {
	h := newHarness(t)
	in := onboardingIn("2026-11-20")
	req := activities.ProvisionInput{EmployeeID: in.EmployeeID, Role: in.Role, Items: []string{"laptop", "headset"}, StartDate: in.StartDate, AccessPackage: "sales"}
	h.env.OnActivity(aHR.CreateEmployeeRecord, mock.Anything, mock.Anything).Return(&activities.EmployeeResult{RecordID: "EMP-1"}, nil)
	for _, fn := range []any{aIT.CreateAccounts, aEquip.OrderEquipment, aPayrl.EnrolPayroll, aFac.IssueBadge} {
		h.env.OnActivity(fn, mock.Anything, req).Return(&activities.ProvisionResult{Reference: "ref"}, nil)
	}
	bad := h.update(time.Hour, humantask.Decision{Verdict: humantask.Approve, Actor: "mia", Values: map[string]string{"accessPackage": "root"}})
	h.update(2*time.Hour, humantask.Decision{Verdict: humantask.Approve, Actor: "mia", Values: map[string]string{"accessPackage": "sales", "equipment": "headset,laptop"}})
	var res OnboardingResult
	h.run(Onboarding, in, &res)
	if bad.err == nil || !strings.Contains(bad.err.Error(), `accessPackage: "root" is not one of standard, engineering, finance, sales`) {
		t.Errorf("a package off the list: %v", bad.err)
	}
	if res.Outcome != OutcomeOnboarded || res.AccessPackage != "sales" || strings.Join(res.Equipment, ",") != "laptop,headset" {
		t.Fatalf("result = %+v", res)
	}
	h.env.AssertExpectations(t)
}
