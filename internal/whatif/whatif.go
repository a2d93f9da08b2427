// Package whatif replays a proposed policy over instances that finished:
// each routing decision is taken again, with the process's own routing
// function (process.Description.Routing, the one the workflow uses), on the
// facts the instance recorded, and the outcome is set beside what happened:
// automation rate, path changes, human workload, cycle time, and the risk
// (what the proposal would decide automatically against what people
// decided).
//
// Evaluation is pure: instances come from a Source (Temporal histories,
// or the durable audit store: package whatifstore) and nothing here talks
// to a server.
package whatif

import (
	"cmp"
	"context"
	"fmt"
	"math"
	"slices"
	"time"

	"github.com/batonhq/baton/audit"
	"github.com/batonhq/baton/process"

	"github.com/batonhq/baton/humantask"
	"github.com/batonhq/baton/internal/insight"
	"github.com/batonhq/baton/policy"
	"github.com/batonhq/baton/record"
)

// Instance is one finished process instance as a source knows it.
type Instance struct {
	Process     string
	BusinessKey string
	// Status is how the execution closed: completed, failed, terminated,
	// canceled, timed_out. Only completed instances recorded a result.
	Status       string
	Start, Close time.Time
	// Recorded says the source holds what the instance recorded for a
	// what-if: Facts ({} when it ended before routing), Path, Outcome and
	// Tasks. Instances finished before facts were recorded have not.
	Recorded bool
	// Unreadable says why the source could not read what the instance
	// recorded (its result or stored data); such an instance is listed as
	// not evaluated with this reason.
	Unreadable string
	Path       string
	Outcome    string
	Decision   string
	Facts      map[string]string
	Tasks      []audit.TaskOutcome
}

// Window selects instances by the time they finished, and optionally by
// process ("" for all).
type Window struct {
	Process      string
	Since, Until time.Time
}

// Source lists the instances that finished in a window, every one of them:
// those whose facts it cannot read come back with Recorded false, so they
// are counted, not dropped.
type Source interface {
	Finished(ctx context.Context, w Window) ([]Instance, error)
}

// Report is a proposed policy replayed over a window.
type Report struct {
	PolicyVersion string `json:"proposedPolicyVersion"`
	// Source says where the facts came from (set by the caller): "history"
	// or "audit-store"; SourceNote what a reader should know about it.
	Source     string    `json:"source,omitempty"`
	SourceNote string    `json:"sourceNote,omitempty"`
	Since      time.Time `json:"since"`
	Until      time.Time `json:"until"`
	Processes  []Process `json:"processes"`
}

// Process is one process's figures: what happened (Current) and what the
// proposed policy would have done (Proposed) on the same instances.
type Process struct {
	Process string `json:"process"`
	// Finished counts every instance that finished in the window;
	// Evaluated those re-decided; NotEvaluated lists the others and why.
	Finished     int       `json:"finished"`
	Evaluated    int       `json:"evaluated"`
	NotEvaluated []Skipped `json:"notEvaluated"`
	Current      Side      `json:"current"`
	Proposed     Side      `json:"proposed"`
	// ToManual and ToAutomated list the instances that change path.
	ToManual    []string `json:"toManual"`
	ToAutomated []string `json:"toAutomated"`
	// AutoApprovedRejected: the proposal would approve them automatically;
	// people rejected them. AutoDeclinedApproved: the reverse.
	AutoApprovedRejected []string `json:"autoApprovedButRejected"`
	AutoDeclinedApproved []string `json:"autoDeclinedButApproved"`
	// DecisionChanged lists instances that keep their path under another
	// decision (an approval chain of other levels, an automated approval
	// turned decline).
	DecisionChanged []string `json:"decisionChanged"`
	// CycleTimeChangeSeconds is Proposed less Current mean cycle time.
	CycleTimeChangeSeconds float64  `json:"cycleTimeChangeSeconds"`
	Measured               Measured `json:"measured"`
	// Instances is each evaluated instance, for a reader who checks.
	Instances []Evaluated `json:"instances"`
}

// Side is one policy's figures over the evaluated instances.
type Side struct {
	Automated      int     `json:"automated"`
	Manual         int     `json:"manual"`
	AutomationRate float64 `json:"automationRate"`
	// Tasks are human tasks; PersonHours the hours they were open with
	// people (waiting for, then taking, decisions). Proposed figures for an
	// instance that moves to the manual path are the measured means.
	Tasks            float64 `json:"tasks"`
	PersonHours      float64 `json:"personHours"`
	MeanCycleSeconds float64 `json:"meanCycleSeconds"`
}

// Measured are the process's figures the estimates rest on, from the
// evaluated instances as they ran.
type Measured struct {
	// MeanCycleSecondsByPath is the mean cycle time per handling path.
	MeanCycleSecondsByPath map[string]float64 `json:"meanCycleSecondsByPath"`
	// MeanTasksManual and MeanPersonHoursManual are per manual instance.
	MeanTasksManual       float64 `json:"meanTasksManual"`
	MeanPersonHoursManual float64 `json:"meanPersonHoursManual"`
	// MeanTaskWaitSeconds is from a task's opening to its first decision;
	// MeanDecisionSeconds from the first decision to its close (a second
	// approver, say).
	MeanTaskWaitSeconds float64 `json:"meanTaskWaitSeconds"`
	MeanDecisionSeconds float64 `json:"meanDecisionSeconds"`
	// Unmeasured counts instances that move to a path no instance took in
	// the window: they keep their own cycle time, and no tasks are added.
	Unmeasured int `json:"unmeasured"`
}

// Skipped is an instance not evaluated, and why.
type Skipped struct {
	BusinessKey string `json:"businessKey"`
	Reason      string `json:"reason"`
}

// Evaluated is one instance re-decided.
type Evaluated struct {
	BusinessKey  string `json:"businessKey"`
	CurrentPath  string `json:"currentPath"`
	ProposedPath string `json:"proposedPath"`
	// CurrentDecision is the routing decision taken; Decision and Verdict
	// are the proposed routing's (Verdict empty when people would decide);
	// People is what people decided (approve, reject, or empty).
	CurrentDecision string `json:"currentDecision,omitempty"`
	Decision        string `json:"decision,omitempty"`
	Verdict         string `json:"verdict,omitempty"`
	People          string `json:"people,omitempty"`
	// BeforeRouting: the instance ended before its routing decision, so no
	// policy changes it.
	BeforeRouting bool    `json:"beforeRouting,omitempty"`
	CycleSeconds  float64 `json:"cycleSeconds"`
	Tasks         int     `json:"tasks"`
	PersonHours   float64 `json:"personHours"`
	tasks         []audit.TaskOutcome
}

// Reasons an instance is not evaluated.
const (
	ReasonNotRecorded = "facts not recorded (the instance finished before Baton recorded them)"
	ReasonNoResult    = "no result: the instance %s"
	ReasonUnknown     = "unknown process"
	ReasonUnreadable  = "facts unreadable: %v"
)

// Evaluate replays proposed over the instances (any order), per process in
// name order.
func Evaluate(c *process.Catalog, instances []Instance, proposed *policy.Policy, since, until time.Time) Report {
	rep := Report{PolicyVersion: proposed.Version, Since: since, Until: until, Processes: []Process{}}
	byProcess := map[string][]Instance{}
	for _, in := range instances {
		byProcess[in.Process] = append(byProcess[in.Process], in)
	}
	names := c.Names()
	for p := range byProcess {
		if !slices.Contains(names, p) {
			names = append(names, p)
		}
	}
	for _, name := range names {
		list, ok := byProcess[name]
		if !ok {
			continue
		}
		slices.SortFunc(list, func(a, b Instance) int {
			return cmp.Or(a.Close.Compare(b.Close), cmp.Compare(a.BusinessKey, b.BusinessKey))
		})
		d, _ := c.Lookup(name)
		rep.Processes = append(rep.Processes, evaluate(d, name, list, proposed))
	}
	return rep
}

func evaluate(d *process.Description, name string, list []Instance, proposed *policy.Policy) Process {
	p := Process{
		Process: name, Finished: len(list), NotEvaluated: []Skipped{},
		ToManual: []string{}, ToAutomated: []string{}, AutoApprovedRejected: []string{}, AutoDeclinedApproved: []string{},
		DecisionChanged: []string{}, Instances: []Evaluated{}, Measured: Measured{MeanCycleSecondsByPath: map[string]float64{}},
	}
	known := d != nil
	for _, in := range list {
		skip := func(reason string) { p.NotEvaluated = append(p.NotEvaluated, Skipped{in.BusinessKey, reason}) }
		switch {
		case !known:
			skip(ReasonUnknown)
			continue
		case in.Status != "completed":
			skip(fmt.Sprintf(ReasonNoResult, in.Status))
			continue
		case in.Unreadable != "":
			skip(fmt.Sprintf(ReasonUnreadable, in.Unreadable))
			continue
		case !in.Recorded:
			skip(ReasonNotRecorded)
			continue
		}
		e := Evaluated{BusinessKey: in.BusinessKey, CurrentPath: in.Path, CurrentDecision: in.Decision, People: people(in.Tasks),
			CycleSeconds: insight.Cycle(in.Start, in.Close), Tasks: len(in.Tasks), PersonHours: taskHours(in.Tasks), tasks: in.Tasks}
		route, err := d.Routing(in.Facts, proposed)
		switch {
		case err != nil && len(in.Facts) == 0:
			e.ProposedPath, e.BeforeRouting = in.Path, true
		case err != nil:
			skip(fmt.Sprintf(ReasonUnreadable, err))
			continue
		default:
			e.ProposedPath, e.Decision, e.Verdict = route.Path, route.Decision, route.Verdict
		}
		p.Instances = append(p.Instances, e)
	}
	p.Evaluated = len(p.Instances)
	p.measure()
	p.compare()
	return p
}

// measure computes the per-path means from the instances as they ran.
func (p *Process) measure() {
	sums, counts := map[string]float64{}, map[string]int{}
	manual, manualTasks, manualHours := 0, 0, 0.0
	for _, e := range p.Instances {
		sums[e.CurrentPath] += e.CycleSeconds
		counts[e.CurrentPath]++
		if e.CurrentPath == record.PathManual {
			manual++
			manualTasks += e.Tasks
			manualHours += e.PersonHours
		}
	}
	for path, n := range counts {
		p.Measured.MeanCycleSecondsByPath[path] = round(sums[path]/float64(n), 3)
	}
	if manual > 0 {
		p.Measured.MeanTasksManual = round(float64(manualTasks)/float64(manual), 4)
		p.Measured.MeanPersonHoursManual = round(manualHours/float64(manual), 4)
	}
	var wait, decide []float64
	for _, e := range p.Instances {
		for _, t := range e.tasks {
			if len(t.Decisions) == 0 || t.ClosedAt.IsZero() {
				continue
			}
			first := t.Decisions[0].At
			wait = append(wait, first.Sub(t.OpenedAt).Seconds())
			decide = append(decide, t.ClosedAt.Sub(first).Seconds())
		}
	}
	p.Measured.MeanTaskWaitSeconds = round(mean(wait), 3)
	p.Measured.MeanDecisionSeconds = round(mean(decide), 3)
}

// compare fills both sides, the path changes and the risk lists.
func (p *Process) compare() {
	var cur, prop []float64
	curTasks, propTasks := 0.0, 0.0
	curHours, propHours := 0.0, 0.0
	for _, e := range p.Instances {
		count(&p.Current, e.CurrentPath)
		count(&p.Proposed, e.ProposedPath)
		cur = append(cur, e.CycleSeconds)
		curTasks += float64(e.Tasks)
		curHours += e.PersonHours
		if e.ProposedPath == e.CurrentPath {
			prop = append(prop, e.CycleSeconds)
			propTasks += float64(e.Tasks)
			propHours += e.PersonHours
		} else {
			switch e.ProposedPath {
			case record.PathManual:
				p.ToManual = append(p.ToManual, e.BusinessKey)
				if p.Measured.MeanTasksManual > 0 {
					propTasks += p.Measured.MeanTasksManual
					propHours += p.Measured.MeanPersonHoursManual
				}
			case record.PathAutomated:
				p.ToAutomated = append(p.ToAutomated, e.BusinessKey)
			}
			if m, ok := p.Measured.MeanCycleSecondsByPath[e.ProposedPath]; ok {
				prop = append(prop, m)
			} else {
				p.Measured.Unmeasured++
				prop = append(prop, e.CycleSeconds)
			}
		}
		if e.ProposedPath == e.CurrentPath && e.CurrentDecision != "" && e.Decision != "" && e.Decision != e.CurrentDecision {
			p.DecisionChanged = append(p.DecisionChanged, e.BusinessKey)
		}
		if e.ProposedPath == record.PathAutomated && !e.BeforeRouting {
			switch {
			case e.Verdict == humantask.Approve && e.People == humantask.Reject:
				p.AutoApprovedRejected = append(p.AutoApprovedRejected, e.BusinessKey)
			case e.Verdict == humantask.Reject && e.People == humantask.Approve:
				p.AutoDeclinedApproved = append(p.AutoDeclinedApproved, e.BusinessKey)
			}
		}
	}
	n := float64(len(p.Instances))
	for _, s := range []*Side{&p.Current, &p.Proposed} {
		if n > 0 {
			s.AutomationRate = round(float64(s.Automated)/n, 4)
		}
	}
	p.Current.Tasks, p.Proposed.Tasks = round(curTasks, 2), round(propTasks, 2)
	p.Current.PersonHours, p.Proposed.PersonHours = round(curHours, 4), round(propHours, 4)
	p.Current.MeanCycleSeconds, p.Proposed.MeanCycleSeconds = round(mean(cur), 3), round(mean(prop), 3)
	p.CycleTimeChangeSeconds = round(p.Proposed.MeanCycleSeconds-p.Current.MeanCycleSeconds, 3)
}

func count(s *Side, path string) {
	switch path {
	case record.PathAutomated:
		s.Automated++
	case record.PathManual:
		s.Manual++
	}
}

// people is what people decided on the instance: reject when any task was
// rejected, approve when every task (at least one) was approved, else ""
// (expired, cancelled, or no task).
func people(tasks []audit.TaskOutcome) string {
	if len(tasks) == 0 {
		return ""
	}
	approved := true
	for _, t := range tasks {
		if t.State == humantask.StateRejected {
			return humantask.Reject
		}
		approved = approved && t.State == humantask.StateApproved
	}
	if approved {
		return humantask.Approve
	}
	return ""
}

// taskHours is how long the tasks were open, in hours.
func taskHours(tasks []audit.TaskOutcome) float64 {
	var d time.Duration
	for _, t := range tasks {
		if !t.ClosedAt.IsZero() {
			d += t.ClosedAt.Sub(t.OpenedAt)
		}
	}
	return d.Hours()
}

func mean(v []float64) float64 {
	if len(v) == 0 {
		return 0
	}
	s := 0.0
	for _, x := range v {
		s += x
	}
	return s / float64(len(v))
}

func round(v float64, digits int) float64 {
	f := math.Pow(10, float64(digits))
	return math.Round(v*f) / f
}
