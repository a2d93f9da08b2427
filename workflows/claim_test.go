package workflows

import (
	"strings"
	"testing"
	"time"

	"github.com/batonhq/baton/audit"

	"github.com/stretchr/testify/mock"

	"github.com/batonhq/baton/activities"
	"github.com/batonhq/baton/humantask"
	"github.com/batonhq/baton/process"
	"github.com/batonhq/baton/record"
)

var aClaims *activities.Claims

func claimIn(policyNumber, kind string, amount float64) ClaimInput {
	return ClaimInput{ClaimID: "CL-1", PolicyNumber: policyNumber, Claimant: "C-2001", Kind: kind, Amount: amount, IncidentDate: "2026-11-20"}
}

// mockClaims answers the claims system for in: a deductible of 250 and a
// limit of 50,000, triage scoring score; payout fails with payoutErr.
func mockClaims(h *harness, in ClaimInput, score int, payoutErr error) {
	mockClaimsPaying(h, in, score, payoutErr, ClaimPayable(in.Amount, 250, 50000))
}

// mockClaimsPaying is mockClaims reserving and paying payable.
func mockClaimsPaying(h *harness, in ClaimInput, score int, payoutErr error, payable float64) {
	h.env.OnActivity(aClaims.CheckCoverage, mock.Anything, activities.CoverageInput{PolicyNumber: in.PolicyNumber, Kind: in.Kind}).
		Return(&activities.CoverageResult{Holder: "C-2001", Deductible: 250, Limit: 50000}, nil)
	h.env.OnActivity(aClaims.TriageClaim, mock.Anything, activities.TriageInput{ClaimID: in.ClaimID, PolicyNumber: in.PolicyNumber, Claimant: in.Claimant, Kind: in.Kind, Amount: in.Amount}).
		Return(&activities.TriageResult{Score: score, Reasons: []string{"theft"}}, nil).Maybe()
	h.env.OnActivity(aClaims.OpenReserve, mock.Anything, activities.ClaimReserveInput{ClaimID: in.ClaimID, Amount: payable}).
		Return(&activities.ClaimReserveResult{ReserveID: "RES-1"}, nil).Maybe()
	h.env.OnActivity(aClaims.ReleaseReserve, mock.Anything, activities.ClaimReserveResult{ReserveID: "RES-1"}).Return(nil).Maybe()
	payout := h.env.OnActivity(aPay.Payout, mock.Anything, activities.PayoutInput{Reference: in.Key(), Payee: in.Claimant, Amount: payable}).Maybe()
	if payoutErr != nil {
		payout.Return(nil, payoutErr)
	} else {
		payout.Return(&activities.PayoutResult{PayoutID: "PAY-1"}, nil)
	}
	h.env.OnActivity(aClaims.SettleClaim, mock.Anything, activities.SettleInput{ClaimID: in.ClaimID, ReserveID: "RES-1", PayoutID: "PAY-1"}).
		Return(&activities.SettleResult{SettlementID: "STL-1"}, nil).Maybe()
}

func TestClaimAutoPay(t *testing.T) {
	h := newHarness(t)
	in := claimIn("P-100", "water-damage", 1200)
	mockClaims(h, in, 10, nil)
	var res ClaimResult
	h.run(Claim, in, &res)
	if res.Outcome != OutcomePaid || res.HandlingPath != record.PathAutomated || res.Payable != 950 || res.SettlementID != "STL-1" {
		t.Fatalf("result = %+v", res)
	}
	if h.ran() != "CheckCoverage TriageClaim OpenReserve Payout SettleClaim" {
		t.Errorf("steps = %s", h.ran())
	}
	if !h.auditHas(audit.ActionRouted, "auto-pay: triage score 10 < 50") {
		t.Error("routing not audited")
	}
	h.env.AssertExpectations(t)
}

func TestClaimNotCovered(t *testing.T) {
	h := newHarness(t)
	in := claimIn("P-300", "fire", 900)
	h.env.OnActivity(aClaims.CheckCoverage, mock.Anything, mock.Anything).Return(nil, refuse(activities.ErrNotCovered, "policy P-300 has lapsed"))
	var res ClaimResult
	h.run(Claim, in, &res)
	if res.Outcome != OutcomeNotCovered || !strings.HasPrefix(res.Reason, "policy P-300 has lapsed") || h.ran() != "CheckCoverage" || res.HandlingPath != record.PathAutomated {
		t.Fatalf("result = %+v after %s", res, h.ran())
	}
	if len(h.mails) != 1 || h.mails[0].To != "C-2001" {
		t.Errorf("claimant not notified: %+v", h.mails)
	}
}

func TestClaimAdjusterReview(t *testing.T) {
	cases := []struct {
		name      string
		amount    float64
		decisions []humantask.Decision
		outcome   string
		reason    string
	}{
		{"one adjuster approves", 6000, []humantask.Decision{{Verdict: humantask.Approve, Actor: "ada"}}, OutcomePaid, "paid 5,750.00 as assessed (claimed 6,000.00, deductible 250.00)"},
		{"four-eyes above 20,000", 25000, []humantask.Decision{{Verdict: humantask.Approve, Actor: "ada"}, {Verdict: humantask.Approve, Actor: "abe"}}, OutcomePaid, "paid 24,750.00 as assessed (claimed 25,000.00, deductible 250.00)"},
		{"an adjuster denies", 6000, []humantask.Decision{{Verdict: humantask.Reject, Actor: "abe", Comment: "pre-existing damage", Values: map[string]string{"reasonCode": "pre-existing"}}}, OutcomeDenied, "rejected by abe: pre-existing damage"},
		{"nobody decides", 6000, nil, OutcomeDenied, "no adjuster decision by the deadline"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			h := newHarness(t)
			in := claimIn("P-100", "theft", tc.amount)
			mockClaims(h, in, 70, nil)
			refused := h.update(30*time.Minute, humantask.Decision{Verdict: humantask.Approve, Actor: "ana"})
			for i, d := range tc.decisions {
				h.update(time.Duration(i+1)*time.Hour, d)
			}
			var res ClaimResult
			h.run(Claim, in, &res)
			if res.Outcome != tc.outcome || res.Reason != tc.reason || res.HandlingPath != record.PathManual {
				t.Fatalf("result = %+v", res)
			}
			if refused.err == nil {
				t.Error("an underwriter decided an adjuster's task")
			}
			if tc.outcome == OutcomeDenied && h.ran() != "CheckCoverage TriageClaim" {
				t.Errorf("denied claim ran %s", h.ran())
			}
			if len(tc.decisions) == 0 && !h.auditHas(audit.ActionEscalated, "added role senior-adjuster") {
				t.Error("the review was not escalated to a senior adjuster")
			}
		})
	}
}

func TestClaimPayoutFailureReleasesTheReserve(t *testing.T) {
	h := newHarness(t)
	in := claimIn("P-100", "water-damage", 1200)
	mockClaims(h, in, 10, refuse(activities.ErrRefused, "payee account closed"))
	var res ClaimResult
	h.run(Claim, in, &res)
	if res.Outcome != OutcomePayoutFailed || !strings.HasPrefix(res.Reason, "payout: payee account closed") || len(res.Compensations) != 1 || res.Compensations[0] != "release-reserve" {
		t.Fatalf("result = %+v", res)
	}
	if h.ran() != "CheckCoverage TriageClaim OpenReserve Payout ReleaseReserve" {
		t.Errorf("steps = %s", h.ran())
	}
	if !h.auditHas(audit.ActionCompensated, "release-reserve (payout-failed)") {
		t.Error("compensation not audited")
	}
}

// The routing the workflow took is taken again from the recorded facts.
func TestClaimRouteFromRecordedFacts(t *testing.T) {
	h := newHarness(t)
	for _, tc := range []struct {
		facts    map[string]string
		decision string
	}{
		{map[string]string{"triageScore": "10", "amount": "1200"}, ClaimAutoPay},
		{map[string]string{"triageScore": "70", "amount": "1200"}, ClaimAdjusterReview},
		{map[string]string{"triageScore": "10", "amount": "2500"}, ClaimAdjusterReview},
	} {
		r, err := Claim.Routing(tc.facts, h.pol)
		if err != nil || r.Decision != tc.decision {
			t.Errorf("%v: %+v, %v", tc.facts, r, err)
		}
	}
	if _, err := Claim.Routing(map[string]string{"amount": "1"}, h.pol); err == nil {
		t.Error("a missing fact was not refused")
	}
}

// The adjuster's assessed amount is what is paid; one above the four-eyes
// amount opens a second adjuster's task (the assessor excluded) even though
// the claimed amount needed one adjuster; a value out of bounds is refused
// naming the field.
func TestClaimAssessedAmount(t *testing.T) {
	for _, tc := range []struct {
		name     string
		assessed string
		paid     float64
		second   bool
	}{
		{"lower than claimed", "4100.50", 4100.50, false},
		{"above the four-eyes amount", "22000", 22000, true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			h := newHarness(t)
			in := claimIn("P-100", "theft", 18000)
			mockClaimsPaying(h, in, 70, nil, tc.paid)
			tooMuch := h.update(20*time.Minute, humantask.Decision{Verdict: humantask.Approve, Actor: "ada", Values: map[string]string{FactAssessedAmount: "60000"}})
			h.update(time.Hour, humantask.Decision{Verdict: humantask.Approve, Actor: "ada", Values: map[string]string{FactAssessedAmount: tc.assessed, "reasonCode": "partial-damage"}})
			self := h.update(2*time.Hour, humantask.Decision{TaskID: "second-adjuster", Verdict: humantask.Approve, Actor: "ada"})
			h.update(3*time.Hour, humantask.Decision{TaskID: "second-adjuster", Verdict: humantask.Approve, Actor: "abe"})
			var res ClaimResult
			h.run(Claim, in, &res)
			if msg := tooMuch.err; msg == nil || !strings.Contains(msg.Error(), "assessedAmount: 60,000.00 EUR is above the maximum 49,750.00 EUR") {
				t.Errorf("an amount above the limit: %v", tooMuch.err)
			}
			if res.Outcome != OutcomePaid || res.Assessed != tc.paid || res.Payable != tc.paid || res.ReasonCode != "partial-damage" {
				t.Fatalf("result = %+v", res)
			}
			if res.Facts[FactAssessedAmount] != process.FormatAmount(tc.paid) {
				t.Errorf("facts = %v", res.Facts)
			}
			if got := len(res.Tasks) == 2; got != tc.second {
				t.Fatalf("tasks = %+v", res.Tasks)
			}
			if tc.second {
				if self.err == nil || !strings.Contains(self.err.Error(), "separation of duties (assessed the claim)") {
					t.Errorf("the assessor confirmed their own assessment: %v", self.err)
				}
				if d := res.Tasks[1].Decisions; len(d) != 1 || d[0].Actor != "abe" {
					t.Errorf("second adjuster's decisions = %+v", d)
				}
				// What conformance holds the trail against: the same tasks.
				rules, err := Claim.Tasks(res.Facts, h.pol)
				if err != nil || len(rules) != 2 || rules[1].ID != "second-adjuster" {
					t.Errorf("task rules = %+v, %v", rules, err)
				}
			}
			h.env.AssertExpectations(t)
		})
	}
}
