package workflows

import (
	"fmt"
	"slices"
	"strings"
	"time"

	"go.temporal.io/sdk/workflow"

	"github.com/batonhq/baton/activities"
	"github.com/batonhq/baton/policy"
	"github.com/batonhq/baton/workflows/humantask"
	"github.com/batonhq/baton/workflows/record"
)

// ProcessExpense is the expense process's name.
const ProcessExpense = "expense"

// Expense outcomes.
const OutcomeReimbursed = "reimbursed"

var expense = &Process{
	Name: ProcessExpense, Title: "Expense approval", IDField: "expenseId", IDPrefix: "X",
	NewInput: func() Input { return &ExpenseInput{} },
	Flags: []Flag{
		stringFlag("requester", "requester's user id (e.g. max)", func(in Input) *string { return &in.(*ExpenseInput).Requester }),
		floatFlag("amount", "amount to reimburse", func(in Input) *float64 { return &in.(*ExpenseInput).Amount }),
		stringFlag("category", "category (travel, equipment, training, ...)", func(in Input) *string { return &in.(*ExpenseInput).Category }),
		stringFlag("description", "what it was for", func(in Input) *string { return &in.(*ExpenseInput).Description }),
	},
	Directory: func(in Input) []UserField { return []UserField{{"requester", in.(*ExpenseInput).Requester}} },
	Demo: func(id func(int) string, _ time.Time) []Input {
		return []Input{
			&ExpenseInput{ExpenseID: id(1), Requester: "max", Amount: 320, Category: "travel", Description: "train to a client"},
			&ExpenseInput{ExpenseID: id(2), Requester: "mia", Amount: 2400, Category: "training", Description: "certification"},
			&ExpenseInput{ExpenseID: id(3), Requester: "ben", Amount: 7800, Category: "equipment", Description: "workstation"},
		}
	},
	CheckPolicy: checkSection(ProcessExpense, func(p *policy.Policy, ep ExpensePolicy) error {
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
	Rules: sectionRules(ProcessExpense, expenseFacts, func(amount float64, ep ExpensePolicy) Route { route, _ := ExpenseRoute(amount, ep); return route }, func(amount float64, ep ExpensePolicy) []TaskRule {
		_, chain := ExpenseRoute(amount, ep)
		var rules []TaskRule
		var earlier []string
		for _, l := range chain {
			spec := expenseLevel(l, "")
			rules = append(rules, TaskRule{Spec: spec, DistinctFrom: slices.Clone(earlier)})
			earlier = append(earlier, spec.ID)
		}
		return rules
	}),
}

func expenseFacts(amount *float64) []factParser { return []factParser{floatFact("amount", amount)} }

// expenseLevel is one level's approval task, as the policy sets it; the
// approvers of earlier levels are excluded from it.
func expenseLevel(l ExpenseLevel, title string) humantask.Spec {
	return humantask.FromPolicy(l.Name+"-approval", title, l.Task)
}

func init() { describe(expense, Expense) }

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
func ExpenseRoute(amount float64, pol ExpensePolicy) (Route, []ExpenseLevel) {
	var chain []ExpenseLevel
	var names []string
	for _, l := range pol.Levels {
		if amount > l.Above {
			chain = append(chain, l)
			names = append(names, l.Name)
		}
	}
	return Route{Path: record.PathManual, Decision: strings.Join(names, " → "), Facts: map[string]string{"amount": formatAmount(amount)},
		Reason: fmt.Sprintf("approval chain for %s: %s", money(amount), strings.Join(names, " → "))}, chain
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
	if err := requireKey("expenseId", in.ExpenseID); err != nil {
		return err
	}
	if err := requireKey("requester", in.Requester); err != nil {
		return err
	}
	if err := amountUpTo("amount", in.Amount, 1_000_000); err != nil {
		return err
	}
	if strings.TrimSpace(in.Category) == "" {
		return invalid("category", "required (e.g. travel, equipment, training)")
	}
	if err := atMost("category", in.Category, 100); err != nil {
		return err
	}
	return atMost("description", in.Description, 500)
}

// Key is the business key.
func (in ExpenseInput) Key() string { return WorkflowID(ProcessExpense, in.ExpenseID) }

// SetID sets the expense id.
func (in *ExpenseInput) SetID(id string) { in.ExpenseID = id }

// Summary is the one line the Web UI shows.
func (in ExpenseInput) Summary() string {
	return fmt.Sprintf("Expense %s: %s %s", in.ExpenseID, money(in.Amount), in.Category)
}

// Details are the business facts, shown to every operator: the
// requester and the description stay in the (encrypted) input.
func (in ExpenseInput) Details() string {
	return facts("Expense approval", in.Key(), "amount", money(in.Amount), "category", in.Category)
}

// ExpenseResult is how a claim ended.
type ExpenseResult struct {
	Ending
	Levels    []string `json:"levels"`
	Approvers []string `json:"approvers,omitempty"`
	PayoutID  string   `json:"payoutId,omitempty"`
}

// Expense is expense approval: a chain of levels by amount (manager, then
// finance, then director), each a human task with distinct approvers; the
// requester is excluded everywhere; reimbursement on approval.
func Expense(ctx workflow.Context, in ExpenseInput) (*ExpenseResult, error) {
	return run(ctx, expense, in, &ExpenseResult{}, expenseBody)
}

func expenseBody(ctx workflow.Context, p *proc, in ExpenseInput, res *ExpenseResult) error {
	pol, err := start[ExpensePolicy](ctx, p, expense, &in, fmt.Sprintf("claim %s by %s for %s", in.ExpenseID, in.Requester, money(in.Amount)))
	if err != nil {
		return err
	}
	route, chain := ExpenseRoute(in.Amount, pol)
	for _, l := range chain {
		res.Levels = append(res.Levels, l.Name)
	}
	p.SetStages(len(chain) + 1)
	p.route(ctx, route)

	exclusions := []humantask.Exclusion{{User: in.Requester, Reason: "the requester"}}
	for i, l := range chain {
		p.SetStage(ctx, i+1, l.Name+"-approval", fmt.Sprintf("awaiting %s approval", l.Name))
		spec := expenseLevel(l, fmt.Sprintf("%s approval of %s", capitalize(l.Name), in.Key()))
		spec.Exclusions = slices.Clone(exclusions)
		r, err := p.decide(ctx, spec, review{outcome: OutcomeRejected, decision: l.Name + " decision", level: l.Name})
		if err != nil {
			return err
		}
		for _, a := range r.Approvers {
			res.Approvers = append(res.Approvers, a)
			exclusions = append(exclusions, humantask.Exclusion{User: a, Reason: "approved the " + l.Name + " level"})
		}
	}

	var pay *activities.Payments
	p.SetStage(ctx, p.Stages(), "reimbursement", "reimbursing the requester")
	var out activities.PayoutResult
	if err := p.step(ctx, "reimburse", "payments: reimburse "+money(in.Amount)+" for "+in.Key(), pay.Payout,
		activities.PayoutInput{Reference: in.Key(), Payee: in.Requester, Amount: in.Amount}, &out); err != nil {
		return err
	}
	res.PayoutID = out.PayoutID
	_ = p.notify(ctx, "notify-requester", in.Requester, "Expense "+in.ExpenseID+" reimbursed", "Approved by "+strings.Join(res.Approvers, ", "))
	return record.End(OutcomeReimbursed, fmt.Sprintf("approved by %s; paid %s", strings.Join(res.Approvers, ", "), money(in.Amount)))
}

// capitalize upper-cases the first letter of an ASCII level name.
func capitalize(s string) string {
	if s == "" || s[0] < 'a' || s[0] > 'z' {
		return s
	}
	return string(s[0]-'a'+'A') + s[1:]
}
