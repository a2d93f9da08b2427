package auditstore

// Listing the task read model: one SQL query per page (keyset on the
// sort's index) and one per count, eligibility (humantask.MayAct) in the
// query itself so that a user's pages stay fast at any size.

import (
	"context"
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/batonhq/baton/policy"
)

// Sorts of a listing.
const (
	SortDeadline = "deadline" // earliest deadline first
	SortPriority = "priority" // highest priority first, then earliest deadline
	SortAge      = "age"      // oldest first
	SortAmount   = "amount"   // largest amount first (tasks without one last)
)

// Sorts lists the sorts a listing takes.
var Sorts = []string{SortDeadline, SortPriority, SortAge, SortAmount}

// Follow-up views.
const (
	FollowUpDue   = ""      // the default: tasks without a follow-up date to come
	FollowUpAll   = "all"   // every task
	FollowUpLater = "later" // only tasks waiting for their follow-up date
)

// Claim filters.
const (
	ClaimedByMe = "me"   // claimed by the query's User
	Unclaimed   = "none" // claimed by nobody
	ClaimedAny  = "any"  // claimed by someone
)

// InboxQuery selects open tasks.
type InboxQuery struct {
	// User lists the tasks this user may decide (humantask.MayAct), with
	// UserRoles their roles (from the directory) and Acting the users
	// they stand in for now.
	User      string
	UserRoles []string
	Acting    []Acting
	// Role lists tasks this role may act on.
	Role string
	// Process, TaskID: one process's, one kind of task.
	Process, TaskID string
	// Overdue: past the deadline at Now.
	Overdue bool
	// MinPriority: at least this priority (0: any).
	MinPriority int
	// Claimed: ClaimedByMe (needs User), Unclaimed, ClaimedAny or "".
	Claimed string
	// AmountMin, AmountMax bound the amount (tasks without one are left
	// out when either is set).
	AmountMin, AmountMax *float64
	// Search matches the start of the business key or of its id
	// ("loan-A-17" or "A-17"), in any case.
	Search string
	// FollowUp: FollowUpDue (default), FollowUpAll or FollowUpLater.
	FollowUp string
	// Now is when deadlines and follow-ups are compared (default now).
	Now time.Time
	// Sort is one of Sorts (default deadline).
	Sort string
	// Limit is the most tasks a page holds (0: all).
	Limit int
	// After continues after this task (the last of the previous page).
	After *InboxKey
}

// Acting is a user the query's User stands in for: the roles of theirs
// the substitution covers, and whether it covers the tasks named to them.
type Acting struct {
	Principal string
	Roles     []string
	Named     bool
}

// InboxKey is a task's place in a sort: what a cursor carries.
type InboxKey struct {
	Sort       string    `json:"s"`
	Deadline   time.Time `json:"d,omitzero"`
	OpenedAt   time.Time `json:"o,omitzero"`
	Priority   int       `json:"p,omitempty"`
	Amount     float64   `json:"a,omitempty"`
	WorkflowID string    `json:"w"`
	TaskID     string    `json:"t"`
}

// KeyOf is t's place in sort.
func KeyOf(sort string, t InboxTask) InboxKey {
	k := InboxKey{Sort: sort, WorkflowID: t.WorkflowID, TaskID: t.TaskID}
	switch sort {
	case SortPriority:
		k.Priority, k.Deadline = t.Priority, t.Deadline
	case SortAge:
		k.OpenedAt = t.OpenedAt
	case SortAmount:
		k.Amount = -1
		if t.Amount != nil {
			k.Amount = *t.Amount
		}
	default:
		k.Deadline = t.Deadline
	}
	return k
}

// InboxCounts are the counts of a filter: its tasks, those of them
// overdue, and those it leaves out until their follow-up date.
type InboxCounts struct {
	Tasks   int `json:"tasks"`
	Overdue int `json:"overdue"`
	Later   int `json:"later"`
}

// where builds the filter's conditions and arguments. With gin, a
// user's or role's membership of an array is written as containment
// (users @> ARRAY[u]), which the arrays' GIN indexes serve: counts and
// facets read the few matching rows through them (with 100,000 open tasks
// a user's counts read 10,000 rows instead of scanning all, 20 ms instead
// of 120 on this machine). Pages write it as u = ANY(users), which those
// indexes do not serve, so that the planner walks the sort's index and
// stops at the page's end.
type where struct {
	conds []string
	args  []any
	gin   bool
}

// has is "array col holds the value of parameter p".
func (w *where) has(col, p string) string {
	if w.gin {
		return fmt.Sprintf("%s @> ARRAY[%s]::text[]", col, p)
	}
	return fmt.Sprintf("%s = ANY(%s)", p, col)
}

func (w *where) arg(v any) string {
	w.args = append(w.args, v)
	return "$" + strconv.Itoa(len(w.args))
}

func (w *where) add(format string, args ...any) {
	refs := make([]any, len(args))
	for i, a := range args {
		refs[i] = w.arg(a)
	}
	w.conds = append(w.conds, fmt.Sprintf(format, refs...))
}

func (w *where) sql() string {
	if len(w.conds) == 0 {
		return "true"
	}
	return strings.Join(w.conds, " AND ")
}

func (q InboxQuery) now() time.Time {
	if q.Now.IsZero() {
		return time.Now()
	}
	return q.Now
}

// filter is every condition of q but the follow-up view and the cursor;
// gin: as counts ask (see where).
func (q InboxQuery) filter(gin bool) (*where, error) {
	w := &where{gin: gin}
	if q.User != "" {
		// humantask.MayAct: not excluded, not decided, and a candidate by
		// name, by role, by a delegation whose role they hold, or as the
		// substitute of someone who is (and is neither excluded nor has
		// decided).
		u, roles := w.arg(q.User), w.arg(nonNil(q.UserRoles))
		may := []string{
			"roles && " + roles,
			fmt.Sprintf("(%s AND NOT %s = ANY(delegates))", w.has("users", u), u),
			fmt.Sprintf("(%s AND delegate_roles && %s)", w.has("delegates", u), roles),
		}
		for _, a := range q.Acting {
			p := w.arg(a.Principal)
			cand := "roles && " + w.arg(nonNil(a.Roles))
			if a.Named {
				cand = fmt.Sprintf("(%s OR (%s AND NOT %s = ANY(delegates)))", cand, w.has("users", p), p)
			}
			may = append(may, fmt.Sprintf("(%s AND NOT %s = ANY(excluded) AND NOT %s = ANY(voted))", cand, p, p))
		}
		w.conds = append(w.conds, fmt.Sprintf("NOT %s = ANY(excluded) AND NOT %s = ANY(voted) AND (%s)", u, u, strings.Join(may, " OR ")))
	}
	if q.Role != "" {
		w.conds = append(w.conds, w.has("roles", w.arg(q.Role)))
	}
	if q.Process != "" {
		w.add("process = %s", q.Process)
	}
	if q.TaskID != "" {
		w.add("task_id = %s", q.TaskID)
	}
	if q.Overdue {
		w.add("deadline < %s", q.now())
	}
	if q.MinPriority > 0 {
		w.add("priority >= %s", q.MinPriority)
	}
	switch q.Claimed {
	case "":
	case ClaimedByMe:
		if q.User == "" {
			return nil, fmt.Errorf("claimed: \"me\" needs a user")
		}
		w.add("claimed_by = %s", q.User)
	case Unclaimed:
		w.conds = append(w.conds, "claimed_by IS NULL")
	case ClaimedAny:
		w.conds = append(w.conds, "claimed_by IS NOT NULL")
	default:
		return nil, fmt.Errorf("claimed: %q is not one of me, none, any", q.Claimed)
	}
	if q.AmountMin != nil {
		w.add("amount >= %s", *q.AmountMin)
	}
	if q.AmountMax != nil {
		w.add("amount <= %s", *q.AmountMax)
	}
	if s := strings.ToLower(strings.TrimSpace(q.Search)); s != "" {
		like := strings.NewReplacer(`\`, `\\`, "%", `\%`, "_", `\_`).Replace(s) + "%"
		p := w.arg(like)
		w.conds = append(w.conds, fmt.Sprintf("(lower(business_key) LIKE %s OR key_id LIKE %s)", p, p))
	}
	return w, nil
}

// visible is the follow-up view's condition.
func (q InboxQuery) visible(w *where) (string, error) {
	switch q.FollowUp {
	case FollowUpDue:
		return fmt.Sprintf("(follow_up IS NULL OR follow_up <= %s)", w.arg(q.now())), nil
	case FollowUpAll:
		return "true", nil
	case FollowUpLater:
		return fmt.Sprintf("follow_up > %s", w.arg(q.now())), nil
	}
	return "", fmt.Errorf("follow-up: %q is not one of all, later", q.FollowUp)
}

// shown is q's filter with its follow-up view: the tasks it shows.
func (q InboxQuery) shown(gin bool) (*where, error) {
	w, err := q.filter(gin)
	if err != nil {
		return nil, err
	}
	vis, err := q.visible(w)
	if err != nil {
		return nil, err
	}
	w.conds = append(w.conds, vis)
	return w, nil
}

// order is the sort's ORDER BY (matching its index) and the keyset
// condition after k.
func order(sort string, w *where, k *InboxKey) (string, string, error) {
	var by, key string
	var vals []any
	switch sort {
	case "", SortDeadline:
		by = "deadline, workflow_id, task_id"
		if k != nil {
			vals = []any{k.Deadline}
		}
	case SortPriority:
		by = "(-priority), deadline, workflow_id, task_id"
		if k != nil {
			vals = []any{-k.Priority, k.Deadline}
		}
	case SortAge:
		by = "opened_at, workflow_id, task_id"
		if k != nil {
			vals = []any{k.OpenedAt}
		}
	case SortAmount:
		by = "(-coalesce(amount, -1)), workflow_id, task_id"
		if k != nil {
			vals = []any{-k.Amount}
		}
	default:
		return "", "", fmt.Errorf("sort: %q is not one of %s", sort, strings.Join(Sorts, ", "))
	}
	if k == nil {
		return by, "", nil
	}
	if k.Sort != sort && !(k.Sort == "" && sort == SortDeadline) {
		return "", "", fmt.Errorf("cursor: from a listing sorted by %s, not %s", k.Sort, sort)
	}
	refs := make([]string, 0, len(vals)+2)
	for _, v := range append(vals, k.WorkflowID, k.TaskID) {
		refs = append(refs, w.arg(v))
	}
	key = fmt.Sprintf("(%s) > (%s)", by, strings.Join(refs, ", "))
	return by, key, nil
}

// ListInbox lists one page of the open tasks q selects, in q's sort.
func (s *Store) ListInbox(ctx context.Context, q InboxQuery) ([]InboxTask, error) {
	w, err := q.shown(false)
	if err != nil {
		return nil, err
	}
	by, after, err := order(q.Sort, w, q.After)
	if err != nil {
		return nil, err
	}
	if after != "" {
		w.conds = append(w.conds, after)
	}
	sql := `SELECT ` + inboxColumns + ` FROM inbox_tasks WHERE ` + w.sql() + ` ORDER BY ` + by
	if q.Limit > 0 {
		sql += " LIMIT " + w.arg(q.Limit)
	}
	rows, err := s.pool.Query(ctx, sql, w.args...)
	if err != nil {
		return nil, s.queryErr(err)
	}
	defer rows.Close()
	out := []InboxTask{}
	for rows.Next() {
		t, err := scanInboxTask(rows)
		if err != nil {
			return nil, err
		}
		out = append(out, t)
	}
	return out, rows.Err()
}

// CountInbox counts the open tasks q selects (its cursor and limit aside):
// those its follow-up view shows, of them those overdue, and those the
// default view leaves out until their follow-up date.
func (s *Store) CountInbox(ctx context.Context, q InboxQuery) (InboxCounts, error) {
	var c InboxCounts
	w, err := q.filter(true)
	if err != nil {
		return c, err
	}
	vis, err := q.visible(w)
	if err != nil {
		return c, err
	}
	now := w.arg(q.now())
	sql := fmt.Sprintf(`SELECT count(*) FILTER (WHERE %s), count(*) FILTER (WHERE %s AND deadline < %s),
		count(*) FILTER (WHERE follow_up > %s) FROM inbox_tasks WHERE %s`, vis, vis, now, now, w.sql())
	if err := s.pool.QueryRow(ctx, sql, w.args...).Scan(&c.Tasks, &c.Overdue, &c.Later); err != nil {
		return c, s.queryErr(err)
	}
	return c, nil
}

// InboxTaskOf is one open task of the read model (false when it has none).
func (s *Store) InboxTaskOf(ctx context.Context, workflowID, taskID string) (InboxTask, bool, error) {
	rows, err := s.pool.Query(ctx, `SELECT `+inboxColumns+` FROM inbox_tasks WHERE workflow_id = $1 AND task_id = $2`, workflowID, taskID)
	if err != nil {
		return InboxTask{}, false, s.queryErr(err)
	}
	defer rows.Close()
	if !rows.Next() {
		return InboxTask{}, false, rows.Err()
	}
	t, err := scanInboxTask(rows)
	return t, err == nil, err
}

func scanInboxTask(rows pgx.Rows) (InboxTask, error) {
	var t InboxTask
	var claimedBy *string
	err := rows.Scan(&t.WorkflowID, &t.TaskID, &t.RunID, &t.Occurrence, &t.Process, &t.BusinessKey, &t.ProcessTitle, &t.Title, &t.Summary, &t.Stage, &t.Amount,
		&t.Roles, &t.Users, &t.Excluded, &t.Voted, &t.Delegates, &t.DelegateRoles, &t.Quorum, &t.Approvals, &t.OpenedAt, &t.Deadline, &t.Escalated, &t.Priority,
		&t.FollowUp, &claimedBy, &t.ClaimedAt, &t.Exclusive, &t.Comments, &t.LastComment, &t.LastCommentBy, &t.LastCommentAt, &t.Form)
	if err != nil {
		return t, fmt.Errorf("audit store: read an open task: %w", err)
	}
	if claimedBy != nil {
		t.ClaimedBy = *claimedBy
	}
	t.OpenedAt, t.Deadline = t.OpenedAt.UTC(), t.Deadline.UTC()
	for _, p := range []**time.Time{&t.FollowUp, &t.ClaimedAt, &t.LastCommentAt} {
		if *p != nil {
			u := (**p).UTC()
			*p = &u
		}
	}
	return t, nil
}

// Substitutes lists the substitutions not ended at at in which one of
// users stands in for someone, is stood in for, or which they set (all of
// them when users is empty), by principal and start.
func (s *Store) Substitutes(ctx context.Context, users []string, at time.Time) ([]policy.Substitute, error) {
	rows, err := s.pool.Query(ctx, `SELECT id, principal, substitute, roles, from_at, until_at, set_by FROM inbox_substitutes
		WHERE (cardinality($1::text[]) = 0 OR substitute = ANY($1) OR principal = ANY($1) OR set_by = ANY($1)) AND until_at > $2
		ORDER BY principal, from_at, id`, nonNil(users), at)
	if err != nil {
		return nil, s.queryErr(err)
	}
	defer rows.Close()
	var out []policy.Substitute
	for rows.Next() {
		var p policy.Substitute
		if err := rows.Scan(&p.ID, &p.Principal, &p.Substitute, &p.Roles, &p.From, &p.Until, &p.SetBy); err != nil {
			return nil, fmt.Errorf("audit store: read a substitution: %w", err)
		}
		if len(p.Roles) == 0 {
			p.Roles = nil
		}
		p.From, p.Until = p.From.UTC(), p.Until.UTC()
		out = append(out, p)
	}
	return out, rows.Err()
}

// Facet is how many of a filter's tasks are of one kind of one process.
type Facet struct {
	Process string `json:"process"`
	TaskID  string `json:"taskId"`
	Count   int    `json:"count"`
}

// FacetsInbox counts the tasks q selects by process and kind of task (its
// sort, cursor and limit aside): the choices a list's filters offer.
func (s *Store) FacetsInbox(ctx context.Context, q InboxQuery) ([]Facet, error) {
	w, err := q.shown(true)
	if err != nil {
		return nil, err
	}
	rows, err := s.pool.Query(ctx, `SELECT process, task_id, count(*) FROM inbox_tasks WHERE `+w.sql()+` GROUP BY process, task_id ORDER BY process, task_id`, w.args...)
	if err != nil {
		return nil, s.queryErr(err)
	}
	defer rows.Close()
	var out []Facet
	for rows.Next() {
		var f Facet
		if err := rows.Scan(&f.Process, &f.TaskID, &f.Count); err != nil {
			return nil, fmt.Errorf("audit store: read facets: %w", err)
		}
		out = append(out, f)
	}
	return out, rows.Err()
}
