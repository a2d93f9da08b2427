package insight

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"reflect"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/mock"
	"go.temporal.io/sdk/client"
	"go.temporal.io/sdk/log"
	"go.temporal.io/sdk/testsuite"

	"github.com/batonhq/baton/activities"
	"github.com/batonhq/baton/internal/auditstore"
	"github.com/batonhq/baton/policy"
	"github.com/batonhq/baton/workflows"
	"github.com/batonhq/baton/workflows/humantask"
)

// Trails for the tests are recorded by running the real workflows in the
// Temporal testsuite (time skipped, systems mocked) and capturing what
// each instance's record hands to the audit store: the same entries, in
// the same format, a real run writes. A change to the trail's format
// reaches these tests at once.

var testStart = time.Date(2026, 11, 23, 9, 0, 0, 0, time.UTC) // a Monday

func devPolicy(t testing.TB) *policy.Policy {
	t.Helper()
	p, err := workflows.LoadPolicy("../../config/policy.yaml")
	if err != nil {
		t.Fatal(err)
	}
	return p
}

// captureStore is an audit store that keeps what it is given.
type captureStore struct {
	mu      sync.Mutex
	entries []auditstore.Entry
}

func (c *captureStore) Append(_ context.Context, e []auditstore.Entry) (auditstore.AppendResult, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	for _, x := range e {
		if len(c.entries) == 0 || x.Seq == 0 || x.Seq > c.entries[len(c.entries)-1].Seq {
			c.entries = append(c.entries, x)
		}
	}
	return auditstore.AppendResult{Stored: len(e)}, nil
}

// decision is a decision sent after a delay.
type decision struct {
	after time.Duration
	humantask.Decision
}

// scenario is one instance to record.
type scenario struct {
	input     workflows.Input
	score     int // credit or triage score the mocked system answers
	decisions []decision
	start     time.Time
}

// recordTrail runs the scenario and returns its trail as the store would hold it.
func recordTrail(t testing.TB, pol *policy.Policy, s scenario) []auditstore.Entry {
	t.Helper()
	var suite testsuite.WorkflowTestSuite
	suite.SetLogger(log.NewStructuredLogger(slog.New(slog.NewTextHandler(io.Discard, nil))))
	env := suite.NewTestWorkflowEnvironment()
	env.SetStartTime(cmpTime(s.start, testStart))
	workflows.Register(env)
	store := &captureStore{}
	env.RegisterActivity(&activities.Policy{Current: pol})
	env.RegisterActivity(&activities.Audit{Store: store})
	env.OnUpsertTypedSearchAttributes(mock.Anything).Return(nil)
	var (
		kyc    *activities.KYC
		credit *activities.CreditBureau
		loans  *activities.LoanCore
		pay    *activities.Payments
		mail   *activities.Mail
	)
	env.OnActivity(kyc.VerifyIdentity, mock.Anything, mock.Anything).Return(&activities.KYCResult{Verified: true}, nil).Maybe()
	env.OnActivity(credit.PullCreditScore, mock.Anything, mock.Anything).Return(&activities.ScoreResult{Score: s.score}, nil).Maybe()
	env.OnActivity(loans.CreateOffer, mock.Anything, mock.Anything).Return(&activities.OfferResult{OfferID: "OFF-1"}, nil).Maybe()
	env.OnActivity(loans.Disburse, mock.Anything, mock.Anything).Return(&activities.DisburseResult{DisbursementID: "DSB-1"}, nil).Maybe()
	env.OnActivity(pay.Payout, mock.Anything, mock.Anything).Return(&activities.PayoutResult{PayoutID: "PAY-1"}, nil).Maybe()
	env.OnActivity(mail.SendMail, mock.Anything, mock.Anything).Return(&activities.MailResult{MessageID: "m"}, nil).Maybe()
	for i, d := range s.decisions {
		env.RegisterDelayedCallback(func() {
			env.UpdateWorkflow(humantask.UpdateDecide, fmt.Sprint("d", i), &testsuite.TestUpdateCallback{
				OnAccept: func() {}, OnReject: func(err error) { t.Errorf("%s: decision %d refused: %v", s.input.Key(), i, err) }, OnComplete: func(any, error) {},
			}, d.Decision)
		}, d.after)
	}
	d := workflows.ProcessOf(s.input.Key())
	env.SetStartWorkflowOptions(client.StartWorkflowOptions{ID: s.input.Key()})
	env.ExecuteWorkflow(d.Workflow, reflect.ValueOf(s.input).Elem().Interface())
	if !env.IsWorkflowCompleted() || env.GetWorkflowError() != nil {
		t.Fatalf("%s: %v", s.input.Key(), env.GetWorkflowError())
	}
	return store.entries
}

func cmpTime(a, b time.Time) time.Time {
	if a.IsZero() {
		return b
	}
	return a
}

func approve(after time.Duration, actor string) decision {
	return decision{after, humantask.Decision{Verdict: humantask.Approve, Actor: actor}}
}

// The recorded instances the tests plant breaches into.
func loanIn(id string, amount float64) *workflows.LoanInput {
	return &workflows.LoanInput{ApplicationID: id, ApplicantID: "C-1002", Amount: amount, TermMonths: 36}
}

func expenseIn(id string, amount float64) *workflows.ExpenseInput {
	return &workflows.ExpenseInput{ExpenseID: id, Requester: "max", Amount: amount, Category: "equipment"}
}

var (
	recordOnce sync.Once
	recorded   map[string][]auditstore.Entry
)

// realTrails records (once per test binary) a clean mix: automated loans,
// a manual loan, a four-eyes loan, a delegated and escalated loan, an
// expired loan and an expense through three levels.
func realTrails(t testing.TB) map[string][]auditstore.Entry {
	t.Helper()
	recordOnce.Do(func() {
		pol := devPolicy(t)
		scenarios := map[string]scenario{
			"auto":      {input: loanIn("A-1", 10000), score: 780},
			"decline":   {input: loanIn("A-2", 10000), score: 510},
			"manual":    {input: loanIn("A-3", 40000), score: 660, decisions: []decision{approve(2*time.Hour, "ana")}},
			"four-eyes": {input: loanIn("A-4", 150000), score: 660, decisions: []decision{approve(time.Hour, "ana"), approve(3*time.Hour, "ben")}},
			"escalated": {input: loanIn("A-5", 40000), score: 660, decisions: []decision{
				{time.Hour, humantask.Decision{Verdict: humantask.Delegate, Actor: "ana", DelegateTo: "ben", Comment: "holiday"}},
				approve(30*time.Hour, "sam")}},
			"expired": {input: loanIn("A-6", 40000), score: 660},
			"expense": {input: expenseIn("X-1", 7800), decisions: []decision{approve(time.Hour, "mia"), approve(5*time.Hour, "fin"), approve(26*time.Hour, "dan")}},
			// A week later, so the weekly figures have two weeks.
			"later": {input: loanIn("A-7", 12000), score: 790, start: testStart.AddDate(0, 0, 8)},
		}
		recorded = map[string][]auditstore.Entry{}
		for name, s := range scenarios {
			recorded[name] = recordTrail(t, pol, s)
		}
	})
	if recorded == nil {
		t.Fatal("trails were not recorded")
	}
	return recorded
}

// trailCopy is a deep copy of a recorded trail under another business key
// (so a planted breach never leaks into another test).
func trailCopy(t testing.TB, name, key string) []auditstore.Entry {
	t.Helper()
	b, err := json.Marshal(realTrails(t)[name])
	if err != nil {
		t.Fatal(err)
	}
	var out []auditstore.Entry
	if err := json.Unmarshal(b, &out); err != nil {
		t.Fatal(err)
	}
	for i := range out {
		out[i].WorkflowID, out[i].BusinessKey = key, key
	}
	return out
}

func allTrails(t testing.TB) []*Trail {
	var out []*Trail
	for name := range realTrails(t) {
		out = append(out, NewTrail(trailCopy(t, name, name)))
	}
	return out
}
