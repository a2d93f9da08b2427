package workflows

import (
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/mock"

	"github.com/batonhq/baton/activities"
	"github.com/batonhq/baton/humantask"
	"github.com/batonhq/baton/process"
)

func expenseIn(amount float64) ExpenseInput {
	return ExpenseInput{ExpenseID: "X-1", Requester: "max", Amount: amount, Category: "travel", Description: "conference"}
}

func approveAt(h *harness, hour int, actor string) {
	h.update(time.Duration(hour)*time.Hour, humantask.Decision{Verdict: humantask.Approve, Actor: actor})
}

func TestExpenseLevelsByAmount(t *testing.T) {
	cases := []struct {
		amount    float64
		approvers []string
		levels    string
	}{
		{300, []string{"mia"}, "manager"},
		{500, []string{"mia"}, "manager"},
		{3000, []string{"mia", "fin"}, "manager,finance"},
		{8000, []string{"mia", "fin", "dan"}, "manager,finance,director"},
	}
	for _, tc := range cases {
		h := newHarness(t)
		in := expenseIn(tc.amount)
		h.env.OnActivity(aPay.Payout, mock.Anything, activities.PayoutInput{Reference: "expense-X-1", Payee: "max", Amount: tc.amount}).Return(&activities.PayoutResult{PayoutID: "PAY-1"}, nil)
		for i, a := range tc.approvers {
			approveAt(h, i+1, a)
		}
		var res ExpenseResult
		h.run(Expense, in, &res)
		if res.Outcome != OutcomeReimbursed || strings.Join(res.Levels, ",") != tc.levels || strings.Join(res.Approvers, ",") != strings.Join(tc.approvers, ",") || res.PayoutID != "PAY-1" {
			t.Errorf("%v: %+v", tc.amount, res)
		}
		h.env.AssertExpectations(t)
	}
}

func TestExpenseRequesterIsExcluded(t *testing.T) {
	h := newHarness(t)
	in := expenseIn(300)
	in.Requester = "mia"
	h.env.OnActivity(aPay.Payout, mock.Anything, mock.Anything).Return(&activities.PayoutResult{PayoutID: "PAY-1"}, nil)
	own := h.update(time.Hour, humantask.Decision{Verdict: humantask.Approve, Actor: "mia"})
	approveAt(h, 2, "max")
	var res ExpenseResult
	h.run(Expense, in, &res)
	if own.err == nil || !strings.Contains(own.err.Error(), "separation of duties (the requester)") {
		t.Errorf("requester approving own claim: %v", own.err)
	}
	if res.Outcome != OutcomeReimbursed || res.Approvers[0] != "max" {
		t.Errorf("result = %+v", res)
	}
}

func TestExpenseOnePersonCannotApproveTwoLevels(t *testing.T) {
	h := newHarness(t)
	// mia holds both manager and finance in this directory.
	u := h.pol.Users["mia"]
	u.Roles = append(u.Roles, "finance")
	h.pol.Users["mia"] = u
	h.env.OnActivity(aPay.Payout, mock.Anything, mock.Anything).Return(&activities.PayoutResult{PayoutID: "PAY-1"}, nil)
	approveAt(h, 1, "mia")
	twice := h.update(2*time.Hour, humantask.Decision{Verdict: humantask.Approve, Actor: "mia"})
	approveAt(h, 3, "fin")
	var res ExpenseResult
	h.run(Expense, expenseIn(3000), &res)
	if twice.err == nil || !strings.Contains(twice.err.Error(), "separation of duties (approved the manager level)") {
		t.Errorf("mia at the finance level: %v", twice.err)
	}
	if res.Outcome != OutcomeReimbursed || strings.Join(res.Approvers, ",") != "mia,fin" {
		t.Errorf("result = %+v", res)
	}
}

func TestExpenseRejectEndsIt(t *testing.T) {
	h := newHarness(t)
	approveAt(h, 1, "mia")
	h.update(2*time.Hour, humantask.Decision{Verdict: humantask.Reject, Actor: "fin", Comment: "no receipt"})
	var res ExpenseResult
	h.run(Expense, expenseIn(3000), &res)
	if res.Outcome != process.OutcomeRejected || res.Reason != "rejected at finance level by fin: no receipt" || strings.Contains(h.ran(), "Payout") {
		t.Fatalf("result %+v after %s", res, h.ran())
	}
}

func TestExpenseUnknownRequester(t *testing.T) {
	h := newHarness(t)
	in := expenseIn(100)
	in.Requester = "zed"
	h.execute(Expense, in)
	wantInvalidInput(t, h.env, "requester")
}

// An approver may approve a lower amount with a reason: reimbursement pays
// it, and the levels above the lower amount are no longer needed (8,000
// lowered to 1,500 at the manager level needs finance, not the director).
func TestExpenseApproverLowersTheAmount(t *testing.T) {
	h := newHarness(t)
	in := expenseIn(8000)
	h.env.OnActivity(aPay.Payout, mock.Anything, activities.PayoutInput{Reference: "expense-X-1", Payee: "max", Amount: 1500}).Return(&activities.PayoutResult{PayoutID: "PAY-1"}, nil)
	noReason := h.update(30*time.Minute, humantask.Decision{Verdict: humantask.Approve, Actor: "mia", Values: map[string]string{"approvedAmount": "1500"}})
	higher := h.update(40*time.Minute, humantask.Decision{Verdict: humantask.Approve, Actor: "mia", Values: map[string]string{"approvedAmount": "9000", "reason": "more"}})
	h.update(time.Hour, humantask.Decision{Verdict: humantask.Approve, Actor: "mia", Values: map[string]string{"approvedAmount": "1500", "reason": "economy fare only"}})
	approveAt(h, 2, "fin")
	var res ExpenseResult
	h.run(Expense, in, &res)
	if noReason.err == nil || !strings.Contains(noReason.err.Error(), "reason: required when approve a lower amount is given") {
		t.Errorf("a lower amount without a reason: %v", noReason.err)
	}
	if higher.err == nil || !strings.Contains(higher.err.Error(), "approvedAmount: 9,000.00 EUR is above the maximum 8,000.00 EUR") {
		t.Errorf("a higher amount: %v", higher.err)
	}
	if res.Outcome != OutcomeReimbursed || strings.Join(res.Levels, ",") != "manager,finance" || res.ApprovedAmount != 1500 ||
		res.Reason != "approved by mia, fin; paid 1,500.00 of 8,000.00 claimed" {
		t.Fatalf("result = %+v", res)
	}
	// Conformance reads the same chain: the director level is optional
	// once the amount was lowered below it.
	rules, err := Expense.Tasks(res.Facts, h.pol)
	if err != nil || len(rules) != 3 || !rules[2].Optional || rules[1].Optional {
		t.Errorf("task rules = %+v, %v", rules, err)
	}
	h.env.AssertExpectations(t)
}
