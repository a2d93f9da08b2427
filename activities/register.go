// Package activities holds Baton's automated tasks: one struct per external
// system, each holding the System it calls (over HTTP on the worker side:
// package httpsys), built once by the worker. Workflows call the methods
// through nil pointers of the structs; this package imports no network
// code, so workflow packages may import it.
package activities

import (
	"context"

	"go.temporal.io/sdk/activity"
)

// System is one enterprise system as the activities call it: Get reads,
// Post mutates (with an idempotency key per business step). Its errors are
// application errors typed from errors.go, a refusal's message in
// process.SystemError details. httpsys.Client implements it over HTTP.
type System interface {
	Get(ctx context.Context, path string, out any) error
	Post(ctx context.Context, path string, in, out any) error
}

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

// Register registers every activity struct's methods.
func Register(r Registry, s Set) {
	for _, a := range []any{s.Credit, s.KYC, s.Loans, s.Payments, s.Fraud, s.Inventory,
		s.Shipping, s.HR, s.IT, s.Equipment, s.Payroll, s.Facilities, s.Mail, s.Claims} {
		r.RegisterActivityWithOptions(a, activity.RegisterOptions{})
	}
}
