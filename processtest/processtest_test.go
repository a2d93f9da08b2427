package processtest_test

import (
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/mock"

	"github.com/batonhq/baton/activities"
	"github.com/batonhq/baton/audit"
	"github.com/batonhq/baton/humantask"
	"github.com/batonhq/baton/processtest"
	"github.com/batonhq/baton/workflows"
)

// A process runs with the frame's activities served from the policy file:
// its human task is decided through the one gate (a refused decision and
// an accepted one), and its trail reaches the audit store in memory.
func TestRunsAProcessWithTheFramesActivities(t *testing.T) {
	env := processtest.New(t, workflows.Catalog(), "../config/policy.yaml")
	var pay *activities.Payments
	env.OnActivity(pay.Payout, mock.Anything, mock.Anything).Return(&activities.PayoutResult{PayoutID: "P-1"}, nil)
	var mail *activities.Mail
	env.OnActivity(mail.SendMail, mock.Anything, mock.Anything).Return(&activities.MailResult{MessageID: "m"}, nil)

	self := env.Decide(time.Hour, humantask.Decision{Verdict: humantask.Approve, Actor: "max"})
	mia := env.Decide(2*time.Hour, humantask.Decision{Verdict: humantask.Approve, Actor: "mia"})
	var res workflows.ExpenseResult
	in := &workflows.ExpenseInput{ExpenseID: "X-1", Requester: "max", Amount: 320, Category: "travel"}
	if err := env.Run(workflows.Expense, in, &res); err != nil {
		t.Fatal(err)
	}
	if res.Outcome != workflows.OutcomeReimbursed || res.PayoutID != "P-1" {
		t.Errorf("result = %+v", res)
	}
	if self.Accepted || self.Err == nil || !strings.Contains(self.Err.Error(), "separation of duties") {
		t.Errorf("the requester's own approval: %+v", self)
	}
	if !mia.Accepted {
		t.Errorf("mia's approval: %+v", mia)
	}
	trail := env.Trail()
	if len(trail) == 0 || trail[0].Action != audit.ActionStarted || trail[len(trail)-1].Action != audit.ActionCompleted {
		t.Fatalf("trail = %v", env.Actions())
	}
	for i, e := range trail {
		if e.Seq != int64(i+1) || e.WorkflowID != "expense-X-1" {
			t.Errorf("entry %d: %+v", i, e)
		}
	}
}
