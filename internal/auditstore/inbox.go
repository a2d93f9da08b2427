package auditstore

// The task read model: open tasks (inbox_tasks) and substitutions
// (inbox_substitutes), kept from the trail. Append keeps them in the
// transaction that stores the entries they come from, so a worker crash, a
// retried or replayed write (its entries are skipped as duplicates) or a
// database crash never leaves them out of step with the trail; and only
// what Append stores feeds them: the worker's attested path, never a
// workflow that is not Baton's. RebuildInbox makes them again from the
// whole trail with the same fold.
//
// An instance's open tasks are always folded from its whole chain
// (foldInbox), never patched: chains are short (tens of entries), and the
// fold then follows resets the one way the workflow does. A reset run
// appends to the same chain under a new run ID, continuing the numbering
// of the trail it replayed: the tasks of the current run are those of the
// entries its base run made before the first entry the new run wrote (by
// sequence), then the new run's own. Entries a superseded run writes late
// are ignored.

import (
	"context"
	"encoding/json"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/batonhq/baton/audit"
	"github.com/batonhq/baton/humantask"
	"github.com/batonhq/baton/policy"
)

// InboxTask is one open task as the read model keeps it.
type InboxTask struct {
	WorkflowID    string     `json:"workflowId"`
	TaskID        string     `json:"taskId"`
	RunID         string     `json:"runId"`
	Occurrence    int        `json:"occurrence"`
	Process       string     `json:"process"`
	BusinessKey   string     `json:"businessKey"`
	ProcessTitle  string     `json:"processTitle,omitempty"`
	Title         string     `json:"title"`
	Summary       string     `json:"summary,omitempty"`
	Stage         string     `json:"stage,omitempty"`
	Amount        *float64   `json:"amount,omitempty"`
	Roles         []string   `json:"roles,omitempty"`
	Users         []string   `json:"users,omitempty"`
	Excluded      []string   `json:"excluded,omitempty"`
	Voted         []string   `json:"voted,omitempty"`
	Delegates     []string   `json:"delegates,omitempty"`
	DelegateRoles []string   `json:"delegateRoles,omitempty"`
	Quorum        int        `json:"quorum"`
	Approvals     int        `json:"approvals"`
	OpenedAt      time.Time  `json:"openedAt"`
	Deadline      time.Time  `json:"deadline"`
	Escalated     bool       `json:"escalated,omitempty"`
	Priority      int        `json:"priority"`
	FollowUp      *time.Time `json:"followUp,omitempty"`
	ClaimedBy     string     `json:"claimedBy,omitempty"`
	ClaimedAt     *time.Time `json:"claimedAt,omitempty"`
	Exclusive     bool       `json:"exclusive,omitempty"`
	Comments      int        `json:"comments,omitempty"`
	LastComment   string     `json:"lastComment,omitempty"`
	LastCommentBy string     `json:"lastCommentBy,omitempty"`
	LastCommentAt *time.Time `json:"lastCommentAt,omitempty"`
	// Form names the task form's fields ("*": required to approve).
	Form []string `json:"form,omitempty"`
}

// inboxActions are the entries the fold reads (with their data).
var inboxActions = []string{
	audit.ActionTaskOpened, audit.ActionDecisionAccepted, audit.ActionDecisionHonoured, audit.ActionDelegated,
	audit.ActionEscalated, audit.ActionTaskClosed, audit.ActionTaskHeld, audit.ActionCompleted, audit.ActionFailed,
	audit.ActionClaimed, audit.ActionReleased, audit.ActionClaimLapsed, audit.ActionCommented,
	audit.ActionPrioritySet, audit.ActionFollowUpSet,
}

// substituteActions are the substitutes trail's entries the read model keeps.
var substituteActions = []string{audit.ActionSubstituteSet, audit.ActionSubstituteEnded}

// inboxEntry is what the fold reads of an entry.
type inboxEntry struct {
	RunID   string
	Seq     int64
	Action  string
	Actor   string
	TaskID  string
	Details string
	At      time.Time
	Data    json.RawMessage
}

// lineage keeps the entries of an instance's current run: when a run
// appears, the entries kept so far are cut to those numbered before its
// first entry (the trail it replayed), then its own follow; a run that was
// superseded writes no more. Refused starts are their own runs and left out.
func lineage(entries []inboxEntry) []inboxEntry {
	var out []inboxEntry
	cur := ""
	superseded := map[string]bool{}
	for _, e := range entries {
		if e.Action == audit.ActionStartRefused || superseded[e.RunID] {
			continue
		}
		if e.RunID != cur {
			if cur != "" {
				superseded[cur] = true
				out = slices.DeleteFunc(out, func(k inboxEntry) bool { return k.Seq >= e.Seq })
			}
			cur = e.RunID
		}
		out = append(out, e)
	}
	return out
}

// foldInbox is the open tasks of an instance (workflowID, process, key) of
// its chain's entries, in chain order.
func foldInbox(workflowID, process, key string, entries []inboxEntry) []*InboxTask {
	var open []*InboxTask
	find := func(id string) *InboxTask {
		for _, t := range open {
			if t.TaskID == id {
				return t
			}
		}
		return nil
	}
	drop := func(id string) { open = slices.DeleteFunc(open, func(t *InboxTask) bool { return t.TaskID == id }) }
	for _, e := range lineage(entries) {
		if e.Action == audit.ActionCompleted || e.Action == audit.ActionFailed {
			open = nil
			continue
		}
		if e.Action == audit.ActionTaskOpened {
			var o humantask.OpenedData
			if json.Unmarshal(e.Data, &o) != nil || o.Spec.Quorum == 0 {
				continue // opened before task-opened carried its spec: not listed
			}
			drop(e.TaskID)
			open = append(open, openedTask(workflowID, process, key, e, o))
			continue
		}
		t := find(e.TaskID)
		if t == nil {
			continue
		}
		switch e.Action {
		case audit.ActionTaskClosed, audit.ActionTaskHeld:
			drop(e.TaskID)
		case audit.ActionDecisionAccepted, audit.ActionDecisionHonoured, audit.ActionDelegated:
			foldDecision(t, e)
		case audit.ActionEscalated:
			var d humantask.EscalatedData
			t.Escalated = true
			if json.Unmarshal(e.Data, &d) == nil && len(d.Roles) > 0 {
				t.Roles, t.DelegateRoles, t.Deadline = d.Roles, d.Roles, d.Deadline.UTC()
			}
		default:
			foldWork(t, e)
		}
	}
	return open
}

func openedTask(workflowID, process, key string, e inboxEntry, o humantask.OpenedData) *InboxTask {
	t := &InboxTask{
		WorkflowID: workflowID, TaskID: e.TaskID, RunID: e.RunID, Occurrence: o.Occurrence,
		Process: process, BusinessKey: key, Title: o.Title,
		Roles: o.Spec.Roles, Users: o.Spec.Users, DelegateRoles: o.Spec.DelegateRoles,
		Quorum: o.Spec.Quorum, OpenedAt: e.At, Deadline: o.Spec.Deadline.UTC(), Priority: policy.PriorityNormal,
		Form: o.Spec.Form.Names(),
	}
	if len(t.Roles) > 0 {
		// The delegate roles of a task with candidate roles are its roles
		// (humantask: delegateRoles), as they grow on escalation.
		t.DelegateRoles = t.Roles
	} else {
		t.DelegateRoles = append(slices.Clone(o.Spec.DelegateRoles), o.Spec.EscalateTo...)
	}
	for _, x := range o.Spec.Exclusions {
		t.Excluded = append(t.Excluded, x.User)
	}
	if c := o.Case; c != nil {
		t.ProcessTitle, t.Summary, t.Stage, t.Amount = c.Title, c.Summary, c.Stage, c.Amount
	}
	if o.Priority > 0 {
		t.Priority = o.Priority
	}
	if t.Title == "" {
		t.Title, _, _ = strings.Cut(e.Details, ":")
	}
	return t
}

// foldDecision applies a decision entry: a vote (spending the user a
// substitute stood in for too), an approval, a delegate.
func foldDecision(t *InboxTask, e inboxEntry) {
	var d humantask.DecisionData
	if json.Unmarshal(e.Data, &d) != nil {
		d.Decision.Actor, d.Decision.Verdict = e.Actor, strings.Fields(e.Details + " ?")[0]
		if e.Action == audit.ActionDelegated {
			d.Decision.Verdict = humantask.Delegate
		}
	}
	voters := []string{e.Actor}
	if d.For != nil {
		voters = append(voters, d.For.Principal)
	}
	for _, u := range voters {
		if !slices.Contains(t.Voted, u) {
			t.Voted = append(t.Voted, u)
		}
	}
	switch d.Decision.Verdict {
	case humantask.Approve:
		t.Approvals++
	case humantask.Delegate:
		if to := d.Decision.DelegateTo; to != "" && !slices.Contains(t.Users, to) {
			t.Users = append(slices.Clone(t.Users), to)
			t.Delegates = append(t.Delegates, to)
		}
	}
}

// foldWork applies an entry of work on a task: a claim, its end, a
// comment, a priority, a follow-up.
func foldWork(t *InboxTask, e inboxEntry) {
	var d humantask.ActionData
	_ = json.Unmarshal(e.Data, &d)
	switch e.Action {
	case audit.ActionClaimed:
		at := e.At
		t.ClaimedBy, t.ClaimedAt, t.Exclusive = e.Actor, &at, d.Claim != nil && d.Claim.Exclusive
	case audit.ActionReleased, audit.ActionClaimLapsed:
		t.ClaimedBy, t.ClaimedAt, t.Exclusive = "", nil, false
	case audit.ActionCommented:
		at := e.At
		t.Comments++
		t.LastComment, t.LastCommentBy, t.LastCommentAt = d.Action.Text, e.Actor, &at
	case audit.ActionPrioritySet:
		if p, err := policy.ParsePriority(d.Action.Priority); err == nil {
			t.Priority = p
		}
	case audit.ActionFollowUpSet:
		t.FollowUp = nil
		if u, err := time.Parse(time.RFC3339, d.Action.Until); err == nil {
			u = u.UTC()
			t.FollowUp = &u
		}
	}
}

// projectInbox brings the read model up to the entries just stored for
// workflowID (stored: in chain order) within tx: the instance's open tasks
// are folded again from its chain when one of them is a task entry (or the
// instance's listed tasks belong to another run than the one writing now),
// and substitutions are kept from the substitutes trail.
func projectInbox(ctx context.Context, tx pgx.Tx, workflowID string, stored []audit.Entry) error {
	refold := false
	for _, e := range stored {
		switch {
		case e.Source != audit.SourceWorkflow:
		case slices.Contains(substituteActions, e.Action):
			if err := projectSubstitute(ctx, tx, e); err != nil {
				return err
			}
		case slices.Contains(inboxActions, e.Action):
			refold = true
		}
	}
	if !refold {
		run := ""
		for _, e := range stored {
			if e.Source == audit.SourceWorkflow && e.Action != audit.ActionStartRefused {
				run = e.RunID
			}
		}
		if run == "" {
			return nil
		}
		var other bool
		if err := tx.QueryRow(ctx, `SELECT EXISTS (SELECT 1 FROM inbox_tasks WHERE workflow_id = $1 AND run_id <> $2)`, workflowID, run).Scan(&other); err != nil {
			return fmt.Errorf("audit store: read model of %s: %w", workflowID, err)
		}
		if !other {
			return nil
		}
	}
	return refoldInstance(ctx, tx, workflowID)
}

// refoldInstance folds an instance's open tasks from its chain and
// replaces its rows.
func refoldInstance(ctx context.Context, tx pgx.Tx, workflowID string) error {
	rows, err := tx.Query(ctx, `SELECT process, business_key, run_id, seq, action, actor, task_id, details, at,
			CASE WHEN action = ANY($3) THEN data ELSE '' END
		FROM audit_entries WHERE workflow_id = $1 AND source = $2 ORDER BY pos`, workflowID, audit.SourceWorkflow, inboxActions)
	if err != nil {
		return fmt.Errorf("audit store: read model of %s: %w", workflowID, err)
	}
	var entries []inboxEntry
	var process, key string
	for rows.Next() {
		var e inboxEntry
		var data string
		if err := rows.Scan(&process, &key, &e.RunID, &e.Seq, &e.Action, &e.Actor, &e.TaskID, &e.Details, &e.At, &data); err != nil {
			rows.Close()
			return fmt.Errorf("audit store: read model of %s: %w", workflowID, err)
		}
		e.At, e.Data = e.At.UTC(), rawData(data)
		entries = append(entries, e)
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return fmt.Errorf("audit store: read model of %s: %w", workflowID, err)
	}
	batch := &pgx.Batch{}
	batch.Queue(`DELETE FROM inbox_tasks WHERE workflow_id = $1`, workflowID)
	for _, t := range foldInbox(workflowID, process, key, entries) {
		queueInboxInsert(batch, t)
	}
	if err := tx.SendBatch(ctx, batch).Close(); err != nil {
		return fmt.Errorf("audit store: read model of %s: %w", workflowID, err)
	}
	return nil
}

const inboxColumns = `workflow_id, task_id, run_id, occurrence, process, business_key, process_title, title, summary, stage, amount,
	roles, users, excluded, voted, delegates, delegate_roles, quorum, approvals, opened_at, deadline, escalated, priority,
	follow_up, claimed_by, claimed_at, claim_exclusive, comments, last_comment, last_comment_by, last_comment_at, form`

func queueInboxInsert(b *pgx.Batch, t *InboxTask) {
	var claimedBy *string
	if t.ClaimedBy != "" {
		claimedBy = &t.ClaimedBy
	}
	b.Queue(`INSERT INTO inbox_tasks (`+inboxColumns+`) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16,
		$17, $18, $19, $20, $21, $22, $23, $24, $25, $26, $27, $28, $29, $30, $31, $32)`,
		t.WorkflowID, t.TaskID, t.RunID, t.Occurrence, t.Process, t.BusinessKey, t.ProcessTitle, t.Title, t.Summary, t.Stage, t.Amount,
		nonNil(t.Roles), nonNil(t.Users), nonNil(t.Excluded), nonNil(t.Voted), nonNil(t.Delegates), nonNil(t.DelegateRoles),
		t.Quorum, t.Approvals, t.OpenedAt, t.Deadline, t.Escalated, t.Priority,
		t.FollowUp, claimedBy, t.ClaimedAt, t.Exclusive, t.Comments, t.LastComment, t.LastCommentBy, t.LastCommentAt, nonNil(t.Form))
}

func nonNil(s []string) []string {
	if s == nil {
		return []string{}
	}
	return s
}

// projectSubstitute keeps a substitution set or ended.
func projectSubstitute(ctx context.Context, tx pgx.Tx, e audit.Entry) error {
	var s policy.Substitute
	if err := json.Unmarshal(e.Data, &s); err != nil || s.ID == "" {
		return nil // not a substitution the read model can keep
	}
	var err error
	if e.Action == audit.ActionSubstituteSet {
		_, err = tx.Exec(ctx, `INSERT INTO inbox_substitutes (id, principal, substitute, roles, from_at, until_at, set_by, set_at)
			VALUES ($1, $2, $3, $4, $5, $6, $7, $8) ON CONFLICT (id) DO NOTHING`,
			s.ID, s.Principal, s.Substitute, nonNil(s.Roles), s.From, s.Until, s.SetBy, e.Time)
	} else {
		_, err = tx.Exec(ctx, `DELETE FROM inbox_substitutes WHERE id = $1`, s.ID)
	}
	if err != nil {
		return fmt.Errorf("audit store: substitution %s: %w", s.ID, err)
	}
	return nil
}

// InboxRebuild says what RebuildInbox made.
type InboxRebuild struct {
	Instances     int `json:"instances"`
	Tasks         int `json:"tasks"`
	Substitutions int `json:"substitutions"`
}

// RebuildInbox makes the read model again from the whole trail, in one
// transaction, with the fold Append uses: for an operator after a change
// of the fold, or a read model in doubt. It locks the read model first, so
// workers' appends that would change it wait until it commits.
func (s *Store) RebuildInbox(ctx context.Context) (InboxRebuild, error) {
	var res InboxRebuild
	tx, err := s.pool.Begin(ctx)
	if err != nil {
		return res, s.connErr(err)
	}
	defer func() { _ = tx.Rollback(ctx) }()
	for _, q := range []string{`LOCK TABLE inbox_tasks, inbox_substitutes IN EXCLUSIVE MODE`, `DELETE FROM inbox_tasks`, `DELETE FROM inbox_substitutes`} {
		if _, err := tx.Exec(ctx, q); err != nil {
			return res, fmt.Errorf("audit store: rebuild the read model: %w", err)
		}
	}
	rows, err := tx.Query(ctx, `SELECT workflow_id, process, business_key, run_id, seq, action, actor, task_id, details, at,
			CASE WHEN action = ANY($2) OR action = ANY($3) THEN data ELSE '' END
		FROM audit_entries WHERE source = $1 AND workflow_id IN (
			SELECT workflow_id FROM audit_entries WHERE action = ANY($4))
		ORDER BY workflow_id, pos`, audit.SourceWorkflow, inboxActions, substituteActions, []string{audit.ActionTaskOpened, audit.ActionSubstituteSet})
	if err != nil {
		return res, s.queryErr(err)
	}
	var (
		batch   = &pgx.Batch{}
		cur     string
		process string
		key     string
		entries []inboxEntry
		subs    []audit.Entry
	)
	flush := func() {
		if cur == "" {
			return
		}
		res.Instances++
		for _, t := range foldInbox(cur, process, key, entries) {
			queueInboxInsert(batch, t)
			res.Tasks++
		}
		entries = entries[:0]
	}
	for rows.Next() {
		var e inboxEntry
		var wf, data string
		var p, k string
		if err := rows.Scan(&wf, &p, &k, &e.RunID, &e.Seq, &e.Action, &e.Actor, &e.TaskID, &e.Details, &e.At, &data); err != nil {
			rows.Close()
			return res, fmt.Errorf("audit store: rebuild the read model: %w", err)
		}
		e.At, e.Data = e.At.UTC(), rawData(data)
		if slices.Contains(substituteActions, e.Action) {
			subs = append(subs, audit.Entry{Action: e.Action, Time: e.At, Data: e.Data, Source: audit.SourceWorkflow})
			continue
		}
		if wf != cur {
			flush()
			cur, process, key = wf, p, k
		}
		entries = append(entries, e)
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return res, s.queryErr(err)
	}
	flush()
	if err := tx.SendBatch(ctx, batch).Close(); err != nil {
		return res, fmt.Errorf("audit store: rebuild the read model: %w", err)
	}
	for _, e := range subs {
		if err := projectSubstitute(ctx, tx, e); err != nil {
			return res, err
		}
	}
	if err := tx.QueryRow(ctx, `SELECT count(*) FROM inbox_substitutes`).Scan(&res.Substitutions); err != nil {
		return res, s.queryErr(err)
	}
	if err := tx.Commit(ctx); err != nil {
		return res, fmt.Errorf("audit store: rebuild the read model: commit: %w", err)
	}
	return res, nil
}
