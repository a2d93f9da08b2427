package workflows

import (
	"fmt"
	"regexp"
	"strings"

	"go.temporal.io/sdk/workflow"

	"baton/activities"
	"baton/workflows/humantask"
)

// Order outcomes.
const (
	OutcomeFulfilled     = "fulfilled"
	OutcomeFraudRejected = "rejected-fraud"
	OutcomeCardDeclined  = "card-declined"
	OutcomeOutOfStock    = "out-of-stock"
	OutcomeCancelled     = "cancelled"
	OutcomeFailed        = "failed"
)

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
		if it.Quantity < 1 {
			return invalid(fmt.Sprintf("items[%d].quantity", i), "%d must be at least 1", it.Quantity)
		}
	}
	if in.Amount <= 0 {
		return invalid("amount", "%v must be above 0", in.Amount)
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

// Summary is the one line the Web UI shows.
func (in OrderInput) Summary() string {
	return fmt.Sprintf("Order %s: %d line(s), %s", in.OrderID, len(in.Items), money(in.Amount))
}

// Details are the business facts: no card number, only its last four digits.
func (in OrderInput) Details() string {
	var lines []string
	for _, it := range in.Items {
		lines = append(lines, fmt.Sprintf("%d × %s", it.Quantity, it.SKU))
	}
	return facts("Order fulfilment", in.Key(), "customer", in.CustomerID, "items", strings.Join(lines, ", "),
		"amount", money(in.Amount), "card", "•••• "+last4(in.CardNumber), "billing / shipping", in.BillingCountry+" / "+in.ShippingCountry)
}

func last4(card string) string {
	if len(card) < 4 {
		return card
	}
	return card[len(card)-4:]
}

// OrderResult is how an order ended.
type OrderResult struct {
	Outcome       string   `json:"outcome"`
	HandlingPath  string   `json:"handlingPath"`
	Reason        string   `json:"reason"`
	FraudScore    int      `json:"fraudScore"`
	ReservationID string   `json:"reservationId,omitempty"`
	ChargeID      string   `json:"chargeId,omitempty"`
	ShipmentID    string   `json:"shipmentId,omitempty"`
	Compensations []string `json:"compensations,omitempty"`
}

// saga holds compensations, run in reverse order.
type saga struct {
	steps []compensation
}

type compensation struct {
	name string
	run  func(ctx workflow.Context) error
}

func (s *saga) add(name string, fn func(ctx workflow.Context) error) {
	s.steps = append(s.steps, compensation{name, fn})
}

// compensate runs every compensation in reverse order on a disconnected
// context, so a cancelled instance still undoes its side effects.
func (p *proc) compensate(ctx workflow.Context, s *saga, why string) []string {
	dctx, cancel := workflow.NewDisconnectedContext(ctx)
	defer cancel()
	var done []string
	for i := len(s.steps) - 1; i >= 0; i-- {
		c := s.steps[i]
		if err := c.run(dctx); err != nil {
			p.m.Audit(ctx, humantask.SystemActor, humantask.ActionStepFailed, "", "compensation "+c.name+": "+cause(err))
			continue
		}
		done = append(done, c.name)
		p.m.Count(ctx, humantask.MetricCompensations, map[string]string{"step": c.name})
		p.m.Audit(ctx, humantask.SystemActor, humantask.ActionCompensated, "", c.name+" ("+why+")")
	}
	s.steps = nil
	return done
}

// Order is order fulfilment: fraud screen, manual fraud review when risky,
// inventory reservation, payment, shipment, notification; a saga releases
// and refunds on failure or on the customer's cancel before shipment.
func Order(ctx workflow.Context, in OrderInput) (*OrderResult, error) {
	p, err := begin(ctx, ProcessOrder, in, 6)
	if err != nil {
		return nil, err
	}
	cancelled, shipping := false, false
	p.watch(ctx, SignalCancel, in.CustomerID, func() bool { return !shipping }, &cancelled)
	if err := p.start(ctx, fmt.Sprintf("order %s by %s for %s", in.OrderID, in.CustomerID, money(in.Amount))); err != nil {
		return nil, err
	}
	pol := p.m.Policy().Processes.Order
	res := &OrderResult{}
	var undo saga
	end := func(outcome, reason string) (*OrderResult, error) {
		if len(undo.steps) > 0 {
			res.Compensations = p.compensate(ctx, &undo, outcome)
		}
		res.Outcome, res.Reason, res.HandlingPath = outcome, reason, p.m.HandlingPath()
		_ = p.notify(ctx, "notify-customer", in.CustomerID, fmt.Sprintf("Your order %s: %s", in.OrderID, outcome), reason)
		p.finish(ctx, outcome, reason)
		return res, nil
	}
	cancelledEnd := func() (*OrderResult, error) { return end(OutcomeCancelled, "cancelled by the customer") }

	var fraud *activities.Fraud
	p.stage(ctx, 1, "fraud-screening", "screening the order for fraud")
	var screen activities.ScreenResult
	if err := p.step(ctx, "fraud-screen", "fraud screening: score "+in.Key(), fraud.ScreenOrder, activities.ScreenInput{
		OrderID: in.OrderID, CustomerID: in.CustomerID, Amount: in.Amount,
		BillingCountry: in.BillingCountry, ShippingCountry: in.ShippingCountry,
	}, &screen); err != nil {
		return nil, err
	}
	res.FraudScore = screen.Score
	p.m.SetFact("fraudScore", fmt.Sprint(screen.Score))
	if cancelled {
		return cancelledEnd()
	}
	if screen.Score >= pol.FraudReviewAt {
		p.m.SetHandlingPath(ctx, PathManual)
		p.m.Audit(ctx, humantask.SystemActor, humantask.ActionRouted, "", fmt.Sprintf("fraud review: score %d >= %d (%s)", screen.Score, pol.FraudReviewAt, strings.Join(screen.Reasons, "; ")))
		p.stage(ctx, 2, "fraud-review", "awaiting a fraud analyst's review")
		task, err := p.m.Open(ctx, humantask.FromPolicy("fraud-review", "Fraud review for "+in.Key(), pol.FraudReview))
		if err != nil {
			return nil, err
		}
		if err := workflow.Await(ctx, func() bool { return task.Closed() || cancelled }); err != nil {
			return nil, err
		}
		if cancelled {
			p.m.CancelOpen(ctx, "cancelled by the customer")
			return cancelledEnd()
		}
		if r := task.Result(); !r.Approved() {
			reason := "no fraud review by the deadline"
			if r.State == humantask.StateRejected {
				reason = "rejected by " + r.Rejecter + ": " + r.Comment
			}
			return end(OutcomeFraudRejected, reason)
		}
	} else {
		p.m.SetHandlingPath(ctx, PathAutomated)
		p.m.Audit(ctx, humantask.SystemActor, humantask.ActionRouted, "", fmt.Sprintf("straight through: fraud score %d < %d", screen.Score, pol.FraudReviewAt))
	}

	var inv *activities.Inventory
	p.stage(ctx, 3, "reservation", "reserving stock")
	var rsv activities.ReserveResult
	if err := p.step(ctx, "reserve", "inventory: reserve stock for "+in.Key(), inv.ReserveStock, activities.ReserveInput{OrderID: in.OrderID, Items: in.Items}, &rsv); err != nil {
		if errorType(err) == activities.ErrOutOfStock {
			return end(OutcomeOutOfStock, cause(err))
		}
		return end(OutcomeFailed, "reserve: "+cause(err))
	}
	res.ReservationID = rsv.ReservationID
	undo.add("release-stock", func(ctx workflow.Context) error {
		return p.step(ctx, "release-stock", "inventory: release "+rsv.ReservationID+" for "+in.Key(), inv.ReleaseStock, activities.ReleaseInput(rsv), nil)
	})
	if cancelled {
		return cancelledEnd()
	}

	var pay *activities.Payments
	p.stage(ctx, 4, "payment", "charging the card")
	var chg activities.ChargeResult
	if err := p.step(ctx, "charge", "payments: charge "+money(in.Amount)+" for "+in.Key(), pay.ChargeCard, activities.ChargeInput{OrderID: in.OrderID, Amount: in.Amount, CardNumber: in.CardNumber}, &chg); err != nil {
		if errorType(err) == activities.ErrCardDeclined {
			return end(OutcomeCardDeclined, cause(err))
		}
		return end(OutcomeFailed, "charge: "+cause(err))
	}
	res.ChargeID = chg.ChargeID
	undo.add("refund", func(ctx workflow.Context) error {
		return p.step(ctx, "refund", "payments: refund "+chg.ChargeID+" for "+in.Key(), pay.RefundCharge, activities.RefundInput{ChargeID: chg.ChargeID, OrderID: in.OrderID}, nil)
	})
	if cancelled {
		return cancelledEnd()
	}

	var ship *activities.Shipping
	shipping = true
	p.stage(ctx, 5, "shipment", "creating the shipment")
	var shp activities.ShipmentResult
	if err := p.step(ctx, "ship", "shipping: ship "+in.Key()+" to "+in.ShippingCountry, ship.CreateShipment, activities.ShipmentInput{OrderID: in.OrderID, Country: in.ShippingCountry, Items: in.Items}, &shp,
		stepOptions{retry: p.limitedRetry(5)}); err != nil {
		return end(OutcomeFailed, "ship: "+cause(err))
	}
	res.ShipmentID = shp.ShipmentID
	undo.steps = nil // shipped: nothing left to undo
	p.stage(ctx, 6, "notification", "notifying the customer")
	return end(OutcomeFulfilled, "shipped as "+shp.Tracking)
}
