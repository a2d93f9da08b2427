package humantask_test

import (
	"context"
	"encoding/json"
	"fmt"
	"strings"
	"testing"
	"time"

	"go.temporal.io/sdk/testsuite"

	"github.com/batonhq/baton/audit"
	ht "github.com/batonhq/baton/humantask"
	"github.com/batonhq/baton/policy"
)

// acted is what happened to one action.
type acted struct {
	refusal error
	result  ht.ActionResult
	done    bool
}

func (a *acted) reason() (string, string) {
	return (&sent{refusal: a.refusal}).reason()
}

func (h *harness) act(at time.Duration, a ht.Action) *acted {
	r := &acted{}
	h.acts++
	id := fmt.Sprintf("a-%d-%s-%s-%d", h.acts, a.Actor, a.Kind, at)
	h.env.RegisterDelayedCallback(func() {
		h.env.UpdateWorkflow(ht.UpdateAct, id, &testsuite.TestUpdateCallback{
			OnAccept: func() {},
			OnReject: func(err error) { r.refusal, r.done = err, true },
			OnComplete: func(v any, err error) {
				r.done = true
				if err != nil {
					r.refusal = err
					return
				}
				r.result = v.(ht.ActionResult)
			},
		}, a)
	}, at)
	return r
}

// view reads a task's view at time at.
func (h *harness) view(at time.Duration, taskID string, into *ht.TaskView) {
	h.env.RegisterDelayedCallback(func() {
		v, err := h.env.QueryWorkflow(ht.QueryTasks)
		if err != nil {
			h.t.Error(err)
			return
		}
		var views []ht.TaskView
		if err := v.Get(&views); err != nil {
			h.t.Error(err)
			return
		}
		for _, tv := range views {
			if tv.ID == taskID {
				*into = tv
			}
		}
	}, at)
}

func claim(actor string) ht.Action   { return ht.Action{Kind: ht.ActClaim, Actor: actor} }
func release(actor string) ht.Action { return ht.Action{Kind: ht.ActRelease, Actor: actor} }
func comment(actor, text string) ht.Action {
	return ht.Action{Kind: ht.ActComment, Actor: actor, Text: text}
}

func wantRefused(t *testing.T, what string, got interface{ reason() (string, string) }, code, contains string) {
	t.Helper()
	msg, c := got.reason()
	if c != code || !strings.Contains(msg, contains) {
		t.Errorf("%s: refusal %q (%s), want %s containing %q", what, msg, c, code, contains)
	}
}

// An exclusive claim: others see who holds it and since when, may neither
// decide nor claim the task while it holds, and the holder's decision ends
// it; claim, refusals and end are in the trail.
func TestExclusiveClaimNarrowsWhoDecides(t *testing.T) {
	h := newHarness(t)
	h.pol.Tasks = &policy.Tasks{Claims: policy.Claims{Mode: policy.ClaimExclusive}}
	c := h.act(time.Hour, claim("ana"))
	var seen ht.TaskView
	h.view(90*time.Minute, "underwriting", &seen)
	benDecides := h.update(2*time.Hour, approve("ben"))
	benClaims := h.act(2*time.Hour+time.Minute, claim("ben"))
	anaAgain := h.act(2*time.Hour+2*time.Minute, claim("ana"))
	anaDecides := h.update(3*time.Hour, approve("ana"))
	benSecond := h.update(4*time.Hour, approve("ben"))
	out := h.run(plan{Specs: []ht.Spec{underwriting(t, 2)}})

	if c.refusal != nil || c.result.Message != "claimed by ana (exclusive)" {
		t.Fatalf("ana's claim: %+v", c)
	}
	if seen.Claim == nil || seen.Claim.By != "ana" || !seen.Claim.Exclusive {
		t.Errorf("the task's view after the claim: %+v", seen.Claim)
	}
	wantRefused(t, "ben's decision", benDecides, ht.RefusedClaimed, `ben may not decide task "underwriting": ana claimed it at`)
	wantRefused(t, "ben's claim", benClaims, ht.RefusedClaimed, "ana claimed it at")
	wantRefused(t, "ana's second claim", anaAgain, ht.RefusedClaimed, "ana already holds the claim")
	if anaDecides.refusal != nil || benSecond.refusal != nil {
		t.Fatalf("after ana decided, her claim ended and ben decides: %v / %v", anaDecides.refusal, benSecond.refusal)
	}
	claimed := actions(out.Audit, audit.ActionClaimed)
	released := actions(out.Audit, audit.ActionReleased)
	if len(claimed) != 1 || claimed[0].Actor != "ana" || claimed[0].Details != "claimed by ana (exclusive) via update" {
		t.Errorf("claimed entries: %+v", claimed)
	}
	if len(released) != 1 || !strings.Contains(released[0].Details, "ana's claim since") || !strings.HasSuffix(released[0].Details, "ends: they decided") {
		t.Errorf("released entries: %+v", released)
	}
	var data ht.ActionData
	if err := json.Unmarshal(claimed[0].Data, &data); err != nil || data.Claim == nil || !data.Claim.Exclusive || data.Subject.TaskID != "underwriting" {
		t.Errorf("claim entry data: %s", claimed[0].Data)
	}
}

// An advisory claim (the default) shows, but anyone who may decide still
// may; a claim never widens who may decide: a user who may not decide the
// task may not claim it.
func TestAdvisoryClaimAndClaimNeverWidens(t *testing.T) {
	h := newHarness(t)
	h.pol.Tasks = nil // claims are advisory by default
	spec := underwriting(t, 1)
	spec.Exclusions = append(spec.Exclusions, ht.Exclusion{User: "ben", Reason: "the requester"})
	claimByAna := h.act(time.Hour, claim("ana"))
	byFay := h.act(2*time.Hour, claim("fay"))
	byBen := h.act(2*time.Hour, claim("ben"))
	samDecides := h.update(3*time.Hour, approve("sam")) // senior-underwriter after escalation at 24h? not yet: refused
	anaDecides := h.update(4*time.Hour, approve("ana"))
	h.run(plan{Specs: []ht.Spec{spec}})
	if claimByAna.result.Message != "claimed by ana (advisory)" {
		t.Fatalf("claim: %+v", claimByAna)
	}
	wantRefused(t, "fay's claim", byFay, ht.RefusedNoRole, `fay may not claim task "underwriting": needs role underwriter`)
	wantRefused(t, "ben's claim", byBen, ht.RefusedExcluded, `ben may not claim task "underwriting": separation of duties (the requester)`)
	wantRefused(t, "sam's decision", samDecides, ht.RefusedNoRole, "needs role underwriter")
	if anaDecides.refusal != nil {
		t.Fatalf("ana: %v", anaDecides.refusal)
	}
}

// A claim left idle lapses by itself (a timer, audited); a comment by the
// holder counts as work and pushes the lapse back. Only the holder or a
// role the policy names releases a claim.
func TestClaimLapsesAndRelease(t *testing.T) {
	h := newHarness(t)
	h.pol.Tasks = &policy.Tasks{Claims: policy.Claims{Mode: policy.ClaimExclusive, LapseAfter: policy.Duration(4 * time.Hour), ReleaseRoles: []string{"senior-underwriter"}}}
	h.act(time.Hour, claim("ana"))
	h.act(3*time.Hour, comment("ana", "waiting for the payslips"))
	var at6, at8 ht.TaskView
	h.view(6*time.Hour, "underwriting", &at6) // 5h after the claim, 3h after the comment
	h.view(8*time.Hour, "underwriting", &at8) // 5h after the comment
	h.act(9*time.Hour, claim("ben"))
	byAna := h.act(10*time.Hour, release("ana"))
	bySam := h.act(11*time.Hour, ht.Action{Kind: ht.ActRelease, Actor: "sam", Text: "ben is off sick"})
	again := h.act(12*time.Hour, release("sam"))
	h.update(13*time.Hour, approve("ana"))
	out := h.run(plan{Specs: []ht.Spec{underwriting(t, 1)}})
	if at6.Claim == nil || at6.Claim.By != "ana" {
		t.Errorf("the claim lapsed although ana commented 3h before: %+v", at6.Claim)
	}
	if at8.Claim != nil {
		t.Errorf("the claim did not lapse after 5h idle: %+v", at8.Claim)
	}
	lapsed := actions(out.Audit, audit.ActionClaimLapsed)
	if len(lapsed) != 1 || lapsed[0].Actor != audit.SystemActor || !strings.Contains(lapsed[0].Details, "ana's claim since") || !strings.Contains(lapsed[0].Details, "lapsed: idle for 4h0m0s") {
		t.Errorf("lapse entries: %+v", lapsed)
	}
	if got := lapsed[0].Time.Sub(out.Tasks[0].OpenedAt); got != 7*time.Hour {
		t.Errorf("lapsed %s after the task opened, want 7h (the comment at 3h + 4h)", got)
	}
	wantRefused(t, "ana releasing ben's claim", byAna, ht.RefusedNoRole, "ana may not release ben's claim on task \"underwriting\": only ben or role senior-underwriter may")
	if bySam.refusal != nil || bySam.result.Message != "released ben's claim" {
		t.Errorf("sam's release: %+v", bySam)
	}
	wantRefused(t, "a release of nothing", again, ht.RefusedNotClaimed, "is not claimed")
	rel := actions(out.Audit, audit.ActionReleased)
	if len(rel) != 1 || !strings.HasSuffix(rel[0].Details, "released by sam: ben is off sick via update") {
		t.Errorf("released entries: %+v", rel)
	}
}

// Comments decide nothing: people who may decide (and those who already
// did) comment; the thread is bounded by the policy and shown on the task.
func TestCommentsAreBoundedAndAudited(t *testing.T) {
	h := newHarness(t)
	h.pol.Tasks = &policy.Tasks{Comments: policy.Comments{Max: 2}}
	h.update(30*time.Minute, approve("ana"))
	first := h.act(time.Hour, comment("ana", "income verified"))
	byFay := h.act(2*time.Hour, comment("fay", "looks fine"))
	empty := h.act(2*time.Hour, comment("ben", "  "))
	second := h.act(3*time.Hour, comment("ben", "collateral?"))
	third := h.act(4*time.Hour, comment("ben", "one more"))
	var seen ht.TaskView
	h.view(5*time.Hour, "underwriting", &seen)
	h.update(6*time.Hour, approve("ben"))
	out := h.run(plan{Specs: []ht.Spec{underwriting(t, 2)}})
	if first.refusal != nil || second.refusal != nil {
		t.Fatalf("comments refused: %v / %v", first.refusal, second.refusal)
	}
	wantRefused(t, "fay's comment", byFay, ht.RefusedNoRole, `fay may not comment on task "underwriting"`)
	wantRefused(t, "an empty comment", empty, ht.RefusedInvalid, "text: a comment needs text")
	wantRefused(t, "a third comment", third, ht.RefusedThreadFull, "has 2 comments, the most the policy allows")
	if len(seen.Comments) != 2 || seen.Comments[0].By != "ana" || seen.Comments[1].Text != "collateral?" {
		t.Errorf("thread: %+v", seen.Comments)
	}
	if n := len(actions(out.Audit, audit.ActionCommented)); n != 2 {
		t.Errorf("%d comment entries, want 2", n)
	}
	if n := len(actions(out.Audit, audit.ActionDecisionAccepted)); n != 2 {
		t.Errorf("comments decided something: %d decisions", n)
	}
}

// Priority: the policy's rules give it (by amount as the task opens, and a
// timer raises it as the deadline nears); a role the policy names sets it
// by hand, after which the rules leave it alone.
func TestPriorityFromRulesAndByHand(t *testing.T) {
	above := 100000.0
	rules := policy.PriorityRules{
		Rules:    []policy.PriorityRule{{Priority: "high", AmountAbove: &above}, {Priority: "urgent", DueWithin: policy.Duration(6 * time.Hour)}},
		SetRoles: []string{"senior-underwriter"},
	}
	t.Run("rules", func(t *testing.T) {
		h := newHarness(t)
		h.pol.Tasks = &policy.Tasks{Priority: rules}
		var open, near ht.TaskView
		h.view(time.Hour, "underwriting", &open)
		h.view(43*time.Hour, "underwriting", &near)
		h.update(44*time.Hour, approve("ana"))
		out := h.run(plan{Specs: []ht.Spec{underwriting(t, 1)}, Facts: map[string]string{"amount": "150000"}})
		if open.Priority != policy.PriorityHigh || near.Priority != policy.PriorityUrgent {
			t.Errorf("priority at open %d, 5h before the deadline %d; want high, then urgent", open.Priority, near.Priority)
		}
		var od ht.OpenedData
		opened := actions(out.Audit, audit.ActionTaskOpened)
		if err := json.Unmarshal(opened[0].Data, &od); err != nil || od.Priority != policy.PriorityHigh || od.Case == nil ||
			od.Case.Summary != "Test 1: a case" || *od.Case.Amount != 150000 || od.Title != "Underwriting decision" || od.Case.Stage != "1 of 1: awaiting review" {
			t.Errorf("task-opened data: %s", opened[0].Data)
		}
		set := actions(out.Audit, audit.ActionPrioritySet)
		if len(set) != 1 || set[0].Actor != audit.SystemActor || set[0].Details != "priority urgent (was high): 6h0m0s left before the deadline (tasks.priority.rules)" {
			t.Errorf("priority entries: %+v", set)
		}
	})
	t.Run("by hand", func(t *testing.T) {
		h := newHarness(t)
		h.pol.Tasks = &policy.Tasks{Priority: rules}
		byAna := h.act(time.Hour, ht.Action{Kind: ht.ActPriority, Actor: "ana", Priority: "urgent"})
		bad := h.act(time.Hour, ht.Action{Kind: ht.ActPriority, Actor: "sam", Priority: "asap"})
		bySam := h.act(2*time.Hour, ht.Action{Kind: ht.ActPriority, Actor: "sam", Priority: "low", Text: "waiting for the valuation"})
		var near ht.TaskView
		h.view(43*time.Hour, "underwriting", &near)
		h.update(44*time.Hour, approve("ana"))
		h.run(plan{Specs: []ht.Spec{underwriting(t, 1)}})
		wantRefused(t, "ana setting the priority", byAna, ht.RefusedNoRole, "needs role senior-underwriter (tasks.priority.setRoles)")
		wantRefused(t, "a priority that is none", bad, ht.RefusedInvalid, `priority: "asap" is not one of low, normal, high, urgent`)
		if bySam.refusal != nil || near.Priority != policy.PriorityLow {
			t.Errorf("sam's priority %v; near the deadline it is %d, want low (set by hand)", bySam.refusal, near.Priority)
		}
	})
}

// A follow-up date is set by someone who may decide the task, in the
// future and before the deadline (it must not hide a task past it).
func TestFollowUp(t *testing.T) {
	h := newHarness(t)
	start := h.env.Now()
	at := func(d time.Duration) string { return start.Add(d).UTC().Format(time.RFC3339) }
	past := h.act(2*time.Hour, ht.Action{Kind: ht.ActFollowUp, Actor: "ana", Until: at(time.Hour)})
	late := h.act(2*time.Hour, ht.Action{Kind: ht.ActFollowUp, Actor: "ana", Until: at(72 * time.Hour)})
	byFay := h.act(2*time.Hour, ht.Action{Kind: ht.ActFollowUp, Actor: "fay", Until: at(5 * time.Hour)})
	ok := h.act(2*time.Hour, ht.Action{Kind: ht.ActFollowUp, Actor: "ana", Until: at(5 * time.Hour)})
	var seen ht.TaskView
	h.view(3*time.Hour, "underwriting", &seen)
	h.update(6*time.Hour, approve("ana"))
	h.run(plan{Specs: []ht.Spec{underwriting(t, 1)}})
	wantRefused(t, "a follow-up in the past", past, ht.RefusedInvalid, "has passed")
	wantRefused(t, "a follow-up after the deadline", late, ht.RefusedInvalid, "is not before the task's deadline")
	wantRefused(t, "fay's follow-up", byFay, ht.RefusedNoRole, "fay may not follow up task")
	if ok.refusal != nil || seen.FollowUp == nil || !seen.FollowUp.Equal(start.Add(5*time.Hour).UTC().Truncate(time.Second)) {
		t.Errorf("follow-up: %v, view %v", ok.refusal, seen.FollowUp)
	}
}

// substituteStore serves the frame's activities in memory with a set of
// substitutions (the audit store's read model in the worker).
type substituteStore struct {
	subs []policy.Substitute
}

func (s *substituteStore) Append(_ context.Context, e []audit.Entry) (audit.AppendResult, error) {
	return audit.AppendResult{Stored: len(e)}, nil
}

func (s *substituteStore) KeyState(context.Context, string, string, []string) (audit.KeyState, error) {
	return audit.KeyState{}, nil
}

func (s *substituteStore) Earlier(context.Context, string, string, []string) ([]audit.Stored, error) {
	return nil, nil
}

func (s *substituteStore) Substitutes(_ context.Context, users []string, at time.Time) ([]policy.Substitute, error) {
	return s.subs, nil
}

// substituteHarness is a harness whose live directory serves the
// substitutions subs makes from the test's start time.
func substituteHarness(t *testing.T, subs func(start time.Time) []policy.Substitute) *harness {
	st := &substituteStore{}
	h := newHarnessStore(t, st)
	st.subs = subs(h.env.Now().UTC())
	return h
}

// A substitute decides what the user they stand in for may, only inside
// the window (workflow time: before it they are refused, after it too);
// the trail names both; the user's own vote is spent by it.
func TestSubstituteDecidesInsideTheWindowOnly(t *testing.T) {
	h := substituteHarness(t, func(start time.Time) []policy.Substitute {
		return []policy.Substitute{{ID: "s1", Principal: "ana", Substitute: "fay", From: start.Add(time.Hour), Until: start.Add(3 * time.Hour), SetBy: "ana"}}
	})
	start := h.env.Now().UTC()
	before := h.update(30*time.Minute, approve("fay"))
	inside := h.update(2*time.Hour, approve("fay"))
	anaToo := h.update(150*time.Minute, approve("ana"))
	after := h.update(4*time.Hour, ht.Decision{Verdict: ht.Reject, Actor: "fay", Comment: "no"})
	h.update(5*time.Hour, approve("ben"))
	out := h.run(plan{Specs: []ht.Spec{underwriting(t, 2)}})
	wantRefused(t, "before the window", before, ht.RefusedNoRole, `fay may not decide task "underwriting": needs role underwriter`)
	if inside.refusal != nil {
		t.Fatalf("inside the window: %v", inside.refusal)
	}
	wantRefused(t, "ana after her substitute decided", anaToo, ht.RefusedAlreadyDecided, "fay decided it for them, as their substitute")
	wantRefused(t, "after the window", after, ht.RefusedNoRole, "needs role underwriter")
	acc := actions(out.Audit, audit.ActionDecisionAccepted)
	want := fmt.Sprintf("approve (1 of 2) via update, fay for ana, away %s to %s", start.Add(time.Hour).Format("2006-01-02 15:04 UTC"), start.Add(3*time.Hour).Format("2006-01-02 15:04 UTC"))
	if len(acc) != 2 || acc[0].Actor != "fay" || acc[0].Details != want {
		t.Fatalf("accepted: %+v\nwant details %q", acc, want)
	}
	var d ht.DecisionData
	if err := json.Unmarshal(acc[0].Data, &d); err != nil || d.For == nil || d.For.Principal != "ana" || d.For.ID != "s1" {
		t.Errorf("decision data: %s", acc[0].Data)
	}
	if v := out.Tasks[0].Votes[0]; v.Actor != "fay" || v.For != "ana" {
		t.Errorf("vote: %+v", v)
	}
}

// Separation of duties applies to both people: a substitute decides
// nothing that they, or the user they stand in for, are excluded from.
func TestSubstituteSeparationOfDutiesBothWays(t *testing.T) {
	h := substituteHarness(t, func(start time.Time) []policy.Substitute {
		return []policy.Substitute{
			{ID: "s1", Principal: "ana", Substitute: "fay", From: start, Until: start.Add(48 * time.Hour), SetBy: "ana"},
			{ID: "s2", Principal: "ben", Substitute: "mia", From: start, Until: start.Add(48 * time.Hour), SetBy: "ben"},
		}
	})
	spec := underwriting(t, 1)
	spec.Exclusions = append(spec.Exclusions, ht.Exclusion{User: "ana", Reason: "the requester"}, ht.Exclusion{User: "mia", Reason: "the applicant's manager"})
	forAna := h.update(time.Hour, approve("fay"))
	mia := h.update(2*time.Hour, approve("mia"))
	h.update(3*time.Hour, approve("ben"))
	h.run(plan{Specs: []ht.Spec{spec}})
	wantRefused(t, "fay for the excluded ana", forAna, ht.RefusedExcluded, "separation of duties (fay stands in for ana: the requester)")
	wantRefused(t, "mia, excluded herself", mia, ht.RefusedExcluded, "separation of duties (the applicant's manager)")
}
