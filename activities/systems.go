package activities

import (
	"context"
	"net/url"
)

// Item is an order line.
type Item struct {
	SKU      string `json:"sku"`
	Quantity int    `json:"quantity"`
}

// ---- Finance: credit bureau, KYC, loan core, payments ----

// CreditBureau pulls credit scores.
type CreditBureau struct{ C System }

// ScoreInput names the applicant.
type ScoreInput struct {
	ApplicantID string `json:"applicantId"`
}

// ScoreResult is the bureau's answer.
type ScoreResult struct {
	Score  int    `json:"score"`
	Bureau string `json:"bureau"`
}

// PullCreditScore reads the applicant's credit score.
func (a *CreditBureau) PullCreditScore(ctx context.Context, in ScoreInput) (*ScoreResult, error) {
	var out ScoreResult
	err := a.C.Get(ctx, "/credit/scores/"+url.PathEscape(in.ApplicantID), &out)
	return &out, err
}

// KYC verifies identities.
type KYC struct{ C System }

// KYCInput names the applicant.
type KYCInput struct {
	ApplicantID string `json:"applicantId"`
}

// KYCResult is a passed check; a failed one is an ErrKYCFailed error.
type KYCResult struct {
	Verified  bool   `json:"verified"`
	Reference string `json:"reference"`
}

// VerifyIdentity runs the identity check.
func (a *KYC) VerifyIdentity(ctx context.Context, in KYCInput) (*KYCResult, error) {
	var out KYCResult
	err := a.C.Get(ctx, "/kyc/verifications/"+url.PathEscape(in.ApplicantID), &out)
	return &out, err
}

// LoanCore books offers and disbursements.
type LoanCore struct{ C System }

// OfferInput is an approved loan's terms.
type OfferInput struct {
	ApplicationID string  `json:"applicationId"`
	Amount        float64 `json:"amount"`
	TermMonths    int     `json:"termMonths"`
	APR           float64 `json:"apr"`
	// Conditions are the underwriter's conditions of the offer (may be
	// personal: the payload is encrypted).
	Conditions string `json:"conditions,omitempty"`
}

// OfferResult identifies the offer.
type OfferResult struct {
	OfferID string `json:"offerId"`
}

// CreateOffer books the loan offer.
func (a *LoanCore) CreateOffer(ctx context.Context, in OfferInput) (*OfferResult, error) {
	var out OfferResult
	err := a.C.Post(ctx, "/loans/offers", in, &out)
	return &out, err
}

// DisburseInput pays out an offer.
type DisburseInput struct {
	ApplicationID string  `json:"applicationId"`
	OfferID       string  `json:"offerId"`
	Amount        float64 `json:"amount"`
}

// DisburseResult identifies the disbursement.
type DisburseResult struct {
	DisbursementID string `json:"disbursementId"`
}

// Disburse pays the loan out.
func (a *LoanCore) Disburse(ctx context.Context, in DisburseInput) (*DisburseResult, error) {
	var out DisburseResult
	err := a.C.Post(ctx, "/loans/disbursements", in, &out)
	return &out, err
}

// Payments charges cards, refunds and pays out.
type Payments struct{ C System }

// ChargeInput charges an order.
type ChargeInput struct {
	OrderID    string  `json:"orderId"`
	Amount     float64 `json:"amount"`
	CardNumber string  `json:"cardNumber"`
}

// ChargeResult identifies the charge.
type ChargeResult struct {
	ChargeID string `json:"chargeId"`
}

// ChargeCard captures the payment; a declined card is ErrCardDeclined.
func (a *Payments) ChargeCard(ctx context.Context, in ChargeInput) (*ChargeResult, error) {
	var out ChargeResult
	err := a.C.Post(ctx, "/payments/charges", in, &out)
	return &out, err
}

// RefundInput names the charge to refund in full.
type RefundInput struct {
	ChargeID string `json:"chargeId"`
	OrderID  string `json:"orderId"`
}

// RefundResult identifies the refund.
type RefundResult struct {
	RefundID string `json:"refundId"`
}

// RefundCharge refunds a charge (saga compensation).
func (a *Payments) RefundCharge(ctx context.Context, in RefundInput) (*RefundResult, error) {
	var out RefundResult
	err := a.C.Post(ctx, "/payments/refunds", in, &out)
	return &out, err
}

// PayoutInput pays a person, e.g. an expense reimbursement.
type PayoutInput struct {
	Reference string  `json:"reference"`
	Payee     string  `json:"payee"`
	Amount    float64 `json:"amount"`
}

// PayoutResult identifies the payout.
type PayoutResult struct {
	PayoutID string `json:"payoutId"`
}

// Payout transfers money to the payee.
func (a *Payments) Payout(ctx context.Context, in PayoutInput) (*PayoutResult, error) {
	var out PayoutResult
	err := a.C.Post(ctx, "/payments/payouts", in, &out)
	return &out, err
}

// ---- Retail: fraud screening, inventory, shipping ----

// Fraud screens orders.
type Fraud struct{ C System }

// ScreenInput describes the order to screen.
type ScreenInput struct {
	OrderID         string  `json:"orderId"`
	CustomerID      string  `json:"customerId"`
	Amount          float64 `json:"amount"`
	BillingCountry  string  `json:"billingCountry"`
	ShippingCountry string  `json:"shippingCountry"`
}

// ScreenResult is the risk score 0-100 and why.
type ScreenResult struct {
	Score   int      `json:"score"`
	Reasons []string `json:"reasons"`
}

// ScreenOrder scores the order's fraud risk.
func (a *Fraud) ScreenOrder(ctx context.Context, in ScreenInput) (*ScreenResult, error) {
	var out ScreenResult
	err := a.C.Post(ctx, "/fraud/screenings", in, &out)
	return &out, err
}

// VerifyInput asks a customer to verify an order (a step-up check the
// fraud reviewer requested).
type VerifyInput struct {
	OrderID    string `json:"orderId"`
	CustomerID string `json:"customerId"`
}

// VerifyResult identifies a passed verification.
type VerifyResult struct {
	VerificationID string `json:"verificationId"`
}

// VerifyCustomer runs the customer's verification; one who fails it is
// ErrVerificationFailed.
func (a *Fraud) VerifyCustomer(ctx context.Context, in VerifyInput) (*VerifyResult, error) {
	var out VerifyResult
	err := a.C.Post(ctx, "/fraud/verifications", in, &out)
	return &out, err
}

// Inventory reserves and releases stock.
type Inventory struct{ C System }

// ReserveInput reserves an order's items.
type ReserveInput struct {
	OrderID string `json:"orderId"`
	Items   []Item `json:"items"`
}

// ReserveResult identifies the reservation.
type ReserveResult struct {
	ReservationID string `json:"reservationId"`
}

// ReserveStock reserves the items; short stock is ErrOutOfStock.
func (a *Inventory) ReserveStock(ctx context.Context, in ReserveInput) (*ReserveResult, error) {
	var out ReserveResult
	err := a.C.Post(ctx, "/inventory/reservations", in, &out)
	return &out, err
}

// ReleaseInput names the reservation to release.
type ReleaseInput struct {
	ReservationID string `json:"reservationId"`
}

// ReleaseResult confirms the release.
type ReleaseResult struct {
	Released bool `json:"released"`
}

// ReleaseStock releases a reservation (saga compensation).
func (a *Inventory) ReleaseStock(ctx context.Context, in ReleaseInput) (*ReleaseResult, error) {
	var out ReleaseResult
	err := a.C.Post(ctx, "/inventory/reservations/"+url.PathEscape(in.ReservationID)+"/release", nil, &out)
	return &out, err
}

// Shipping creates shipments.
type Shipping struct{ C System }

// ShipmentInput ships an order.
type ShipmentInput struct {
	OrderID string `json:"orderId"`
	Country string `json:"country"`
	Items   []Item `json:"items"`
}

// ShipmentResult identifies the shipment.
type ShipmentResult struct {
	ShipmentID string `json:"shipmentId"`
	Tracking   string `json:"tracking"`
}

// CreateShipment books the shipment.
func (a *Shipping) CreateShipment(ctx context.Context, in ShipmentInput) (*ShipmentResult, error) {
	var out ShipmentResult
	err := a.C.Post(ctx, "/shipping/shipments", in, &out)
	return &out, err
}

// ---- People: HR, IT, equipment, payroll, facilities ----

// HR keeps employee records.
type HR struct{ C System }

// EmployeeInput is a new hire's record.
type EmployeeInput struct {
	EmployeeID string `json:"employeeId"`
	Name       string `json:"name"`
	Role       string `json:"role"`
	Department string `json:"department"`
	StartDate  string `json:"startDate"`
}

// EmployeeResult identifies the record.
type EmployeeResult struct {
	RecordID string `json:"recordId"`
}

// CreateEmployeeRecord creates the HR record.
func (a *HR) CreateEmployeeRecord(ctx context.Context, in EmployeeInput) (*EmployeeResult, error) {
	var out EmployeeResult
	err := a.C.Post(ctx, "/hr/employees", in, &out)
	return &out, err
}

// ProvisionInput is one provisioning request for a new hire.
type ProvisionInput struct {
	EmployeeID string   `json:"employeeId"`
	Role       string   `json:"role,omitempty"`
	Items      []string `json:"items,omitempty"`
	StartDate  string   `json:"startDate,omitempty"`
	// AccessPackage is the access the manager approved (accounts).
	AccessPackage string `json:"accessPackage,omitempty"`
}

// ProvisionResult identifies what was provisioned.
type ProvisionResult struct {
	Reference string `json:"reference"`
}

// ITProvisioning creates accounts.
type ITProvisioning struct{ C System }

// CreateAccounts creates the new hire's accounts.
func (a *ITProvisioning) CreateAccounts(ctx context.Context, in ProvisionInput) (*ProvisionResult, error) {
	var out struct {
		ID string `json:"accountId"`
	}
	err := a.C.Post(ctx, "/it/accounts", in, &out)
	return &ProvisionResult{Reference: out.ID}, err
}

// Equipment orders laptops and the like.
type Equipment struct{ C System }

// OrderEquipment orders the equipment list.
func (a *Equipment) OrderEquipment(ctx context.Context, in ProvisionInput) (*ProvisionResult, error) {
	var out struct {
		ID string `json:"equipmentOrderId"`
	}
	err := a.C.Post(ctx, "/equipment/orders", in, &out)
	return &ProvisionResult{Reference: out.ID}, err
}

// Payroll enrols employees.
type Payroll struct{ C System }

// EnrolPayroll enrols the new hire in payroll.
func (a *Payroll) EnrolPayroll(ctx context.Context, in ProvisionInput) (*ProvisionResult, error) {
	var out struct {
		ID string `json:"payrollId"`
	}
	err := a.C.Post(ctx, "/payroll/enrolments", in, &out)
	return &ProvisionResult{Reference: out.ID}, err
}

// Facilities issues badges.
type Facilities struct{ C System }

// IssueBadge issues the building badge.
func (a *Facilities) IssueBadge(ctx context.Context, in ProvisionInput) (*ProvisionResult, error) {
	var out struct {
		ID string `json:"badgeId"`
	}
	err := a.C.Post(ctx, "/facilities/badges", in, &out)
	return &ProvisionResult{Reference: out.ID}, err
}

// ---- Mail ----

// Mail sends notifications.
type Mail struct{ C System }

// MailInput is one notification; Ref is the business key it concerns.
type MailInput struct {
	To      string `json:"to"`
	Subject string `json:"subject"`
	Body    string `json:"body"`
	Ref     string `json:"ref"`
}

// MailResult identifies the message.
type MailResult struct {
	MessageID string `json:"messageId"`
}

// SendMail puts the message in the outbox.
func (a *Mail) SendMail(ctx context.Context, in MailInput) (*MailResult, error) {
	var out MailResult
	err := a.C.Post(ctx, "/mail/messages", in, &out)
	return &out, err
}
