package workflows

import (
	"fmt"
	"regexp"
	"strconv"
	"strings"
	"time"

	"go.temporal.io/sdk/workflow"

	"github.com/batonhq/baton/activities"
	"github.com/batonhq/baton/policy"
	"github.com/batonhq/baton/workflows/humantask"
	"github.com/batonhq/baton/workflows/record"
)

// ProcessOrder is the order process's name.
const ProcessOrder = "order"

// Order outcomes.
const (
	OutcomeFulfilled     = "fulfilled"
	OutcomeFraudRejected = "rejected-fraud"
	OutcomeCardDeclined  = "card-declined"
	OutcomeOutOfStock    = "out-of-stock"
	OutcomeCancelled     = "cancelled"
)

var order = &Process{
	Name: ProcessOrder, Title: "Order fulfilment", IDField: "orderId", IDPrefix: "O", Stages: 6,
	NewInput: func() Input { return &OrderInput{} },
	Flags: []Flag{
		stringFlag("customer", "customer id (ids starting NEW- are new customers)", func(in Input) *string { return &in.(*OrderInput).CustomerID }),
		{Name: "item", Usage: "an order line SKU:QUANTITY, repeatable (e.g. --item SKU-BOOK:2)", Kind: FlagStrings, Set: func(in Input, v any) error {
			o := in.(*OrderInput)
			o.Items = nil
			for _, it := range v.([]string) {
				sku, qty, ok := strings.Cut(it, ":")
				n, err := strconv.Atoi(qty)
				if !ok || err != nil {
					return fmt.Errorf("--item: %q is not SKU:QUANTITY", it)
				}
				o.Items = append(o.Items, activities.Item{SKU: sku, Quantity: n})
			}
			return nil
		}},
		floatFlag("amount", "order amount", func(in Input) *float64 { return &in.(*OrderInput).Amount }),
		stringFlag("card", "card number", func(in Input) *string { return &in.(*OrderInput).CardNumber }),
		stringFlag("billing", "billing country (two letters)", func(in Input) *string { return &in.(*OrderInput).BillingCountry }),
		stringFlag("shipping", "shipping country (two letters)", func(in Input) *string { return &in.(*OrderInput).ShippingCountry }),
	},
	Demo: func(id func(int) string, _ time.Time) []Input {
		book := []activities.Item{{SKU: "SKU-BOOK", Quantity: 2}}
		return []Input{
			&OrderInput{OrderID: id(1), CustomerID: "K-100", Items: book, Amount: 120, CardNumber: "4111111111111111", BillingCountry: "DE", ShippingCountry: "DE"},
			&OrderInput{OrderID: id(2), CustomerID: "NEW-7", Items: []activities.Item{{SKU: "SKU-LAMP", Quantity: 1}}, Amount: 2500, CardNumber: "4111111111111111", BillingCountry: "DE", ShippingCountry: "US"},
			&OrderInput{OrderID: id(3), CustomerID: "K-200", Items: []activities.Item{{SKU: "SKU-GHOST", Quantity: 1}}, Amount: 60, CardNumber: "4111111111111111", BillingCountry: "FR", ShippingCountry: "FR"},
			&OrderInput{OrderID: id(4), CustomerID: "K-300", Items: book, Amount: 80, CardNumber: "4000000000000002", BillingCountry: "NL", ShippingCountry: "NL"},
		}
	},
	CheckPolicy: checkSection(ProcessOrder, func(p *policy.Policy, op OrderPolicy) error {
		if err := p.ValidateTask("processes.order.fraudReview", op.FraudReview, true); err != nil {
			return err
		}
		if op.FraudReviewAt < 0 || op.FraudReviewAt > 100 {
			return fmt.Errorf("policy: processes.order.fraudReviewAt: %d is outside 0..100", op.FraudReviewAt)
		}
		return nil
	}),
	Rules: sectionRules(ProcessOrder, orderFacts, func(score int, op OrderPolicy) Route { return OrderRoute(score, nil, op) }, func(score int, op OrderPolicy) []TaskRule {
		if OrderRoute(score, nil, op).Decision != OrderFraudReview {
			return nil
		}
		return []TaskRule{{Spec: orderFraudReview(op, "")}}
	}),
}

func orderFacts(score *int) []factParser { return []factParser{intFact("fraudScore", score)} }

// orderFraudReview is the fraud analysts' review, as the policy sets it.
func orderFraudReview(op OrderPolicy, title string) humantask.Spec {
	return humantask.FromPolicy("fraud-review", title, op.FraudReview)
}

func init() { describe(order, Order) }

// OrderPolicy is the order's section of the policy.
type OrderPolicy struct {
	// FraudReviewAt: a fraud score at or above it opens a manual review.
	FraudReviewAt int         `json:"fraudReviewAt"`
	FraudReview   policy.Task `json:"fraudReview"`
	// CancelRoles may cancel an order besides its customer.
	CancelRoles []string `json:"cancelRoles,omitempty"`
}

// Order routing decisions.
const (
	OrderStraightThrough = "straight-through"
	OrderFraudReview     = "fraud-review"
)

// OrderRoute sends an order to manual fraud review when its fraud score
// reaches the policy's threshold; reasons are the screen's, for the audit.
func OrderRoute(fraudScore int, reasons []string, pol OrderPolicy) Route {
	facts := map[string]string{"fraudScore": fmt.Sprint(fraudScore)}
	if fraudScore >= pol.FraudReviewAt {
		return Route{Path: record.PathManual, Decision: OrderFraudReview, Facts: facts,
			Reason: fmt.Sprintf("fraud review: score %d >= %d (%s)", fraudScore, pol.FraudReviewAt, strings.Join(reasons, "; "))}
	}
	return Route{Path: record.PathAutomated, Decision: OrderStraightThrough, Verdict: humantask.Approve, Facts: facts,
		Reason: fmt.Sprintf("straight through: fraud score %d < %d", fraudScore, pol.FraudReviewAt)}
}

var (
	cardPattern    = regexp.MustCompile(`^[0-9]{12,19}$`)
	countryPattern = regexp.MustCompile(`^[A-Z]{2}$`)
)

// OrderInput is a customer order.
type OrderInput struct {
	OrderID         string            `json:"orderId"`
	CustomerID      string            `json:"customerId"`
	Items           []activities.Item `json:"items"`
	Amount          float64           `json:"amount"`
	CardNumber      string            `json:"cardNumber"`
	BillingCountry  string            `json:"billingCountry"`
	ShippingCountry string            `json:"shippingCountry"`
}

// Validate names the first bad field.
func (in OrderInput) Validate() error {
	if err := requireKey("orderId", in.OrderID); err != nil {
		return err
	}
	if err := requireKey("customerId", in.CustomerID); err != nil {
		return err
	}
	if len(in.Items) == 0 {
		return invalid("items", "at least one item is required")
	}
	for i, it := range in.Items {
		if it.SKU == "" {
			return invalid(fmt.Sprintf("items[%d].sku", i), "required")
		}
		if err := atMost(fmt.Sprintf("items[%d].sku", i), it.SKU, 64); err != nil {
			return err
		}
		if it.Quantity < 1 {
			return invalid(fmt.Sprintf("items[%d].quantity", i), "%d must be at least 1", it.Quantity)
		}
	}
	if err := amount("amount", in.Amount); err != nil {
		return err
	}
	if !cardPattern.MatchString(in.CardNumber) {
		return invalid("cardNumber", "12 to 19 digits required")
	}
	if !countryPattern.MatchString(in.BillingCountry) {
		return invalid("billingCountry", "%q is not a two-letter country code such as DE", in.BillingCountry)
	}
	if !countryPattern.MatchString(in.ShippingCountry) {
		return invalid("shippingCountry", "%q is not a two-letter country code such as DE", in.ShippingCountry)
	}
	return nil
}

// Key is the business key.
func (in OrderInput) Key() string { return WorkflowID(ProcessOrder, in.OrderID) }

// SetID sets the order id.
func (in *OrderInput) SetID(id string) { in.OrderID = id }

// Summary is the one line the Web UI shows.
func (in OrderInput) Summary() string {
	return fmt.Sprintf("Order %s: %d line(s), %s", in.OrderID, len(in.Items), money(in.Amount))
}

// Details are the business facts, shown to every operator: the
// customer, the card and the addresses stay in the (encrypted) input.
func (in OrderInput) Details() string {
	var lines []string
	for _, it := range in.Items {
		lines = append(lines, fmt.Sprintf("%d × %s", it.Quantity, it.SKU))
	}
	return facts("Order fulfilment", in.Key(), "items", strings.Join(lines, ", "), "amount", money(in.Amount))
}

// OrderResult is how an order ended.
type OrderResult struct {
	Ending
	FraudScore    int      `json:"fraudScore"`
	ReservationID string   `json:"reservationId,omitempty"`
	ChargeID      string   `json:"chargeId,omitempty"`
	ShipmentID    string   `json:"shipmentId,omitempty"`
	Compensations []string `json:"compensations,omitempty"`
}

// Order is order fulfilment: fraud screen, manual fraud review when risky,
// inventory reservation, payment, shipment, notification; a saga releases
// and refunds on failure or on the customer's cancel before shipment.
func Order(ctx workflow.Context, in OrderInput) (*OrderResult, error) {
	return run(ctx, order, in, &OrderResult{}, orderBody)
}

func orderBody(ctx workflow.Context, p *proc, in OrderInput, res *OrderResult) error {
	shipping := false
	var pol OrderPolicy
	p.EndOn(ctx, SignalCancel, record.Requesters{Owner: in.CustomerID, Roles: func() []string { return pol.CancelRoles }},
		func() bool { return !shipping }, OutcomeCancelled, "cancelled")
	p.onEnd = func(ctx workflow.Context, outcome, reason string) {
		res.Compensations = p.compensated
		_ = p.notify(ctx, "notify-customer", in.CustomerID, fmt.Sprintf("Your order %s: %s", in.OrderID, outcome), reason)
	}
	pol, err := start[OrderPolicy](ctx, p, order, &in, fmt.Sprintf("order %s by %s for %s", in.OrderID, in.CustomerID, money(in.Amount)))
	if err != nil {
		return err
	}

	var fraud *activities.Fraud
	p.SetStage(ctx, 1, "fraud-screening", "screening the order for fraud")
	var screen activities.ScreenResult
	if err := p.step(ctx, "fraud-screen", "fraud screening: score "+in.Key(), fraud.ScreenOrder, activities.ScreenInput{
		OrderID: in.OrderID, CustomerID: in.CustomerID, Amount: in.Amount,
		BillingCountry: in.BillingCountry, ShippingCountry: in.ShippingCountry,
	}, &screen); err != nil {
		return err
	}
	res.FraudScore = screen.Score
	route := OrderRoute(screen.Score, screen.Reasons, pol)
	p.route(ctx, route)
	if route.Decision == OrderFraudReview {
		p.SetStage(ctx, 2, "fraud-review", "awaiting a fraud analyst's review")
		spec := orderFraudReview(pol, "Fraud review for "+in.Key())
		if _, err := p.decide(ctx, spec, review{outcome: OutcomeFraudRejected, decision: "fraud review"}); err != nil {
			return err
		}
	}

	var inv *activities.Inventory
	p.SetStage(ctx, 3, "reservation", "reserving stock")
	var rsv activities.ReserveResult
	if err := p.step(ctx, "reserve", "inventory: reserve stock for "+in.Key(), inv.ReserveStock, activities.ReserveInput{OrderID: in.OrderID, Items: in.Items}, &rsv,
		undoneBy("release-stock", func(ctx workflow.Context) error {
			return p.step(ctx, "release-stock", "inventory: release "+rsv.ReservationID+" for "+in.Key(), inv.ReleaseStock, activities.ReleaseInput(rsv), nil)
		})); err != nil {
		return endOnError(err, "reserve", map[string]string{activities.ErrOutOfStock: OutcomeOutOfStock}, OutcomeFailed)
	}
	res.ReservationID = rsv.ReservationID

	var pay *activities.Payments
	p.SetStage(ctx, 4, "payment", "charging the card")
	var chg activities.ChargeResult
	if err := p.step(ctx, "charge", "payments: charge "+money(in.Amount)+" for "+in.Key(), pay.ChargeCard, activities.ChargeInput{OrderID: in.OrderID, Amount: in.Amount, CardNumber: in.CardNumber}, &chg,
		undoneBy("refund", func(ctx workflow.Context) error {
			return p.step(ctx, "refund", "payments: refund "+chg.ChargeID+" for "+in.Key(), pay.RefundCharge, activities.RefundInput{ChargeID: chg.ChargeID, OrderID: in.OrderID}, nil)
		})); err != nil {
		return endOnError(err, "charge", map[string]string{activities.ErrCardDeclined: OutcomeCardDeclined}, OutcomeFailed)
	}
	res.ChargeID = chg.ChargeID

	var ship *activities.Shipping
	shipping = true
	p.SetStage(ctx, 5, "shipment", "creating the shipment")
	var shp activities.ShipmentResult
	if err := p.step(ctx, "ship", "shipping: ship "+in.Key(), ship.CreateShipment, activities.ShipmentInput{OrderID: in.OrderID, Country: in.ShippingCountry, Items: in.Items}, &shp,
		stepOptions{retry: p.limitedRetry(5)}); err != nil {
		return endOnError(err, "ship", nil, OutcomeFailed)
	}
	res.ShipmentID = shp.ShipmentID
	p.commit() // shipped: nothing left to undo
	p.SetStage(ctx, 6, "notification", "notifying the customer")
	return record.End(OutcomeFulfilled, "shipped as "+shp.Tracking)
}
