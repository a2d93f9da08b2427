package purchase_test

import (
	"strings"
	"testing"
	"time"

	"github.com/batonhq/baton/humantask"
	"github.com/batonhq/baton/processtest"
	"github.com/batonhq/baton/record"

	"example.com/purchase"
)

func newEnv(t *testing.T) *processtest.Env {
	env := processtest.New(t, purchase.Catalog(), "policy.yaml")
	env.RegisterActivity(&purchase.Purchasing{})
	return env
}

// Up to the limit a request is ordered without anyone deciding.
func TestSmallRequestIsOrderedAutomatically(t *testing.T) {
	env := newEnv(t)
	var res purchase.Result
	if err := env.Run(purchase.Purchase, &purchase.Input{RequestID: "P-1", Requester: "pia", Amount: 1000, Item: "chairs"}, &res); err != nil {
		t.Fatal(err)
	}
	if res.Outcome != purchase.OutcomeOrdered || res.HandlingPath != record.PathAutomated || res.OrderID != "PO-P-1" || res.Approver != "" {
		t.Errorf("result = %+v", res)
	}
}

// Above it a manager approves, never the requester (mo is a manager too).
func TestLargeRequestNeedsAManagerWhoIsNotTheRequester(t *testing.T) {
	env := newEnv(t)
	self := env.Decide(time.Hour, humantask.Decision{Verdict: humantask.Approve, Actor: "mo"})
	staff := env.Decide(2*time.Hour, humantask.Decision{Verdict: humantask.Approve, Actor: "pia"})
	lu := env.Decide(3*time.Hour, humantask.Decision{Verdict: humantask.Approve, Actor: "lu", Comment: "budgeted"})
	var res purchase.Result
	if err := env.Run(purchase.Purchase, &purchase.Input{RequestID: "P-2", Requester: "mo", Amount: 1000.01, Item: "laptops"}, &res); err != nil {
		t.Fatal(err)
	}
	if res.Outcome != purchase.OutcomeOrdered || res.HandlingPath != record.PathManual || res.Approver != "lu" {
		t.Errorf("result = %+v", res)
	}
	if self.Accepted || self.Err == nil || !strings.Contains(self.Err.Error(), "separation of duties (the requester)") {
		t.Errorf("the requester's own approval: %+v", self)
	}
	if staff.Accepted || staff.Err == nil || !strings.Contains(staff.Err.Error(), "needs role manager") {
		t.Errorf("staff's approval: %+v", staff)
	}
	if !lu.Accepted {
		t.Errorf("lu's approval: %+v", lu)
	}
}

// A rejection ends the request without an order.
func TestRejectedRequestIsNotOrdered(t *testing.T) {
	env := newEnv(t)
	env.Decide(time.Hour, humantask.Decision{Verdict: humantask.Reject, Actor: "lu", Comment: "not this quarter"})
	var res purchase.Result
	if err := env.Run(purchase.Purchase, &purchase.Input{RequestID: "P-3", Requester: "pia", Amount: 5000, Item: "a boat"}, &res); err != nil {
		t.Fatal(err)
	}
	if res.Outcome != "rejected" || res.OrderID != "" || !strings.Contains(res.Reason, "not this quarter") {
		t.Errorf("result = %+v", res)
	}
}

// A requester the directory does not know is refused at the start, naming
// the field; so is a bad amount.
func TestInputIsRefusedNamingTheField(t *testing.T) {
	env := newEnv(t)
	err := env.Run(purchase.Purchase, &purchase.Input{RequestID: "P-4", Requester: "zed", Amount: 10, Item: "pens"}, &purchase.Result{})
	if err == nil || !strings.Contains(err.Error(), `requester: "zed" is not in the directory`) {
		t.Errorf("unknown requester: %v", err)
	}
	if err := (purchase.Input{RequestID: "P-5", Requester: "pia", Amount: 0.001, Item: "pens"}).Validate(); err == nil || !strings.HasPrefix(err.Error(), "amount:") {
		t.Errorf("a fraction of a cent: %v", err)
	}
}

// The routing a what-if takes again is the workflow's own.
func TestRoutingIsTheWorkflowsOwn(t *testing.T) {
	env := newEnv(t)
	for amount, want := range map[string]string{"1000": record.PathAutomated, "1000.5": record.PathManual} {
		r, err := purchase.Purchase.Routing(map[string]string{"amount": amount}, env.Policy)
		if err != nil || r.Path != want {
			t.Errorf("amount %s: %+v, %v", amount, r, err)
		}
	}
}
