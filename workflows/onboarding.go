package workflows

import (
	"cmp"
	"fmt"
	"strings"
	"time"

	"go.temporal.io/sdk/workflow"

	"baton/activities"
	"baton/workflows/humantask"
)

// Onboarding outcomes.
const (
	OutcomeOnboarded = "onboarded"
	OutcomeAborted   = "aborted"
)

// OnboardingInput is a new hire.
type OnboardingInput struct {
	EmployeeID string   `json:"employeeId"`
	Name       string   `json:"name"`
	Role       string   `json:"role"`
	Department string   `json:"department"`
	Manager    string   `json:"manager"`
	StartDate  string   `json:"startDate"` // YYYY-MM-DD
	Equipment  []string `json:"equipment,omitempty"`
}

// Validate names the first bad field.
func (in OnboardingInput) Validate() error {
	if err := requireKey("employeeId", in.EmployeeID); err != nil {
		return err
	}
	for _, f := range []struct{ name, v string }{{"name", in.Name}, {"role", in.Role}, {"department", in.Department}, {"manager", in.Manager}} {
		if strings.TrimSpace(f.v) == "" {
			return invalid(f.name, "required")
		}
	}
	if _, err := time.Parse(time.DateOnly, in.StartDate); err != nil {
		return invalid("startDate", "%q is not a date such as 2026-12-01", in.StartDate)
	}
	return nil
}

// Key is the business key.
func (in OnboardingInput) Key() string { return WorkflowID(ProcessOnboarding, in.EmployeeID) }

// Summary is the one line the Web UI shows (no name: personal data).
func (in OnboardingInput) Summary() string {
	return fmt.Sprintf("Onboarding %s: %s in %s, starts %s", in.EmployeeID, in.Role, in.Department, in.StartDate)
}

// Details are the business facts.
func (in OnboardingInput) Details() string {
	return facts("Employee onboarding", in.Key(), "role", in.Role, "department", in.Department, "manager", in.Manager,
		"start date", in.StartDate, "equipment", cmp.Or(strings.Join(in.Equipment, ", "), "-"))
}

// OnboardingResult is how onboarding ended.
type OnboardingResult struct {
	Outcome      string            `json:"outcome"`
	HandlingPath string            `json:"handlingPath"`
	Reason       string            `json:"reason"`
	Provisioned  map[string]string `json:"provisioned,omitempty"`
}

// provisioning is one parallel branch.
type provisioning struct {
	name string
	fn   any
}

// Onboarding is employee onboarding: HR record, the named manager's
// approval of the access package (escalating to HR), provisioning fanned out
// in parallel and joined (a failure opens an it-admin task to retry or
// abort), a durable wait until the start date, and a welcome mail.
func Onboarding(ctx workflow.Context, in OnboardingInput) (*OnboardingResult, error) {
	p, err := begin(ctx, ProcessOnboarding, in, 5)
	if err != nil {
		return nil, err
	}
	if err := p.start(ctx, fmt.Sprintf("new hire %s, %s in %s, manager %s", in.EmployeeID, in.Role, in.Department, in.Manager)); err != nil {
		return nil, err
	}
	pol := p.m.Policy()
	if _, ok := pol.Users[in.Manager]; !ok {
		err := nonRetryableInput(invalid("manager", "%q is not in the directory", in.Manager))
		p.m.Fail(ctx, OutcomeFailed, err)
		return nil, err
	}
	res := &OnboardingResult{Provisioned: map[string]string{}}
	end := func(outcome, reason string) (*OnboardingResult, error) {
		res.Outcome, res.Reason, res.HandlingPath = outcome, reason, p.m.HandlingPath()
		p.finish(ctx, outcome, reason)
		return res, nil
	}
	p.m.SetHandlingPath(ctx, PathManual) // the manager always approves

	var hr *activities.HR
	p.stage(ctx, 1, "hr-record", "creating the HR record")
	if err := p.step(ctx, "hr-record", "hr: record for "+in.EmployeeID, hr.CreateEmployeeRecord, activities.EmployeeInput{
		EmployeeID: in.EmployeeID, Name: in.Name, Role: in.Role, Department: in.Department, StartDate: in.StartDate,
	}, nil); err != nil {
		return nil, err
	}

	p.stage(ctx, 2, "manager-approval", "awaiting "+in.Manager+"'s approval of the access package")
	spec := humantask.FromPolicy("manager-approval", "Access package for "+in.Key(), pol.Processes.Onboarding.ManagerApproval)
	spec.Roles, spec.Users = nil, []string{in.Manager}
	task, err := p.m.Open(ctx, spec)
	if err != nil {
		return nil, err
	}
	if r, err := task.Wait(ctx); err != nil {
		return nil, err
	} else if !r.Approved() {
		reason := "no approval by the deadline"
		if r.State == humantask.StateRejected {
			reason = "rejected by " + r.Rejecter + ": " + r.Comment
		}
		return end(OutcomeRejected, reason)
	}

	var it *activities.ITProvisioning
	var eq *activities.Equipment
	var pr *activities.Payroll
	var fac *activities.Facilities
	pending := []provisioning{{"accounts", it.CreateAccounts}, {"equipment", eq.OrderEquipment}, {"payroll", pr.EnrolPayroll}, {"badge", fac.IssueBadge}}
	req := activities.ProvisionInput{EmployeeID: in.EmployeeID, Role: in.Role, Items: in.Equipment, StartDate: in.StartDate}
	for round := 1; len(pending) > 0; round++ {
		p.stage(ctx, 3, "provisioning", fmt.Sprintf("provisioning %s in parallel", names(pending)))
		type branch struct {
			prov provisioning
			fut  workflow.Future
		}
		var branches []branch
		for _, pv := range pending {
			actx := workflow.WithActivityOptions(ctx, workflow.ActivityOptions{
				StartToCloseTimeout: 30 * time.Second,
				HeartbeatTimeout:    heartbeatTimeout,
				RetryPolicy:         p.limitedRetry(3),
				Summary:             pv.name + ": provision " + in.EmployeeID,
			})
			branches = append(branches, branch{pv, workflow.ExecuteActivity(actx, pv.fn, req)})
		}
		var failed []provisioning
		var reasons []string
		for _, b := range branches {
			var out activities.ProvisionResult
			if err := b.fut.Get(ctx, &out); err != nil {
				failed = append(failed, b.prov)
				reasons = append(reasons, b.prov.name+": "+cause(err))
				p.m.Audit(ctx, humantask.SystemActor, humantask.ActionStepFailed, "", "provision "+b.prov.name+": "+cause(err))
				continue
			}
			res.Provisioned[b.prov.name] = out.Reference
			p.m.Audit(ctx, humantask.SystemActor, humantask.ActionStepCompleted, "", "provision "+b.prov.name)
		}
		pending = failed
		if len(failed) == 0 {
			break
		}
		p.stage(ctx, 3, "provisioning-fix", "awaiting IT to fix "+names(failed)+": approve retries, reject aborts")
		fix := humantask.FromPolicy(fmt.Sprintf("provisioning-fix-%d", round), "Provisioning failed for "+in.Key()+": "+strings.Join(reasons, "; "), pol.Processes.Onboarding.ProvisioningFix)
		ft, err := p.m.Open(ctx, fix)
		if err != nil {
			return nil, err
		}
		r, err := ft.Wait(ctx)
		if err != nil {
			return nil, err
		}
		if !r.Approved() {
			return end(OutcomeAborted, "provisioning of "+names(failed)+" abandoned: "+cmp.Or(r.Comment, "no decision by the deadline"))
		}
	}

	start, _ := time.Parse(time.DateOnly, in.StartDate)
	if wait := start.Sub(workflow.Now(ctx)); wait > 0 {
		p.stage(ctx, 4, "waiting-for-start", "waiting until the start date "+in.StartDate)
		if err := workflow.NewTimerWithOptions(ctx, wait, workflow.TimerOptions{Summary: "until start date " + in.StartDate}).Get(ctx, nil); err != nil {
			return nil, err
		}
	}

	p.stage(ctx, 5, "welcome", "sending the welcome mail")
	if err := p.notify(ctx, "welcome-mail", in.EmployeeID, "Welcome aboard", fmt.Sprintf("Your accounts, equipment, payroll and badge are ready for %s.", in.StartDate)); err != nil {
		return nil, err
	}
	return end(OutcomeOnboarded, "provisioned "+strings.Join(workflow.DeterministicKeys(res.Provisioned), ", "))
}

func names(ps []provisioning) string {
	var n []string
	for _, p := range ps {
		n = append(n, p.name)
	}
	return strings.Join(n, ", ")
}
