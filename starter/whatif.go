package starter

import (
	"context"
	"fmt"
	"io"
	"slices"
	"strings"
	"sync"
	"text/tabwriter"
	"time"

	"github.com/spf13/cobra"
	"go.temporal.io/sdk/client"

	"github.com/batonhq/baton/config"
	"github.com/batonhq/baton/internal/auditstore"
	"github.com/batonhq/baton/internal/whatif"
	"github.com/batonhq/baton/internal/whatifstore"
	"github.com/batonhq/baton/process"
)

// --source values of whatif, and where the report says its facts came from.
const (
	whatifAuto    = "auto"
	whatifStore   = "store"
	whatifHistory = "history"

	factsFromStore   = "audit-store"
	factsFromHistory = "history"
)

func (a *app) whatifCommand() *cobra.Command {
	var proposed, process, since, source string
	var show whatifShow
	cmd := &cobra.Command{
		Use:   "whatif --policy proposed.yaml [--process P] [--since 30d] [--source auto|store|history] [--all] [--keys]",
		Short: "Replay a proposed policy over finished instances: automation, workload, cycle time, risk",
		Long: `whatif takes every instance that finished in the window and takes its routing
decision again under the proposed policy, with the process's own routing
function (the one the workflow runs) on the facts the instance recorded
(risk score and amount, fraud score, triage score, expense amount...).

Per process, for the current (what happened) and the proposed policy: the
automation rate; the instances that change path (automated to manual and
back); human tasks and person-hours (hours tasks were open with people); the
mean cycle time, where an instance that changes path takes the mean measured
cycle time of its new path; and the risk: instances the proposal would
approve automatically that people rejected, and those it would decline
automatically that people approved, by business key.

Facts come from the durable audit store (audit.dsn, BATON_AUDIT_DSN) when it
is reachable: each instance's completed entry records them, so the window may
reach beyond Temporal's retention; instances that Temporal ended without a
last entry in the store (terminated, cancelled, timed out, or completed
without their trail in the store: their facts from their results) are added
from visibility while it lists them. Without the store, facts come from each instance's result in
its Temporal history (no worker needed). --source store or history picks one;
with auto (the default) an audit.dsn set to anything but the make dev default
that does not answer is an error, not a silent fall-back. The report says
which source it used. Instances that failed, or finished before Baton
recorded their facts, are listed as not evaluated, with why. Here --policy
names the proposed policy; it is validated like the worker's.`,
		Example: "  starter whatif --policy proposed.yaml\n  starter whatif --policy proposed.yaml --process loan --since 7d -o json\n  starter whatif --policy proposed.yaml --source history",
		Args:    cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			begin, end, err := a.sinceWindow(since, process)
			if err != nil {
				return err
			}
			if !slices.Contains([]string{whatifAuto, whatifStore, whatifHistory}, source) {
				return usageErr("--source: %q is not auto, store or history", source)
			}
			pol, err := config.LoadPolicy(proposed, a.catalog.CheckPolicy)
			if err != nil {
				return &codedError{exitUsage, err}
			}
			w := whatif.Window{Process: process, Since: begin, Until: end}
			instances, from, note, err := a.whatifInstances(cmd, source, w)
			if err != nil {
				return err
			}
			rep := whatif.Evaluate(a.catalog, instances, pol, w.Since, w.Until)
			rep.Source, rep.SourceNote = from, note
			if a.jsonOutput() {
				return a.printJSON(rep)
			}
			return printWhatif(a.out, rep, show)
		},
	}
	f := cmd.Flags()
	f.StringVar(&proposed, "policy", "", "the proposed policy file (YAML)")
	f.StringVar(&process, "process", "", "only this process")
	f.StringVar(&since, "since", "30d", "window: instances finished this recently (e.g. 24h, 30d)")
	f.StringVar(&source, "source", whatifAuto, "where facts come from: auto (the audit store when it answers, else histories), store, history")
	f.BoolVar(&show.all, "all", false, "also list processes the proposal changes nothing in")
	f.BoolVar(&show.keys, "keys", false, "list every business key (by default at most 5 per list, with the count)")
	config.AddFlags(f, "audit.dsn")
	_ = cmd.MarkFlagRequired("policy")
	return cmd
}

// whatifInstances reads the window's finished instances from the source
// asked for, and says which source it used (and what to know about it).
func (a *app) whatifInstances(cmd *cobra.Command, source string, w whatif.Window) (_ []whatif.Instance, from, note string, _ error) {
	if source != whatifHistory {
		st, err := a.auditStore(cmd)
		if err == nil {
			defer st.Close()
			return a.storeInstances(cmd, st, w)
		}
		if source == whatifStore || a.auditDSNConfigured() {
			return nil, "", "", fmt.Errorf("%v (or --source history: facts from the histories)", err)
		}
		fmt.Fprintf(a.errOut, "starter: %v; facts from the histories\n", err)
	}
	// Visibility finds the instances; each one's result (the close event of
	// its history, decoded with the client's data converter) holds its
	// facts, path, outcome and tasks.
	rows, err := a.closedRuns(cmd, w)
	if err != nil {
		return nil, "", "", err
	}
	return readResults(cmd.Context(), a.client, rows), factsFromHistory, "", nil
}

// auditDSNConfigured reports whether audit.dsn was set to something other
// than make dev's database: then an unreachable store is an error.
func (a *app) auditDSNConfigured() bool {
	cfg, err := a.config()
	return err == nil && cfg.Audit.DSN != config.DefaultAuditDSN
}

// storeInstances reads the instances from the audit store, then adds
// those Temporal closed without a terminal entry of theirs in the store's
// window from visibility while it lists them: terminated, cancelled, timed
// out, failed before the record started, and completed ones whose trail
// the store does not have (they ran without audit writes or before the
// store existed, the store refused their trail, or their last entry falls
// outside the window): a completed one's facts are read from its result.
// They are counted, never dropped. Without Temporal, the store's instances
// stand and the note says what is missing.
func (a *app) storeInstances(cmd *cobra.Command, st *auditstore.Store, w whatif.Window) (_ []whatif.Instance, from, note string, _ error) {
	tr, err := a.trust(cmd.Context())
	if err != nil {
		return nil, "", "", err
	}
	instances, err := whatifstore.Source{Store: st, Writers: tr.writers}.Finished(cmd.Context(), w)
	if err != nil {
		return nil, "", "", err
	}
	from = factsFromStore
	rows, err := a.closedRuns(cmd, w)
	if err != nil {
		note = "instances Temporal ended without a last audit entry are not listed (" + err.Error() + ")"
		fmt.Fprintf(a.errOut, "starter: %s\n", note)
		return instances, from, note, nil
	}
	seen := map[string]bool{}
	for _, in := range instances {
		seen[in.BusinessKey] = true
	}
	var missing []listRow
	for _, r := range rows {
		if !seen[r.WorkflowID] {
			missing = append(missing, r)
		}
	}
	added := readResults(cmd.Context(), a.client, missing)
	if len(added) > 0 {
		note = fmt.Sprintf("%d instance(s) Temporal ended without a last audit entry listed from visibility", len(added))
	}
	return append(instances, added...), from, note, nil
}

// closedRuns lists the window's closed instances from visibility, each by
// its latest run: a run reset, or rerun under the same business key, is
// superseded by the later one, as the audit store's chain of that key is
// (auditstore.Ended).
func (a *app) closedRuns(cmd *cobra.Command, w whatif.Window) ([]listRow, error) {
	rows, err := a.visibility(cmd, closedQuery(w), 1_000_000)
	if err != nil {
		return nil, err
	}
	return latestRuns(rows), nil
}

// latestRuns keeps, of each workflow ID, the run that closed last (the
// first listed when two closed at once), in the order listed.
func latestRuns(rows []listRow) []listRow {
	latest := map[string]int{}
	for i, r := range rows {
		if j, ok := latest[r.WorkflowID]; !ok || r.ClosedAt.After(rows[j].ClosedAt) {
			latest[r.WorkflowID] = i
		}
	}
	out := make([]listRow, 0, len(latest))
	for i, r := range rows {
		if latest[r.WorkflowID] == i {
			out = append(out, r)
		}
	}
	return out
}

// closedQuery is the visibility query of the window's closed instances.
func closedQuery(w whatif.Window) string {
	return processQuery(w.Process,
		"ExecutionStatus != 'Running'",
		"CloseTime >= '"+w.Since.Format(time.RFC3339)+"'",
		"CloseTime <= '"+w.Until.Format(time.RFC3339Nano)+"'")
}

// resultsInFlight bounds the history reads in flight.
const resultsInFlight = 8

// readResults makes instances of visibility's rows, each completed one's
// facts read from its result, resultsInFlight at a time. A result that
// cannot be read makes its instance unreadable (listed, with why), not the
// report fail.
func readResults(ctx context.Context, cl client.Client, rows []listRow) []whatif.Instance {
	out := make([]whatif.Instance, len(rows))
	sem := make(chan struct{}, resultsInFlight)
	var wg sync.WaitGroup
	for i, r := range rows {
		out[i] = whatif.Instance{Process: r.Process, BusinessKey: r.WorkflowID, Status: r.Status, Start: r.StartedAt, Close: r.ClosedAt}
		if r.Status != "completed" {
			continue
		}
		wg.Add(1)
		sem <- struct{}{}
		go func() {
			defer func() { <-sem; wg.Done() }()
			if err := readResult(ctx, cl, r.WorkflowID, r.RunID, &out[i]); err != nil {
				out[i].Unreadable = err.Error()
			}
		}()
	}
	wg.Wait()
	return out
}

// readResult reads what a completed instance recorded in its result.
func readResult(ctx context.Context, cl client.Client, id, runID string, in *whatif.Instance) error {
	ctx, cancel := context.WithTimeout(ctx, 30*time.Second)
	defer cancel()
	var res process.Ending
	if err := cl.GetWorkflow(ctx, id, runID).Get(ctx, &res); err != nil {
		return fmt.Errorf("read the result of %s: %v", id, rootMessage(err))
	}
	in.Recorded = res.Facts != nil
	in.Path, in.Outcome, in.Decision, in.Facts, in.Tasks = res.HandlingPath, res.Outcome, res.Decision, res.Facts, res.Tasks
	// The recorded start and close (the completed entry's time), as the
	// audit store has them; results recorded before they existed keep
	// visibility's.
	if !res.StartedAt.IsZero() && !res.ClosedAt.IsZero() {
		in.Start, in.Close = res.StartedAt, res.ClosedAt
	}
	return nil
}

// whatifShow is what the table shows beyond the changes.
type whatifShow struct {
	all  bool // processes the proposal changes nothing in
	keys bool // every business key, not the first few
}

// keysShown is how many business keys a list shows without --keys.
const keysShown = 5

// unchanged reports whether the proposal changes nothing in p: same paths,
// same decisions, no risk.
func unchanged(p whatif.Process) bool {
	return p.Current == p.Proposed && len(p.ToManual)+len(p.ToAutomated)+len(p.DecisionChanged)+len(p.AutoApprovedRejected)+len(p.AutoDeclinedApproved) == 0
}

// printWhatif writes the report as a table per process the proposal
// changes (every process with show.all).
func printWhatif(out io.Writer, r whatif.Report, show whatifShow) error {
	fmt.Fprintf(out, "Proposed policy %s over instances finished %s .. %s\n", r.PolicyVersion,
		r.Since.Local().Format("01-02 15:04"), r.Until.Local().Format("01-02 15:04"))
	switch r.Source {
	case factsFromStore:
		fmt.Fprint(out, "Facts from the audit store")
	case factsFromHistory:
		fmt.Fprint(out, "Facts from the Temporal histories")
	}
	if r.Source != "" && r.SourceNote != "" {
		fmt.Fprintf(out, "; %s", r.SourceNote)
	}
	if r.Source != "" {
		fmt.Fprintln(out)
	}
	if len(r.Processes) == 0 {
		fmt.Fprintln(out, "\nNo instance finished in the window.")
		return nil
	}
	var hidden []string
	for _, p := range r.Processes {
		if unchanged(p) && !show.all {
			hidden = append(hidden, fmt.Sprintf("%s (%d finished)", p.Process, p.Finished))
			continue
		}
		keys := func(k []string) string { return keyList(k, show.keys) }
		fmt.Fprintf(out, "\n%s: %d finished, %d evaluated\n", p.Process, p.Finished, p.Evaluated)
		w := tabwriter.NewWriter(out, 0, 0, 2, ' ', 0)
		fmt.Fprintln(w, "\tCURRENT\tPROPOSED\tCHANGE")
		c, n := p.Current, p.Proposed
		fmt.Fprintf(w, "  automated\t%d (%.0f%%)\t%d (%.0f%%)\t%+d\n", c.Automated, c.AutomationRate*100, n.Automated, n.AutomationRate*100, n.Automated-c.Automated)
		fmt.Fprintf(w, "  manual\t%d\t%d\t%+d\n", c.Manual, n.Manual, n.Manual-c.Manual)
		fmt.Fprintf(w, "  human tasks\t%s\t%s\t%s\n", num(c.Tasks), num(n.Tasks), signed(n.Tasks-c.Tasks, num))
		// Each duration row in one unit, named in its label.
		durations := func(label string, cur, prop, change float64) {
			u := unitFor([]float64{cur, prop, change})
			fmt.Fprintf(w, "  %s (%s)\t%s\t%s\t%s\n", label, u.name, u.format(cur), u.format(prop), signed(change, u.format))
		}
		durations("person time", c.PersonHours*3600, n.PersonHours*3600, (n.PersonHours-c.PersonHours)*3600)
		durations("mean cycle time", c.MeanCycleSeconds, n.MeanCycleSeconds, p.CycleTimeChangeSeconds)
		if err := w.Flush(); err != nil {
			return err
		}
		fmt.Fprintf(out, "  automated -> manual: %s\n", keys(p.ToManual))
		fmt.Fprintf(out, "  manual -> automated: %s\n", keys(p.ToAutomated))
		fmt.Fprintf(out, "  risk: would auto-approve, people rejected: %s\n", keys(p.AutoApprovedRejected))
		fmt.Fprintf(out, "  risk: would auto-decline, people approved: %s\n", keys(p.AutoDeclinedApproved))
		if len(p.DecisionChanged) > 0 {
			fmt.Fprintf(out, "  same path, another decision: %s\n", keys(p.DecisionChanged))
		}
		if p.Measured.Unmeasured > 0 {
			fmt.Fprintf(out, "  %d instance(s) move to a path no instance took: own cycle time kept, no tasks added\n", p.Measured.Unmeasured)
		}
		if len(p.NotEvaluated) > 0 {
			fmt.Fprintf(out, "  not evaluated: %d\n", len(p.NotEvaluated))
			for i, s := range p.NotEvaluated {
				if i == keysShown && !show.keys {
					fmt.Fprintf(out, "    ... and %d more (--keys lists them all)\n", len(p.NotEvaluated)-keysShown)
					break
				}
				fmt.Fprintf(out, "    %s: %s\n", s.BusinessKey, s.Reason)
			}
		}
	}
	if len(hidden) > 0 {
		fmt.Fprintf(out, "\nUnchanged by the proposal (--all shows them): %s\n", strings.Join(hidden, ", "))
	}
	return nil
}

// keyList renders "N: k1, k2" or "none"; without all, at most keysShown
// keys and how many more.
func keyList(k []string, all bool) string {
	switch {
	case len(k) == 0:
		return "none"
	case len(k) > keysShown && !all:
		return fmt.Sprintf("%d: %s, ... and %d more (--keys lists them all)", len(k), strings.Join(k[:keysShown], ", "), len(k)-keysShown)
	}
	return fmt.Sprintf("%d: %s", len(k), strings.Join(k, ", "))
}

func num(v float64) string {
	return strings.TrimSuffix(strings.TrimRight(fmt.Sprintf("%.2f", v), "0"), ".")
}

func signed(v float64, f func(float64) string) string {
	switch {
	case v < 0:
		return "-" + f(-v)
	case v > 0:
		return "+" + f(v)
	}
	return "0"
}
