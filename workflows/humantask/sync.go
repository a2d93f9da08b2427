package humantask

import (
	"cmp"
	"fmt"
	"slices"
	"strings"
	"time"

	"go.temporal.io/sdk/temporal"
	"go.temporal.io/sdk/workflow"
)

// pendingRoles is what the inbox searches: the roles that may act on any
// open task, plus "user:<id>" for named candidates. Empty when none.
func (m *Manager) pendingRoles() []string {
	var out []string
	for _, t := range m.tasks {
		if t.state != StateOpen {
			continue
		}
		out = append(out, t.roles...)
		for _, u := range t.users {
			out = append(out, "user:"+u)
		}
	}
	return sortedUnique(out)
}

func (m *Manager) earliestDeadline() (time.Time, bool) {
	var best time.Time
	for _, t := range m.tasks {
		if t.state == StateOpen && (best.IsZero() || t.deadline.Before(best)) {
			best = t.deadline
		}
	}
	return best, !best.IsZero()
}

// changed marks the search attributes and details for writing. The flusher
// coroutine (started by New) writes them once the workflow code yields, so
// all changes of one turn (stage, handling path, a task opened) become one
// upsert: each upsert is a billable action.
func (m *Manager) changed() { m.dirty = true }

// runFlusher writes pending changes whenever workflow code has made some and
// yielded. Coroutine scheduling is deterministic, so replay sees the same.
func (m *Manager) runFlusher(ctx workflow.Context) {
	for {
		if err := workflow.Await(ctx, func() bool { return m.dirty }); err != nil {
			return
		}
		m.flush(ctx)
	}
}

// flush writes the search attributes and current details that changed since
// the last write; nothing unchanged is written.
func (m *Manager) flush(ctx workflow.Context) {
	m.dirty = false
	k := m.opts.Keys
	var updates []temporal.SearchAttributeUpdate
	keyword := func(key temporal.SearchAttributeKeyKeyword, v string) {
		if key.GetName() == "" || v == "" || m.lastSA[key.GetName()] == v {
			return
		}
		m.lastSA[key.GetName()] = v
		updates = append(updates, key.ValueSet(v))
	}
	keyword(k.ProcessType, m.opts.Process)
	keyword(k.BusinessKey, m.opts.BusinessKey)
	keyword(k.ProcessStage, m.stage)
	keyword(k.HandlingPath, m.path)
	keyword(k.Outcome, m.outcome)
	if m.policy != nil {
		keyword(k.PolicyVersion, m.policy.Version)
	}
	if k.PendingRoles.GetName() != "" {
		roles := m.pendingRoles()
		v := strings.Join(roles, ",")
		if last, seen := m.lastSA[k.PendingRoles.GetName()]; (seen || v != "") && last != v {
			m.lastSA[k.PendingRoles.GetName()] = v
			if len(roles) == 0 {
				updates = append(updates, k.PendingRoles.ValueUnset())
			} else {
				updates = append(updates, k.PendingRoles.ValueSet(roles))
			}
		}
	}
	if k.TaskDeadline.GetName() != "" {
		dl, ok := m.earliestDeadline()
		v := ""
		if ok {
			v = dl.Format(time.RFC3339Nano)
		}
		if last, seen := m.lastSA[k.TaskDeadline.GetName()]; (seen || v != "") && last != v {
			m.lastSA[k.TaskDeadline.GetName()] = v
			if ok {
				updates = append(updates, k.TaskDeadline.ValueSet(dl))
			} else {
				updates = append(updates, k.TaskDeadline.ValueUnset())
			}
		}
	}
	if len(updates) > 0 {
		if err := workflow.UpsertTypedSearchAttributes(ctx, updates...); err != nil {
			m.log.Warn("search attributes not updated", "Error", err)
		}
	}
	if d := m.details(); d != m.lastDetails {
		m.lastDetails = d
		workflow.SetCurrentDetails(ctx, d)
	}
}

// details is the markdown the Web UI shows as current details: the stage,
// then one short line per open task (approvals so far, who may act, due),
// then handling path, outcome and policy. The UI shows it in a small frame,
// so the most important lines come first.
func (m *Manager) details() string {
	var b strings.Builder
	stage := cmp.Or(m.stageText, m.stage, "starting")
	if m.stageTot > 0 {
		fmt.Fprintf(&b, "**Stage %d of %d: %s**\n", m.stageIdx, m.stageTot, stage)
	} else {
		fmt.Fprintf(&b, "**%s**\n", stage)
	}
	first := true
	for _, t := range m.tasks {
		if t.state != StateOpen {
			continue
		}
		if first {
			b.WriteString("\n")
			first = false
		}
		who := strings.Join(append(slices.Clone(t.roles), t.users...), ", ")
		if t.escalated {
			who += " (escalated)"
		}
		fmt.Fprintf(&b, "- **%s**: %d of %d approvals · may act: %s · due %s\n", t.spec.ID, t.approvals(), t.spec.Quorum, who, t.deadline.Format("2006-01-02 15:04 MST"))
	}
	var tail []string
	if m.path != "" {
		tail = append(tail, "handling: "+m.path)
	}
	if m.outcome != "" {
		tail = append(tail, "outcome: **"+m.outcome+"**")
	}
	if m.policy != nil {
		tail = append(tail, "policy "+m.policy.Version)
	}
	if len(tail) > 0 {
		b.WriteString("\n" + strings.Join(tail, " · ") + "\n")
	}
	return b.String()
}
