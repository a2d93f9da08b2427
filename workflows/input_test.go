package workflows

import (
	"fmt"
	"math"
	"strings"
	"testing"

	"github.com/batonhq/baton/audit"
	"github.com/batonhq/baton/process"

	"github.com/stretchr/testify/mock"

	"github.com/batonhq/baton/activities"
)

// withAmount returns a process's first demo input with its amount set
// through the starter's --amount flag (nil if the process has none).
func withAmount(t *testing.T, p *process.Description, v float64) process.Input {
	t.Helper()
	for _, f := range p.Flags {
		if f.Name == "amount" {
			in := p.Demo(func(n int) string { return fmt.Sprint("V-", n) }, testStart)[0]
			if err := f.Set(in, v); err != nil {
				t.Fatal(err)
			}
			return in
		}
	}
	return nil
}

// Every amount is a finite sum of at least one cent, whoever starts the
// process: the starter's flags accept NaN and Inf, other clients' data
// converters may carry them.
func TestInputsRefuseNonFiniteAndSubCentAmounts(t *testing.T) {
	bad := map[string]float64{"NaN": math.NaN(), "+Inf": math.Inf(1), "-Inf": math.Inf(-1), "zero": 0, "tenth of a cent": 0.001, "negative": -5}
	checked := 0
	for _, p := range Catalog().Processes() {
		if withAmount(t, p, 1) == nil {
			continue
		}
		checked++
		if err := withAmount(t, p, 0.01).Validate(); err != nil {
			t.Errorf("%s: one cent refused: %v", p.Name, err)
		}
		for name, v := range bad {
			err := withAmount(t, p, v).Validate()
			if err == nil || !strings.HasPrefix(err.Error(), "amount: ") {
				t.Errorf("%s: amount %s: err = %v, want one naming amount", p.Name, name, err)
			}
		}
	}
	if checked < 4 {
		t.Errorf("only %d processes have an amount flag", checked)
	}
}

// The workflow refuses what the starter refuses, for clients that skip the
// starter (the temporal CLI, another SDK): it fails at validation, naming
// the field, before anything runs. (JSON cannot carry NaN: a sub-cent
// amount is what such a client can send.)
func TestWorkflowsRefuseSubCentAmountsFromOtherClients(t *testing.T) {
	for _, p := range Catalog().Processes() {
		in := withAmount(t, p, 0.004)
		if in == nil {
			continue
		}
		h := newHarness(t)
		h.execute(p.Name, in)
		if !h.env.IsWorkflowCompleted() {
			t.Fatalf("%s did not complete", p.Name)
		}
		wantInvalidInput(t, h.env, "amount")
		if !strings.Contains(h.env.GetWorkflowError().Error(), "invalid input: amount: 0.004 is below one cent") {
			t.Errorf("%s: %v", p.Name, h.env.GetWorkflowError())
		}
		if len(h.calls) != 0 {
			t.Errorf("%s ran %v before refusing its input", p.Name, h.calls)
		}
	}
}

// An applicant is not in the directory but in the KYC system: one it does
// not know fails the loan as an unknown user fails any process, naming the
// field, recorded in the trail, before anything else runs.
func TestLoanUnknownApplicantFailsNamingTheField(t *testing.T) {
	h := newHarness(t)
	h.env.OnActivity(aKYC.VerifyIdentity, mock.Anything, mock.Anything).Return(nil, refuse(activities.ErrNotFound, "unknown applicant C-0000"))
	h.execute(Loan, LoanInput{ApplicationID: "A-1", ApplicantID: "C-0000", Amount: 100, TermMonths: 12})
	if !h.env.IsWorkflowCompleted() {
		t.Fatal("did not complete")
	}
	wantInvalidInput(t, h.env, "applicantId")
	if !strings.Contains(h.env.GetWorkflowError().Error(), `invalid input: applicantId: "C-0000" is unknown to the identity check`) {
		t.Errorf("err = %v", h.env.GetWorkflowError())
	}
	if h.ran() != "VerifyIdentity" {
		t.Errorf("ran %s", h.ran())
	}
	if !h.auditHas(audit.ActionFailed, `applicantId: "C-0000" is unknown`) {
		t.Errorf("audit %+v", h.audit())
	}
}

// Free text that would not show as it is (an ANSI sequence, a carriage
// return forging a line, what a decoder made of invalid UTF-8) is refused
// in every process's input, naming the field.
func TestInputsRefuseControlCharactersInText(t *testing.T) {
	demo := func(name string) process.Input {
		p, _ := Catalog().Lookup(name)
		return p.Demo(func(n int) string { return fmt.Sprint("T-", n) }, testStart)[0]
	}
	cases := map[string]func(bad string) (process.Input, string){
		"loan purpose": func(bad string) (process.Input, string) {
			in := demo(ProcessLoan).(*LoanInput)
			in.Purpose = bad
			return in, "purpose"
		},
		"expense category": func(bad string) (process.Input, string) {
			in := demo(ProcessExpense).(*ExpenseInput)
			in.Category = bad
			return in, "category"
		},
		"expense description": func(bad string) (process.Input, string) {
			in := demo(ProcessExpense).(*ExpenseInput)
			in.Description = bad
			return in, "description"
		},
		"claim kind": func(bad string) (process.Input, string) {
			in := demo(ProcessClaim).(*ClaimInput)
			in.Kind = bad
			return in, "kind"
		},
		"onboarding name": func(bad string) (process.Input, string) {
			in := demo(ProcessOnboarding).(*OnboardingInput)
			in.Name = bad
			return in, "name"
		},
		"onboarding equipment": func(bad string) (process.Input, string) {
			in := demo(ProcessOnboarding).(*OnboardingInput)
			in.Equipment = []string{"laptop", bad}
			return in, "equipment[1]"
		},
		"order sku": func(bad string) (process.Input, string) {
			in := demo(ProcessOrder).(*OrderInput)
			in.Items = []activities.Item{{SKU: bad, Quantity: 1}}
			return in, "items[0].sku"
		},
	}
	for name, set := range cases {
		if in, _ := set("plain text, ünïcode"); in.Validate() != nil {
			t.Errorf("%s: plain text refused: %v", name, in.Validate())
		}
		for _, bad := range []string{"ok\x1b[2K\rforged", "ok\nforged", "ok\u202eforged", "ok\ufffd"} {
			in, field := set(bad)
			if err := in.Validate(); err == nil || !strings.HasPrefix(err.Error(), field+": control characters") {
				t.Errorf("%s %q: err = %v", name, bad, err)
			}
		}
	}
}
