package starter

import (
	"cmp"
	"fmt"
	"math"
	"sort"
	"strconv"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/spf13/cobra"

	"github.com/batonhq/baton/config"
	"github.com/batonhq/baton/humantask"
	"github.com/batonhq/baton/internal/taskinbox"
	"github.com/batonhq/baton/record"
	"github.com/batonhq/baton/textsafe"
)

// instance is what the report needs of one process instance.
type instance struct {
	Process      string
	Status       string // running, completed, failed, terminated, ...
	HandlingPath string
	Outcome      string
	Start, Close time.Time
	Tasks        humantask.TaskStats
}

// Cycle holds cycle-time percentiles in seconds (nearest rank).
type Cycle struct {
	Count int     `json:"count"`
	P50   float64 `json:"p50Seconds"`
	P90   float64 `json:"p90Seconds"`
	P99   float64 `json:"p99Seconds"`
}

// ProcessReport is one process's figures over the window.
type ProcessReport struct {
	Process           string           `json:"process"`
	Started           int              `json:"started"`
	Completed         int              `json:"completed"`
	Failed            int              `json:"failed"`
	Open              int              `json:"open"`
	ThroughputPerHour float64          `json:"throughputPerHour"`
	CycleTime         Cycle            `json:"cycleTime"`
	CycleTimeByPath   map[string]Cycle `json:"cycleTimeByPath"`
	AutomationRate    float64          `json:"automationRate"`
	ManualTasks       int              `json:"manualTasks"`
	EscalatedShare    float64          `json:"escalatedShare"`
	ExpiredShare      float64          `json:"expiredShare"`
	Outcomes          map[string]int   `json:"outcomes"`
}

// Backlog is the open tasks one role (or named user) may act on.
type Backlog struct {
	Role          string  `json:"role"`
	OpenTasks     int     `json:"openTasks"`
	OldestSeconds float64 `json:"oldestAgeSeconds"`
}

// Report is the whole report.
type Report struct {
	Since     time.Time       `json:"since"`
	Until     time.Time       `json:"until"`
	Processes []ProcessReport `json:"processes"`
	// CycleTimeSource says where the overall cycle times come from:
	// audit-store (exact for every instance started in the window) or
	// visibility (only instances it still lists).
	CycleTimeSource string    `json:"cycleTimeSource"`
	Backlog         []Backlog `json:"backlog"`
}

// percentile is the nearest-rank percentile of sorted values.
func percentile(sorted []float64, p float64) float64 {
	if len(sorted) == 0 {
		return 0
	}
	rank := int(math.Ceil(p / 100 * float64(len(sorted))))
	return sorted[max(rank, 1)-1]
}

func cycle(values []float64) Cycle {
	sort.Float64s(values)
	return Cycle{Count: len(values), P50: percentile(values, 50), P90: percentile(values, 90), P99: percentile(values, 99)}
}

func ratio(a, b int) float64 {
	if b == 0 {
		return 0
	}
	return math.Round(float64(a)/float64(b)*10000) / 10000
}

// aggregate computes each process's figures over a window of hours.
func aggregate(names []string, instances []instance, hours float64) []ProcessReport {
	byProcess := map[string][]instance{}
	for _, in := range instances {
		byProcess[in.Process] = append(byProcess[in.Process], in)
	}
	var out []ProcessReport
	for _, p := range names {
		list, ok := byProcess[p]
		if !ok {
			continue
		}
		r := ProcessReport{Process: p, CycleTimeByPath: map[string]Cycle{}, Outcomes: map[string]int{}}
		var all []float64
		byPath := map[string][]float64{}
		automated := 0
		for _, in := range list {
			r.Started++
			r.ManualTasks += in.Tasks.Tasks
			r.EscalatedShare += float64(in.Tasks.Escalated)
			r.ExpiredShare += float64(in.Tasks.Expired)
			switch in.Status {
			case "running":
				r.Open++
				continue
			case "completed":
				r.Completed++
			default:
				r.Failed++
				continue
			}
			if in.Outcome != "" {
				r.Outcomes[in.Outcome]++
			}
			d := in.Close.Sub(in.Start).Seconds()
			all = append(all, d)
			path := cmp.Or(in.HandlingPath, "unknown")
			byPath[path] = append(byPath[path], d)
			if in.HandlingPath == record.PathAutomated {
				automated++
			}
		}
		r.CycleTime = cycle(all)
		for path, v := range byPath {
			r.CycleTimeByPath[path] = cycle(v)
		}
		r.AutomationRate = ratio(automated, r.Completed)
		if hours > 0 {
			r.ThroughputPerHour = math.Round(float64(r.Completed)/hours*10000) / 10000
		}
		escalated, expired := int(r.EscalatedShare), int(r.ExpiredShare)
		r.EscalatedShare, r.ExpiredShare = ratio(escalated, r.ManualTasks), ratio(expired, r.ManualTasks)
		out = append(out, r)
	}
	return out
}

// backlog counts open tasks per role (and named user) with the oldest age.
func backlog(tasks []taskinbox.Task, now time.Time) []Backlog {
	by := map[string]*Backlog{}
	for _, t := range tasks {
		for _, w := range t.WhoMayAct {
			b := by[w]
			if b == nil {
				b = &Backlog{Role: w}
				by[w] = b
			}
			b.OpenTasks++
			b.OldestSeconds = math.Max(b.OldestSeconds, math.Round(now.Sub(t.OpenedAt).Seconds()))
		}
	}
	out := make([]Backlog, 0, len(by))
	for _, b := range by {
		out = append(out, *b)
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Role < out[j].Role })
	return out
}

// parseSince reads 90m, 24h or 7d.
func parseSince(s string) (time.Duration, error) {
	if d, ok := strings.CutSuffix(s, "d"); ok {
		n, err := strconv.Atoi(d)
		if err != nil || n <= 0 {
			return 0, usageErr("--since: %q is not a number of days such as 7d", s)
		}
		// A longer window overflows a time.Duration (it wrapped to a
		// window in the future, and an empty report).
		if maxDays := int(math.MaxInt64 / int64(24*time.Hour)); n > maxDays {
			return 0, usageErr("--since: %q is over the longest window, %dd", s, maxDays)
		}
		return time.Duration(n) * 24 * time.Hour, nil
	}
	d, err := time.ParseDuration(s)
	if err != nil || d <= 0 {
		return 0, usageErr("--since: %q is not a window such as 24h or 7d", s)
	}
	return d, nil
}

// sinceWindow reads --since and --process (empty: every process): the
// window of that length that ends now.
func (a *app) sinceWindow(since, process string) (from, until time.Time, err error) {
	d, err := parseSince(since)
	if err != nil {
		return from, until, err
	}
	if err := a.checkProcessFlag(process); err != nil {
		return from, until, err
	}
	until = time.Now().UTC()
	return until.Add(-d), until, nil
}

func (a *app) reportCommand() *cobra.Command {
	var process, since string
	cmd := &cobra.Command{
		Use:   "report [--process P] [--since 24h|7d]",
		Short: "Cycle times, throughput, automation rate, escalations and the open backlog",
		Long: `Report, per process, over instances started in the window: started, completed,
failed and open instances; throughput per hour; cycle time p50/p90/p99 overall
and per handling path; automation rate (share of completed instances handled
without a human task); the share of human tasks that escalated or expired; and
the current backlog of open tasks by role with the oldest age (every open task,
whenever its instance started, listed from visibility alone like starter tasks).`,
		Example: "  starter report\n  starter report --process loan --since 7d -o json",
		Args:    cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			from, now, err := a.sinceWindow(since, process)
			if err != nil {
				return err
			}
			rep := Report{Since: from, Until: now}
			q := processQuery(process, "StartTime >= '"+rep.Since.Format(time.RFC3339)+"'")
			rows, stats, err := a.visibilityWithStats(cmd, q, 100000)
			if err != nil {
				return err
			}
			var instances []instance
			for i, r := range rows {
				instances = append(instances, instance{Process: r.Process, Status: r.Status, HandlingPath: r.HandlingPath, Outcome: r.Outcome, Start: r.StartedAt, Close: r.ClosedAt, Tasks: stats[i]})
			}
			l, err := a.lister(nil)
			if err != nil {
				return err
			}
			open, err := l.All(cmd.Context(), taskinbox.Filter{Process: process, Now: now})
			if err != nil {
				return fmt.Errorf("backlog: %v", rootMessage(err))
			}
			rep.Processes = aggregate(a.catalog.Names(), instances, now.Sub(from).Hours())
			rep.Processes, rep.CycleTimeSource = a.storeCycles(cmd, rep.Processes, process, rep.Since)
			rep.Backlog = backlog(open, now)
			if a.jsonOutput() {
				return a.printJSON(rep)
			}
			return a.printReport(rep)
		},
	}
	cmd.Flags().StringVar(&process, "process", "", "only this process")
	cmd.Flags().StringVar(&since, "since", "24h", "window: instances started this recently (e.g. 90m, 24h, 7d)")
	config.AddFlags(cmd.Flags(), "audit.dsn")
	return cmd
}

func (a *app) printReport(r Report) error {
	w := tabwriter.NewWriter(a.out, 0, 0, 2, ' ', 0)
	fmt.Fprintf(w, "Instances started %s .. %s\n\n", r.Since.Local().Format("01-02 15:04"), r.Until.Local().Format("01-02 15:04"))
	fmt.Fprintln(w, "PROCESS\tSTARTED\tDONE\tFAILED\tOPEN\tPER HOUR\tCYCLE P50/P90/P99\tAUTOMATED\tESCALATED\tEXPIRED")
	for _, p := range r.Processes {
		cycleTime, automated := "-", "-"
		if p.CycleTime.Count > 0 {
			cycleTime = human(p.CycleTime.P50) + "/" + human(p.CycleTime.P90) + "/" + human(p.CycleTime.P99)
			automated = fmt.Sprintf("%.0f%%", p.AutomationRate*100)
		}
		fmt.Fprintf(w, "%s\t%d\t%d\t%d\t%d\t%.2f\t%s\t%s\t%.0f%%\t%.0f%%\n", textsafe.Clean(p.Process), p.Started, p.Completed, p.Failed, p.Open,
			p.ThroughputPerHour, cycleTime, automated, p.EscalatedShare*100, p.ExpiredShare*100)
	}
	if err := w.Flush(); err != nil {
		return err
	}
	fmt.Fprintf(a.out, "\nCycle times from the %s.\n", strings.ReplaceAll(r.CycleTimeSource, "-", " "))
	fmt.Fprintln(a.out, "\nCycle time by handling path (p50 / p90, from visibility):")
	for _, p := range r.Processes {
		for _, path := range []string{record.PathAutomated, record.PathManual} {
			if c, ok := p.CycleTimeByPath[path]; ok {
				fmt.Fprintf(a.out, "  %-11s %-10s %d done, %s / %s\n", textsafe.Clean(p.Process), path, c.Count, human(c.P50), human(c.P90))
			}
		}
	}
	fmt.Fprintln(a.out, "\nOpen tasks by role:")
	if len(r.Backlog) == 0 {
		fmt.Fprintln(a.out, "  none")
	}
	for _, b := range r.Backlog {
		fmt.Fprintf(a.out, "  %-20s %3d open, oldest %s\n", textsafe.Clean(b.Role), b.OpenTasks, human(b.OldestSeconds))
	}
	return nil
}

// human renders seconds as 850ms, 42s, 12m, 5.5h or 3.2d.
func human(sec float64) string {
	switch {
	case sec < 1:
		return fmt.Sprintf("%.0fms", sec*1000)
	case sec < 120:
		return fmt.Sprintf("%.0fs", sec)
	case sec < 7200:
		return fmt.Sprintf("%.0fm", sec/60)
	case sec < 2*86400:
		return fmt.Sprintf("%.1fh", sec/3600)
	default:
		return fmt.Sprintf("%.1fd", sec/86400)
	}
}
