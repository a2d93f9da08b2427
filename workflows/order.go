package workflows

import (
	"fmt"
	"regexp"
	"strconv"
	"strings"
	"time"

	"github.com/batonhq/baton/process"

	"go.temporal.io/sdk/workflow"

	"github.com/batonhq/baton/activities"
	"github.com/batonhq/baton/humantask"
	"github.com/batonhq/baton/policy"
	"github.com/batonhq/baton/record"
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

// Order is order fulfilment: fraud screen, manual fraud review when risky,
// inventory reservation, payment, shipment, notification; a saga releases
// and refunds on failure or on the customer's cancel before shipment.
var Order = process.Define(process.Description{
	Name: ProcessOrder, Title: "Order fulfilment", IDField: "orderId", IDPrefix: "O", Stages: 6,
	Messages: []process.Message{{Name: SignalCancel, Short: "Cancel an order (until shipment); reservations and charges are undone",
		Example: "  starter cancel order-O-4 --by K-7"}},
	Flags: []process.Flag{
		process.StringFlag("customer", "customer id (ids starting NEW- are new customers)", func(in *OrderInput) *string { return &in.CustomerID }),
		{Name: "item", Usage: "an order line SKU:QUANTITY, repeatable (e.g. --item SKU-BOOK:2)", Kind: process.FlagStrings, Set: func(in process.Input, v any) error {
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
		process.FloatFlag("amount", "order amount", func(in *OrderInput) *float64 { return &in.Amount }),
		process.StringFlag("card", "card number", func(in *OrderInput) *string { return &in.CardNumber }),
		process.StringFlag("billing", "billing country (two letters)", func(in *OrderInput) *string { return &in.BillingCountry }),
		process.StringFlag("shipping", "shipping country (two letters)", func(in *OrderInput) *string { return &in.ShippingCountry }),
	},
	Demo: func(id func(int) string, _ time.Time) []process.Input {
		book := []activities.Item{{SKU: "SKU-BOOK", Quantity: 2}}
		return []process.Input{
			&OrderInput{OrderID: id(1), CustomerID: "K-100", Items: book, Amount: 120, CardNumber: "4111111111111111", BillingCountry: "DE", ShippingCountry: "DE"},
			&OrderInput{OrderID: id(2), CustomerID: "NEW-7", Items: []activities.Item{{SKU: "SKU-LAMP", Quantity: 1}}, Amount: 2500, CardNumber: "4111111111111111", BillingCountry: "DE", ShippingCountry: "US"},
			&OrderInput{OrderID: id(3), CustomerID: "K-200", Items: []activities.Item{{SKU: "SKU-GHOST", Quantity: 1}}, Amount: 60, CardNumber: "4111111111111111", BillingCountry: "FR", ShippingCountry: "FR"},
			&OrderInput{OrderID: id(4), CustomerID: "K-300", Items: book, Amount: 80, CardNumber: "4000000000000002", BillingCountry: "NL", ShippingCountry: "NL"},
		}
	},
	Currency: Currency,
	Case: func(in process.Input) []process.CaseSection {
		o := in.(*OrderInput)
		var lines []string
		for _, it := range o.Items {
			lines = append(lines, fmt.Sprintf("%d × %s", it.Quantity, it.SKU))
		}
		card := o.CardNumber
		if len(card) > 4 {
			card = "•••• " + card[len(card)-4:]
		}
		return []process.CaseSection{{Title: "Order", Items: []process.CaseItem{
			process.Item("Items", strings.Join(lines, ", ")),
			process.Item("Amount", process.MoneyIn(o.Amount, Currency)),
			process.PersonalItem("Customer", o.CustomerID),
			process.PersonalItem("Card", card),
			process.PersonalItem("Billing country", o.BillingCountry),
			process.PersonalItem("Shipping country", o.ShippingCountry),
		}}}
	},
	CheckPolicy: process.CheckSection(ProcessOrder, func(p *policy.Policy, op OrderPolicy) error {
		if err := p.ValidateTask("processes.order.fraudReview", op.FraudReview, true); err != nil {
			return err
		}
		if op.FraudReviewAt < 0 || op.FraudReviewAt > 100 {
			return fmt.Errorf("policy: processes.order.fraudReviewAt: %d is outside 0..100", op.FraudReviewAt)
		}
		return nil
	}),
	Rules: process.SectionRules(ProcessOrder, orderFacts, func(score int, op OrderPolicy) process.Route { return OrderRoute(score, nil, op) }, func(score int, op OrderPolicy) []process.TaskRule {
		if OrderRoute(score, nil, op).Decision != OrderFraudReview {
			return nil
		}
		return []process.TaskRule{{Spec: orderFraudReview(op, "")}}
	}),
}, orderBody)

func orderFacts(score *int) []process.FactParser {
	return []process.FactParser{process.IntFact("fraudScore", score)}
}

// FraudReasons are the fraud reviewer's reason codes.
var FraudReasons = []humantask.Option{
	humantask.Opt("known-customer", "Known customer, usual pattern"),
	humantask.Opt("explained-mismatch", "Country mismatch explained"),
	humantask.Opt("address-mismatch", "Billing and shipping do not fit"),
	humantask.Opt("velocity", "Too many orders too fast"),
	humantask.Opt("stolen-card", "Card reported or suspected stolen"),
	humantask.Opt("other", "Other (say why in the comment)"),
}

// orderFraudForm is the fraud reviewer's form: a reason code for the
// verdict, approve or reject, and whether to ask the customer to verify
// the order before it is charged.
func orderFraudForm() humantask.Form {
	return humantask.Form{
		humantask.Choice("reasonCode", "Reason", FraudReasons...).RequireOnReject(),
		humantask.Boolean("verify", "Ask the customer to verify before charging").
			WithHelp("The order is charged only once the customer passes the verification; one who fails it is rejected."),
	}
}

// orderFraudReview is the fraud analysts' review, as the policy sets it.
func orderFraudReview(op OrderPolicy, title string) humantask.Spec {
	return humantask.FromPolicy("fraud-review", title, op.FraudReview)
}

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
func OrderRoute(fraudScore int, reasons []string, pol OrderPolicy) process.Route {
	facts := map[string]string{"fraudScore": fmt.Sprint(fraudScore)}
	if fraudScore >= pol.FraudReviewAt {
		return process.Route{Path: record.PathManual, Decision: OrderFraudReview, Facts: facts,
			Reason: fmt.Sprintf("fraud review: score %d >= %d (%s)", fraudScore, pol.FraudReviewAt, strings.Join(reasons, "; "))}
	}
	return process.Route{Path: record.PathAutomated, Decision: OrderStraightThrough, Verdict: humantask.Approve, Facts: facts,
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
	if err := process.RequireKey("orderId", in.OrderID); err != nil {
		return err
	}
	if err := process.RequireKey("customerId", in.CustomerID); err != nil {
		return err
	}
	if len(in.Items) == 0 {
		return process.Invalid("items", "at least one item is required")
	}
	for i, it := range in.Items {
		if it.SKU == "" {
			return process.Invalid(fmt.Sprintf("items[%d].sku", i), "required")
		}
		if err := process.AtMost(fmt.Sprintf("items[%d].sku", i), it.SKU, 64); err != nil {
			return err
		}
		if it.Quantity < 1 {
			return process.Invalid(fmt.Sprintf("items[%d].quantity", i), "%d must be at least 1", it.Quantity)
		}
	}
	if err := process.Amount("amount", in.Amount); err != nil {
		return err
	}
	if !cardPattern.MatchString(in.CardNumber) {
		return process.Invalid("cardNumber", "12 to 19 digits required")
	}
	if !countryPattern.MatchString(in.BillingCountry) {
		return process.Invalid("billingCountry", "%q is not a two-letter country code such as DE", in.BillingCountry)
	}
	if !countryPattern.MatchString(in.ShippingCountry) {
		return process.Invalid("shippingCountry", "%q is not a two-letter country code such as DE", in.ShippingCountry)
	}
	return nil
}

// Key is the business key.
func (in OrderInput) Key() string { return process.WorkflowID(ProcessOrder, in.OrderID) }

// SetID sets the order id.
func (in *OrderInput) SetID(id string) { in.OrderID = id }

// Summary is the one line the Web UI shows.
func (in OrderInput) Summary() string {
	return fmt.Sprintf("Order %s: %d line(s), %s", in.OrderID, len(in.Items), process.Money(in.Amount))
}

// Details are the business facts, shown to every operator: the
// customer, the card and the addresses stay in the (encrypted) input.
func (in OrderInput) Details() string {
	var lines []string
	for _, it := range in.Items {
		lines = append(lines, fmt.Sprintf("%d × %s", it.Quantity, it.SKU))
	}
	return process.Details("Order fulfilment", in.Key(), "items", strings.Join(lines, ", "), "amount", process.Money(in.Amount))
}

// OrderResult is how an order ended.
type OrderResult struct {
	process.Ending
	FraudScore int `json:"fraudScore"`
	// ReasonCode is the fraud reviewer's; VerificationID the customer's
	// verification the reviewer asked for.
	ReasonCode     string   `json:"reasonCode,omitempty"`
	VerificationID string   `json:"verificationId,omitempty"`
	ReservationID  string   `json:"reservationId,omitempty"`
	ChargeID       string   `json:"chargeId,omitempty"`
	ShipmentID     string   `json:"shipmentId,omitempty"`
	Compensations  []string `json:"compensations,omitempty"`
}

func orderBody(ctx workflow.Context, p *process.Proc, in OrderInput, res *OrderResult) error {
	shipping := false
	var pol OrderPolicy
	p.EndOn(ctx, SignalCancel, record.Requesters{Owner: in.CustomerID, Roles: func() []string { return pol.CancelRoles }},
		func() bool { return !shipping }, OutcomeCancelled, "cancelled")
	p.OnEnd(func(ctx workflow.Context, outcome, reason string) {
		res.Compensations = p.Compensated()
		_ = notify(ctx, p, "notify-customer", in.CustomerID, fmt.Sprintf("Your order %s: %s", in.OrderID, outcome), reason)
	})
	pol, err := process.Start[OrderPolicy](ctx, p, fmt.Sprintf("order %s by %s for %s", in.OrderID, in.CustomerID, process.Money(in.Amount)))
	if err != nil {
		return err
	}

	var fraud *activities.Fraud
	p.SetStage(ctx, 1, "fraud-screening", "screening the order for fraud")
	var screen activities.ScreenResult
	if err := p.Step(ctx, "fraud-screen", "fraud screening: score "+in.Key(), fraud.ScreenOrder, activities.ScreenInput{
		OrderID: in.OrderID, CustomerID: in.CustomerID, Amount: in.Amount,
		BillingCountry: in.BillingCountry, ShippingCountry: in.ShippingCountry,
	}, &screen); err != nil {
		return err
	}
	res.FraudScore = screen.Score
	route := OrderRoute(screen.Score, screen.Reasons, pol)
	p.Route(ctx, route)
	if route.Decision == OrderFraudReview {
		p.SetStage(ctx, 2, "fraud-review", "awaiting a fraud analyst's review")
		spec := orderFraudReview(pol, "Fraud review for "+in.Key())
		// Instances that opened the review before forms existed replay
		// without one.
		forms := workflow.GetVersion(ctx, versionTaskForms, workflow.DefaultVersion, 1) >= 1
		if forms {
			spec.Form = orderFraudForm()
			// What the reviewer decides on: the screen's reasons.
			p.SetFact("fraudReasons", strings.Join(screen.Reasons, "; "))
		}
		r, err := p.Decide(ctx, spec, process.Review{Outcome: OutcomeFraudRejected, Decision: "fraud review"})
		if forms {
			res.ReasonCode = r.Values["reasonCode"]
			if res.ReasonCode != "" {
				p.SetFact("fraudReasonCode", res.ReasonCode)
			}
		}
		if err != nil {
			return err
		}
		if forms && r.Values.Bool("verify") {
			p.SetStage(ctx, 2, "verification", "asking the customer to verify the order")
			var v activities.VerifyResult
			if err := p.Step(ctx, "verify-customer", "fraud: verify the customer of "+in.Key(), fraud.VerifyCustomer,
				activities.VerifyInput{OrderID: in.OrderID, CustomerID: in.CustomerID}, &v); err != nil {
				if process.ErrorType(err) == activities.ErrVerificationFailed {
					return process.End(OutcomeFraudRejected, "the customer did not pass the verification the fraud review asked for")
				}
				return err
			}
			res.VerificationID = v.VerificationID
		}
	}

	var inv *activities.Inventory
	p.SetStage(ctx, 3, "reservation", "reserving stock")
	var rsv activities.ReserveResult
	if err := p.Step(ctx, "reserve", "inventory: reserve stock for "+in.Key(), inv.ReserveStock, activities.ReserveInput{OrderID: in.OrderID, Items: in.Items}, &rsv,
		process.UndoneBy("release-stock", func(ctx workflow.Context) error {
			return p.Step(ctx, "release-stock", "inventory: release "+rsv.ReservationID+" for "+in.Key(), inv.ReleaseStock, activities.ReleaseInput(rsv), nil)
		})); err != nil {
		return process.EndOnError(err, "reserve", map[string]string{activities.ErrOutOfStock: OutcomeOutOfStock}, process.OutcomeFailed)
	}
	res.ReservationID = rsv.ReservationID

	var pay *activities.Payments
	p.SetStage(ctx, 4, "payment", "charging the card")
	var chg activities.ChargeResult
	if err := p.Step(ctx, "charge", "payments: charge "+process.Money(in.Amount)+" for "+in.Key(), pay.ChargeCard, activities.ChargeInput{OrderID: in.OrderID, Amount: in.Amount, CardNumber: in.CardNumber}, &chg,
		process.UndoneBy("refund", func(ctx workflow.Context) error {
			return p.Step(ctx, "refund", "payments: refund "+chg.ChargeID+" for "+in.Key(), pay.RefundCharge, activities.RefundInput{ChargeID: chg.ChargeID, OrderID: in.OrderID}, nil)
		})); err != nil {
		return process.EndOnError(err, "charge", map[string]string{activities.ErrCardDeclined: OutcomeCardDeclined}, process.OutcomeFailed)
	}
	res.ChargeID = chg.ChargeID

	var ship *activities.Shipping
	shipping = true
	p.SetStage(ctx, 5, "shipment", "creating the shipment")
	var shp activities.ShipmentResult
	if err := p.Step(ctx, "ship", "shipping: ship "+in.Key(), ship.CreateShipment, activities.ShipmentInput{OrderID: in.OrderID, Country: in.ShippingCountry, Items: in.Items}, &shp,
		process.Retry(p.LimitedRetry(5))); err != nil {
		return process.EndOnError(err, "ship", nil, process.OutcomeFailed)
	}
	res.ShipmentID = shp.ShipmentID
	p.Commit() // shipped: nothing left to undo
	p.SetStage(ctx, 6, "notification", "notifying the customer")
	return process.End(OutcomeFulfilled, "shipped as "+shp.Tracking)
}
