// Package purchase is a purchase request, a team's own process built on
// Baton's public packages in its own module: the requester must be in the
// directory; requests up to the policy's limit are approved automatically,
// larger ones by a manager who is not the requester; then the order is
// placed.
package purchase

import (
	"context"
	"fmt"
	"strings"

	"go.temporal.io/sdk/workflow"

	"github.com/batonhq/baton/humantask"
	"github.com/batonhq/baton/policy"
	"github.com/batonhq/baton/process"
	"github.com/batonhq/baton/record"
)

// Name is the process's name: workflow type and workflow ID prefix.
const Name = "purchase"

// OutcomeOrdered: the request was approved and the order placed.
const OutcomeOrdered = "ordered"

// Policy is the purchase section of the policy file (processes.purchase).
type Policy struct {
	// AutoApproveUpTo: requests up to this amount need no approval.
	AutoApproveUpTo float64 `json:"autoApproveUpTo"`
	// Approval is the manager's task above it.
	Approval policy.Task `json:"approval"`
}

// Input is a purchase request.
type Input struct {
	RequestID string  `json:"requestId"`
	Requester string  `json:"requester"`
	Amount    float64 `json:"amount"`
	Item      string  `json:"item"`
}

// Validate names the first bad field.
func (in Input) Validate() error {
	if err := process.RequireKey("requestId", in.RequestID); err != nil {
		return err
	}
	if err := process.RequireKey("requester", in.Requester); err != nil {
		return err
	}
	if err := process.AmountUpTo("amount", in.Amount, 100_000); err != nil {
		return err
	}
	if strings.TrimSpace(in.Item) == "" {
		return process.Invalid("item", "required (what is bought)")
	}
	return process.AtMost("item", in.Item, 200)
}

// Key is the business key, the workflow ID.
func (in Input) Key() string { return process.WorkflowID(Name, in.RequestID) }

// SetID sets the request id.
func (in *Input) SetID(id string) { in.RequestID = id }

// Summary is the one line the Web UI shows (no personal data).
func (in Input) Summary() string {
	return fmt.Sprintf("Purchase %s: %s", in.RequestID, process.Money(in.Amount))
}

// Details are the business facts every operator sees.
func (in Input) Details() string {
	return process.Details("Purchase request", in.Key(), "amount", process.Money(in.Amount))
}

// Result is how a request ended.
type Result struct {
	process.Ending
	Approver string `json:"approver,omitempty"`
	OrderID  string `json:"orderId,omitempty"`
}

// Route is the routing decision on an amount: automated up to the limit,
// a manager's approval above it.
func Route(amount float64, pol Policy) process.Route {
	facts := map[string]string{"amount": process.FormatAmount(amount)}
	if amount <= pol.AutoApproveUpTo {
		return process.Route{Path: record.PathAutomated, Decision: "auto-approve", Verdict: humantask.Approve, Facts: facts,
			Reason: fmt.Sprintf("%s is within the automatic limit of %s", process.Money(amount), process.Money(pol.AutoApproveUpTo))}
	}
	return process.Route{Path: record.PathManual, Decision: "manager-approval", Facts: facts,
		Reason: fmt.Sprintf("%s is above the automatic limit of %s: a manager approves", process.Money(amount), process.Money(pol.AutoApproveUpTo))}
}

// Purchase describes the process: what the worker registers, the starter
// starts (with these flags), and the policy check and what-if decide on.
var Purchase = process.Define(process.Description{
	Name: Name, Title: "Purchase request", IDField: "requestId", IDPrefix: "P", Stages: 2,
	Flags: []process.Flag{
		process.StringFlag("requester", "who asks (a user of the directory)", func(in *Input) *string { return &in.Requester }),
		process.FloatFlag("amount", "the amount", func(in *Input) *float64 { return &in.Amount }),
		process.StringFlag("item", "what is bought", func(in *Input) *string { return &in.Item }),
	},
	Directory: func(in process.Input) []process.UserField {
		return []process.UserField{{Field: "requester", User: in.(*Input).Requester}}
	},
	CheckPolicy: process.CheckSection(Name, func(p *policy.Policy, sec Policy) error {
		if sec.AutoApproveUpTo < 0 {
			return fmt.Errorf("policy: processes.purchase.autoApproveUpTo: %v is negative", sec.AutoApproveUpTo)
		}
		return p.ValidateTask("processes.purchase.approval", sec.Approval, true)
	}),
	// Its routing and the task its policy requires, as pure functions of
	// the facts an instance recorded: starter whatif and conformance take
	// them again.
	Rules: process.SectionRules(Name, func(amount *float64) []process.FactParser {
		return []process.FactParser{process.FloatFact("amount", amount)}
	}, func(amount float64, sec Policy) process.Route { return Route(amount, sec) },
		func(amount float64, sec Policy) []process.TaskRule {
			if Route(amount, sec).Path != record.PathManual {
				return nil
			}
			return []process.TaskRule{{Spec: approval(sec, "")}}
		}),
}, body)

// approval is the manager's task as the policy sets it (the workflow adds
// the title and the requester's exclusion).
func approval(pol Policy, title string) humantask.Spec {
	return humantask.FromPolicy("manager-approval", title, pol.Approval)
}

// Catalog is the processes this team's worker hosts and starter starts.
func Catalog() *process.Catalog { return process.NewCatalog(Purchase) }

func body(ctx workflow.Context, p *process.Proc, in Input, res *Result) error {
	pol, err := process.Start[Policy](ctx, p, fmt.Sprintf("request %s by %s for %s: %s", in.RequestID, in.Requester, process.Money(in.Amount), in.Item))
	if err != nil {
		return err
	}
	route := Route(in.Amount, pol)
	p.Route(ctx, route)
	if route.Path == record.PathManual {
		p.SetStage(ctx, 1, "manager-approval", "awaiting a manager's approval")
		spec := approval(pol, "Purchase of "+in.Item+" ("+in.Key()+")")
		spec.Exclusions = []humantask.Exclusion{{User: in.Requester, Reason: "the requester"}}
		r, err := p.Decide(ctx, spec, process.Review{Outcome: process.OutcomeRejected, Decision: "manager approval"})
		if err != nil {
			return err
		}
		res.Approver = strings.Join(r.Approvers, ", ")
	}
	p.SetStage(ctx, 2, "ordering", "placing the order")
	var po *Purchasing
	var placed Placed
	if err := p.Step(ctx, "place-order", "purchasing: order for "+in.Key(), po.PlaceOrder, Order{RequestID: in.RequestID, Item: in.Item, Amount: in.Amount}, &placed); err != nil {
		return err
	}
	res.OrderID = placed.OrderID
	return process.End(OutcomeOrdered, fmt.Sprintf("%s ordered as %s for %s", in.Item, placed.OrderID, process.Money(in.Amount)))
}

// Purchasing is the team's ordering system; the worker registers it with
// worker.Activities. (Here it only numbers the order.)
type Purchasing struct{}

// Order is what is ordered.
type Order struct {
	RequestID string  `json:"requestId"`
	Item      string  `json:"item"`
	Amount    float64 `json:"amount"`
}

// Placed is the placed order.
type Placed struct {
	OrderID string `json:"orderId"`
}

// PlaceOrder places the order, once per request: the order number is the
// request's, so a retried step orders nothing twice.
func (*Purchasing) PlaceOrder(_ context.Context, in Order) (*Placed, error) {
	return &Placed{OrderID: "PO-" + in.RequestID}, nil
}
