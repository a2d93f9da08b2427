package record

import (
	"cmp"
	"fmt"
	"slices"
	"strings"
	"time"

	"go.temporal.io/sdk/temporal"
	"go.temporal.io/sdk/workflow"

	"github.com/batonhq/baton/humantask"
)

// pendingRoles is what the inbox searches: the roles that may act on any
// open task, plus humantask.UserCandidate for named candidates. Empty when none.
func pendingRoles(open []humantask.TaskView) []string {
	var out []string
	for _, t := range open {
		out = append(out, t.WhoMayAct()...)
	}
	slices.Sort(out)
	return slices.Compact(out)
}

func earliestDeadline(open []humantask.TaskView) (time.Time, bool) {
	var best time.Time
	for _, t := range open {
		if best.IsZero() || t.Deadline.Before(best) {
			best = t.Deadline
		}
	}
	return best, !best.IsZero()
}

// changed marks the search attributes and details for writing. The flusher
// coroutine (started by New) writes them once the workflow code yields, so
// all changes of one turn (stage, handling path, a task opened) become one
// upsert: each upsert is a billable action.
func (r *Record) changed() { r.dirty = true }

// changedSA reports whether a list or time attribute (rendered as v) differs
// from what was last written, and remembers v. An attribute never set and
// still empty is not written.
func (r *Record) changedSA(name, v string) bool {
	last, seen := r.lastSA[name]
	if (!seen && v == "") || last == v {
		return false
	}
	r.lastSA[name] = v
	return true
}

// runFlusher writes pending changes whenever workflow code has made some and
// yielded. Coroutine scheduling is deterministic, so replay sees the same.
func (r *Record) runFlusher(ctx workflow.Context) {
	for {
		if err := workflow.Await(ctx, func() bool { return r.dirty }); err != nil {
			return
		}
		r.flush(ctx)
	}
}

// flush writes the search attributes and current details that changed since
// the last write; nothing unchanged is written.
func (r *Record) flush(ctx workflow.Context) {
	r.dirty = false
	open := r.tasks.OpenViews()
	// What a starter set that the record owns goes first, so that the
	// record's own values in the same upsert win.
	updates := r.clean
	r.clean = nil
	if len(r.cleanMemo) > 0 {
		memo := map[string]any{}
		for _, k := range r.cleanMemo {
			memo[k] = nil
		}
		r.cleanMemo = nil
		if err := workflow.UpsertMemo(ctx, memo); err != nil {
			r.log.Warn("memo not cleaned", "Error", err)
		}
	}
	keyword := func(key temporal.SearchAttributeKeyKeyword, v string) {
		if v == "" || r.lastSA[key.GetName()] == v {
			return
		}
		r.lastSA[key.GetName()] = v
		updates = append(updates, key.ValueSet(v))
	}
	keyword(SAProcessType, r.opts.Process)
	keyword(SABusinessKey, r.opts.BusinessKey)
	keyword(SAProcessStage, r.stage)
	keyword(SAHandlingPath, r.path)
	keyword(SAOutcome, r.outcome)
	if r.policy != nil {
		keyword(SAPolicyVersion, r.policy.Version)
	}
	// A task held for an operator is in no one's inbox.
	decidable := slices.DeleteFunc(slices.Clone(open), func(t humantask.TaskView) bool { return t.Held != "" })
	roles := pendingRoles(decidable)
	if v := strings.Join(roles, ","); r.changedSA(SAPendingRoles.GetName(), v) {
		if len(roles) == 0 {
			updates = append(updates, SAPendingRoles.ValueUnset())
		} else {
			updates = append(updates, SAPendingRoles.ValueSet(roles))
		}
	}
	dl, ok := earliestDeadline(decidable)
	v := ""
	if ok {
		v = dl.Format(time.RFC3339Nano)
	}
	if r.changedSA(SATaskDeadline.GetName(), v) {
		if ok {
			updates = append(updates, SATaskDeadline.ValueSet(dl))
		} else {
			updates = append(updates, SATaskDeadline.ValueUnset())
		}
	}
	if len(updates) > 0 {
		if err := workflow.UpsertTypedSearchAttributes(ctx, updates...); err != nil {
			r.log.Warn("search attributes not updated", "Error", err)
		}
	}
	r.flushInbox(ctx, decidable)
	if d := r.details(open); d != r.lastDetails {
		r.lastDetails = d
		workflow.SetCurrentDetails(ctx, d)
	}
}

// namedUsers stands for the users a task names: the Web UI shows details
// to every operator, so they show roles and "a named user", never an id.
func namedUsers(n int) []string {
	switch n {
	case 0:
		return nil
	case 1:
		return []string{"a named user"}
	default:
		return []string{fmt.Sprintf("%d named users", n)}
	}
}

// details is the markdown the Web UI shows as current details: the stage,
// then one short line per open task (approvals so far, who may act, due),
// then handling path, outcome and policy. The UI shows it in a small frame,
// so the most important lines come first.
func (r *Record) details(open []humantask.TaskView) string {
	var b strings.Builder
	stage := cmp.Or(r.stageText, r.stage, "starting")
	if r.opts.Stages > 0 {
		fmt.Fprintf(&b, "**Stage %d of %d: %s**\n", r.stageIdx, r.opts.Stages, stage)
	} else {
		fmt.Fprintf(&b, "**%s**\n", stage)
	}
	if len(open) > 0 {
		b.WriteString("\n")
	}
	for _, t := range open {
		if t.Held != "" {
			// The reason names people: it is in the (encrypted) trail.
			fmt.Fprintf(&b, "- **%s**: held for an operator: a decision the trail recorded cannot be honoured (see the audit trail)\n", t.ID)
			continue
		}
		who := strings.Join(append(slices.Clone(t.Roles), namedUsers(len(t.Users))...), ", ")
		if t.Escalated {
			who += " (escalated)"
		}
		fmt.Fprintf(&b, "- **%s**: %d of %d approvals · may act: %s · due %s\n", t.ID, t.Approvals, t.Quorum, who, t.Deadline.Format("2006-01-02 15:04 MST"))
	}
	var tail []string
	if r.path != "" {
		tail = append(tail, "handling: "+r.path)
	}
	if r.outcome != "" {
		tail = append(tail, "outcome: **"+r.outcome+"**")
	}
	if r.policy != nil {
		tail = append(tail, "policy "+r.policy.Version)
	}
	if len(tail) > 0 {
		b.WriteString("\n" + strings.Join(tail, " · ") + "\n")
	}
	return b.String()
}
