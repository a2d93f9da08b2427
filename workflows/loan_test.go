package workflows

import (
	"encoding/json"
	"reflect"
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

func loanIn(applicant string, amount float64) LoanInput {
	return LoanInput{ApplicationID: "A-1", ApplicantID: applicant, Amount: amount, TermMonths: 36, Purpose: "car"}
}

// mockLoanSystems answers KYC and credit for the applicant, and the loan
// core's offer and disbursement with exact inputs.
func mockLoanSystems(h *harness, in LoanInput, score int, apr float64) {
	h.env.OnActivity(aKYC.VerifyIdentity, mock.Anything, activities.KYCInput{ApplicantID: in.ApplicantID}).Return(&activities.KYCResult{Verified: true}, nil)
	h.env.OnActivity(aCredit.PullCreditScore, mock.Anything, activities.ScoreInput{ApplicantID: in.ApplicantID}).Return(&activities.ScoreResult{Score: score}, nil)
	h.env.OnActivity(aLoans.CreateOffer, mock.Anything, activities.OfferInput{ApplicationID: in.ApplicationID, Amount: in.Amount, TermMonths: in.TermMonths, APR: apr}).Return(&activities.OfferResult{OfferID: "OFF-1"}, nil).Maybe()
	h.env.OnActivity(aLoans.Disburse, mock.Anything, activities.DisburseInput{ApplicationID: in.ApplicationID, OfferID: "OFF-1", Amount: in.Amount}).Return(&activities.DisburseResult{DisbursementID: "DSB-1"}, nil).Maybe()
}

func TestLoanAutoApprove(t *testing.T) {
	h := newHarness(t)
	in := loanIn("C-1001", 10000)
	mockLoanSystems(h, in, 780, 5.9)
	var res LoanResult
	h.run(Loan, in, &res)
	if res.Outcome != process.OutcomeApproved || res.HandlingPath != record.PathAutomated || res.DisbursementID != "DSB-1" || res.RiskScore != 780 {
		t.Fatalf("result = %+v", res)
	}
	if h.ran() != "VerifyIdentity PullCreditScore CreateOffer Disburse" {
		t.Errorf("steps = %s", h.ran())
	}
	if len(h.mails) != 1 || h.mails[0].To != "C-1001" || !strings.Contains(h.mails[0].Subject, "approved") {
		t.Errorf("mails = %+v", h.mails)
	}
	h.env.AssertExpectations(t)
}

func TestLoanAutoDeclineAndKYCFailure(t *testing.T) {
	h := newHarness(t)
	in := loanIn("C-1003", 10000)
	mockLoanSystems(h, in, 510, 0)
	var res LoanResult
	h.run(Loan, in, &res)
	if res.Outcome != process.OutcomeDeclined || res.HandlingPath != record.PathAutomated || res.Reason != "risk score 510 below 550" {
		t.Fatalf("low score: %+v", res)
	}
	if h.ran() != "VerifyIdentity PullCreditScore" {
		t.Errorf("steps = %s", h.ran())
	}

	h = newHarness(t)
	in = loanIn("C-9999", 10000)
	h.env.OnActivity(aKYC.VerifyIdentity, mock.Anything, mock.Anything).Return(nil, refuse(activities.ErrKYCFailed, "document mismatch"))
	res = LoanResult{}
	h.run(Loan, in, &res)
	if res.Outcome != process.OutcomeDeclined || res.Reason != "identity check failed" || h.ran() != "VerifyIdentity" {
		t.Fatalf("KYC failure: %+v after %s", res, h.ran())
	}
	if res.Facts == nil || len(res.Facts) != 0 {
		t.Errorf("KYC failure: facts = %v, want {} (ended before routing)", res.Facts)
	}
}

func TestLoanManualUnderwritingQuorumByAmount(t *testing.T) {
	cases := []struct {
		amount    float64
		approvers []string
	}{
		{40000, []string{"ana"}},
		{150000, []string{"ana", "ben"}}, // four-eyes above 100,000
	}
	for _, tc := range cases {
		h := newHarness(t)
		in := loanIn("C-1002", tc.amount)
		mockLoanSystems(h, in, 660, 8.9)
		for i, a := range tc.approvers {
			h.update(time.Duration(i+1)*time.Hour, humantask.Decision{Verdict: humantask.Approve, Actor: a})
		}
		var res LoanResult
		h.run(Loan, in, &res)
		if res.Outcome != process.OutcomeApproved || res.HandlingPath != record.PathManual {
			t.Fatalf("%v: %+v", tc.amount, res)
		}
		if !h.auditHas(audit.ActionRouted, "quorum "+string(rune('0'+len(tc.approvers)))) {
			t.Errorf("%v: routing does not record quorum %d", tc.amount, len(tc.approvers))
		}
		h.env.AssertExpectations(t)
	}
}

func TestLoanUnderwritingDeadlineDeclinesAfterEscalation(t *testing.T) {
	h := newHarness(t)
	in := loanIn("C-1002", 40000)
	mockLoanSystems(h, in, 660, 8.9)
	var res LoanResult
	h.run(Loan, in, &res)
	if res.Outcome != process.OutcomeDeclined || res.Reason != "no underwriting decision by the deadline" {
		t.Fatalf("result = %+v", res)
	}
	if !h.auditHas(audit.ActionEscalated, "added role senior-underwriter") {
		t.Error("no escalation to senior-underwriter before the deadline")
	}
	if strings.Contains(h.ran(), "CreateOffer") {
		t.Error("an offer was made for a declined loan")
	}
}

func TestLoanUnderwriterRejects(t *testing.T) {
	h := newHarness(t)
	in := loanIn("C-1002", 40000)
	mockLoanSystems(h, in, 660, 8.9)
	h.update(time.Hour, humantask.Decision{Verdict: humantask.Reject, Actor: "ben", Comment: "debt ratio too high"})
	var res LoanResult
	h.run(Loan, in, &res)
	if res.Outcome != process.OutcomeDeclined || res.Reason != "rejected by ben: debt ratio too high" {
		t.Fatalf("result = %+v", res)
	}
	// The result records what a what-if needs: the routing facts and the
	// task with its decision, an hour after it opened.
	if res.Decision != LoanUnderwriting {
		t.Errorf("decision = %q", res.Decision)
	}
	// (and, since task forms, the systems' results the underwriter saw)
	if res.Facts["riskScore"] != "660" || res.Facts["amount"] != "40000" || res.Facts["creditScore"] != "660" || len(res.Facts) != 4 {
		t.Errorf("facts = %v", res.Facts)
	}
	if len(res.Tasks) != 1 || res.Tasks[0].ID != "underwriting" || res.Tasks[0].State != humantask.StateRejected ||
		len(res.Tasks[0].Decisions) != 1 || res.Tasks[0].Decisions[0].Actor != "ben" || res.Tasks[0].Decisions[0].Verdict != humantask.Reject ||
		res.Tasks[0].ClosedAt.Sub(res.Tasks[0].OpenedAt) != time.Hour {
		t.Errorf("tasks = %+v", res.Tasks)
	}
	// The completed entry carries the same for the audit store, without
	// the reason and the decider's comment, and its time is the close.
	trail := h.audit()
	last := trail[len(trail)-1]
	if last.Action != audit.ActionCompleted || !res.StartedAt.Equal(testStart) || !res.ClosedAt.Equal(last.Time) {
		t.Fatalf("last entry %s at %s; result started %s, closed %s", last.Action, last.Time, res.StartedAt, res.ClosedAt)
	}
	var data audit.EndData
	if err := json.Unmarshal(last.Data, &data); err != nil {
		t.Fatalf("completed entry's data %q: %v", last.Data, err)
	}
	want := res.Ending
	want.Reason, want.Tasks[0].Decisions[0].Comment = "", ""
	if got := process.EndingOf(data, last.Time); !reflect.DeepEqual(got, want) {
		t.Errorf("completed entry's data:\n%+v\nwant\n%+v", got, want)
	}
	if strings.Contains(string(last.Data), "debt ratio") {
		t.Errorf("the data carries the comment: %s", last.Data)
	}
	// Besides it, only the start (the lineage owning the key), the task and
	// the decision carry data; the decision's has no time in it.
	for _, e := range trail[:len(trail)-1] {
		switch e.Action {
		case audit.ActionStarted, audit.ActionTaskOpened:
		case audit.ActionDecisionAccepted:
			if !strings.Contains(string(e.Data), `"decision":{"verdict":"reject","actor":"ben","comment":"debt ratio too high"}`) {
				t.Errorf("decision entry data %s", e.Data)
			}
		default:
			if e.Data != nil {
				t.Errorf("%s entry carries data %s", e.Action, e.Data)
			}
		}
	}
}

func TestLoanRouteReplaysRecordedFacts(t *testing.T) {
	pol := loadDevPolicy(t)
	for facts, want := range map[[2]string]process.Route{
		{"700", "20000"}: {Path: record.PathManual, Decision: LoanUnderwriting},
		{"720", "25000"}: {Path: record.PathAutomated, Decision: LoanAutoApprove, Verdict: humantask.Approve},
		{"549", "1000"}:  {Path: record.PathAutomated, Decision: LoanAutoDecline, Verdict: humantask.Reject},
	} {
		got, err := Loan.Routing(map[string]string{"riskScore": facts[0], "amount": facts[1]}, pol)
		if err != nil || got.Path != want.Path || got.Decision != want.Decision || got.Verdict != want.Verdict {
			t.Errorf("%v: %+v, %v; want %+v", facts, got, err, want)
		}
	}
	if _, err := Loan.Routing(map[string]string{"amount": "1"}, pol); err == nil || err.Error() != "fact riskScore: not recorded" {
		t.Errorf("missing fact: %v", err)
	}
}

func TestLoanWithdrawDuringUnderwriting(t *testing.T) {
	h := newHarness(t)
	in := loanIn("C-1002", 40000)
	mockLoanSystems(h, in, 660, 8.9)
	h.signal(2*time.Hour, SignalWithdraw, record.Request{By: "C-1002", Reason: "found a better rate"})
	late := h.update(3*time.Hour, humantask.Decision{Verdict: humantask.Approve, Actor: "ana"})
	var res LoanResult
	h.run(Loan, in, &res)
	if res.Outcome != OutcomeWithdrawn {
		t.Fatalf("result = %+v", res)
	}
	if late.done {
		t.Error("an approval after withdrawal was accepted")
	}
	if strings.Contains(h.ran(), "CreateOffer") || !h.auditHas(audit.ActionTaskClosed, "cancelled: withdrawn by C-1002: found a better rate") {
		t.Errorf("steps %s; audit %+v", h.ran(), h.audit())
	}
	if !h.auditHas(audit.ActionRequested, "withdraw: found a better rate") {
		t.Error("withdrawal not audited")
	}
}

func TestLoanWithdrawAfterDisbursementIsRefused(t *testing.T) {
	h := newHarness(t)
	in := loanIn("C-1001", 10000)
	// Disbursement takes a minute; the withdrawal arrives during it.
	h.env.OnActivity(aLoans.Disburse, mock.Anything, mock.Anything).After(time.Minute).Return(&activities.DisburseResult{DisbursementID: "DSB-1"}, nil)
	mockLoanSystems(h, in, 780, 5.9)
	h.signal(30*time.Second, SignalWithdraw, record.Request{By: "C-1001"})
	var res LoanResult
	h.run(Loan, in, &res)
	if res.Outcome != process.OutcomeApproved || !h.auditHas(audit.ActionRequestRefused, "withdraw refused: too late") {
		t.Fatalf("result %+v, audit %+v", res, h.audit())
	}
}

func TestLoanInvalidInputNamesTheField(t *testing.T) {
	cases := map[string]LoanInput{
		"applicationId": {ApplicantID: "C-1", Amount: 1, TermMonths: 12},
		"applicantId":   {ApplicationID: "A", Amount: 1, TermMonths: 12},
		"amount":        {ApplicationID: "A", ApplicantID: "C", Amount: -5, TermMonths: 12},
		"termMonths":    {ApplicationID: "A", ApplicantID: "C", Amount: 5, TermMonths: 1},
	}
	for field, in := range cases {
		h := newHarness(t)
		h.execute(Loan, in)
		wantInvalidInput(t, h.env, field)
		if len(h.calls) != 0 {
			t.Errorf("%s: activities ran for invalid input: %v", field, h.calls)
		}
	}
}

func TestLoanRiskScore(t *testing.T) {
	cases := []struct{ credit, term, want int }{
		{780, 36, 780}, {780, 60, 780}, {780, 72, 770}, {780, 360, 530}, {320, 360, 300}, {900, 12, 850},
	}
	for _, c := range cases {
		if got := LoanRiskScore(c.credit, c.term); got != c.want {
			t.Errorf("LoanRiskScore(%d, %d) = %d, want %d", c.credit, c.term, got, c.want)
		}
	}
}

// The underwriter may approve with a counter-offer: the offer and the
// disbursement use its amount and term (priced on the term offered), its
// conditions go to the loan core, and a counter-offer above the amount
// applied for is refused naming the field.
func TestLoanCounterOffer(t *testing.T) {
	h := newHarness(t)
	in := loanIn("C-1002", 40000)
	in.TermMonths = 48
	h.env.OnActivity(aKYC.VerifyIdentity, mock.Anything, activities.KYCInput{ApplicantID: in.ApplicantID}).Return(&activities.KYCResult{Verified: true}, nil)
	h.env.OnActivity(aCredit.PullCreditScore, mock.Anything, activities.ScoreInput{ApplicantID: in.ApplicantID}).Return(&activities.ScoreResult{Score: 660}, nil)
	h.env.OnActivity(aLoans.CreateOffer, mock.Anything, activities.OfferInput{ApplicationID: in.ApplicationID, Amount: 30000, TermMonths: 84, APR: 12.9, Conditions: "payslips of the last 3 months"}).Return(&activities.OfferResult{OfferID: "OFF-1"}, nil)
	h.env.OnActivity(aLoans.Disburse, mock.Anything, activities.DisburseInput{ApplicationID: in.ApplicationID, OfferID: "OFF-1", Amount: 30000}).Return(&activities.DisburseResult{DisbursementID: "DSB-1"}, nil)
	above := h.update(30*time.Minute, humantask.Decision{Verdict: humantask.Approve, Actor: "ana", Values: map[string]string{"counterAmount": "45000"}})
	h.update(time.Hour, humantask.Decision{Verdict: humantask.Approve, Actor: "ana", Salt: "c2FsdHNhbHRzYWx0c2FsdA==",
		Values: map[string]string{"counterAmount": "30000", "counterTermMonths": "84", "conditions": "payslips of the last 3 months"}})
	var res LoanResult
	h.run(Loan, in, &res)
	if above.err == nil || !strings.Contains(above.err.Error(), "counterAmount: 45,000.00 EUR is above the maximum 40,000.00 EUR") {
		t.Errorf("a counter-offer above the request: %v", above.err)
	}
	if res.Outcome != process.OutcomeApproved || res.OfferAmount != 30000 || res.OfferTermMonths != 84 || res.RiskScore != 640 ||
		!strings.HasPrefix(res.Reason, "disbursed 30,000.00 over 84 months at 12.9% APR on the underwriter's counter-offer") {
		t.Fatalf("result = %+v", res)
	}
	for _, e := range h.audit() {
		if strings.Contains(e.Details+string(e.Data), "payslips") {
			t.Errorf("the personal conditions are in the trail: %s %s", e.Details, e.Data)
		}
	}
	h.env.AssertExpectations(t)
}
