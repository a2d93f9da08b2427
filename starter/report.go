package starter

import (
	"fmt"
	"math"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/spf13/cobra"

	"github.com/batonhq/baton/config"
	"github.com/batonhq/baton/humantask"
	"github.com/batonhq/baton/internal/auditlog"
	"github.com/batonhq/baton/internal/insight"
	"github.com/batonhq/baton/internal/taskinbox"
	"github.com/batonhq/baton/policy"
	"github.com/batonhq/baton/record"
	"github.com/batonhq/baton/textsafe"
)

// ProcessReport is one process's figures over the window, overall and per
// handling path (insight.Measure: the same figures as the worker's
// /metrics).
type ProcessReport = insight.ProcessFigures

// Backlog is the open tasks one role, or one person they are named to, may
// act on.
type Backlog struct {
	Role string `json:"role,omitempty"`
	// User and Name are the person a task is named to (the onboarding
	// manager, a delegate), as the directory lists them.
	User          string  `json:"user,omitempty"`
	Name          string  `json:"name,omitempty"`
	OpenTasks     int     `json:"openTasks"`
	OldestSeconds float64 `json:"oldestAgeSeconds"`
}

// who is the backlog row's role or person, for people.
func (b Backlog) who() string {
	if b.User == "" {
		return b.Role
	}
	if b.Name == "" {
		return b.User
	}
	return b.Name + " (" + b.User + ")"
}

// Report is the whole report.
type Report struct {
	Since time.Time `json:"since"`
	Until time.Time `json:"until"`
	// CycleTime defines the figures (the one definition, insight.Span).
	CycleTime string          `json:"cycleTimeDefinition"`
	Processes []ProcessReport `json:"processes"`
	// CycleTimeSource says where the instances' timings come from:
	// audit-store (every instance started in the window, with queue
	// time) or visibility (only instances it still lists).
	CycleTimeSource string    `json:"cycleTimeSource"`
	Backlog         []Backlog `json:"backlog"`
	// Entered sets the amounts people entered at data-entry steps against
	// those requested (from the audit store's trails).
	Entered []Entered `json:"entered,omitempty"`
}

// cycleTimeDefinition is said with every report.
const cycleTimeDefinition = "cycle time: workflow start to close; queue time: workflow start to the first step (waiting for a worker)"

// visibilityRun is a visibility row as the figures count it: its start
// and close, no queue time (visibility does not know the first step).
func visibilityRun(r listRow, st humantask.TaskStats) insight.Run {
	return insight.Run{Process: r.Process, Status: r.Status, Path: r.HandlingPath, Outcome: r.Outcome,
		Span: insight.Span{Start: r.StartedAt, Close: r.ClosedAt}, Tasks: st.Tasks, Escalated: st.Escalated, Expired: st.Expired}
}

// mergeRuns joins visibility's instances with the store's trails of the
// same window: an instance the store has is counted from its trail (exact
// start, close and queue time, failed steps), with visibility's status when
// Temporal ended it without a terminal entry (terminated, cancelled, timed
// out); instances only one source knows count from it.
func mergeRuns(rows []listRow, stats []humantask.TaskStats, trails []*insight.Trail) []insight.Run {
	byID := map[string]int{}
	var runs []insight.Run
	for i, r := range rows {
		byID[r.WorkflowID] = len(runs)
		var st humantask.TaskStats
		if i < len(stats) {
			st = stats[i]
		}
		runs = append(runs, visibilityRun(r, st))
	}
	for _, t := range trails {
		run := t.Run()
		i, ok := byID[t.WorkflowID]
		if !ok {
			runs = append(runs, run)
			continue
		}
		if v := runs[i]; run.Status == "running" && v.Status != "running" {
			run.Status, run.Span.Close = v.Status, v.Span.Close
		}
		runs[i] = run
	}
	return runs
}

// backlog counts open tasks per role and per person with the oldest age;
// people are named from the directory (pol, nil: by id).
func backlog(tasks []taskinbox.Task, now time.Time, pol *policy.Policy) []Backlog {
	by := map[string]*Backlog{}
	for _, t := range tasks {
		for _, w := range t.WhoMayAct {
			b := by[w]
			if b == nil {
				b = &Backlog{Role: w}
				if user, ok := strings.CutPrefix(w, humantask.UserCandidate("")); ok {
					b.Role, b.User = "", user
					if pol != nil {
						b.Name = pol.Users[user].Name
					}
				}
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
	// Roles first, then people, each by name.
	sort.Slice(out, func(i, j int) bool {
		if (out[i].User == "") != (out[j].User == "") {
			return out[i].User == ""
		}
		return out[i].who() < out[j].who()
	})
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
		Short: "Cycle and queue times, throughput, automation, failures and errors, escalations, and the open backlog",
		Long: `Report, per process and per handling path, over instances started in the
window: started, completed, failed and open instances; throughput per hour;
cycle time p50 and p90 with its spread (standard deviation) and queue time;
automation rate (share of completed instances handled without a human task);
failure rate (ended instances that did not complete) and error rate (ended
instances with a failed step); the share of human tasks that escalated or
expired; and the current backlog of open tasks by role and by the person a
task is named to, with the oldest age (every open task, whenever its
instance started, listed from visibility alone like starter tasks).

Cycle time is the one definition every Baton figure uses: from the
workflow's start to its close; queue time, the part before its first step
(waiting for a worker), is shown apart. Timings come from the audit store
(audit.dsn) when it answers, so instances visibility no longer lists still
count; the same figures are on the worker's /metrics.`,
		Example: "  starter report\n  starter report --process loan --since 7d -o json",
		Args:    cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			from, now, err := a.sinceWindow(since, process)
			if err != nil {
				return err
			}
			rep := Report{Since: from, Until: now, CycleTime: cycleTimeDefinition, CycleTimeSource: cycleFromVisibility}
			q := processQuery(process, "StartTime >= '"+rep.Since.Format(time.RFC3339)+"'")
			rows, stats, err := a.visibilityWithStats(cmd, q, 100000)
			if err != nil {
				return err
			}
			read, err := a.storeTrails(cmd, insight.Window{Process: process, Since: from, Until: now, Started: true})
			if err != nil {
				fmt.Fprintf(a.errOut, "starter: %v; timings from visibility\n", err)
			} else {
				rep.CycleTimeSource = cycleFromStore
				read.close()
				a.sayLeftOut(read.leftOut, "the cycle times", since)
			}
			trails := read.trails
			l, err := a.lister(nil)
			if err != nil {
				return err
			}
			open, err := l.All(cmd.Context(), taskinbox.Filter{Process: process, Now: now})
			if err != nil {
				return fmt.Errorf("backlog: %v", rootMessage(err))
			}
			rep.Processes = insight.Measure(mergeRuns(rows, stats, trails), now.Sub(from).Hours(), a.catalog.Names())
			rep.Backlog = backlog(open, now, a.directory())
			rep.Entered = enteredAmounts(trails)
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

// Sources of the report's timings.
const (
	cycleFromStore      = "audit-store"
	cycleFromVisibility = "visibility"
)

// storeRead is what the report, discover and conformance read from the
// audit store: the trails, the instances left out because an entry read
// of them fails verification, and the store's pinned policies. The store
// stays open until close (conformance reads policies and, for a breach,
// a whole trail again).
type storeRead struct {
	trails   []*insight.Trail
	leftOut  []insight.LeftOut
	policies insight.Policies
	close    func()
}

// storeTrails reads the window's trails from the audit store, each entry
// it reads verified with the configured writer keys
// (audit.writer_public_keys; not configured: nothing is checked, as for
// whatif): one rule for report, discover, conformance and whatif.
func (a *app) storeTrails(cmd *cobra.Command, w insight.Window) (storeRead, error) {
	tr, err := a.trust(cmd.Context())
	if err != nil {
		return storeRead{}, err
	}
	st, err := a.auditStore(cmd)
	if err != nil {
		return storeRead{}, err
	}
	var verify insight.Verify
	var verified *auditlog.Verified
	if tr.writers != nil {
		if verified, err = a.verifiedEntries(tr); err != nil {
			st.Close()
			return storeRead{}, err
		}
		verify = verified.Check
	}
	read, err := insight.ReadVerified(cmd.Context(), st, w, verify)
	if err != nil {
		st.Close()
		return storeRead{}, err
	}
	if verified != nil {
		if err := verified.Save(); err != nil {
			fmt.Fprintf(a.errOut, "starter: %v (the entries are verified again next time)\n", err)
		}
	}
	return storeRead{trails: read.Trails, leftOut: read.LeftOut, policies: &insight.StoredPolicies{Texts: st, Check: a.catalog.CheckPolicy}, close: st.Close}, nil
}

// verifiedEntries opens what this verifier remembers of the entries it
// verified with the configured writer keys (auditlog.Verified), beside the
// checkpoint it keeps (audit.checkpoint_file's folder, by default the
// user's config dir): a window read again pays the signatures once.
func (a *app) verifiedEntries(tr *trust) (*auditlog.Verified, error) {
	cfg, err := a.config()
	if err != nil {
		return nil, err
	}
	dir := filepath.Dir(cfg.Audit.CheckpointFile)
	if cfg.Audit.CheckpointFile == "" {
		if dir, err = auditlog.DefaultStateDir(); err != nil {
			return nil, err
		}
	}
	return auditlog.OpenVerified(auditlog.VerifiedFile(dir, tr.writerKeys), tr.writers)
}

// sayLeftOut says on stderr which instances were left out of what, and
// why, so that forged rows never move a figure in silence.
func (a *app) sayLeftOut(out []insight.LeftOut, of, since string) {
	if len(out) == 0 {
		return
	}
	n := 0
	for _, l := range out {
		n += l.Failed
	}
	l := out[0]
	fmt.Fprintf(a.errOut, "starter: %d audit entries of %d instance(s) fail verification and are left out of %s (the first: %s entry %d, %s, %s): check them with starter audit --verify --since %s\n",
		n, len(out), of, textsafe.Clean(l.WorkflowID), l.Pos, textsafe.Clean(l.Action), l.Kind, since)
}

// directory is the configured policy's directory, to name people (nil
// when it does not load: ids are shown).
func (a *app) directory() *policy.Policy {
	cfg, err := a.config()
	if err != nil {
		return nil
	}
	pol, err := config.LoadPolicy(cfg.Policy.File, nil)
	if err != nil {
		return nil
	}
	return pol
}

func (a *app) printReport(r Report) error {
	fmt.Fprintf(a.out, "Instances started %s .. %s; timings from the %s.\n", r.Since.Local().Format("01-02 15:04"), r.Until.Local().Format("01-02 15:04"),
		strings.ReplaceAll(r.CycleTimeSource, "-", " "))
	fmt.Fprintf(a.out, "Cycle time: workflow start to close (p50, p90, spread = standard deviation); queue: start to the first step.\n\n")
	if len(r.Processes) == 0 {
		fmt.Fprintln(a.out, "No instance started in the window.")
	}
	type line struct {
		process, path string
		f             insight.Figures
	}
	var lines []line
	for _, p := range r.Processes {
		lines = append(lines, line{p.Process, "all", p.Figures})
		for _, path := range []string{record.PathAutomated, record.PathManual} {
			if f, ok := p.ByPath[path]; ok {
				lines = append(lines, line{"", path, f})
			}
		}
	}
	cols := []durationColumn{
		{title: "CYCLE P50", value: func(f insight.Figures) float64 { return f.CycleTime.P50 }},
		{title: "CYCLE P90", value: func(f insight.Figures) float64 { return f.CycleTime.P90 }},
		{title: "SPREAD", value: func(f insight.Figures) float64 { return f.CycleTime.StdDev }},
		{title: "QUEUE P50", value: func(f insight.Figures) float64 { return f.QueueTime.P50 }},
	}
	for i := range cols {
		var v []float64
		for _, l := range lines {
			v = append(v, cols[i].value(l.f))
		}
		cols[i].unit = unitFor(v)
	}
	w := tabwriter.NewWriter(a.out, 0, 0, 2, ' ', 0)
	header := "PROCESS\tPATH\tSTARTED\tDONE\tFAILED\tOPEN\tPER HOUR"
	for _, c := range cols {
		header += "\t" + c.title + " (" + c.unit.name + ")"
	}
	fmt.Fprintln(w, header+"\tAUTOMATED\tFAILURES\tERRORS\tESCALATED\tEXPIRED")
	for _, l := range lines {
		f := l.f
		row := fmt.Sprintf("%s\t%s\t%d\t%d\t%d\t%d\t%.2f", textsafe.Clean(l.process), l.path, f.Started, f.Completed, f.Failed, f.Open, f.ThroughputPerHour)
		for _, c := range cols {
			dist := f.CycleTime
			if c.title == "QUEUE P50" {
				dist = f.QueueTime
			}
			if dist.Count == 0 {
				row += "\t-"
			} else {
				row += "\t" + c.unit.format(c.value(f))
			}
		}
		automated := "-"
		if f.Completed > 0 {
			automated = percent(f.AutomationRate)
		}
		row += fmt.Sprintf("\t%s\t%s\t%s\t%s\t%s", automated, percent(f.FailureRate), percent(f.ErrorRate), percent(f.EscalatedShare), percent(f.ExpiredShare))
		fmt.Fprintln(w, row)
	}
	if err := w.Flush(); err != nil {
		return err
	}
	printEntered(a.out, r.Entered)
	fmt.Fprintln(a.out, "\nOpen tasks by role, and by the person they are named to:")
	if len(r.Backlog) == 0 {
		fmt.Fprintln(a.out, "  none")
		return nil
	}
	var ages []float64
	for _, b := range r.Backlog {
		ages = append(ages, b.OldestSeconds)
	}
	u := unitFor(ages)
	w = tabwriter.NewWriter(a.out, 0, 0, 2, ' ', 0)
	fmt.Fprintf(w, "  WHO\tOPEN\tOLDEST (%s)\n", u.name)
	for _, b := range r.Backlog {
		fmt.Fprintf(w, "  %s\t%d\t%s\n", textsafe.Clean(b.who()), b.OpenTasks, u.format(b.OldestSeconds))
	}
	return w.Flush()
}

// durationColumn is a table column of durations, in one unit.
type durationColumn struct {
	title string
	value func(insight.Figures) float64
	unit  unit
}

// unit is a unit of time for a column: every value of the column in it.
type unit struct {
	name    string
	seconds float64
}

// unitFor picks the unit that reads best for a column's values (seconds):
// the one its largest value reads in.
func unitFor(values []float64) unit {
	largest := 0.0
	for _, v := range values {
		largest = math.Max(largest, math.Abs(v))
	}
	switch {
	case largest < 1 && largest > 0:
		return unit{"ms", 0.001}
	case largest < 120:
		return unit{"s", 1}
	case largest < 7200:
		return unit{"min", 60}
	case largest < 2*86400:
		return unit{"h", 3600}
	default:
		return unit{"d", 86400}
	}
}

// format writes seconds in the unit, with one decimal (none for ms); a
// value too small to show in it reads "<0.1", never a false 0.
func (u unit) format(sec float64) string {
	v := sec / u.seconds
	switch {
	case u.name == "ms":
		return fmt.Sprintf("%.0f", v)
	case v > 0 && v < 0.05:
		return "<0.1"
	}
	return fmt.Sprintf("%.1f", v)
}

func percent(v float64) string { return fmt.Sprintf("%.0f%%", v*100) }
