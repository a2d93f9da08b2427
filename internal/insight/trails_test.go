package insight

import (
	"encoding/json"
	"sync"
	"testing"
	"time"

	"github.com/batonhq/baton/audit"
	"github.com/batonhq/baton/config"

	"github.com/batonhq/baton/humantask"
	"github.com/batonhq/baton/internal/insight/insighttest"
	"github.com/batonhq/baton/policy"
	"github.com/batonhq/baton/workflows"
)

// Trails for the tests are recorded by running the real workflows in the
// Temporal testsuite (time skipped, systems mocked) and capturing what
// each instance's record hands to the audit store: the same entries, in
// the same format, a real run writes. A change to the trail's format
// reaches these tests at once.

var testStart = time.Date(2026, 11, 23, 9, 0, 0, 0, time.UTC) // a Monday

func devPolicy(t testing.TB) *policy.Policy {
	t.Helper()
	p, err := config.LoadPolicy("../../config/policy.yaml", workflows.Catalog().CheckPolicy)
	if err != nil {
		t.Fatal(err)
	}
	return p
}

type (
	scenario = insighttest.Scenario
	decision = insighttest.Decision
)

func approve(after time.Duration, actor string) decision {
	return decision{After: after, Decision: humantask.Decision{Verdict: humantask.Approve, Actor: actor}}
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
	recorded   map[string][]audit.Entry
)

// realTrails records (once per test binary) a clean mix: automated loans,
// a manual loan, a four-eyes loan, a delegated and escalated loan, an
// expired loan and an expense through three levels.
func realTrails(t testing.TB) map[string][]audit.Entry {
	t.Helper()
	recordOnce.Do(func() {
		pol := devPolicy(t)
		scenarios := map[string]scenario{
			"auto":      {Input: loanIn("A-1", 10000), Score: 780},
			"decline":   {Input: loanIn("A-2", 10000), Score: 510},
			"manual":    {Input: loanIn("A-3", 40000), Score: 660, Decisions: []decision{approve(2*time.Hour, "ana")}},
			"four-eyes": {Input: loanIn("A-4", 150000), Score: 660, Decisions: []decision{approve(time.Hour, "ana"), approve(3*time.Hour, "ben")}},
			"escalated": {Input: loanIn("A-5", 40000), Score: 660, Decisions: []decision{
				{After: time.Hour, Decision: humantask.Decision{Verdict: humantask.Delegate, Actor: "ana", DelegateTo: "ben", Comment: "holiday"}},
				approve(30*time.Hour, "sam")}},
			"expired": {Input: loanIn("A-6", 40000), Score: 660},
			"expense": {Input: expenseIn("X-1", 7800), Decisions: []decision{approve(time.Hour, "mia"), approve(5*time.Hour, "fin"), approve(26*time.Hour, "dan")}},
			// A week later, so the weekly figures have two weeks.
			"later": {Input: loanIn("A-7", 12000), Score: 790, Start: testStart.AddDate(0, 0, 8)},
		}
		recorded = map[string][]audit.Entry{}
		for name, s := range scenarios {
			if s.Start.IsZero() {
				s.Start = testStart
			}
			recorded[name] = insighttest.Record(t, pol, s)
		}
	})
	if recorded == nil {
		t.Fatal("trails were not recorded")
	}
	return recorded
}

// trailCopy is a deep copy of a recorded trail under another business key
// (so a planted breach never leaks into another test).
func trailCopy(t testing.TB, name, key string) []audit.Entry {
	t.Helper()
	b, err := json.Marshal(realTrails(t)[name])
	if err != nil {
		t.Fatal(err)
	}
	var out []audit.Entry
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
