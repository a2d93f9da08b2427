package insight

import (
	"maps"
	"math"
	"slices"
	"time"

	"github.com/batonhq/baton/audit"
	"github.com/batonhq/baton/humantask"
	"github.com/batonhq/baton/record"
)

// Dist summarises durations in seconds: nearest-rank percentiles, the
// mean and the standard deviation (the spread a manager asks about as
// "variance", in the figures' own unit).
type Dist struct {
	Count  int     `json:"count"`
	P50    float64 `json:"p50Seconds"`
	P90    float64 `json:"p90Seconds"`
	P99    float64 `json:"p99Seconds"`
	Mean   float64 `json:"meanSeconds"`
	StdDev float64 `json:"stdDevSeconds"`
}

// NewDist summarises values (seconds; sorted in place).
func NewDist(values []float64) Dist {
	slices.Sort(values)
	d := Dist{Count: len(values)}
	if len(values) == 0 {
		return d
	}
	d.P50, d.P90, d.P99 = Percentile(values, 50), Percentile(values, 90), Percentile(values, 99)
	sum := 0.0
	for _, v := range values {
		sum += v
	}
	d.Mean = sum / float64(len(values))
	sq := 0.0
	for _, v := range values {
		sq += (v - d.Mean) * (v - d.Mean)
	}
	d.StdDev = math.Sqrt(sq / float64(len(values)))
	d.P50, d.P90, d.P99, d.Mean, d.StdDev = round3(d.P50), round3(d.P90), round3(d.P99), round3(d.Mean), round3(d.StdDev)
	return d
}

// Percentile is the nearest-rank percentile p (0..100) of sorted values.
func Percentile(sorted []float64, p float64) float64 {
	if len(sorted) == 0 {
		return 0
	}
	rank := int(math.Ceil(p / 100 * float64(len(sorted))))
	return sorted[max(rank, 1)-1]
}

func round3(v float64) float64 { return math.Round(v*1000) / 1000 }
func round4(v float64) float64 { return math.Round(v*10000) / 10000 }

// Run is one instance as the figures count it, from a trail or from
// visibility (whichever source knows it).
type Run struct {
	Process string `json:"process"`
	// Status is running, completed, failed, or how Temporal closed it
	// (terminated, canceled, timed_out).
	Status  string `json:"status"`
	Path    string `json:"path,omitempty"`
	Outcome string `json:"outcome,omitempty"`
	Span    Span   `json:"-"`
	// Tasks, Escalated and Expired count its human tasks; StepErrors its
	// steps that failed (a system's refusal or an error after retries).
	Tasks      int `json:"tasks"`
	Escalated  int `json:"escalated"`
	Expired    int `json:"expired"`
	StepErrors int `json:"stepErrors"`
}

// Run is the trail as the figures count it.
func (t *Trail) Run() Run {
	r := Run{Process: t.Process, Status: "running", Path: t.Path, Outcome: t.Outcome, Span: t.Span}
	switch t.Ended {
	case audit.ActionCompleted:
		r.Status = "completed"
	case audit.ActionFailed:
		r.Status = "failed"
	}
	for _, k := range t.Tasks {
		r.Tasks++
		if len(k.Escalations) > 0 {
			r.Escalated++
		}
		if k.State == humantask.StateExpired {
			r.Expired++
		}
	}
	for _, b := range t.Course {
		if b.Action == audit.ActionStepFailed {
			r.StepErrors++
		}
	}
	return r
}

// Figures are one process's (or one handling path's) figures over a
// window.
type Figures struct {
	Started   int `json:"started"`
	Completed int `json:"completed"`
	// Failed counts instances that did not complete: failed, terminated,
	// cancelled or timed out.
	Failed            int     `json:"failed"`
	Open              int     `json:"open"`
	ThroughputPerHour float64 `json:"throughputPerHour"`
	// CycleTime is workflow start to close of the completed instances;
	// QueueTime workflow start to the first entry (waiting for a worker),
	// where the trail records both.
	CycleTime Dist `json:"cycleTime"`
	QueueTime Dist `json:"queueTime"`
	// FailureRate is Failed over ended instances; ErrorRate the share of
	// ended instances with a failed step; AutomationRate the share of
	// completed instances handled without a human task.
	FailureRate    float64 `json:"failureRate"`
	ErrorRate      float64 `json:"errorRate"`
	AutomationRate float64 `json:"automationRate"`
	// Tasks counts human tasks; EscalatedShare and ExpiredShare are the
	// shares of them that escalated or expired.
	Tasks          int            `json:"manualTasks"`
	EscalatedShare float64        `json:"escalatedShare"`
	ExpiredShare   float64        `json:"expiredShare"`
	Outcomes       map[string]int `json:"outcomes"`
}

// ProcessFigures are a process's figures, overall and per handling path.
type ProcessFigures struct {
	Process string `json:"process"`
	Figures
	ByPath map[string]Figures `json:"byPath"`
}

// Measure computes each process's figures (in the order of processes, then
// any other, by name) over runs in a window of hours.
func Measure(runs []Run, hours float64, processes []string) []ProcessFigures {
	byProcess := map[string][]Run{}
	for _, r := range runs {
		byProcess[r.Process] = append(byProcess[r.Process], r)
	}
	names := slices.Clone(processes)
	for _, p := range slices.Sorted(maps.Keys(byProcess)) {
		if !slices.Contains(names, p) {
			names = append(names, p)
		}
	}
	var out []ProcessFigures
	for _, name := range names {
		list, ok := byProcess[name]
		if !ok {
			continue
		}
		pf := ProcessFigures{Process: name, Figures: measure(list, hours), ByPath: map[string]Figures{}}
		byPath := map[string][]Run{}
		for _, r := range list {
			if r.Path != "" {
				byPath[r.Path] = append(byPath[r.Path], r)
			}
		}
		for path, l := range byPath {
			pf.ByPath[path] = measure(l, hours)
		}
		out = append(out, pf)
	}
	return out
}

func measure(runs []Run, hours float64) Figures {
	f := Figures{Outcomes: map[string]int{}}
	var cycle, queue []float64
	automated, errored, escalated, expired := 0, 0, 0, 0
	for _, r := range runs {
		f.Started++
		f.Tasks += r.Tasks
		escalated += r.Escalated
		expired += r.Expired
		switch r.Status {
		case "running":
			f.Open++
			continue
		case "completed":
			f.Completed++
			if r.Outcome != "" {
				f.Outcomes[r.Outcome]++
			}
			if r.Path == record.PathAutomated {
				automated++
			}
			if !r.Span.Close.IsZero() {
				cycle = append(cycle, r.Span.Cycle().Seconds())
			}
		default:
			f.Failed++
		}
		if r.StepErrors > 0 {
			errored++
		}
		if r.Span.QueueKnown() {
			queue = append(queue, r.Span.Queue().Seconds())
		}
	}
	f.CycleTime, f.QueueTime = NewDist(cycle), NewDist(queue)
	ended := f.Completed + f.Failed
	f.FailureRate, f.ErrorRate = ratio(f.Failed, ended), ratio(errored, ended)
	f.AutomationRate = ratio(automated, f.Completed)
	f.EscalatedShare, f.ExpiredShare = ratio(escalated, f.Tasks), ratio(expired, f.Tasks)
	if hours > 0 {
		f.ThroughputPerHour = round4(float64(f.Completed) / hours)
	}
	return f
}

func ratio(a, b int) float64 {
	if b == 0 {
		return 0
	}
	return round4(float64(a) / float64(b))
}

// Week is one calendar week's figures (weeks start on Monday, UTC), by the
// close of the instances that completed in it.
type Week struct {
	Start          time.Time `json:"start"`
	Completed      int       `json:"completed"`
	AutomationRate float64   `json:"automationRate"`
	CycleTime      Dist      `json:"cycleTime"`
}

// Weekly groups completed runs by the week they closed in, oldest first.
func Weekly(runs []Run) []Week {
	by := map[time.Time][]Run{}
	for _, r := range runs {
		if r.Status != "completed" || r.Span.Close.IsZero() {
			continue
		}
		w := weekStart(r.Span.Close)
		by[w] = append(by[w], r)
	}
	var out []Week
	for _, w := range slices.SortedFunc(maps.Keys(by), func(a, b time.Time) int { return a.Compare(b) }) {
		list := by[w]
		var cycle []float64
		automated := 0
		for _, r := range list {
			cycle = append(cycle, r.Span.Cycle().Seconds())
			if r.Path == record.PathAutomated {
				automated++
			}
		}
		out = append(out, Week{Start: w, Completed: len(list), AutomationRate: ratio(automated, len(list)), CycleTime: NewDist(cycle)})
	}
	return out
}

// weekStart is the Monday 00:00 UTC of t's week.
func weekStart(t time.Time) time.Time {
	t = t.UTC()
	day := time.Date(t.Year(), t.Month(), t.Day(), 0, 0, 0, 0, time.UTC)
	offset := (int(day.Weekday()) + 6) % 7
	return day.AddDate(0, 0, -offset)
}

// BacklogPoint is how many tasks each role (or named user, as
// humantask.UserCandidate) could act on at one time.
type BacklogPoint struct {
	At     time.Time      `json:"at"`
	ByRole map[string]int `json:"byRole"`
}

// Backlog samples the open tasks of trails at steps points from since to
// until: a task counts for each of its candidates (roles, added roles on
// escalation, named users and delegates) while open.
func Backlog(trails []*Trail, since, until time.Time, steps int) []BacklogPoint {
	steps = max(steps, 2)
	type span struct {
		opened, closed time.Time
		who            []string
	}
	var spans []span
	for _, t := range trails {
		for _, k := range t.Tasks {
			who := slices.Clone(k.Roles)
			who = append(who, k.AddedRoles...)
			for _, u := range k.Users {
				who = append(who, humantask.UserCandidate(u))
			}
			for _, d := range k.Decisions {
				if d.DelegateTo != "" {
					who = append(who, humantask.UserCandidate(d.DelegateTo))
				}
			}
			slices.Sort(who)
			spans = append(spans, span{k.Opened, k.Closed, slices.Compact(who)})
		}
	}
	step := until.Sub(since) / time.Duration(steps-1)
	out := make([]BacklogPoint, 0, steps)
	for i := range steps {
		at := since.Add(time.Duration(i) * step)
		p := BacklogPoint{At: at, ByRole: map[string]int{}}
		for _, s := range spans {
			if !s.opened.After(at) && (s.closed.IsZero() || s.closed.After(at)) {
				for _, w := range s.who {
					p.ByRole[w]++
				}
			}
		}
		out = append(out, p)
	}
	return out
}
