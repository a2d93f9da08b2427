package simulator

import (
	"net/http"
	"strings"
)

// Seed data (documented in docs/guide.md; tests rely on it).
var (
	// SeedScores are the credit bureau's scores.
	SeedScores = map[string]int{"C-1001": 780, "C-1002": 660, "C-1003": 510, "C-9999": 700}
	// KYCFailing are applicants whose identity check fails.
	KYCFailing = map[string]bool{"C-9999": true}
	// SeedStock is the inventory; SKU-GHOST is out of stock.
	SeedStock = map[string]int{"SKU-BOOK": 1000, "SKU-LAMP": 200, "SKU-CHAIR": 50, "SKU-GHOST": 0}
	// DeclinedCard is always declined by payments.
	DeclinedCard = "4000000000000002"
)

// Item is an order line.
type Item struct {
	SKU      string `json:"sku"`
	Quantity int    `json:"quantity"`
}

func (s *Server) registerFinance() {
	s.route("GET /credit/scores/{applicant}", "credit", false, func(r *http.Request, _ []byte) (any, *effect, error) {
		id := r.PathValue("applicant")
		score, ok := SeedScores[id]
		if !ok {
			return nil, nil, refuse(404, CodeNotFound, "no credit file for applicant %s", id)
		}
		return map[string]any{"applicantId": id, "score": score, "bureau": "sim-bureau"}, nil, nil
	})
	s.route("GET /kyc/verifications/{applicant}", "kyc", false, func(r *http.Request, _ []byte) (any, *effect, error) {
		id := r.PathValue("applicant")
		if KYCFailing[id] {
			return nil, nil, refuse(422, CodeKYCFailed, "identity of %s could not be verified: document mismatch", id)
		}
		if _, ok := SeedScores[id]; !ok {
			return nil, nil, refuse(404, CodeNotFound, "unknown applicant %s", id)
		}
		return map[string]any{"applicantId": id, "verified": true, "reference": "KYC-" + id}, nil, nil
	})
	s.route("POST /loans/offers", "loans", true, func(_ *http.Request, body []byte) (any, *effect, error) {
		var in struct {
			ApplicationID string  `json:"applicationId"`
			Amount        float64 `json:"amount"`
			TermMonths    int     `json:"termMonths"`
			APR           float64 `json:"apr"`
			Conditions    string  `json:"conditions"`
		}
		if err := decode(body, &in); err != nil {
			return nil, nil, err
		}
		if in.ApplicationID == "" || in.Amount <= 0 || in.TermMonths <= 0 {
			return nil, nil, refuse(400, CodeInvalidInput, "applicationId, amount and termMonths are required")
		}
		return map[string]any{"offerId": s.nextID("OFF"), "apr": in.APR}, &effect{"offer", in.ApplicationID, in.Amount}, nil
	})
	s.route("POST /loans/disbursements", "loans", true, func(_ *http.Request, body []byte) (any, *effect, error) {
		var in struct {
			ApplicationID string  `json:"applicationId"`
			OfferID       string  `json:"offerId"`
			Amount        float64 `json:"amount"`
		}
		if err := decode(body, &in); err != nil {
			return nil, nil, err
		}
		if in.ApplicationID == "" || in.OfferID == "" || in.Amount <= 0 {
			return nil, nil, refuse(400, CodeInvalidInput, "applicationId, offerId and amount are required")
		}
		return map[string]any{"disbursementId": s.nextID("DSB")}, &effect{"disbursement", in.ApplicationID, in.Amount}, nil
	})
	s.route("POST /payments/charges", "payments", true, func(_ *http.Request, body []byte) (any, *effect, error) {
		var in struct {
			OrderID    string  `json:"orderId"`
			Amount     float64 `json:"amount"`
			CardNumber string  `json:"cardNumber"`
		}
		if err := decode(body, &in); err != nil {
			return nil, nil, err
		}
		if in.OrderID == "" || in.Amount <= 0 || len(in.CardNumber) < 12 {
			return nil, nil, refuse(400, CodeInvalidInput, "orderId, amount and a card number are required")
		}
		if in.CardNumber == DeclinedCard {
			return nil, nil, refuse(402, CodeCardDeclined, "card ending %s was declined", in.CardNumber[len(in.CardNumber)-4:])
		}
		id := s.nextID("CHG")
		s.charges[id] = charge{OrderID: in.OrderID, Amount: in.Amount}
		return map[string]any{"chargeId": id, "amount": in.Amount}, &effect{"charge", in.OrderID, in.Amount}, nil
	})
	s.route("POST /payments/refunds", "payments", true, func(_ *http.Request, body []byte) (any, *effect, error) {
		var in struct {
			ChargeID string `json:"chargeId"`
		}
		if err := decode(body, &in); err != nil {
			return nil, nil, err
		}
		c, ok := s.charges[in.ChargeID]
		if !ok {
			return nil, nil, refuse(404, CodeNotFound, "no charge %s", in.ChargeID)
		}
		if c.Refunded >= c.Amount {
			return nil, nil, refuse(409, CodeInvalidInput, "charge %s is already refunded", in.ChargeID)
		}
		c.Refunded = c.Amount
		s.charges[in.ChargeID] = c
		return map[string]any{"refundId": s.nextID("RFD"), "amount": c.Amount}, &effect{"refund", c.OrderID, 0}, nil
	})
	s.route("POST /payments/payouts", "payments", true, func(_ *http.Request, body []byte) (any, *effect, error) {
		var in struct {
			Reference string  `json:"reference"`
			Payee     string  `json:"payee"`
			Amount    float64 `json:"amount"`
		}
		if err := decode(body, &in); err != nil {
			return nil, nil, err
		}
		if in.Reference == "" || in.Payee == "" || in.Amount <= 0 {
			return nil, nil, refuse(400, CodeInvalidInput, "reference, payee and amount are required")
		}
		return map[string]any{"payoutId": s.nextID("PAY"), "amount": in.Amount}, &effect{"payout", in.Reference, in.Amount}, nil
	})
}

// FraudScore is the documented rule set: 10 base; +30 when the amount is
// over 1,000 (+50 over 5,000); +20 for a new customer (id starting "NEW-");
// +40 when billing and shipping countries differ; capped at 100.
func FraudScore(amount float64, customerID, billing, shipping string) (int, []string) {
	score, reasons := 10, []string{}
	switch {
	case amount > 5000:
		score += 50
		reasons = append(reasons, "amount over 5000")
	case amount > 1000:
		score += 30
		reasons = append(reasons, "amount over 1000")
	}
	if strings.HasPrefix(customerID, "NEW-") {
		score += 20
		reasons = append(reasons, "new customer")
	}
	if !strings.EqualFold(billing, shipping) {
		score += 40
		reasons = append(reasons, "billing and shipping countries differ")
	}
	return min(score, 100), reasons
}

func (s *Server) registerRetail() {
	s.route("POST /fraud/screenings", "fraud", false, func(_ *http.Request, body []byte) (any, *effect, error) {
		var in struct {
			OrderID         string  `json:"orderId"`
			CustomerID      string  `json:"customerId"`
			Amount          float64 `json:"amount"`
			BillingCountry  string  `json:"billingCountry"`
			ShippingCountry string  `json:"shippingCountry"`
		}
		if err := decode(body, &in); err != nil {
			return nil, nil, err
		}
		score, reasons := FraudScore(in.Amount, in.CustomerID, in.BillingCountry, in.ShippingCountry)
		return map[string]any{"orderId": in.OrderID, "score": score, "reasons": reasons}, nil, nil
	})
	s.route("POST /fraud/verifications", "fraud", true, func(_ *http.Request, body []byte) (any, *effect, error) {
		var in struct {
			OrderID    string `json:"orderId"`
			CustomerID string `json:"customerId"`
		}
		if err := decode(body, &in); err != nil {
			return nil, nil, err
		}
		if in.OrderID == "" || in.CustomerID == "" {
			return nil, nil, refuse(400, CodeInvalidInput, "orderId and customerId are required")
		}
		if strings.HasPrefix(in.CustomerID, "FAKE-") {
			return nil, nil, refuse(422, CodeVerificationFailed, "customer %s did not pass verification", in.CustomerID)
		}
		return map[string]any{"verificationId": s.nextID("VER"), "verified": true}, &effect{"verification", in.OrderID, 0}, nil
	})
	s.route("POST /inventory/reservations", "inventory", true, func(_ *http.Request, body []byte) (any, *effect, error) {
		var in struct {
			OrderID string `json:"orderId"`
			Items   []Item `json:"items"`
		}
		if err := decode(body, &in); err != nil {
			return nil, nil, err
		}
		if in.OrderID == "" || len(in.Items) == 0 {
			return nil, nil, refuse(400, CodeInvalidInput, "orderId and items are required")
		}
		for _, it := range in.Items {
			have, ok := s.stock[it.SKU]
			if !ok {
				return nil, nil, refuse(422, CodeInvalidInput, "unknown SKU %s", it.SKU)
			}
			if it.Quantity <= 0 || have < it.Quantity {
				return nil, nil, refuse(409, CodeOutOfStock, "%s: %d requested, %d in stock", it.SKU, it.Quantity, have)
			}
		}
		for _, it := range in.Items {
			s.stock[it.SKU] -= it.Quantity
		}
		id := s.nextID("RSV")
		s.reserved[id] = reservation{OrderID: in.OrderID, Items: in.Items}
		return map[string]any{"reservationId": id}, &effect{"reservation", in.OrderID, 0}, nil
	})
	s.route("POST /inventory/reservations/{id}/release", "inventory", true, func(r *http.Request, _ []byte) (any, *effect, error) {
		id := r.PathValue("id")
		rs, ok := s.reserved[id]
		if !ok {
			return nil, nil, refuse(404, CodeNotFound, "no reservation %s", id)
		}
		if rs.Released {
			return nil, nil, refuse(409, CodeInvalidInput, "reservation %s is already released", id)
		}
		for _, it := range rs.Items {
			s.stock[it.SKU] += it.Quantity
		}
		rs.Released = true
		s.reserved[id] = rs
		return map[string]any{"reservationId": id, "released": true}, &effect{"release", rs.OrderID, 0}, nil
	})
	s.route("GET /inventory/stock", "inventory", false, func(*http.Request, []byte) (any, *effect, error) {
		out := map[string]int{}
		for _, sku := range sortedSKUs(s.stock) {
			out[sku] = s.stock[sku]
		}
		return out, nil, nil
	})
	s.route("POST /shipping/shipments", "shipping", true, func(_ *http.Request, body []byte) (any, *effect, error) {
		var in struct {
			OrderID string `json:"orderId"`
			Country string `json:"country"`
			Items   []Item `json:"items"`
		}
		if err := decode(body, &in); err != nil {
			return nil, nil, err
		}
		if in.OrderID == "" || in.Country == "" {
			return nil, nil, refuse(400, CodeInvalidInput, "orderId and country are required")
		}
		id := s.nextID("SHP")
		return map[string]any{"shipmentId": id, "tracking": "TRK" + id[4:]}, &effect{"shipment", in.OrderID, 0}, nil
	})
}

// simple registers a mutating endpoint that needs employeeId and returns an id.
func (s *Server) simple(pattern, system, kind, prefix, idField string) {
	s.route(pattern, system, true, func(_ *http.Request, body []byte) (any, *effect, error) {
		var in struct {
			EmployeeID string `json:"employeeId"`
		}
		if err := decode(body, &in); err != nil {
			return nil, nil, err
		}
		if in.EmployeeID == "" {
			return nil, nil, refuse(400, CodeInvalidInput, "employeeId is required")
		}
		return map[string]any{idField: s.nextID(prefix)}, &effect{kind, in.EmployeeID, 0}, nil
	})
}

func (s *Server) registerPeople() {
	s.simple("POST /hr/employees", "hr", "employee-record", "EMP", "recordId")
	s.simple("POST /it/accounts", "it", "accounts", "ACC", "accountId")
	s.simple("POST /equipment/orders", "equipment", "equipment", "EQP", "equipmentOrderId")
	s.simple("POST /payroll/enrolments", "payroll", "payroll", "PRL", "payrollId")
	s.simple("POST /facilities/badges", "facilities", "badge", "BDG", "badgeId")
	s.route("POST /mail/messages", "mail", true, func(_ *http.Request, body []byte) (any, *effect, error) {
		var m Message
		if err := decode(body, &m); err != nil {
			return nil, nil, err
		}
		if m.To == "" || m.Subject == "" {
			return nil, nil, refuse(400, CodeInvalidInput, "to and subject are required")
		}
		m.ID = s.nextID("MSG")
		m.At = s.cfg.Now()
		s.outbox = append(s.outbox, m)
		return map[string]any{"messageId": m.ID}, &effect{"mail", m.Ref, 0}, nil
	})
	s.route("GET /mail/messages", "mail", false, func(r *http.Request, _ []byte) (any, *effect, error) {
		to, ref := r.URL.Query().Get("to"), r.URL.Query().Get("ref")
		out := []Message{}
		for _, m := range s.outbox {
			if (to == "" || m.To == to) && (ref == "" || m.Ref == ref) {
				out = append(out, m)
			}
		}
		return map[string]any{"messages": out}, nil, nil
	})
}
