package taskinbox

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"slices"
	"time"

	"github.com/batonhq/baton/humantask"
	"github.com/batonhq/baton/internal/auditstore"
	"github.com/batonhq/baton/policy"
)

// Store is the Lister over the task read model in the audit store
// (auditstore.ListInbox): every filter and sort, counts, one query per
// page, no instance asked and no visibility call. A user's tasks follow
// humantask.MayAct in the query, with the substitutions in force now.
type Store struct {
	Store *auditstore.Store
	// Policy is the directory: a user's roles, whom a substitution covers.
	Policy *policy.Policy
}

// List implements Lister.
func (l *Store) List(ctx context.Context, f Filter) (Page, error) {
	if f.Limit < 0 {
		return Page{}, fmt.Errorf("limit: %d is negative", f.Limit)
	}
	q, err := l.query(ctx, f)
	if err != nil {
		return Page{}, err
	}
	if f.Cursor != "" {
		k, err := decodeStoreCursor(f.Cursor)
		if err != nil {
			return Page{}, err
		}
		q.After = &k
	}
	if f.Limit > 0 {
		q.Limit = f.Limit + 1 // one more says whether a next page exists
	}
	rows, err := l.Store.ListInbox(ctx, q)
	if err != nil {
		return Page{}, err
	}
	page := Page{Tasks: make([]Task, 0, len(rows))}
	if f.Limit > 0 && len(rows) > f.Limit {
		rows = rows[:f.Limit]
		page.Next = encodeStoreCursor(auditstore.KeyOf(q.Sort, rows[len(rows)-1]))
	}
	now := f.now()
	for _, r := range rows {
		page.Tasks = append(page.Tasks, TaskOfRow(r, now))
	}
	return page, nil
}

// Count counts the tasks f selects (its cursor and limit aside).
func (l *Store) Count(ctx context.Context, f Filter) (Counts, error) {
	q, err := l.query(ctx, f)
	if err != nil {
		return Counts{}, err
	}
	return l.Store.CountInbox(ctx, q)
}

// Facets counts the tasks f selects by process and kind of task.
func (l *Store) Facets(ctx context.Context, f Filter) ([]auditstore.Facet, error) {
	q, err := l.query(ctx, f)
	if err != nil {
		return nil, err
	}
	return l.Store.FacetsInbox(ctx, q)
}

// query is f as the read model's query: the user's roles from the
// directory and the users they stand in for now.
func (l *Store) query(ctx context.Context, f Filter) (auditstore.InboxQuery, error) {
	q := auditstore.InboxQuery{
		User: f.User, Role: f.Role, Process: f.Process, TaskID: f.Task, Overdue: f.Overdue, MinPriority: f.MinPriority,
		Claimed: f.Claimed, AmountMin: f.AmountMin, AmountMax: f.AmountMax, Search: f.Search, FollowUp: f.FollowUp,
		Now: f.now(), Sort: f.Sort,
	}
	if q.Sort == "" {
		q.Sort = auditstore.SortDeadline
	}
	if f.User == "" {
		return q, nil
	}
	if l.Policy == nil {
		return q, fmt.Errorf("user: listing a user's tasks needs the directory")
	}
	u, ok := l.Policy.Users[f.User]
	if !ok {
		return q, fmt.Errorf("user: %q is not in the directory", f.User)
	}
	q.UserRoles = u.Roles
	subs, err := l.Store.Substitutes(ctx, []string{f.User}, q.Now)
	if err != nil {
		return q, err
	}
	q.Acting = Acting(l.Policy, f.User, subs, q.Now)
	return q, nil
}

// Acting is what the substitutions in force at now let user decide: for
// each user they stand in for, the roles of theirs the substitution covers
// (as the directory has them) and whether it covers the tasks named to
// them (humantask's rule for substitutes).
func Acting(p *policy.Policy, user string, subs []policy.Substitute, now time.Time) []auditstore.Acting {
	var out []auditstore.Acting
	for _, s := range policy.InForceAt(subs, now) {
		pu, ok := p.Users[s.Principal]
		if s.Substitute != user || s.Principal == user || !ok {
			continue
		}
		a := auditstore.Acting{Principal: s.Principal, Named: len(s.Roles) == 0}
		for _, r := range pu.Roles {
			if s.Covers(r) {
				a.Roles = append(a.Roles, r)
			}
		}
		out = append(out, a)
	}
	return out
}

// TaskOfRow is a read model row as a listing's task.
func TaskOfRow(r auditstore.InboxTask, now time.Time) Task {
	v := humantask.TaskView{Roles: r.Roles, Users: r.Users}
	return Task{
		WorkflowID: r.WorkflowID, Process: r.Process, TaskID: r.TaskID, Title: r.Title, Approvals: r.Approvals, Quorum: r.Quorum,
		WhoMayAct: v.WhoMayAct(), OpenedAt: r.OpenedAt, Deadline: r.Deadline, Overdue: now.After(r.Deadline), Escalated: r.Escalated,
		ProcessTitle: r.ProcessTitle, Summary: r.Summary, Stage: r.Stage, Amount: r.Amount, Priority: policy.PriorityName(r.Priority),
		ClaimedBy: r.ClaimedBy, ClaimedAt: r.ClaimedAt, Exclusive: r.Exclusive,
		Comments: r.Comments, LastComment: r.LastComment, LastBy: r.LastCommentBy, FollowUp: r.FollowUp, Form: r.Form,
	}
}

// A read model cursor is the last task's key in its sort (base64url JSON,
// opaque to callers): stable while tasks come and go, since the next page
// starts after that key, not at an offset.
func encodeStoreCursor(k auditstore.InboxKey) string {
	b, _ := json.Marshal(k)
	return base64.RawURLEncoding.EncodeToString(b)
}

func decodeStoreCursor(s string) (auditstore.InboxKey, error) {
	var k auditstore.InboxKey
	b, err := base64.RawURLEncoding.DecodeString(s)
	if err == nil {
		err = json.Unmarshal(b, &k)
	}
	if err != nil || k.WorkflowID == "" || (k.Sort != "" && !slices.Contains(auditstore.Sorts, k.Sort)) {
		return k, fmt.Errorf("cursor: not a cursor from an earlier page")
	}
	return k, nil
}
