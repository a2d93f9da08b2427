package auditstore_test

import (
	"context"
	"encoding/json"
	"fmt"
	"math/rand/v2"
	"reflect"
	"slices"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/batonhq/baton/audit"
	"github.com/batonhq/baton/config"
	"github.com/batonhq/baton/humantask"
	"github.com/batonhq/baton/internal/auditstore"
	"github.com/batonhq/baton/internal/insight/insighttest"
	"github.com/batonhq/baton/policy"
	"github.com/batonhq/baton/workflows"
)

func devPolicy(t *testing.T) *policy.Policy {
	t.Helper()
	p, err := config.LoadPolicy("../../config/policy.yaml", workflows.Catalog().CheckPolicy)
	if err != nil {
		t.Fatal(err)
	}
	return p
}

// fourEyesLoan is a real loan's trail: underwriting of 150,000 (quorum 2),
// approved by ana after an hour and by ben after two.
func fourEyesLoan(t *testing.T, id string) []audit.Entry {
	return insighttest.Record(t, devPolicy(t), insighttest.Scenario{
		Input: &workflows.LoanInput{ApplicationID: id, ApplicantID: "C-1002", Amount: 150000, TermMonths: 60, Purpose: "property"},
		Score: 690, Start: t0,
		Decisions: []insighttest.Decision{
			{After: time.Hour, Decision: humantask.Decision{Verdict: humantask.Approve, Actor: "ana"}},
			{After: 2 * time.Hour, Decision: humantask.Decision{Verdict: humantask.Approve, Actor: "ben"}},
		},
	})
}

func listAll(t *testing.T, s *auditstore.Store) []auditstore.InboxTask {
	t.Helper()
	got, err := s.ListInbox(context.Background(), auditstore.InboxQuery{FollowUp: auditstore.FollowUpAll})
	if err != nil {
		t.Fatal(err)
	}
	return got
}

// rebuiltEqual rebuilds the read model from the trail and checks that it
// is what the appends kept.
func rebuiltEqual(t *testing.T, s *auditstore.Store, when string) {
	t.Helper()
	before := listAll(t, s)
	if _, err := s.RebuildInbox(context.Background()); err != nil {
		t.Fatal(err)
	}
	if after := listAll(t, s); !reflect.DeepEqual(before, after) {
		t.Fatalf("%s: the rebuilt read model differs from the kept one:\nkept    %+v\nrebuilt %+v", when, before, after)
	}
}

// The read model follows a real instance's trail entry by entry, in the
// transaction of each append: the task appears when it opens, with what a
// person scans (title, summary, amount, stage, priority: high, by the
// development policy's rule for loans above 100,000), counts its
// approvals, and leaves when it closes. Rebuilt from the trail at every
// step, it is the same.
func TestReadModelFollowsTheTrail(t *testing.T) {
	s, _ := open(t)
	entries := fourEyesLoan(t, "RM-1")
	opened := false
	for i, e := range entries {
		mustAppend(t, s, []audit.Entry{e})
		got := listAll(t, s)
		switch e.Action {
		case audit.ActionTaskOpened:
			opened = true
			if len(got) != 1 {
				t.Fatalf("after task-opened: %d rows", len(got))
			}
			r := got[0]
			if r.WorkflowID != "loan-RM-1" || r.TaskID != "underwriting" || r.Title != "Underwriting decision for loan-RM-1" ||
				r.ProcessTitle != "Loan origination" || r.Summary != "Loan RM-1: 150,000.00 over 60 months" || r.Amount == nil || *r.Amount != 150000 ||
				!strings.Contains(r.Stage, "3 of 5") || r.Quorum != 2 || r.Priority != policy.PriorityHigh || !slices.Equal(r.Roles, []string{"underwriter"}) ||
				r.Deadline.Sub(r.OpenedAt) != 48*time.Hour || len(r.Form) == 0 || !strings.HasPrefix(r.Form[0], "counterAmount") {
				t.Errorf("the opened task: %+v", r)
			}
		case audit.ActionDecisionAccepted:
			if e.Actor == "ana" && (len(got) != 1 || got[0].Approvals != 1 || !slices.Equal(got[0].Voted, []string{"ana"})) {
				t.Errorf("after ana's approval: %+v", got)
			}
		case audit.ActionTaskClosed:
			if len(got) != 0 {
				t.Errorf("the closed task is still listed: %+v", got)
			}
		}
		closed := slices.ContainsFunc(entries[:i+1], func(x audit.Entry) bool { return x.Action == audit.ActionTaskClosed })
		if opened && !closed && len(got) != 1 {
			t.Errorf("after %s the open task is not listed: %+v", e.Action, got)
		}
		rebuiltEqual(t, s, fmt.Sprintf("after entry %d (%s)", e.Seq, e.Action))
	}
	// A retried write stores nothing twice, and changes nothing.
	mustAppend(t, s, entries)
	if got := listAll(t, s); len(got) != 0 {
		t.Errorf("a retried write brought a task back: %+v", got)
	}
}

// A reset run appends to the same chain under a new run ID, numbering on
// from the trail it replayed: the read model shows the current run's task
// (what the base run recorded before the reset point, then the new run's
// own), and ignores what the superseded run writes late.
func TestReadModelFollowsAResetRun(t *testing.T) {
	s, _ := open(t)
	entries := fourEyesLoan(t, "RM-2")
	at := slices.IndexFunc(entries, func(e audit.Entry) bool { return e.Action == audit.ActionDecisionAccepted })
	mustAppend(t, s, entries[:at+1]) // run A: opened, ana approved
	if got := listAll(t, s); len(got) != 1 || got[0].Approvals != 1 {
		t.Fatalf("before the reset: %+v", got)
	}
	// Run B, reset to just after the task opened: its first entry is
	// ben's approval, numbered where ana's was.
	ben := entries[at]
	ben.RunID, ben.Actor = "run-B", "ben"
	ben.Data = json.RawMessage(strings.Replace(string(ben.Data), `"actor":"ana"`, `"actor":"ben"`, 1))
	ben.Details = strings.Replace(ben.Details, "ana", "ben", 1)
	mustAppend(t, s, []audit.Entry{ben})
	got := listAll(t, s)
	if len(got) != 1 || got[0].RunID != entries[0].RunID || got[0].Approvals != 1 || !slices.Equal(got[0].Voted, []string{"ben"}) {
		t.Fatalf("after the reset run's decision: %+v (want ben's approval only)", got)
	}
	// Run A writes late (its next entry): ignored, it was superseded.
	late := entries[at+1]
	mustAppend(t, s, []audit.Entry{late})
	if got := listAll(t, s); len(got) != 1 || !slices.Equal(got[0].Voted, []string{"ben"}) {
		t.Errorf("a superseded run's late entry changed the read model: %+v", got)
	}
	rebuiltEqual(t, s, "after the reset")

	// Run C, reset to before the task opened: its first entry is a step;
	// the task it has not opened (yet) is not listed.
	opened := slices.IndexFunc(entries, func(e audit.Entry) bool { return e.Action == audit.ActionTaskOpened })
	step := entries[opened-1]
	step.RunID = "run-C"
	mustAppend(t, s, []audit.Entry{step})
	if got := listAll(t, s); len(got) != 0 {
		t.Errorf("a run reset to before the task lists it: %+v", got)
	}
	rebuiltEqual(t, s, "after the second reset")
}

// Substitutions come from the substitutes trail, set and ended; the live
// directory lists those not yet ended.
func TestReadModelKeepsSubstitutions(t *testing.T) {
	s, _ := open(t)
	ctx := context.Background()
	day := t0.Truncate(24 * time.Hour)
	sub := policy.Substitute{ID: "s-1", Principal: "ana", Substitute: "ben", Roles: []string{"underwriter"}, From: day, Until: day.Add(48 * time.Hour), SetBy: "ana"}
	other := policy.Substitute{ID: "s-2", Principal: "mia", Substitute: "max", From: day, Until: day.Add(time.Hour), SetBy: "dan"}
	entry := func(seq int64, action string, s policy.Substitute) audit.Entry {
		b, _ := json.Marshal(s)
		return audit.Entry{WorkflowID: "baton-substitutes", RunID: "r1", Seq: seq, Process: "substitutes", BusinessKey: "baton-substitutes",
			Time: t0, Actor: s.SetBy, Action: action, Details: s.Text(), Source: audit.SourceWorkflow, Data: b}
	}
	mustAppend(t, s, []audit.Entry{entry(1, audit.ActionSubstituteSet, sub), entry(2, audit.ActionSubstituteSet, other)})
	got, err := s.Substitutes(ctx, []string{"ben"}, day.Add(time.Minute))
	if err != nil || len(got) != 1 || !reflect.DeepEqual(got[0], sub) {
		t.Fatalf("ben's substitutions: %+v %v", got, err)
	}
	if got, _ := s.Substitutes(ctx, []string{"max"}, day.Add(2*time.Hour)); len(got) != 0 {
		t.Errorf("a substitution past its window is listed: %+v", got)
	}
	mustAppend(t, s, []audit.Entry{entry(3, audit.ActionSubstituteEnded, sub)})
	if got, _ := s.Substitutes(ctx, nil, day); len(got) != 1 || got[0].ID != "s-2" {
		t.Errorf("after s-1 ended: %+v", got)
	}
	res, err := s.RebuildInbox(ctx)
	if err != nil || res.Substitutions != 1 {
		t.Errorf("rebuilt: %+v %v", res, err)
	}
}

// row is a read model row the tests plant directly.
type row struct {
	wf, task                                          string
	roles, users, excluded, voted, delegates, delRole []string
	deadline, opened                                  time.Time
	amount                                            *float64
	priority                                          int
	claimedBy                                         string
	followUp                                          *time.Time
	key                                               string
}

func plant(t *testing.T, dsn string, rows []row) {
	t.Helper()
	conn := connect(t, dsn)
	for _, r := range rows {
		var claimed *string
		if r.claimedBy != "" {
			claimed = &r.claimedBy
		}
		key := r.key
		if key == "" {
			key = r.wf
		}
		nn := func(s []string) []string {
			if s == nil {
				return []string{}
			}
			return s
		}
		_, err := conn.Exec(context.Background(), `INSERT INTO inbox_tasks (workflow_id, task_id, run_id, occurrence, process, business_key, title,
			roles, users, excluded, voted, delegates, delegate_roles, quorum, opened_at, deadline, amount, priority, claimed_by, follow_up)
			VALUES ($1, $2, 'r', 1, 'loan', $3, 'T', $4, $5, $6, $7, $8, $9, 1, $10, $11, $12, $13, $14, $15)`,
			r.wf, r.task, key, nn(r.roles), nn(r.users), nn(r.excluded), nn(r.voted), nn(r.delegates), nn(r.delRole), r.opened, r.deadline, r.amount, r.priority, claimed, r.followUp)
		if err != nil {
			t.Fatal(err)
		}
	}
}

func pick[T any](r *rand.Rand, s []T) T { return s[r.IntN(len(s))] }

func subset(r *rand.Rand, s []string) []string {
	var out []string
	for _, x := range s {
		if r.IntN(3) == 0 {
			out = append(out, x)
		}
	}
	return out
}

// Eligibility in SQL is humantask.MayAct: for every user of the directory,
// with substitutions in force, the read model lists exactly the tasks
// MayAct lets them decide, over tasks with every mix of roles, named
// users, exclusions, votes and delegations.
func TestListingAUsersTasksIsMayAct(t *testing.T) {
	s, dsn := open(t)
	ctx := context.Background()
	pol := devPolicy(t)
	users := slices.Sorted(func(yield func(string) bool) {
		for u := range pol.Users {
			if !yield(u) {
				return
			}
		}
	})
	roles := []string{"underwriter", "senior-underwriter", "manager", "finance", "fraud-analyst"}
	rnd := rand.New(rand.NewPCG(1, 2))
	var rows []row
	for i := range 400 {
		r := row{wf: fmt.Sprintf("loan-E-%03d", i), task: "t", roles: subset(rnd, roles), users: subset(rnd, users),
			excluded: subset(rnd, users), voted: subset(rnd, users), opened: t0, deadline: t0.Add(time.Duration(i) * time.Minute)}
		if len(r.users) > 0 && rnd.IntN(2) == 0 {
			r.delegates, r.delRole = r.users[:1], []string{pick(rnd, roles)}
		}
		rows = append(rows, r)
	}
	plant(t, dsn, rows)
	subs := []policy.Substitute{
		{ID: "a", Principal: "ana", Substitute: "fay", From: t0, Until: t0.Add(time.Hour)},
		{ID: "b", Principal: "mia", Substitute: "fin", Roles: []string{"manager"}, From: t0, Until: t0.Add(time.Hour)},
		{ID: "c", Principal: "sam", Substitute: "ana", From: t0.Add(2 * time.Hour), Until: t0.Add(3 * time.Hour)}, // not in force
	}
	now := t0.Add(30 * time.Minute)
	pol.Substitutes = policy.InForceAt(subs, now)
	for _, u := range users {
		q := auditstore.InboxQuery{User: u, UserRoles: pol.Users[u].Roles, Now: now, FollowUp: auditstore.FollowUpAll}
		for _, s := range pol.Substitutes {
			if s.Substitute != u {
				continue
			}
			a := auditstore.Acting{Principal: s.Principal, Named: len(s.Roles) == 0}
			for _, r := range pol.Users[s.Principal].Roles {
				if s.Covers(r) {
					a.Roles = append(a.Roles, r)
				}
			}
			q.Acting = append(q.Acting, a)
		}
		got, err := s.ListInbox(ctx, q)
		if err != nil {
			t.Fatal(err)
		}
		var listed, want []string
		for _, g := range got {
			listed = append(listed, g.WorkflowID)
		}
		for _, r := range rows {
			v := humantask.TaskView{ID: r.task, Roles: r.roles, Users: r.users, Delegates: r.delegates, DelegateRoles: r.delRole}
			for _, x := range r.excluded {
				v.Exclusions = append(v.Exclusions, humantask.Exclusion{User: x})
			}
			for _, x := range r.voted {
				v.Votes = append(v.Votes, audit.Vote{Actor: x})
			}
			if humantask.MayAct(pol, u, v) == "" {
				want = append(want, r.wf)
			}
		}
		if !slices.Equal(listed, want) {
			t.Errorf("%s: the read model lists %d tasks, MayAct allows %d:\nlisted %v\nwant   %v", u, len(listed), len(want), listed, want)
		}
		// Counts and facets write eligibility for the GIN indexes: the same.
		c, err := s.CountInbox(ctx, q)
		if err != nil {
			t.Fatal(err)
		}
		facets, err := s.FacetsInbox(ctx, q)
		if err != nil {
			t.Fatal(err)
		}
		faceted := 0
		for _, f := range facets {
			faceted += f.Count
		}
		if c.Tasks != len(want) || faceted != len(want) {
			t.Errorf("%s: counted %d tasks, facets %d, MayAct allows %d", u, c.Tasks, faceted, len(want))
		}
	}
}

// Every sort pages with stable keyset cursors: the pages together are the
// whole sorted list, whatever tasks open meanwhile before the cursor; the
// filters and counts agree with the rows.
func TestSortsFiltersCursorsAndCounts(t *testing.T) {
	s, dsn := open(t)
	ctx := context.Background()
	rnd := rand.New(rand.NewPCG(3, 4))
	var rows []row
	for i := range 300 {
		r := row{wf: fmt.Sprintf("loan-S-%03d", i), task: pick(rnd, []string{"underwriting", "review"}), roles: []string{"underwriter"},
			opened: t0.Add(time.Duration(rnd.IntN(1000)) * time.Minute), deadline: t0.Add(time.Duration(rnd.IntN(100)) * time.Hour),
			priority: 1 + rnd.IntN(4), key: fmt.Sprintf("loan-A-%d", 1000+i)}
		if rnd.IntN(5) > 0 {
			a := float64(rnd.IntN(50)) * 1000
			r.amount = &a
		}
		if rnd.IntN(4) == 0 {
			r.claimedBy = pick(rnd, []string{"ana", "ben"})
		}
		if rnd.IntN(6) == 0 {
			f := t0.Add(time.Duration(rnd.IntN(48)) * time.Hour)
			r.followUp = &f
		}
		rows = append(rows, r)
	}
	plant(t, dsn, rows)
	now := t0.Add(24 * time.Hour)
	amount := func(r row) float64 {
		if r.amount == nil {
			return -1
		}
		return *r.amount
	}
	less := map[string]func(a, b row) bool{
		auditstore.SortDeadline: func(a, b row) bool { return a.deadline.Before(b.deadline) },
		auditstore.SortAge:      func(a, b row) bool { return a.opened.Before(b.opened) },
		auditstore.SortAmount:   func(a, b row) bool { return amount(a) > amount(b) },
		auditstore.SortPriority: func(a, b row) bool {
			return a.priority > b.priority || a.priority == b.priority && a.deadline.Before(b.deadline)
		},
	}
	equal := map[string]func(a, b row) bool{
		auditstore.SortDeadline: func(a, b row) bool { return a.deadline.Equal(b.deadline) },
		auditstore.SortAge:      func(a, b row) bool { return a.opened.Equal(b.opened) },
		auditstore.SortAmount:   func(a, b row) bool { return amount(a) == amount(b) },
		auditstore.SortPriority: func(a, b row) bool { return a.priority == b.priority && a.deadline.Equal(b.deadline) },
	}
	min, max := 10000.0, 30000.0
	filters := []struct {
		name string
		q    auditstore.InboxQuery
		keep func(r row) bool
	}{
		{"default view", auditstore.InboxQuery{}, func(r row) bool { return r.followUp == nil || !r.followUp.After(now) }},
		{"waiting for follow-up", auditstore.InboxQuery{FollowUp: auditstore.FollowUpLater}, func(r row) bool { return r.followUp != nil && r.followUp.After(now) }},
		{"overdue, high", auditstore.InboxQuery{Overdue: true, MinPriority: 3, FollowUp: auditstore.FollowUpAll}, func(r row) bool { return r.deadline.Before(now) && r.priority >= 3 }},
		{"unclaimed", auditstore.InboxQuery{Claimed: auditstore.Unclaimed, FollowUp: auditstore.FollowUpAll}, func(r row) bool { return r.claimedBy == "" }},
		{"claimed by ana", auditstore.InboxQuery{User: "ana", UserRoles: []string{"underwriter"}, Claimed: auditstore.ClaimedByMe, FollowUp: auditstore.FollowUpAll}, func(r row) bool { return r.claimedBy == "ana" }},
		{"amount range", auditstore.InboxQuery{AmountMin: &min, AmountMax: &max, FollowUp: auditstore.FollowUpAll}, func(r row) bool { return r.amount != nil && *r.amount >= min && *r.amount <= max }},
		{"task", auditstore.InboxQuery{TaskID: "review", FollowUp: auditstore.FollowUpAll}, func(r row) bool { return r.task == "review" }},
		{"role", auditstore.InboxQuery{Role: "underwriter", FollowUp: auditstore.FollowUpAll}, func(r row) bool { return true }},
		{"search the id", auditstore.InboxQuery{Search: "a-12", FollowUp: auditstore.FollowUpAll}, func(r row) bool { return strings.HasPrefix(strings.ToLower(r.key), "loan-a-12") }},
		{"search the key", auditstore.InboxQuery{Search: "LOAN-A-1050", FollowUp: auditstore.FollowUpAll}, func(r row) bool { return r.key == "loan-A-1050" }},
	}
	for _, f := range filters {
		filtered := func() []row {
			var want []row
			for _, r := range rows {
				if f.keep(r) {
					want = append(want, r)
				}
			}
			return want
		}
		want := filtered()
		q := f.q
		q.Now = now
		c, err := s.CountInbox(ctx, q)
		if err != nil {
			t.Fatal(err)
		}
		overdue := 0
		for _, r := range want {
			if r.deadline.Before(now) {
				overdue++
			}
		}
		if c.Tasks != len(want) || c.Overdue != overdue {
			t.Errorf("%s: counts %+v, want %d tasks, %d overdue", f.name, c, len(want), overdue)
		}
		for _, sortBy := range auditstore.Sorts {
			w := filtered()
			sort.SliceStable(w, func(i, j int) bool {
				if !equal[sortBy](w[i], w[j]) {
					return less[sortBy](w[i], w[j])
				}
				return w[i].wf < w[j].wf
			})
			q.Sort, q.Limit, q.After = sortBy, 7, nil
			var got []string
			for page := 0; ; page++ {
				p, err := s.ListInbox(ctx, q)
				if err != nil {
					t.Fatalf("%s by %s: %v", f.name, sortBy, err)
				}
				for _, x := range p {
					got = append(got, x.WorkflowID)
				}
				if len(p) < q.Limit {
					break
				}
				k := auditstore.KeyOf(sortBy, p[len(p)-1])
				q.After = &k
				if page == 1 && sortBy == auditstore.SortDeadline && f.name == "default view" {
					// A task that opens meanwhile, earlier than the cursor,
					// does not shift the pages.
					late := row{wf: "loan-S-new", task: "underwriting", roles: []string{"underwriter"}, opened: t0, deadline: t0.Add(-time.Hour), priority: 2, key: "loan-S-new"}
					plant(t, dsn, []row{late})
					rows = append(rows, late)
				}
			}
			var wantIDs []string
			for _, r := range w {
				wantIDs = append(wantIDs, r.wf)
			}
			if !slices.Equal(got, wantIDs) {
				t.Errorf("%s by %s: pages\n%v\nwant\n%v", f.name, sortBy, got, wantIDs)
			}
		}
	}
}
