package humantask

import (
	"encoding/json"
	"fmt"
	"slices"
	"strings"

	"github.com/batonhq/baton/audit"

	"go.temporal.io/sdk/workflow"
)

// Recorded is an entry an earlier run of the instance (a run it was reset
// from) wrote to the durable audit store: a task it opened or a decision it
// accepted, with the entry's run and position in the instance's chain.
type Recorded struct {
	RunID   string          `json:"runId"`
	Pos     int64           `json:"pos"`
	Action  string          `json:"action"`
	Actor   string          `json:"actor"`
	TaskID  string          `json:"taskId,omitempty"`
	Details string          `json:"details,omitempty"`
	Via     string          `json:"via,omitempty"`
	Data    json.RawMessage `json:"data,omitempty"`
}

// ref names the entry for people: its run (abbreviated) and position.
func (r Recorded) ref() string {
	run := r.RunID
	if len(run) > 8 {
		run = run[:8]
	}
	return fmt.Sprintf("run %s, entry %d", run, r.Pos)
}

// honoured is a recorded decision to apply again, decoded.
type honoured struct {
	rec  Recorded
	data DecisionData
}

// reconcileOpen makes every open task agree with what earlier runs
// recorded for it (see reconcile). A run that was not reset has nothing
// recorded by another run and asks nothing.
func (m *Tasks) reconcileOpen(ctx workflow.Context) {
	for _, t := range m.tasks {
		m.reconcile(ctx, t)
	}
}

// reconcile is how a reset run keeps to what the trail recorded: before it
// acts on a task (opens it, takes a decision on it, lets a timer act on
// it), the decisions that earlier runs accepted for the same task
// occurrence and that this run does not have are applied again through
// the one writer, in their order, each audited as decision-honoured naming
// the entry it repeats; so the task ends as recorded. When they cannot be
// honoured because the task is not the one decided (other facts, or other
// governance: candidates, quorum, rejections, exclusions, delegation) the
// task is held for an operator instead: no one may decide it, its timers
// stop, and the trail and the current details say why.
func (m *Tasks) reconcile(ctx workflow.Context, t *task) {
	if t.state != StateOpen || t.held != "" {
		return
	}
	earlier := m.rec.Earlier(ctx)
	if len(earlier) == 0 || t.state != StateOpen || t.held != "" {
		return
	}
	todo, why := t.recordedDecisions(earlier)
	if why != "" {
		m.hold(ctx, t, why)
		return
	}
	for _, h := range todo {
		if t.state != StateOpen {
			return
		}
		d := h.data.Decision
		d.acting = h.data.For
		m.apply(ctx, t, d, "trail", &h.rec)
	}
}

// recordedDecisions are the decisions earlier runs recorded for t's
// occurrence that t does not have yet (one per actor, the first recorded),
// or why they cannot be honoured.
func (t *task) recordedDecisions(earlier []Recorded) ([]honoured, string) {
	opened := map[string]OpenedData{} // by the run that opened the occurrence
	var found []honoured
	for _, e := range earlier {
		if e.Action == audit.ActionTaskOpened {
			var o OpenedData
			if json.Unmarshal(e.Data, &o) == nil && o.Subject.TaskID == t.spec.ID && o.Occurrence == t.subject.Occurrence {
				if _, ok := opened[o.Subject.RunID]; !ok {
					opened[o.Subject.RunID] = o
				}
			}
			continue
		}
		var d DecisionData
		if json.Unmarshal(e.Data, &d) == nil && d.Subject.TaskID == t.spec.ID && d.Subject.Occurrence == t.subject.Occurrence {
			found = append(found, honoured{rec: e, data: d})
		}
	}
	decided := map[string]bool{}
	for _, v := range t.votes {
		decided[v.Actor] = true
	}
	var todo []honoured
	for _, h := range found {
		actor := h.data.Decision.Actor
		if decided[actor] {
			continue
		}
		decided[actor] = true
		what := fmt.Sprintf("the trail records %s by %s (%s) for task %s", h.data.Decision.Verdict, actor, h.rec.ref(), t.spec.ID)
		o, ok := opened[h.data.Subject.RunID]
		switch {
		case !ok:
			return nil, what + ", and no record of the task it decided"
		case h.data.Subject.Digest != t.subject.Digest:
			return nil, what + " on other facts than this run's"
		}
		if diff := o.Spec.differs(t); diff != "" {
			return nil, fmt.Sprintf("%s when its %s; this run's task differs", what, diff)
		}
		todo = append(todo, h)
	}
	return todo, ""
}

// differs names the governance that differs between the recorded task and
// t ("" when none): who may decide, how many, and who may not.
func (r SpecData) differs(t *task) string {
	now := SpecData{Roles: t.spec.Roles, Users: t.spec.Users, Quorum: t.spec.Quorum, Rejections: t.rejectionsNeeded(),
		Exclusions: t.spec.Exclusions, EscalateTo: t.spec.EscalateTo, DelegateRoles: t.spec.DelegateRoles}
	var diff []string
	set := func(a []string) string { return strings.Join(sortedUnique(a), ",") }
	if set(r.Roles) != set(now.Roles) || set(r.Users) != set(now.Users) {
		diff = append(diff, fmt.Sprintf("candidates were %s", orNone(append(sortedUnique(r.Roles), r.Users...))))
	}
	if r.Quorum != now.Quorum {
		diff = append(diff, fmt.Sprintf("quorum was %d", r.Quorum))
	}
	if r.Rejections != now.Rejections {
		diff = append(diff, fmt.Sprintf("rejections needed were %d", r.Rejections))
	}
	if !slices.Equal(exclusionKeys(r.Exclusions), exclusionKeys(now.Exclusions)) {
		diff = append(diff, "exclusions were "+orNone(exclusionKeys(r.Exclusions)))
	}
	if set(r.EscalateTo) != set(now.EscalateTo) || set(r.DelegateRoles) != set(now.DelegateRoles) {
		diff = append(diff, "escalation or delegation roles differed")
	}
	return strings.Join(diff, ", ")
}

func exclusionKeys(es []Exclusion) []string {
	out := make([]string, len(es))
	for i, e := range es {
		out[i] = e.User + " (" + e.Reason + ")"
	}
	slices.Sort(out)
	return out
}

// hold stops t for an operator: decisions are refused, timers stop.
func (m *Tasks) hold(ctx workflow.Context, t *task, why string) {
	t.held = why
	if t.cancel != nil {
		t.cancel()
	}
	m.rec.Audit(ctx, audit.SystemActor, audit.ActionTaskHeld, t.spec.ID, "held for an operator: "+why)
	m.rec.Logger().Warn("task held for an operator", "TaskID", t.spec.ID, "Why", why)
	m.rec.TasksChanged()
}
