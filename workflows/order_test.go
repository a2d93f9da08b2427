package workflows

import (
	"strings"
	"testing"
	"time"

	"github.com/batonhq/baton/audit"
	"github.com/batonhq/baton/process"

	"github.com/stretchr/testify/mock"

	"github.com/batonhq/baton/activities"
	"github.com/batonhq/baton/humantask"
	"github.com/batonhq/baton/record"
)

func orderIn() OrderInput {
	return OrderInput{OrderID: "O-1", CustomerID: "K-100", Items: []activities.Item{{SKU: "SKU-BOOK", Quantity: 2}},
		Amount: 120, CardNumber: "4111111111111111", BillingCountry: "DE", ShippingCountry: "DE"}
}

func mockOrder(h *harness, in OrderInput, fraudScore int) {
	h.env.OnActivity(aFraud.ScreenOrder, mock.Anything, activities.ScreenInput{OrderID: in.OrderID, CustomerID: in.CustomerID, Amount: in.Amount,
		BillingCountry: in.BillingCountry, ShippingCountry: in.ShippingCountry}).Return(&activities.ScreenResult{Score: fraudScore}, nil)
	h.env.OnActivity(aInv.ReserveStock, mock.Anything, activities.ReserveInput{OrderID: in.OrderID, Items: in.Items}).Return(&activities.ReserveResult{ReservationID: "RSV-1"}, nil).Maybe()
	h.env.OnActivity(aPay.ChargeCard, mock.Anything, activities.ChargeInput{OrderID: in.OrderID, Amount: in.Amount, CardNumber: in.CardNumber}).Return(&activities.ChargeResult{ChargeID: "CHG-1"}, nil).Maybe()
	h.env.OnActivity(aShip.CreateShipment, mock.Anything, activities.ShipmentInput{OrderID: in.OrderID, Country: in.ShippingCountry, Items: in.Items}).Return(&activities.ShipmentResult{ShipmentID: "SHP-1", Tracking: "TRK-1"}, nil).Maybe()
	h.env.OnActivity(aInv.ReleaseStock, mock.Anything, activities.ReleaseInput{ReservationID: "RSV-1"}).Return(&activities.ReleaseResult{Released: true}, nil).Maybe()
	h.env.OnActivity(aPay.RefundCharge, mock.Anything, activities.RefundInput{ChargeID: "CHG-1", OrderID: in.OrderID}).Return(&activities.RefundResult{RefundID: "RFD-1"}, nil).Maybe()
}

func TestOrderStraightThrough(t *testing.T) {
	h := newHarness(t)
	in := orderIn()
	mockOrder(h, in, 10)
	var res OrderResult
	h.run(Order, in, &res)
	if res.Outcome != OutcomeFulfilled || res.HandlingPath != record.PathAutomated || res.ShipmentID != "SHP-1" || len(res.Compensations) != 0 {
		t.Fatalf("result = %+v", res)
	}
	if h.ran() != "ScreenOrder ReserveStock ChargeCard CreateShipment" {
		t.Errorf("steps = %s", h.ran())
	}
}

func TestOrderFraudReview(t *testing.T) {
	cases := []struct {
		decision humantask.Decision
		outcome  string
		steps    string
	}{
		{humantask.Decision{Verdict: humantask.Approve, Actor: "fay"}, OutcomeFulfilled, "ScreenOrder ReserveStock ChargeCard CreateShipment"},
		{humantask.Decision{Verdict: humantask.Reject, Actor: "fay", Comment: "stolen card pattern", Values: map[string]string{"reasonCode": "stolen-card"}}, OutcomeFraudRejected, "ScreenOrder"},
	}
	for _, tc := range cases {
		h := newHarness(t)
		in := orderIn()
		mockOrder(h, in, 100)
		refused := h.update(30*time.Minute, humantask.Decision{Verdict: humantask.Approve, Actor: "ana"})
		h.update(time.Hour, tc.decision)
		var res OrderResult
		h.run(Order, in, &res)
		if tc.decision.Verdict == humantask.Reject && (res.Reason != "rejected by fay: stolen card pattern" || res.ReasonCode != "stolen-card") {
			t.Errorf("reject: %+v", res)
		}
		if res.Outcome != tc.outcome || res.HandlingPath != record.PathManual || h.ran() != tc.steps {
			t.Errorf("%s: %+v after %s", tc.decision.Verdict, res, h.ran())
		}
		if refused.err == nil || !strings.Contains(refused.err.Error(), "needs role fraud-analyst") {
			t.Errorf("ana on a fraud review: %v", refused.err)
		}
	}
}

func TestOrderFraudReviewExpires(t *testing.T) {
	h := newHarness(t)
	in := orderIn()
	mockOrder(h, in, 90)
	var res OrderResult
	h.run(Order, in, &res)
	if res.Outcome != OutcomeFraudRejected || res.Reason != "no fraud review by the deadline" {
		t.Fatalf("result = %+v", res)
	}
}

func TestOrderDeclinedCardReleasesStock(t *testing.T) {
	h := newHarness(t)
	in := orderIn()
	in.CardNumber = "4000000000000002"
	h.env.OnActivity(aPay.ChargeCard, mock.Anything, mock.Anything).Return(nil, refuse(activities.ErrCardDeclined, "card declined"))
	mockOrder(h, in, 10)
	var res OrderResult
	h.run(Order, in, &res)
	if res.Outcome != OutcomeCardDeclined || strings.Join(res.Compensations, ",") != "release-stock" {
		t.Fatalf("result = %+v", res)
	}
	if h.ran() != "ScreenOrder ReserveStock ChargeCard ReleaseStock" {
		t.Errorf("steps = %s", h.ran())
	}
}

func TestOrderOutOfStockNeedsNoCompensation(t *testing.T) {
	h := newHarness(t)
	in := orderIn()
	h.env.OnActivity(aInv.ReserveStock, mock.Anything, mock.Anything).Return(nil, refuse(activities.ErrOutOfStock, "SKU-GHOST: 1 requested, 0 in stock"))
	mockOrder(h, in, 10)
	var res OrderResult
	h.run(Order, in, &res)
	if res.Outcome != OutcomeOutOfStock || len(res.Compensations) != 0 || h.ran() != "ScreenOrder ReserveStock" {
		t.Fatalf("result = %+v after %s", res, h.ran())
	}
	if !strings.Contains(res.Reason, "SKU-GHOST") {
		t.Errorf("reason = %q", res.Reason)
	}
}

func TestOrderShipmentFailureCompensatesInReverseOrder(t *testing.T) {
	h := newHarness(t)
	in := orderIn()
	h.env.OnActivity(aShip.CreateShipment, mock.Anything, mock.Anything).Return(nil, refuse(activities.ErrRefused, "no carrier for DE"))
	mockOrder(h, in, 10)
	var res OrderResult
	h.run(Order, in, &res)
	if res.Outcome != process.OutcomeFailed || strings.Join(res.Compensations, ",") != "refund,release-stock" {
		t.Fatalf("result = %+v", res)
	}
	if h.ran() != "ScreenOrder ReserveStock ChargeCard CreateShipment RefundCharge ReleaseStock" {
		t.Errorf("steps = %s", h.ran())
	}
}

func TestOrderCancel(t *testing.T) {
	t.Run("during fraud review", func(t *testing.T) {
		h := newHarness(t)
		in := orderIn()
		mockOrder(h, in, 100)
		h.signal(time.Hour, SignalCancel, record.Request{By: in.CustomerID, Reason: "changed my mind"})
		var res OrderResult
		h.run(Order, in, &res)
		if res.Outcome != OutcomeCancelled || h.ran() != "ScreenOrder" {
			t.Fatalf("result = %+v after %s", res, h.ran())
		}
	})
	t.Run("after the charge, before shipment", func(t *testing.T) {
		h := newHarness(t)
		in := orderIn()
		h.env.OnActivity(aPay.ChargeCard, mock.Anything, mock.Anything).After(time.Minute).Return(&activities.ChargeResult{ChargeID: "CHG-1"}, nil)
		mockOrder(h, in, 10)
		h.signal(30*time.Second, SignalCancel, record.Request{By: in.CustomerID})
		var res OrderResult
		h.run(Order, in, &res)
		if res.Outcome != OutcomeCancelled || strings.Join(res.Compensations, ",") != "refund,release-stock" {
			t.Fatalf("result = %+v", res)
		}
		if h.ran() != "ScreenOrder ReserveStock ChargeCard RefundCharge ReleaseStock" {
			t.Errorf("steps = %s", h.ran())
		}
	})
	t.Run("after shipment is refused", func(t *testing.T) {
		h := newHarness(t)
		in := orderIn()
		h.env.OnActivity(aShip.CreateShipment, mock.Anything, mock.Anything).After(time.Minute).Return(&activities.ShipmentResult{ShipmentID: "SHP-1"}, nil)
		mockOrder(h, in, 10)
		h.signal(30*time.Second, SignalCancel, record.Request{By: in.CustomerID})
		var res OrderResult
		h.run(Order, in, &res)
		if res.Outcome != OutcomeFulfilled || !h.auditHas(audit.ActionRequestRefused, "cancel refused: too late") {
			t.Fatalf("result = %+v", res)
		}
	})
}

func TestOrderInvalidInputNamesTheField(t *testing.T) {
	mut := map[string]func(*OrderInput){
		"items":             func(o *OrderInput) { o.Items = nil },
		"items[0].quantity": func(o *OrderInput) { o.Items[0].Quantity = 0 },
		"cardNumber":        func(o *OrderInput) { o.CardNumber = "12" },
		"shippingCountry":   func(o *OrderInput) { o.ShippingCountry = "Germany" },
	}
	for field, m := range mut {
		in := orderIn()
		in.Items = append([]activities.Item(nil), in.Items...)
		m(&in)
		h := newHarness(t)
		h.execute(Order, in)
		wantInvalidInput(t, h.env, field)
	}
}

// The fraud reviewer's reason code is required to reject and recorded;
// asking for verification runs it before the charge, and a customer who
// fails it ends the order as rejected for fraud, nothing charged.
func TestOrderFraudReviewAsksForVerification(t *testing.T) {
	for _, tc := range []struct {
		name    string
		verify  error
		outcome string
		steps   string
	}{
		{"verified", nil, OutcomeFulfilled, "ScreenOrder VerifyCustomer ReserveStock ChargeCard CreateShipment"},
		{"fails verification", refuse(activities.ErrVerificationFailed, "customer K-100 did not pass verification"), OutcomeFraudRejected, "ScreenOrder VerifyCustomer"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			h := newHarness(t)
			in := orderIn()
			mockOrder(h, in, 100)
			v := h.env.OnActivity(aFraud.VerifyCustomer, mock.Anything, activities.VerifyInput{OrderID: in.OrderID, CustomerID: in.CustomerID})
			if tc.verify != nil {
				v.Return(nil, tc.verify)
			} else {
				v.Return(&activities.VerifyResult{VerificationID: "VER-1"}, nil)
			}
			noReason := h.update(30*time.Minute, humantask.Decision{Verdict: humantask.Reject, Actor: "fay", Comment: "odd"})
			h.update(time.Hour, humantask.Decision{Verdict: humantask.Approve, Actor: "fay", Values: map[string]string{"reasonCode": "explained-mismatch", "verify": "true"}})
			var res OrderResult
			h.run(Order, in, &res)
			if noReason.err == nil || !strings.Contains(noReason.err.Error(), "reasonCode: required to reject") {
				t.Errorf("a rejection without a reason code: %v", noReason.err)
			}
			if res.Outcome != tc.outcome || h.ran() != tc.steps || res.ReasonCode != "explained-mismatch" || res.Facts["fraudReasonCode"] != "explained-mismatch" {
				t.Errorf("result %+v after %s", res, h.ran())
			}
		})
	}
}
