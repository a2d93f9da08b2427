package workflows

import (
	"cmp"
	"fmt"

	"github.com/batonhq/baton/audit"
	"slices"
	"strings"
	"time"

	"github.com/batonhq/baton/process"

	"go.temporal.io/sdk/workflow"

	"github.com/batonhq/baton/activities"
	"github.com/batonhq/baton/humantask"
	"github.com/batonhq/baton/policy"
	"github.com/batonhq/baton/record"
)

// ProcessExpense is the expense process's name.
const ProcessExpense = "expense"

// Expense outcomes.
const OutcomeReimbursed = "reimbursed"

// Expense is expense approval: a chain of levels by amount (manager, then
// finance, then director), each a human task with distinct approvers; the
// requester is excluded everywhere; reimbursement on approval.
var Expense = process.Define(process.Description{
	Name: ProcessExpense, Title: "Expense approval", IDField: "expenseId", IDPrefix: "X",
	Flags: []process.Flag{
		process.StringFlag("requester", "requester's user id (e.g. max)", func(in *ExpenseInput) *string { return &in.Requester }),
		process.FloatFlag("amount", "amount to reimburse", func(in *ExpenseInput) *float64 { return &in.Amount }),
		process.StringFlag("category", "category (travel, equipment, training, ...)", func(in *ExpenseInput) *string { return &in.Category }),
		process.StringFlag("description", "what it was for", func(in *ExpenseInput) *string { return &in.Description }),
	},
	Directory: func(in process.Input) []process.UserField {
		return []process.UserField{{Field: "requester", User: in.(*ExpenseInput).Requester}}
	},
	Demo: func(id func(int) string, _ time.Time) []process.Input {
		return []process.Input{
			&ExpenseInput{ExpenseID: id(1), Requester: "max", Amount: 320, Category: "travel", Description: "train to a client"},
			&ExpenseInput{ExpenseID: id(2), Requester: "mia", Amount: 2400, Category: "training", Description: "certification"},
			&ExpenseInput{ExpenseID: id(3), Requester: "ben", Amount: 7800, Category: "equipment", Description: "workstation"},
		}
	},
	Currency: Currency,
	Case: func(in process.Input) []process.CaseSection {
		x := in.(*ExpenseInput)
		return []process.CaseSection{{Title: "Expense", Items: []process.CaseItem{
			process.UserItem("Requester", x.Requester),
			process.Item("Amount claimed", process.MoneyIn(x.Amount, Currency)),
			process.Item("Category", x.Category),
			process.Item("What it was for", x.Description),
		}}}
	},
	CheckPolicy: process.CheckSection(ProcessExpense, func(p *policy.Policy, ep ExpensePolicy) error {
		if len(ep.Levels) == 0 {
			return fmt.Errorf("policy: processes.expense.levels: at least one level is needed")
		}
		for i, l := range ep.Levels {
			path := fmt.Sprintf("processes.expense.levels[%d]", i)
			if l.Name == "" {
				return fmt.Errorf("policy: %s.name: a level needs a name", path)
			}
			if i > 0 && l.Above <= ep.Levels[i-1].Above {
				return fmt.Errorf("policy: %s.above: %.2f must exceed the previous level's %.2f", path, l.Above, ep.Levels[i-1].Above)
			}
			if err := p.ValidateTask(path, l.Task, true); err != nil {
				return err
			}
		}
		return nil
	}),
	Rules: process.SectionRules(ProcessExpense, expenseFacts, func(f ExpenseFacts, ep ExpensePolicy) process.Route {
		route, _ := ExpenseRoute(f.Amount, ep)
		return route
	}, func(f ExpenseFacts, ep ExpensePolicy) []process.TaskRule {
		_, chain := ExpenseRoute(f.Amount, ep)
		var rules []process.TaskRule
		var earlier []string
		for _, l := range chain {
			spec := expenseLevel(l, "")
			// A level above an amount an approver lowered may have been
			// opened before the lowering, or not.
			optional := f.Approved > 0 && f.Approved <= l.Above
			rules = append(rules, process.TaskRule{Spec: spec, DistinctFrom: slices.Clone(earlier), Optional: optional})
			earlier = append(earlier, spec.ID)
		}
		return rules
	}),
}, expenseBody)

// ExpenseFacts are what the approval chain is decided on: the amount
// claimed, and a lower amount an approver approved (0: none).
type ExpenseFacts struct {
	Amount, Approved float64
}

func expenseFacts(f *ExpenseFacts) []process.FactParser {
	return []process.FactParser{process.FloatFact("amount", &f.Amount), process.FloatFact("approvedAmount", &f.Approved).Optional()}
}

// expenseLevel is one level's approval task, as the policy sets it; the
// approvers of earlier levels are excluded from it.
func expenseLevel(l ExpenseLevel, title string) humantask.Spec {
	return humantask.FromPolicy(l.Name+"-approval", title, l.Task)
}

// ExpensePolicy is the expense section of the policy.
type ExpensePolicy struct {
	// Levels apply in order; a level is required when amount > Above.
	Levels []ExpenseLevel `json:"levels"`
}

// ExpenseLevel is one rung of the approval chain.
type ExpenseLevel struct {
	Name  string  `json:"name"`
	Above float64 `json:"above"`
	policy.Task
}

// ExpenseRoute is the approval chain an amount needs: every level it is
// above, in order.
func ExpenseRoute(amount float64, pol ExpensePolicy) (process.Route, []ExpenseLevel) {
	var chain []ExpenseLevel
	var names []string
	for _, l := range pol.Levels {
		if amount > l.Above {
			chain = append(chain, l)
			names = append(names, l.Name)
		}
	}
	return process.Route{Path: record.PathManual, Decision: strings.Join(names, " → "), Facts: map[string]string{"amount": process.FormatAmount(amount)},
		Reason: fmt.Sprintf("approval chain for %s: %s", process.Money(amount), strings.Join(names, " → "))}, chain
}

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
	if err := process.RequireKey("expenseId", in.ExpenseID); err != nil {
		return err
	}
	if err := process.RequireKey("requester", in.Requester); err != nil {
		return err
	}
	if err := process.AmountUpTo("amount", in.Amount, 1_000_000); err != nil {
		return err
	}
	if strings.TrimSpace(in.Category) == "" {
		return process.Invalid("category", "required (e.g. travel, equipment, training)")
	}
	if err := process.AtMost("category", in.Category, 100); err != nil {
		return err
	}
	return process.AtMost("description", in.Description, 500)
}

// Key is the business key.
func (in ExpenseInput) Key() string { return process.WorkflowID(ProcessExpense, in.ExpenseID) }

// SetID sets the expense id.
func (in *ExpenseInput) SetID(id string) { in.ExpenseID = id }

// Summary is the one line the Web UI shows.
func (in ExpenseInput) Summary() string {
	return fmt.Sprintf("Expense %s: %s %s", in.ExpenseID, process.Money(in.Amount), in.Category)
}

// Details are the business facts, shown to every operator: the
// requester and the description stay in the (encrypted) input.
func (in ExpenseInput) Details() string {
	return process.Details("Expense approval", in.Key(), "amount", process.Money(in.Amount), "category", in.Category)
}

// ExpenseResult is how a claim ended.
type ExpenseResult struct {
	process.Ending
	Levels    []string `json:"levels"`
	Approvers []string `json:"approvers,omitempty"`
	PayoutID  string   `json:"payoutId,omitempty"`
	// ApprovedAmount is a lower amount an approver approved (0: the amount
	// claimed); reimbursement pays it.
	ApprovedAmount float64 `json:"approvedAmount,omitempty"`
}

// expenseApprovalForm is each level's form: an approver may approve a
// lower amount (not above what is still claimed), with a reason.
func expenseApprovalForm(amount float64) humantask.Form {
	return humantask.Form{
		humantask.Money("approvedAmount", "Approve a lower amount", Currency).Range(0.01, amount).
			WithHelp(fmt.Sprintf("Leave empty to approve the %s claimed; a lower amount is what is reimbursed, and the levels above it are no longer needed.", process.Money(amount))),
		humantask.Text("reason", "Why the lower amount").Length(0, 500).RequireIf("approvedAmount"),
	}
}

// levelNames lists the chain's levels for people.
func levelNames(chain []ExpenseLevel) string {
	var n []string
	for _, l := range chain {
		n = append(n, l.Name)
	}
	return strings.Join(n, " → ")
}

func expenseBody(ctx workflow.Context, p *process.Proc, in ExpenseInput, res *ExpenseResult) error {
	pol, err := process.Start[ExpensePolicy](ctx, p, fmt.Sprintf("claim %s by %s for %s", in.ExpenseID, in.Requester, process.Money(in.Amount)))
	if err != nil {
		return err
	}
	route, chain := ExpenseRoute(in.Amount, pol)
	for _, l := range chain {
		res.Levels = append(res.Levels, l.Name)
	}
	p.SetStages(len(chain) + 1)
	p.Route(ctx, route)

	exclusions := []humantask.Exclusion{{User: in.Requester, Reason: "the requester"}}
	// Instances that opened their first level before forms existed replay
	// without them.
	forms := len(chain) > 0 && workflow.GetVersion(ctx, versionTaskForms, workflow.DefaultVersion, 1) >= 1
	amount := in.Amount
	for i := 0; i < len(chain); i++ {
		l := chain[i]
		p.SetStage(ctx, i+1, l.Name+"-approval", fmt.Sprintf("awaiting %s approval", l.Name))
		spec := expenseLevel(l, fmt.Sprintf("%s approval of %s", capitalize(l.Name), in.Key()))
		spec.Exclusions = slices.Clone(exclusions)
		if forms {
			spec.Form = expenseApprovalForm(amount)
		}
		r, err := p.Decide(ctx, spec, process.Review{Outcome: process.OutcomeRejected, Decision: l.Name + " decision", Level: l.Name})
		if err != nil {
			return err
		}
		for _, a := range r.Approvers {
			res.Approvers = append(res.Approvers, a)
			exclusions = append(exclusions, humantask.Exclusion{User: a, Reason: "approved the " + l.Name + " level"})
		}
		if lower, ok := r.Values.Money("approvedAmount"); forms && ok && lower < amount {
			// Governance follows the amount: the levels still ahead are
			// those the lower amount needs.
			amount = lower
			res.ApprovedAmount = lower
			p.SetFact("approvedAmount", process.FormatAmount(lower))
			_, rest := ExpenseRoute(lower, pol)
			before := len(chain)
			chain = chain[:i+1]
			for _, nl := range rest {
				if !slices.ContainsFunc(chain, func(c ExpenseLevel) bool { return c.Name == nl.Name }) {
					chain = append(chain, nl)
				}
			}
			p.Audit(ctx, audit.SystemActor, audit.ActionRouted, "", fmt.Sprintf("%s approved %s of the %s claimed (%s); levels still needed: %s",
				strings.Join(r.Approvers, ", "), process.Money(lower), process.Money(in.Amount), r.Values["reason"], cmp.Or(levelNames(chain[i+1:]), "none")))
			if len(chain) != before {
				p.SetStages(len(chain) + 1)
			}
		}
	}
	res.Levels = res.Levels[:0]
	for _, l := range chain {
		res.Levels = append(res.Levels, l.Name)
	}
	var pay *activities.Payments
	p.SetStage(ctx, p.Stages(), "reimbursement", "reimbursing the requester")
	var out activities.PayoutResult
	if err := p.Step(ctx, "reimburse", "payments: reimburse "+process.Money(amount)+" for "+in.Key(), pay.Payout,
		activities.PayoutInput{Reference: in.Key(), Payee: in.Requester, Amount: amount}, &out); err != nil {
		return err
	}
	res.PayoutID = out.PayoutID
	_ = notify(ctx, p, "notify-requester", in.Requester, "Expense "+in.ExpenseID+" reimbursed", "Approved by "+strings.Join(res.Approvers, ", "))
	if amount < in.Amount {
		return process.End(OutcomeReimbursed, fmt.Sprintf("approved by %s; paid %s of %s claimed", strings.Join(res.Approvers, ", "), process.Money(amount), process.Money(in.Amount)))
	}
	return process.End(OutcomeReimbursed, fmt.Sprintf("approved by %s; paid %s", strings.Join(res.Approvers, ", "), process.Money(in.Amount)))
}

// capitalize upper-cases the first letter of an ASCII level name.
func capitalize(s string) string {
	if s == "" || s[0] < 'a' || s[0] > 'z' {
		return s
	}
	return string(s[0]-'a'+'A') + s[1:]
}
