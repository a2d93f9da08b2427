package insight

import (
	"cmp"
	"maps"
	"slices"
	"strings"
	"time"

	"github.com/batonhq/baton/audit"
	"github.com/batonhq/baton/humantask"
	"github.com/batonhq/baton/policy"
)

// Event is one step of an instance as discovery sees it: a label (a step,
// a routing decision, a task opened, a decision and who took it, an
// escalation, the end) and when it happened.
type Event struct {
	Label string    `json:"label"`
	At    time.Time `json:"at"`
}

// Discovery labels.
const (
	LabelStart = "start"
	LabelEnd   = "end"
)

// Events are the trail's events in order. Reminders and refused attempts
// are rework, not steps: they are counted (Rework), not listed. A decision
// names the role its actor decided in, from the pinned policy (pol; nil:
// "person"), so a handover from an underwriter to a senior underwriter
// shows.
func (t *Trail) Events(pol *policy.Policy) []Event {
	var out []Event
	tasks := map[int]*Task{}
	verdicts := map[int]string{}
	for _, k := range t.Tasks {
		for _, d := range k.Decisions {
			tasks[d.Entry], verdicts[d.Entry] = k, d.Verdict
		}
	}
	for i, b := range t.Course {
		label := ""
		switch b.Action {
		case audit.ActionStarted:
			label = LabelStart
		case audit.ActionStepCompleted:
			label = b.Name
		case audit.ActionStepFailed:
			label = b.Name + " failed"
		case audit.ActionRouted:
			label = "route: " + cmp.Or(t.Decision, b.Name)
		case audit.ActionTaskOpened:
			label = b.Task + " opened"
		case audit.ActionDecisionAccepted, audit.ActionDelegated:
			verdict, ok := verdicts[i]
			if !ok {
				verdict = "decided"
			}
			label = b.Task + ": " + verdict + " by " + roleOf(pol, b.Actor, tasks[i])
		case audit.ActionEscalated:
			label = b.Task + " escalated"
		case audit.ActionTaskClosed:
			if b.Name == humantask.StateApproved || b.Name == humantask.StateRejected {
				continue // the decision that closed it is the step
			}
			label = b.Task + " " + b.Name
		case audit.ActionCompensated:
			label = "undo " + b.Name
		case audit.ActionRequested:
			label = "customer request"
		case audit.ActionCompleted:
			label = LabelEnd + ": " + cmp.Or(t.Outcome, "completed")
		case audit.ActionFailed:
			label = LabelEnd + ": failed"
		case audit.ActionReminded:
			continue
		default:
			label = b.Action
		}
		out = append(out, Event{Label: label, At: b.At})
	}
	return out
}

// roleOf is the role user decided task k in: a candidate role (or one an
// escalation added) they hold under pol, or their first role; "person"
// when the policy is not known or does not list them.
func roleOf(pol *policy.Policy, user string, k *Task) string {
	if pol == nil {
		return "person"
	}
	u, ok := pol.Users[user]
	if !ok || len(u.Roles) == 0 {
		return "person"
	}
	if k != nil {
		cands := append(slices.Clone(k.Roles), k.AddedRoles...)
		if k.Spec != nil {
			cands = append(cands, k.Spec.DelegateRoles...)
		}
		for _, r := range cands {
			if slices.Contains(u.Roles, r) {
				return r
			}
		}
	}
	return u.Roles[0]
}

// Discovery is a process as its ended instances ran.
type Discovery struct {
	Process   string    `json:"process"`
	Instances int       `json:"instances"`
	Variants  []Variant `json:"variants"`
	// Nodes and Edges are the directly-follows map: each label with how
	// many instances reached it, each pair of consecutive labels with how
	// often one followed the other and how long that took.
	Nodes []Node `json:"nodes"`
	Edges []Edge `json:"edges"`
	// Bottlenecks are the edges that held instances longest in all,
	// longest first (at most 5).
	Bottlenecks []Edge   `json:"bottlenecks"`
	Rework      []Rework `json:"rework"`
	// CycleTime is start to close of the instances.
	CycleTime Dist `json:"cycleTime"`
}

// Variant is one sequence of steps, decisions and handovers, with how many
// instances took it.
type Variant struct {
	Steps     []string `json:"steps"`
	Count     int      `json:"count"`
	Share     float64  `json:"share"`
	CycleTime Dist     `json:"cycleTime"`
	// Example is one instance that took it.
	Example string `json:"example"`
}

// Node is one label of the map.
type Node struct {
	Label string `json:"label"`
	Count int    `json:"count"`
}

// Edge is one directly-follows relation: From then To, Count times, with
// the waiting time between them.
type Edge struct {
	From  string  `json:"from"`
	To    string  `json:"to"`
	Count int     `json:"count"`
	Wait  Dist    `json:"wait"`
	Total float64 `json:"totalWaitSeconds"`
	// Share is this edge's part of all waiting in the process.
	Share float64 `json:"waitShare"`
}

// Rework counts one kind of work done again or chased: delegations,
// escalations, reminders, steps repeated within an instance, refused
// decision attempts.
type Rework struct {
	Kind      string  `json:"kind"`
	Events    int     `json:"events"`
	Instances int     `json:"instances"`
	Share     float64 `json:"share"`
}

// Rework kinds.
const (
	ReworkDelegation = "delegation"
	ReworkEscalation = "escalation"
	ReworkReminder   = "reminder"
	ReworkRepeated   = "repeated step"
	ReworkRefused    = "refused decision"
)

// Discover maps each process of the trails (ended instances), in name
// order. policies holds the pinned policies by version; the one under ""
// stands for versions missing (without it, their deciders are "person").
func Discover(trails []*Trail, policies map[string]*policy.Policy) []Discovery {
	byProcess := map[string][]*Trail{}
	for _, t := range trails {
		byProcess[t.Process] = append(byProcess[t.Process], t)
	}
	var out []Discovery
	for _, p := range slices.Sorted(maps.Keys(byProcess)) {
		out = append(out, discover(p, byProcess[p], policies))
	}
	return out
}

func discover(process string, trails []*Trail, policies map[string]*policy.Policy) Discovery {
	d := Discovery{Process: process, Instances: len(trails)}
	type variant struct {
		steps   []string
		cycles  []float64
		example string
	}
	variants := map[string]*variant{}
	nodes := map[string]int{}
	type edgeKey struct{ from, to string }
	waits := map[edgeKey][]float64{}
	rework := map[string]*Rework{}
	for _, kind := range []string{ReworkDelegation, ReworkEscalation, ReworkReminder, ReworkRepeated, ReworkRefused} {
		rework[kind] = &Rework{Kind: kind}
	}
	var cycles []float64
	for _, t := range trails {
		pol, ok := policies[t.PolicyVersion]
		if !ok {
			pol = policies[""]
		}
		events := t.Events(pol)
		labels := make([]string, len(events))
		seen := map[string]bool{}
		for i, ev := range events {
			labels[i] = ev.Label
			if !seen[ev.Label] {
				nodes[ev.Label]++
				seen[ev.Label] = true
			}
			if i > 0 {
				k := edgeKey{events[i-1].Label, ev.Label}
				waits[k] = append(waits[k], ev.At.Sub(events[i-1].At).Seconds())
			}
		}
		cycle := t.Span.Cycle().Seconds()
		cycles = append(cycles, cycle)
		key := strings.Join(labels, "\x00")
		v := variants[key]
		if v == nil {
			v = &variant{steps: labels, example: t.WorkflowID}
			variants[key] = v
		}
		v.cycles = append(v.cycles, cycle)
		t.countRework(rework)
	}
	d.CycleTime = NewDist(cycles)
	for _, v := range variants {
		d.Variants = append(d.Variants, Variant{Steps: v.steps, Count: len(v.cycles), Share: ratio(len(v.cycles), len(trails)),
			CycleTime: NewDist(v.cycles), Example: v.example})
	}
	slices.SortFunc(d.Variants, func(a, b Variant) int {
		return cmp.Or(cmp.Compare(b.Count, a.Count), cmp.Compare(a.Example, b.Example))
	})
	for label, n := range nodes {
		d.Nodes = append(d.Nodes, Node{Label: label, Count: n})
	}
	slices.SortFunc(d.Nodes, func(a, b Node) int { return cmp.Or(cmp.Compare(b.Count, a.Count), cmp.Compare(a.Label, b.Label)) })
	all := 0.0
	for k, w := range waits {
		e := Edge{From: k.from, To: k.to, Count: len(w)}
		for _, s := range w {
			e.Total += s
		}
		e.Total = round3(e.Total)
		e.Wait = NewDist(w)
		all += e.Total
		d.Edges = append(d.Edges, e)
	}
	for i := range d.Edges {
		if all > 0 {
			d.Edges[i].Share = round4(d.Edges[i].Total / all)
		}
	}
	slices.SortFunc(d.Edges, func(a, b Edge) int {
		return cmp.Or(cmp.Compare(b.Count, a.Count), cmp.Compare(a.From, b.From), cmp.Compare(a.To, b.To))
	})
	d.Bottlenecks = slices.Clone(d.Edges)
	slices.SortStableFunc(d.Bottlenecks, func(a, b Edge) int { return cmp.Compare(b.Total, a.Total) })
	d.Bottlenecks = d.Bottlenecks[:min(5, len(d.Bottlenecks))]
	for _, kind := range []string{ReworkDelegation, ReworkEscalation, ReworkReminder, ReworkRepeated, ReworkRefused} {
		r := rework[kind]
		r.Share = ratio(r.Instances, len(trails))
		d.Rework = append(d.Rework, *r)
	}
	return d
}

// countRework adds the trail's rework to by.
func (t *Trail) countRework(by map[string]*Rework) {
	n := map[string]int{}
	for _, k := range t.Tasks {
		n[ReworkEscalation] += len(k.Escalations)
		n[ReworkReminder] += k.Reminders
		for _, d := range k.Decisions {
			if d.Verdict == humantask.Delegate {
				n[ReworkDelegation]++
			}
		}
	}
	steps := map[string]int{}
	for _, b := range t.Course {
		if b.Action == audit.ActionStepCompleted || b.Action == audit.ActionStepFailed {
			steps[b.Name]++
		}
	}
	n[ReworkRefused] = t.refused
	for _, c := range steps {
		if c > 1 {
			n[ReworkRepeated] += c - 1
		}
	}
	for kind, c := range n {
		if c > 0 {
			by[kind].Events += c
			by[kind].Instances++
		}
	}
}
