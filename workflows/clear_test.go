package workflows

import (
	"strings"
	"testing"

	"github.com/batonhq/baton/activities"
	"github.com/batonhq/baton/process"
)

// Summary and details are user metadata, which the Web UI shows to every
// operator in lists and timelines: they name the business key and business
// facts, never a person, a card, a policy number, a date of the person or
// free text (docs/security.md: "What stays in clear").
func TestSummaryAndDetailsHoldNoPersonalData(t *testing.T) {
	for _, c := range []struct {
		in       process.Input
		personal []string
	}{
		{&LoanInput{ApplicationID: "A-1", ApplicantID: "APPL-77", Amount: 1000, TermMonths: 12, Purpose: "wedding of my daughter"},
			[]string{"APPL-77", "wedding"}},
		{&OrderInput{OrderID: "O-1", CustomerID: "CUST-77", Items: []activities.Item{{SKU: "SKU-BOOK", Quantity: 1}}, Amount: 30,
			CardNumber: "4000056655665556", BillingCountry: "DE", ShippingCountry: "FR"},
			[]string{"CUST-77", "5556", "4000", "DE", "FR"}},
		{&ExpenseInput{ExpenseID: "X-1", Requester: "requester77", Amount: 80, Category: "travel", Description: "dinner with a client"},
			[]string{"requester77", "dinner"}},
		{&OnboardingInput{EmployeeID: "E-1", Name: "Quokka Zwirbelbart", Role: "engineer", Department: "platform", Manager: "manager77", StartDate: "2031-02-03"},
			[]string{"Quokka", "Zwirbelbart", "manager77", "2031"}},
		{&ClaimInput{ClaimID: "C-1", PolicyNumber: "POL-77", Claimant: "claimant77", Kind: "theft", Amount: 500, IncidentDate: "2031-02-03", Description: "bike stolen at the station"},
			[]string{"POL-77", "claimant77", "2031", "bike"}},
	} {
		for name, text := range map[string]string{"summary": c.in.Summary(), "details": c.in.Details()} {
			if !strings.Contains(text, strings.SplitN(c.in.Key(), "-", 2)[1]) {
				t.Errorf("%T %s does not name the business key %s: %q", c.in, name, c.in.Key(), text)
			}
			for _, p := range c.personal {
				if strings.Contains(text, p) {
					t.Errorf("%T %s shows %q in clear: %q", c.in, name, p, text)
				}
			}
		}
	}
}
