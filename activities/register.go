// Package activities holds Baton's automated tasks: one struct per external
// system, each holding its HTTP client, built once by the worker.
package activities

import (
	"time"

	"go.temporal.io/sdk/activity"
)

// Registry is what the SDK worker offers for activities.
type Registry interface {
	RegisterActivityWithOptions(a any, options activity.RegisterOptions)
}

// Set is every activity struct the processes call.
type Set struct {
	Credit     *CreditBureau
	KYC        *KYC
	Loans      *LoanCore
	Payments   *Payments
	Fraud      *Fraud
	Inventory  *Inventory
	Shipping   *Shipping
	HR         *HR
	IT         *ITProvisioning
	Equipment  *Equipment
	Payroll    *Payroll
	Facilities *Facilities
	Mail       *Mail
	Claims     *Claims
}

// NewSet builds every activity struct against the systems at baseURL.
func NewSet(baseURL string, timeout time.Duration) Set {
	c := func(system string) *Client { return NewClient(system, baseURL, timeout) }
	return Set{
		Credit:     &CreditBureau{C: c("credit bureau")},
		KYC:        &KYC{C: c("kyc")},
		Loans:      &LoanCore{C: c("loan core")},
		Payments:   &Payments{C: c("payments")},
		Fraud:      &Fraud{C: c("fraud screening")},
		Inventory:  &Inventory{C: c("inventory")},
		Shipping:   &Shipping{C: c("shipping")},
		HR:         &HR{C: c("hr")},
		IT:         &ITProvisioning{C: c("it provisioning")},
		Equipment:  &Equipment{C: c("equipment")},
		Payroll:    &Payroll{C: c("payroll")},
		Facilities: &Facilities{C: c("facilities")},
		Mail:       &Mail{C: c("mail")},
		Claims:     &Claims{C: c("claims")},
	}
}

// Register registers every activity struct's methods.
func Register(r Registry, s Set) {
	for _, a := range []any{s.Credit, s.KYC, s.Loans, s.Payments, s.Fraud, s.Inventory,
		s.Shipping, s.HR, s.IT, s.Equipment, s.Payroll, s.Facilities, s.Mail, s.Claims} {
		r.RegisterActivityWithOptions(a, activity.RegisterOptions{})
	}
}
