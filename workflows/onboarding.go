package workflows

import (
	"cmp"
	"fmt"
	"strings"
	"time"

	"go.temporal.io/sdk/workflow"

	"github.com/batonhq/baton/activities"
	"github.com/batonhq/baton/policy"
	"github.com/batonhq/baton/workflows/humantask"
	"github.com/batonhq/baton/workflows/record"
)

// ProcessOnboarding is the onboarding process's name.
const ProcessOnboarding = "onboarding"

// Onboarding outcomes.
const (
	OutcomeOnboarded = "onboarded"
	OutcomeAborted   = "aborted"
)

var onboarding = &Process{
	Name: ProcessOnboarding, Title: "Employee onboarding", IDField: "employeeId", IDPrefix: "E", Stages: 5,
	NewInput: func() Input { return &OnboardingInput{} },
	Flags: []Flag{
		stringFlag("name", "employee's name", func(in Input) *string { return &in.(*OnboardingInput).Name }),
		stringFlag("role", "job role", func(in Input) *string { return &in.(*OnboardingInput).Role }),
		stringFlag("department", "department", func(in Input) *string { return &in.(*OnboardingInput).Department }),
		stringFlag("manager", "manager's user id (e.g. mia)", func(in Input) *string { return &in.(*OnboardingInput).Manager }),
		stringFlag("start-date", "first day, YYYY-MM-DD", func(in Input) *string { return &in.(*OnboardingInput).StartDate }),
		{Name: "equipment", Usage: "equipment list, comma separated", Kind: FlagList, Set: func(in Input, v any) error {
			in.(*OnboardingInput).Equipment = v.([]string)
			return nil
		}},
	},
	Directory: func(in Input) []UserField { return []UserField{{"manager", in.(*OnboardingInput).Manager}} },
	Demo: func(id func(int) string, today time.Time) []Input {
		return []Input{
			&OnboardingInput{EmployeeID: id(1), Name: "Nora Noll", Role: "engineer", Department: "platform", Manager: "mia", StartDate: today.AddDate(0, 0, 14).Format(time.DateOnly), Equipment: []string{"laptop", "monitor"}},
			&OnboardingInput{EmployeeID: id(2), Name: "Omar Ortiz", Role: "analyst", Department: "finance", Manager: "max", StartDate: today.Format(time.DateOnly), Equipment: []string{"laptop"}},
		}
	},
	CheckPolicy: checkSection(ProcessOnboarding, func(p *policy.Policy, op OnboardingPolicy) error {
		if err := p.ValidateTask("processes.onboarding.managerApproval", op.ManagerApproval, true); err != nil {
			return err
		}
		return p.ValidateTask("processes.onboarding.provisioningFix", op.ProvisioningFix, true)
	}),
	Rules: func(p *policy.Policy) (Rules, error) {
		op, err := policy.Section[OnboardingPolicy](p, ProcessOnboarding)
		if err != nil {
			return Rules{}, err
		}
		tasks := []TaskRule{
			{Spec: onboardingManagerApproval(op, "", "", "")},
			{Spec: onboardingProvisioningFix(op, 0, ""), Optional: true},
		}
		return Rules{
			Route: func(map[string]string) (Route, error) { return OnboardingRoute(), nil },
			Tasks: func(map[string]string) ([]TaskRule, error) { return tasks, nil },
		}, nil
	},
}

// onboardingManagerApproval is the manager's approval: addressed to the
// named manager (empty: not known), delegated only to holders of the
// policy's roles, the new hire excluded.
func onboardingManagerApproval(op OnboardingPolicy, manager, employee, title string) humantask.Spec {
	spec := humantask.FromPolicy("manager-approval", title, op.ManagerApproval)
	spec.DelegateRoles, spec.Roles = spec.Roles, nil
	if manager != "" {
		spec.Users = []string{manager}
	}
	if employee != "" {
		// Separation of duties as everywhere: the new hire never approves
		// their own access, whoever the task is delegated or escalated to.
		spec.Exclusions = []humantask.Exclusion{{User: employee, Reason: "the new hire"}}
	}
	return spec
}

// onboardingProvisioningFix is the it-admins' task after provisioning
// round failed ("provisioning-fix-" with round 0: the prefix of them all).
func onboardingProvisioningFix(op OnboardingPolicy, round int, title string) humantask.Spec {
	id := "provisioning-fix-"
	if round > 0 {
		id = fmt.Sprintf("provisioning-fix-%d", round)
	}
	return humantask.FromPolicy(id, title, op.ProvisioningFix)
}

func init() { describe(onboarding, Onboarding) }

// OnboardingPolicy is onboarding's section of the policy.
type OnboardingPolicy struct {
	// ManagerApproval is addressed to the named manager, who must hold one
	// of its Roles; it may be delegated only to holders of those roles (or
	// of the escalation roles), and Escalation adds roles (hr) after a delay.
	ManagerApproval policy.Task `json:"managerApproval"`
	ProvisioningFix policy.Task `json:"provisioningFix"`
}

// OnboardingRoute is onboarding's routing: the manager always approves.
func OnboardingRoute() Route {
	return Route{Path: record.PathManual, Decision: "manager-approval", Reason: "the named manager approves the access package"}
}

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
		if err := atMost(f.name, f.v, 200); err != nil {
			return err
		}
	}
	for i, e := range in.Equipment {
		if err := atMost(fmt.Sprintf("equipment[%d]", i), e, 100); err != nil {
			return err
		}
	}
	if _, err := time.Parse(time.DateOnly, in.StartDate); err != nil {
		return invalid("startDate", "%q is not a date such as 2026-12-01", in.StartDate)
	}
	return nil
}

// Key is the business key.
func (in OnboardingInput) Key() string { return WorkflowID(ProcessOnboarding, in.EmployeeID) }

// SetID sets the employee id.
func (in *OnboardingInput) SetID(id string) { in.EmployeeID = id }

// Summary is the one line the Web UI shows: no name, no start date.
func (in OnboardingInput) Summary() string {
	return fmt.Sprintf("Onboarding %s: %s in %s", in.EmployeeID, in.Role, in.Department)
}

// Details are the business facts, shown to every operator: the
// name, the manager and the start date stay in the (encrypted) input.
func (in OnboardingInput) Details() string {
	return facts("Employee onboarding", in.Key(), "role", in.Role, "department", in.Department,
		"equipment", cmp.Or(strings.Join(in.Equipment, ", "), "-"))
}

// OnboardingResult is how onboarding ended.
type OnboardingResult struct {
	Ending
	Provisioned map[string]string `json:"provisioned,omitempty"`
}

// provisioning is one parallel branch.
type provisioning struct {
	name string
	fn   any
}

func names(ps []provisioning) string {
	var n []string
	for _, p := range ps {
		n = append(n, p.name)
	}
	return strings.Join(n, ", ")
}

// Onboarding is employee onboarding: HR record, the named manager's
// approval of the access package (escalating to HR), provisioning fanned out
// in parallel and joined (a failure opens an it-admin task to retry or
// abort), a durable wait until the start date, and a welcome mail.
func Onboarding(ctx workflow.Context, in OnboardingInput) (*OnboardingResult, error) {
	return run(ctx, onboarding, in, &OnboardingResult{Provisioned: map[string]string{}}, onboardingBody)
}

func onboardingBody(ctx workflow.Context, p *proc, in OnboardingInput, res *OnboardingResult) error {
	pol, err := start[OnboardingPolicy](ctx, p, onboarding, &in, fmt.Sprintf("new hire %s, %s in %s, manager %s", in.EmployeeID, in.Role, in.Department, in.Manager))
	if err != nil {
		return err
	}
	if err := checkManager(p.Policy(), pol, in); err != nil {
		return err
	}
	p.Route(ctx, OnboardingRoute().Path, "") // the manager always approves

	var hr *activities.HR
	p.SetStage(ctx, 1, "hr-record", "creating the HR record")
	if err := p.step(ctx, "hr-record", "hr: record for "+in.Key(), hr.CreateEmployeeRecord, activities.EmployeeInput{
		EmployeeID: in.EmployeeID, Name: in.Name, Role: in.Role, Department: in.Department, StartDate: in.StartDate,
	}, nil); err != nil {
		return err
	}

	p.SetStage(ctx, 2, "manager-approval", "awaiting the manager's approval of the access package")
	spec := onboardingManagerApproval(pol, in.Manager, in.EmployeeID, "Access package for "+in.Key())
	if _, err := p.decide(ctx, spec, review{outcome: OutcomeRejected, decision: "approval"}); err != nil {
		return err
	}

	if err := p.provision(ctx, in, pol, res); err != nil {
		return err
	}

	start, _ := time.Parse(time.DateOnly, in.StartDate)
	if wait := start.Sub(workflow.Now(ctx)); wait > 0 {
		p.SetStage(ctx, 4, "waiting-for-start", "waiting until the start date")
		if err := workflow.NewTimerWithOptions(ctx, wait, workflow.TimerOptions{Summary: "until the start date"}).Get(ctx, nil); err != nil {
			return err
		}
	}

	p.SetStage(ctx, 5, "welcome", "sending the welcome mail")
	if err := p.notify(ctx, "welcome-mail", in.EmployeeID, "Welcome aboard", fmt.Sprintf("Your accounts, equipment, payroll and badge are ready for %s.", in.StartDate)); err != nil {
		return err
	}
	return record.End(OutcomeOnboarded, "provisioned "+strings.Join(workflow.DeterministicKeys(res.Provisioned), ", "))
}

// checkManager refuses a named manager who does not hold a role of the
// manager approval (a fraud analyst named as manager), or who is the new
// hire.
func checkManager(p *policy.Policy, op OnboardingPolicy, in OnboardingInput) error {
	if in.Manager == in.EmployeeID {
		return nonRetryableInput(invalid("manager", "%q is the new hire: nobody approves their own access", in.Manager))
	}
	for _, r := range op.ManagerApproval.Roles {
		if p.HasRole(in.Manager, r) {
			return nil
		}
	}
	return nonRetryableInput(invalid("manager", "%q does not hold a role of processes.onboarding.managerApproval (%s)", in.Manager, strings.Join(op.ManagerApproval.Roles, ", ")))
}

// provision fans the provisioning out across the systems in parallel and
// joins it; when some fail, an it-admin task decides: approve retries the
// failed ones, reject (or the deadline) aborts onboarding.
func (p *proc) provision(ctx workflow.Context, in OnboardingInput, pol OnboardingPolicy, res *OnboardingResult) error {
	var it *activities.ITProvisioning
	var eq *activities.Equipment
	var pr *activities.Payroll
	var fac *activities.Facilities
	pending := []provisioning{{"accounts", it.CreateAccounts}, {"equipment", eq.OrderEquipment}, {"payroll", pr.EnrolPayroll}, {"badge", fac.IssueBadge}}
	req := activities.ProvisionInput{EmployeeID: in.EmployeeID, Role: in.Role, Items: in.Equipment, StartDate: in.StartDate}
	opts := p.options(stepOptions{retry: p.limitedRetry(3)})
	for round := 1; len(pending) > 0; round++ {
		p.SetStage(ctx, 3, "provisioning", fmt.Sprintf("provisioning %s in parallel", names(pending)))
		futures := make([]workflow.Future, len(pending))
		for i, pv := range pending {
			futures[i] = workflow.ExecuteActivity(p.activityCtx(ctx, p.stepID("provision-"+pv.name), pv.name+": provision "+in.EmployeeID, opts), pv.fn, req)
		}
		var failed []provisioning
		var reasons []string
		for i, pv := range pending {
			var out activities.ProvisionResult
			if err := futures[i].Get(ctx, &out); err != nil {
				failed = append(failed, pv)
				reasons = append(reasons, pv.name+": "+cause(err))
				p.Audit(ctx, humantask.SystemActor, record.ActionStepFailed, "", "provision "+pv.name+": "+cause(err))
				continue
			}
			res.Provisioned[pv.name] = out.Reference
			p.Audit(ctx, humantask.SystemActor, record.ActionStepCompleted, "", "provision "+pv.name)
		}
		pending = failed
		if len(failed) == 0 {
			return nil
		}
		p.SetStage(ctx, 3, "provisioning-fix", "awaiting IT to fix "+names(failed)+": approve retries, reject aborts")
		fix := onboardingProvisioningFix(pol, round, "Provisioning failed for "+in.Key()+": "+strings.Join(reasons, "; "))
		ft, err := p.Open(ctx, fix)
		if err != nil {
			return err
		}
		r, err := ft.Wait(ctx)
		if err != nil {
			return err
		}
		if !r.Approved() {
			return record.End(OutcomeAborted, "provisioning of "+names(failed)+" abandoned: "+cmp.Or(r.Comment, "no decision by the deadline"))
		}
	}
	return nil
}
