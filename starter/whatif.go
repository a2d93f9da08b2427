package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"strings"
	"sync"
	"text/tabwriter"
	"time"

	"github.com/spf13/cobra"
	"go.temporal.io/sdk/client"

	"baton/internal/whatif"
	"baton/workflows"
	"baton/workflows/record"
)

func (a *app) whatifCommand() *cobra.Command {
	var proposed, process, since string
	cmd := &cobra.Command{
		Use:   "whatif --policy proposed.yaml [--process P] [--since 30d]",
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

Facts come from each instance's result in its Temporal history (no worker
needed). Instances that failed, or finished before results recorded their
facts, are listed as not evaluated, with why. Here --policy names the
proposed policy; it is validated like the worker's.`,
		Example: "  starter whatif --policy proposed.yaml\n  starter whatif --policy proposed.yaml --process loan --since 7d -o json",
		Args:    cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			window, err := parseSince(since)
			if err != nil {
				return err
			}
			if err := checkProcessFlag(process); err != nil {
				return err
			}
			pol, err := workflows.LoadPolicy(proposed)
			if err != nil {
				return &codedError{exitUsage, err}
			}
			if _, err := a.connect(); err != nil {
				return err
			}
			now := time.Now().UTC()
			w := whatif.Window{Process: process, Since: now.Add(-window), Until: now}
			instances, err := (&historySource{a: a, cmd: cmd}).Finished(cmd.Context(), w)
			if err != nil {
				return err
			}
			rep := whatif.Evaluate(instances, pol, w.Since, w.Until)
			if a.jsonOutput() {
				return a.printJSON(rep)
			}
			return printWhatif(a.out, rep)
		},
	}
	f := cmd.Flags()
	f.StringVar(&proposed, "policy", "", "the proposed policy file (YAML)")
	f.StringVar(&process, "process", "", "only this process")
	f.StringVar(&since, "since", "30d", "window: instances finished this recently (e.g. 24h, 30d)")
	_ = cmd.MarkFlagRequired("policy")
	return cmd
}

// historySource reads finished instances from Temporal: visibility finds
// them, each one's result (the close event of its history, decoded with
// the client's data converter) holds its facts, path, outcome and tasks.
// The audit store, once it exists, is another Source.
type historySource struct {
	a   *app
	cmd *cobra.Command
}

// resultsInFlight bounds the history reads in flight.
const resultsInFlight = 8

func (s *historySource) Finished(ctx context.Context, w whatif.Window) ([]whatif.Instance, error) {
	q := []string{
		record.SAProcessType.GetName() + " IS NOT NULL",
		"ExecutionStatus != 'Running'",
		"CloseTime >= '" + w.Since.Format(time.RFC3339) + "'",
		"CloseTime <= '" + w.Until.Format(time.RFC3339Nano) + "'",
	}
	if w.Process != "" {
		q = append(q, is(record.SAProcessType.GetName(), w.Process))
	}
	rows, err := s.a.visibility(s.cmd, strings.Join(q, " AND "), 1_000_000)
	if err != nil {
		return nil, err
	}
	out := make([]whatif.Instance, len(rows))
	errs := make([]error, len(rows))
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
			errs[i] = readResult(ctx, s.a.client, r.WorkflowID, r.RunID, &out[i])
		}()
	}
	wg.Wait()
	return out, errors.Join(errs...)
}

// readResult reads what a completed instance recorded in its result.
func readResult(ctx context.Context, cl client.Client, id, runID string, in *whatif.Instance) error {
	ctx, cancel := context.WithTimeout(ctx, 30*time.Second)
	defer cancel()
	var res workflows.Ending
	if err := cl.GetWorkflow(ctx, id, runID).Get(ctx, &res); err != nil {
		return fmt.Errorf("read the result of %s: %v", id, rootMessage(err))
	}
	in.Recorded = res.Facts != nil
	in.Path, in.Outcome, in.Decision, in.Facts, in.Tasks = res.HandlingPath, res.Outcome, res.Decision, res.Facts, res.Tasks
	return nil
}

// printWhatif writes the report as a table per process.
func printWhatif(out io.Writer, r whatif.Report) error {
	fmt.Fprintf(out, "Proposed policy %s over instances finished %s .. %s\n", r.PolicyVersion,
		r.Since.Local().Format("01-02 15:04"), r.Until.Local().Format("01-02 15:04"))
	if len(r.Processes) == 0 {
		fmt.Fprintln(out, "\nNo instance finished in the window.")
		return nil
	}
	for _, p := range r.Processes {
		fmt.Fprintf(out, "\n%s: %d finished, %d evaluated\n", p.Process, p.Finished, p.Evaluated)
		w := tabwriter.NewWriter(out, 0, 0, 2, ' ', 0)
		fmt.Fprintln(w, "\tCURRENT\tPROPOSED\tCHANGE")
		c, n := p.Current, p.Proposed
		fmt.Fprintf(w, "  automated\t%d (%.0f%%)\t%d (%.0f%%)\t%+d\n", c.Automated, c.AutomationRate*100, n.Automated, n.AutomationRate*100, n.Automated-c.Automated)
		fmt.Fprintf(w, "  manual\t%d\t%d\t%+d\n", c.Manual, n.Manual, n.Manual-c.Manual)
		fmt.Fprintf(w, "  human tasks\t%s\t%s\t%s\n", num(c.Tasks), num(n.Tasks), signed(n.Tasks-c.Tasks, num))
		fmt.Fprintf(w, "  person time\t%s\t%s\t%s\n", dur(c.PersonHours*3600), dur(n.PersonHours*3600), signed((n.PersonHours-c.PersonHours)*3600, dur))
		fmt.Fprintf(w, "  mean cycle time\t%s\t%s\t%s\n", dur(c.MeanCycleSeconds), dur(n.MeanCycleSeconds), signed(p.CycleTimeChangeSeconds, dur))
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
			for _, s := range p.NotEvaluated {
				fmt.Fprintf(out, "    %s: %s\n", s.BusinessKey, s.Reason)
			}
		}
	}
	return nil
}

// keys renders "N: k1, k2" or "none".
func keys(k []string) string {
	if len(k) == 0 {
		return "none"
	}
	return fmt.Sprintf("%d: %s", len(k), strings.Join(k, ", "))
}

// dur renders seconds as human does, and nothing as 0.
func dur(sec float64) string {
	if sec == 0 {
		return "0"
	}
	return human(sec)
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
