package workflows

import (
	"cmp"
	"fmt"
	"strings"

	"go.temporal.io/sdk/workflow"

	"baton/activities"
	"baton/workflows/humantask"
)

// Expense outcomes.
const OutcomeReimbursed = "reimbursed"

// ExpenseInput is an expense claim.
type ExpenseInput struct {
	ExpenseID   string  `json:"expenseId"`
	Requester   string  `json:"requester"`
	Amount      float64 `json:"amount"`
	Category    string  `json:"category"`
	Description string  `json:"description,omitempty"`
}

// Validate names the first bad field.
func (in ExpenseInput) Validate() error {
	if err := requireKey("expenseId", in.ExpenseID); err != nil {
		return err
	}
	if err := requireKey("requester", in.Requester); err != nil {
		return err
	}
	if in.Amount <= 0 || in.Amount > 1_000_000 {
		return invalid("amount", "%v must be above 0 and at most 1,000,000", in.Amount)
	}
	if strings.TrimSpace(in.Category) == "" {
		return invalid("category", "required (e.g. travel, equipment, training)")
	}
	if len(in.Description) > 500 {
		return invalid("description", "at most 500 characters")
	}
	return nil
}

// Key is the business key.
func (in ExpenseInput) Key() string { return WorkflowID(ProcessExpense, in.ExpenseID) }

// Summary is the one line the Web UI shows.
func (in ExpenseInput) Summary() string {
	return fmt.Sprintf("Expense %s: %s %s by %s", in.ExpenseID, money(in.Amount), in.Category, in.Requester)
}

// Details are the business facts.
func (in ExpenseInput) Details() string {
	return facts("Expense approval", in.Key(), "requester", in.Requester, "amount", money(in.Amount),
		"category", in.Category, "description", cmp.Or(in.Description, "-"))
}

// ExpenseResult is how a claim ended.
type ExpenseResult struct {
	Outcome      string   `json:"outcome"`
	HandlingPath string   `json:"handlingPath"`
	Reason       string   `json:"reason"`
	Levels       []string `json:"levels"`
	Approvers    []string `json:"approvers,omitempty"`
	PayoutID     string   `json:"payoutId,omitempty"`
}

// Expense is expense approval: a chain of levels by amount (manager, then
// finance, then director), each a human task with distinct approvers; the
// requester is excluded everywhere; reimbursement on approval.
func Expense(ctx workflow.Context, in ExpenseInput) (*ExpenseResult, error) {
	p, err := begin(ctx, ProcessExpense, in, 0)
	if err != nil {
		return nil, err
	}
	if err := p.start(ctx, fmt.Sprintf("claim %s by %s for %s", in.ExpenseID, in.Requester, money(in.Amount))); err != nil {
		return nil, err
	}
	pol := p.m.Policy()
	if _, ok := pol.Users[in.Requester]; !ok {
		err := nonRetryableInput(invalid("requester", "%q is not in the directory", in.Requester))
		p.m.Fail(ctx, OutcomeFailed, err)
		return nil, err
	}
	res := &ExpenseResult{}
	for _, l := range pol.Processes.Expense.Levels {
		if in.Amount > l.Above {
			res.Levels = append(res.Levels, l.Name)
		}
	}
	p.stageTot = len(res.Levels) + 1
	p.m.SetHandlingPath(ctx, PathManual)
	p.m.Audit(ctx, humantask.SystemActor, humantask.ActionRouted, "", fmt.Sprintf("approval chain for %s: %s", money(in.Amount), strings.Join(res.Levels, " → ")))
	end := func(outcome, reason string) (*ExpenseResult, error) {
		res.Outcome, res.Reason, res.HandlingPath = outcome, reason, p.m.HandlingPath()
		p.finish(ctx, outcome, reason)
		return res, nil
	}

	exclusions := []humantask.Exclusion{{User: in.Requester, Reason: "the requester"}}
	i := 0
	for _, l := range pol.Processes.Expense.Levels {
		if in.Amount <= l.Above {
			continue
		}
		i++
		p.stage(ctx, i, l.Name+"-approval", fmt.Sprintf("awaiting %s approval", l.Name))
		spec := humantask.FromPolicy(l.Name+"-approval", fmt.Sprintf("%s approval of %s", capitalize(l.Name), in.Key()), l.Task)
		spec.Exclusions = append([]humantask.Exclusion(nil), exclusions...)
		task, err := p.m.Open(ctx, spec)
		if err != nil {
			return nil, err
		}
		r, err := task.Wait(ctx)
		if err != nil {
			return nil, err
		}
		if !r.Approved() {
			reason := fmt.Sprintf("no %s decision by the deadline", l.Name)
			if r.State == humantask.StateRejected {
				reason = fmt.Sprintf("rejected at %s level by %s: %s", l.Name, r.Rejecter, r.Comment)
			}
			return end(OutcomeRejected, reason)
		}
		for _, a := range r.Approvers {
			res.Approvers = append(res.Approvers, a)
			exclusions = append(exclusions, humantask.Exclusion{User: a, Reason: "approved the " + l.Name + " level"})
		}
	}

	var pay *activities.Payments
	p.stage(ctx, p.stageTot, "reimbursement", "reimbursing "+in.Requester)
	var out activities.PayoutResult
	if err := p.step(ctx, "reimburse", "payments: reimburse "+money(in.Amount)+" to "+in.Requester+" for "+in.Key(), pay.Payout,
		activities.PayoutInput{Reference: in.Key(), Payee: in.Requester, Amount: in.Amount}, &out); err != nil {
		return nil, err
	}
	res.PayoutID = out.PayoutID
	_ = p.notify(ctx, "notify-requester", in.Requester, "Expense "+in.ExpenseID+" reimbursed", "Approved by "+strings.Join(res.Approvers, ", "))
	return end(OutcomeReimbursed, fmt.Sprintf("approved by %s; paid %s", strings.Join(res.Approvers, ", "), money(in.Amount)))
}

// capitalize upper-cases the first letter of an ASCII level name.
func capitalize(s string) string {
	if s == "" || s[0] < 'a' || s[0] > 'z' {
		return s
	}
	return string(s[0]-'a'+'A') + s[1:]
}
