package workflows

import (
	"cmp"
	"fmt"
	"strings"
	"time"

	"github.com/batonhq/baton/audit"
	"github.com/batonhq/baton/process"

	"go.temporal.io/sdk/workflow"

	"github.com/batonhq/baton/activities"
	"github.com/batonhq/baton/humantask"
	"github.com/batonhq/baton/policy"
	"github.com/batonhq/baton/record"
)

// ProcessOnboarding is the onboarding process's name.
const ProcessOnboarding = "onboarding"

// Onboarding outcomes.
const (
	OutcomeOnboarded = "onboarded"
	OutcomeAborted   = "aborted"
)

// Onboarding is employee onboarding: HR record, the named manager's
// approval of the access package (escalating to HR), provisioning fanned out
// in parallel and joined (a failure opens an it-admin task to retry or
// abort), a durable wait until the start date, and a welcome mail.
var Onboarding = process.Define(process.Description{
	Name: ProcessOnboarding, Title: "Employee onboarding", IDField: "employeeId", IDPrefix: "E", Stages: 5,
	Flags: []process.Flag{
		process.StringFlag("name", "employee's name", func(in *OnboardingInput) *string { return &in.Name }),
		process.StringFlag("role", "job role", func(in *OnboardingInput) *string { return &in.Role }),
		process.StringFlag("department", "department", func(in *OnboardingInput) *string { return &in.Department }),
		process.StringFlag("manager", "manager's user id (e.g. mia)", func(in *OnboardingInput) *string { return &in.Manager }),
		process.StringFlag("start-date", "first day, YYYY-MM-DD", func(in *OnboardingInput) *string { return &in.StartDate }),
		{Name: "equipment", Usage: "equipment list, comma separated", Kind: process.FlagList, Set: func(in process.Input, v any) error {
			in.(*OnboardingInput).Equipment = v.([]string)
			return nil
		}},
	},
	Directory: func(in process.Input) []process.UserField {
		return []process.UserField{{Field: "manager", User: in.(*OnboardingInput).Manager}}
	},
	Demo: func(id func(int) string, today time.Time) []process.Input {
		return []process.Input{
			&OnboardingInput{EmployeeID: id(1), Name: "Nora Noll", Role: "engineer", Department: "platform", Manager: "mia", StartDate: today.AddDate(0, 0, 14).Format(time.DateOnly), Equipment: []string{"laptop", "monitor"}},
			&OnboardingInput{EmployeeID: id(2), Name: "Omar Ortiz", Role: "analyst", Department: "finance", Manager: "max", StartDate: today.Format(time.DateOnly), Equipment: []string{"laptop"}},
		}
	},
	Case: func(in process.Input) []process.CaseSection {
		o := in.(*OnboardingInput)
		return []process.CaseSection{{Title: "New hire", Items: []process.CaseItem{
			process.PersonalItem("Name", o.Name),
			process.Item("Role", o.Role),
			process.Item("Department", o.Department),
			process.UserItem("Manager", o.Manager),
			process.PersonalItem("Start date", o.StartDate),
			process.Item("Equipment requested", cmp.Or(strings.Join(o.Equipment, ", "), "none")),
		}}}
	},
	CheckPolicy: process.CheckSection(ProcessOnboarding, func(p *policy.Policy, op OnboardingPolicy) error {
		if err := p.ValidateTask("processes.onboarding.managerApproval", op.ManagerApproval, true); err != nil {
			return err
		}
		return p.ValidateTask("processes.onboarding.provisioningFix", op.ProvisioningFix, true)
	}),
	Rules: func(p *policy.Policy) (process.Rules, error) {
		op, err := policy.Section[OnboardingPolicy](p, ProcessOnboarding)
		if err != nil {
			return process.Rules{}, err
		}
		tasks := []process.TaskRule{
			{Spec: onboardingManagerApproval(op, "", "", "")},
			{Spec: onboardingProvisioningFix(op, 0, ""), Optional: true},
		}
		return process.Rules{
			Route: func(map[string]string) (process.Route, error) { return OnboardingRoute(), nil },
			Tasks: func(map[string]string) ([]process.TaskRule, error) { return tasks, nil },
		}, nil
	},
}, onboardingBody)

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

// OnboardingPolicy is onboarding's section of the policy.
type OnboardingPolicy struct {
	// ManagerApproval is addressed to the named manager, who must hold one
	// of its Roles; it may be delegated only to holders of those roles (or
	// of the escalation roles), and Escalation adds roles (hr) after a delay.
	ManagerApproval policy.Task `json:"managerApproval"`
	ProvisioningFix policy.Task `json:"provisioningFix"`
}

// OnboardingRoute is onboarding's routing: the manager always approves.
func OnboardingRoute() process.Route {
	return process.Route{Path: record.PathManual, Decision: "manager-approval", Reason: "the named manager approves the access package"}
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
	if err := process.RequireKey("employeeId", in.EmployeeID); err != nil {
		return err
	}
	for _, f := range []struct{ name, v string }{{"name", in.Name}, {"role", in.Role}, {"department", in.Department}, {"manager", in.Manager}} {
		if strings.TrimSpace(f.v) == "" {
			return process.Invalid(f.name, "required")
		}
		if err := process.AtMost(f.name, f.v, 200); err != nil {
			return err
		}
	}
	for i, e := range in.Equipment {
		if err := process.AtMost(fmt.Sprintf("equipment[%d]", i), e, 100); err != nil {
			return err
		}
	}
	if _, err := time.Parse(time.DateOnly, in.StartDate); err != nil {
		return process.Invalid("startDate", "%q is not a date such as 2026-12-01", in.StartDate)
	}
	return nil
}

// Key is the business key.
func (in OnboardingInput) Key() string { return process.WorkflowID(ProcessOnboarding, in.EmployeeID) }

// SetID sets the employee id.
func (in *OnboardingInput) SetID(id string) { in.EmployeeID = id }

// Summary is the one line the Web UI shows: no name, no start date.
func (in OnboardingInput) Summary() string {
	return fmt.Sprintf("Onboarding %s: %s in %s", in.EmployeeID, in.Role, in.Department)
}

// Details are the business facts, shown to every operator: the
// name, the manager and the start date stay in the (encrypted) input.
func (in OnboardingInput) Details() string {
	return process.Details("Employee onboarding", in.Key(), "role", in.Role, "department", in.Department,
		"equipment", cmp.Or(strings.Join(in.Equipment, ", "), "-"))
}

// OnboardingResult is how onboarding ended.
type OnboardingResult struct {
	process.Ending
	Provisioned map[string]string `json:"provisioned,omitempty"`
	// AccessPackage and Equipment are what the manager approved.
	AccessPackage string   `json:"accessPackage,omitempty"`
	Equipment     []string `json:"equipment,omitempty"`
}

// AccessPackages are the access packages a manager may approve.
var AccessPackages = []humantask.Option{
	humantask.Opt("standard", "Standard: mail, calendar, intranet"),
	humantask.Opt("engineering", "Engineering: standard plus source control, CI, cloud console (read)"),
	humantask.Opt("finance", "Finance: standard plus ERP and payments (four-eyes)"),
	humantask.Opt("sales", "Sales: standard plus CRM"),
}

// EquipmentItems are the equipment a manager may order.
var EquipmentItems = []humantask.Option{
	humantask.Opt("laptop", "Laptop"),
	humantask.Opt("monitor", "Monitor"),
	humantask.Opt("phone", "Phone"),
	humantask.Opt("headset", "Headset"),
	humantask.Opt("dock", "Docking station"),
}

// onboardingAccessForm is the manager's form: the access package (the
// department's by default) and the equipment from the allowed lists (the
// request's by default); provisioning uses them.
func onboardingAccessForm(in OnboardingInput) humantask.Form {
	def := "standard"
	for _, o := range AccessPackages {
		if o.Value == strings.ToLower(in.Department) {
			def = o.Value
		}
	}
	if strings.ToLower(in.Department) == "platform" || strings.Contains(strings.ToLower(in.Role), "engineer") {
		def = "engineering"
	}
	var eq []string
	for _, e := range in.Equipment {
		for _, o := range EquipmentItems {
			if o.Value == strings.ToLower(strings.TrimSpace(e)) {
				eq = append(eq, o.Value)
			}
		}
	}
	return humantask.Form{
		humantask.Choice("accessPackage", "Access package", AccessPackages...).Require().WithDefault(def),
		humantask.MultiChoice("equipment", "Equipment", EquipmentItems...).WithDefault(strings.Join(eq, ",")).
			WithHelp("Leave empty to order what was requested (" + cmp.Or(strings.Join(in.Equipment, ", "), "nothing") + ")."),
	}
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

func onboardingBody(ctx workflow.Context, p *process.Proc, in OnboardingInput, res *OnboardingResult) error {
	res.Provisioned = map[string]string{}
	pol, err := process.Start[OnboardingPolicy](ctx, p, fmt.Sprintf("new hire %s, %s in %s, manager %s", in.EmployeeID, in.Role, in.Department, in.Manager))
	if err != nil {
		return err
	}
	if err := checkManager(p.Policy(), pol, in); err != nil {
		return err
	}
	p.SetPath(ctx, OnboardingRoute().Path, "") // the manager always approves

	var hr *activities.HR
	p.SetStage(ctx, 1, "hr-record", "creating the HR record")
	if err := p.Step(ctx, "hr-record", "hr: record for "+in.Key(), hr.CreateEmployeeRecord, activities.EmployeeInput{
		EmployeeID: in.EmployeeID, Name: in.Name, Role: in.Role, Department: in.Department, StartDate: in.StartDate,
	}, nil); err != nil {
		return err
	}

	p.SetStage(ctx, 2, "manager-approval", "awaiting the manager's approval of the access package")
	spec := onboardingManagerApproval(pol, in.Manager, in.EmployeeID, "Access package for "+in.Key())
	// Instances that opened the approval before forms existed replay
	// without one.
	forms := workflow.GetVersion(ctx, versionTaskForms, workflow.DefaultVersion, 1) >= 1
	if forms {
		spec.Form = onboardingAccessForm(in)
	}
	r, err := p.Decide(ctx, spec, process.Review{Outcome: process.OutcomeRejected, Decision: "approval"})
	if err != nil {
		return err
	}
	if forms {
		res.AccessPackage = r.Values["accessPackage"]
		if r.Values.Has("equipment") {
			in.Equipment = r.Values.List("equipment")
		}
		res.Equipment = in.Equipment
		p.SetFact("accessPackage", res.AccessPackage)
	}

	if err := provision(ctx, p, in, pol, res); err != nil {
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
	if err := notify(ctx, p, "welcome-mail", in.EmployeeID, "Welcome aboard", fmt.Sprintf("Your accounts, equipment, payroll and badge are ready for %s.", in.StartDate)); err != nil {
		return err
	}
	return process.End(OutcomeOnboarded, "provisioned "+strings.Join(workflow.DeterministicKeys(res.Provisioned), ", "))
}

// checkManager refuses a named manager who does not hold a role of the
// manager approval (a fraud analyst named as manager), or who is the new
// hire.
func checkManager(p *policy.Policy, op OnboardingPolicy, in OnboardingInput) error {
	if in.Manager == in.EmployeeID {
		return process.InvalidStart(process.Invalid("manager", "%q is the new hire: nobody approves their own access", in.Manager))
	}
	for _, r := range op.ManagerApproval.Roles {
		if p.HasRole(in.Manager, r) {
			return nil
		}
	}
	return process.InvalidStart(process.Invalid("manager", "%q does not hold a role of processes.onboarding.managerApproval (%s)", in.Manager, strings.Join(op.ManagerApproval.Roles, ", ")))
}

// provision fans the provisioning out across the systems in parallel and
// joins it; when some fail, an it-admin task decides: approve retries the
// failed ones, reject (or the deadline) aborts onboarding.
func provision(ctx workflow.Context, p *process.Proc, in OnboardingInput, pol OnboardingPolicy, res *OnboardingResult) error {
	var it *activities.ITProvisioning
	var eq *activities.Equipment
	var pr *activities.Payroll
	var fac *activities.Facilities
	pending := []provisioning{{"accounts", it.CreateAccounts}, {"equipment", eq.OrderEquipment}, {"payroll", pr.EnrolPayroll}, {"badge", fac.IssueBadge}}
	req := activities.ProvisionInput{EmployeeID: in.EmployeeID, Role: in.Role, Items: in.Equipment, StartDate: in.StartDate, AccessPackage: res.AccessPackage}
	retry := process.Retry(p.LimitedRetry(3))
	for round := 1; len(pending) > 0; round++ {
		p.SetStage(ctx, 3, "provisioning", fmt.Sprintf("provisioning %s in parallel", names(pending)))
		futures := make([]workflow.Future, len(pending))
		for i, pv := range pending {
			futures[i] = workflow.ExecuteActivity(p.StepContext(ctx, "provision-"+pv.name, pv.name+": provision "+in.EmployeeID, retry), pv.fn, req)
		}
		var failed []provisioning
		var reasons []string
		for i, pv := range pending {
			var out activities.ProvisionResult
			if err := futures[i].Get(ctx, &out); err != nil {
				failed = append(failed, pv)
				reasons = append(reasons, pv.name+": "+process.Cause(err))
				p.Audit(ctx, audit.SystemActor, audit.ActionStepFailed, "", "provision "+pv.name+": "+process.Cause(err))
				continue
			}
			res.Provisioned[pv.name] = out.Reference
			p.Audit(ctx, audit.SystemActor, audit.ActionStepCompleted, "", "provision "+pv.name)
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
			return process.End(OutcomeAborted, "provisioning of "+names(failed)+" abandoned: "+cmp.Or(r.Comment, "no decision by the deadline"))
		}
	}
	return nil
}
