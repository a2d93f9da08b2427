package starter

import (
	"cmp"
	"fmt"
	"maps"
	"slices"
	"strings"
	"sync"
	"text/tabwriter"
	"time"

	"github.com/spf13/cobra"

	"github.com/batonhq/baton/audit"
	"github.com/batonhq/baton/config"
	"github.com/batonhq/baton/internal/charts"
	"github.com/batonhq/baton/internal/insight"
	"github.com/batonhq/baton/internal/whatif"
	"github.com/batonhq/baton/policy"
	"github.com/batonhq/baton/textsafe"
)

// exitBreaches: conformance found at least one breach.
const exitBreaches = 6

// Where insight's trails came from.
const (
	trailsFromStore   = "audit-store"
	trailsFromHistory = "history"
)

// endedTrails reads the trails of the instances that ended in the window:
// from the audit store when it answers (--source auto or store: each
// entry read verified, instances whose entries fail left out and said on
// stderr), else from each closed instance's history (the entries its
// record wrote through the audit activity, as --verify reads them; no
// worker needed). It says which. Call close when done.
func (a *app) endedTrails(cmd *cobra.Command, source, since string, w insight.Window) (storeRead, string, error) {
	if !slices.Contains([]string{whatifAuto, whatifStore, whatifHistory}, source) {
		return storeRead{}, "", usageErr("--source: %q is not auto, store or history", source)
	}
	if source != whatifHistory {
		read, err := a.storeTrails(cmd, w)
		if err == nil {
			a.sayLeftOut(read.leftOut, "the analysis", since)
			return read, trailsFromStore, nil
		}
		if source == whatifStore || a.auditDSNConfigured() {
			return storeRead{}, "", fmt.Errorf("%v (or --source history: trails from the histories)", err)
		}
		fmt.Fprintf(a.errOut, "starter: %v; trails from the histories\n", err)
	}
	rows, err := a.closedRuns(cmd, whatif.Window{Process: w.Process, Since: w.Since, Until: w.Until})
	if err != nil {
		return storeRead{}, "", err
	}
	trails, err := a.historyTrails(cmd, rows)
	return storeRead{trails: trails, close: func() {}}, trailsFromHistory, err
}

// historyTrails reads each closed instance's trail from its history,
// resultsInFlight at a time; instances whose history wrote no audit
// entries are left out.
func (a *app) historyTrails(cmd *cobra.Command, rows []listRow) ([]*insight.Trail, error) {
	out := make([]*insight.Trail, len(rows))
	errs := make([]error, len(rows))
	sem := make(chan struct{}, resultsInFlight)
	var wg sync.WaitGroup
	for i, r := range rows {
		wg.Add(1)
		sem <- struct{}{}
		go func() {
			defer func() { <-sem; wg.Done() }()
			h, ok, err := a.readHistoryAudit(cmd, r.WorkflowID, nil)
			if err != nil || !ok || len(h.Entries) == 0 {
				errs[i] = err
				return
			}
			entries := make([]audit.Entry, 0, len(h.Entries))
			for _, e := range h.Entries {
				if e.RunID == h.RunID {
					entries = append(entries, e)
				}
			}
			slices.SortFunc(entries, func(x, y audit.Entry) int { return cmp.Compare(x.Seq, y.Seq) })
			if len(entries) > 0 {
				out[i] = insight.NewTrail(entries)
			}
		}()
	}
	wg.Wait()
	var trails []*insight.Trail
	for i, t := range out {
		if errs[i] != nil {
			return nil, errs[i]
		}
		if t != nil && t.Ended != "" {
			trails = append(trails, t)
		}
	}
	return trails, nil
}

// policies are the pinned policies this starter can read: the configured
// policy file, the earlier ones named with --policy, then those the audit
// store keeps (stored, nil when the trails came from histories).
func (a *app) policies(extra []string, stored insight.Policies) (insight.Policies, []string, error) {
	cfg, err := a.config()
	if err != nil {
		return nil, nil, err
	}
	var pols []*policy.Policy
	var read []string
	for _, f := range append([]string{cfg.Policy.File}, extra...) {
		p, err := config.LoadPolicy(f, a.catalog.CheckPolicy)
		if err != nil {
			return nil, nil, &codedError{exitUsage, err}
		}
		pols = append(pols, p)
		read = append(read, p.Version+" ("+f+")")
	}
	if stored == nil {
		return insight.NewPolicySet(pols...), read, nil
	}
	return insight.FirstOf(insight.NewPolicySet(pols...), stored), append(read, "the texts the audit store keeps, each checked against its version"), nil
}

// discoverDoc is discover's -o json answer.
type discoverDoc struct {
	Since     time.Time           `json:"since"`
	Until     time.Time           `json:"until"`
	Source    string              `json:"source"`
	Processes []insight.Discovery `json:"processes"`
	// LeftOut are the instances left out because an audit entry read of
	// them fails verification.
	LeftOut []insight.LeftOut `json:"leftOut"`
}

func (a *app) discoverCommand() *cobra.Command {
	var process, since, source string
	var variants int
	cmd := &cobra.Command{
		Use:   "discover [--process P] [--since 30d] [-o table|json|svg]",
		Short: "The process as it ran: variants, the directly-follows map, rework and bottlenecks",
		Long: `discover reads the trails of the instances that ended in the window and shows
how the process actually ran:

- variants: each sequence of steps, routing decisions, decisions (with the
  role the decider acted in, so handovers show) and escalations, with how
  many instances took it, their share and their cycle time;
- the directly-follows map: how often each step followed another and how
  long that took (median and 90th percentile);
- bottlenecks: the steps that held instances longest in all;
- rework: delegations, escalations, reminders, repeated steps and refused
  decision attempts, and the share of instances with each.

-o svg draws the map (one process: --process), bottlenecks in red.
Trails come from the audit store (audit.dsn) when it answers, else from the
Temporal histories while they exist (--source picks one).`,
		Example:     "  starter discover --process loan --since 30d\n  starter discover --process loan -o svg > loan-map.svg\n  starter discover -o json",
		Args:        cobra.NoArgs,
		Annotations: map[string]string{outputSVG: "yes"},
		RunE: func(cmd *cobra.Command, _ []string) error {
			from, until, err := a.sinceWindow(since, process)
			if err != nil {
				return err
			}
			read, src, err := a.endedTrails(cmd, source, since, insight.Window{Process: process, Since: from, Until: until})
			if err != nil {
				return err
			}
			defer read.close()
			pols, _, err := a.policies(nil, read.policies)
			if err != nil {
				return err
			}
			known, _ := insight.Resolve(cmd.Context(), read.trails, pols)
			doc := discoverDoc{Since: from, Until: until, Source: src, Processes: insight.Discover(read.trails, known), LeftOut: read.leftOut}
			switch a.output {
			case "json":
				return a.printJSON(doc)
			case outputSVG:
				if len(doc.Processes) != 1 {
					return usageErr("-o svg draws one process: name it with --process (%d in the window)", len(doc.Processes))
				}
				svg, err := charts.ProcessMap(cmd.Context(), doc.Processes[0], charts.MapOptions{})
				if err != nil {
					return err
				}
				_, err = a.out.Write(svg)
				return err
			}
			return a.printDiscovery(doc, variants)
		},
	}
	f := cmd.Flags()
	f.StringVar(&process, "process", "", "only this process")
	f.StringVar(&since, "since", "30d", "window: instances that ended this recently (e.g. 24h, 30d)")
	f.StringVar(&source, "source", whatifAuto, "where trails come from: auto (the audit store when it answers, else histories), store, history")
	f.IntVar(&variants, "variants", 10, "how many variants the table lists")
	config.AddFlags(f, "audit.dsn")
	return cmd
}

func (a *app) printDiscovery(doc discoverDoc, variants int) error {
	fmt.Fprintf(a.out, "Instances ended %s .. %s, trails from the %s.\n", doc.Since.Local().Format("01-02 15:04"), doc.Until.Local().Format("01-02 15:04"),
		strings.ReplaceAll(doc.Source, "-", " "))
	a.printLeftOut(doc.LeftOut)
	if len(doc.Processes) == 0 {
		fmt.Fprintln(a.out, "\nNo instance ended in the window.")
		return nil
	}
	for _, d := range doc.Processes {
		fmt.Fprintf(a.out, "\n%s: %d instances, %d variants; cycle time p50 %s, p90 %s\n", textsafe.Clean(d.Process), d.Instances, len(d.Variants),
			charts.Duration(d.CycleTime.P50), charts.Duration(d.CycleTime.P90))
		var cycles []float64
		for _, v := range d.Variants[:min(variants, len(d.Variants))] {
			cycles = append(cycles, v.CycleTime.P50)
		}
		u := unitFor(cycles)
		rows := [][]string{{"  #", "INSTANCES", "SHARE", "CYCLE P50 (" + u.name + ")", "STEPS"}}
		for i, v := range d.Variants[:min(variants, len(d.Variants))] {
			rows = append(rows, []string{fmt.Sprintf("  %d", i+1), fmt.Sprint(v.Count), percent(v.Share), u.format(v.CycleTime.P50),
				textsafe.Clean(strings.Join(v.Steps, " > "))})
		}
		fmt.Fprintln(a.out, "\nVariants, most common first:")
		writeWrapped(a.out, rows, 120)
		if n := len(d.Variants) - variants; n > 0 {
			fmt.Fprintf(a.out, "  ... and %d more (--variants or -o json)\n", n)
		}
		fmt.Fprintln(a.out, "\nBottlenecks, longest total wait first:")
		if err := a.printEdges(d.Bottlenecks, true); err != nil {
			return err
		}
		fmt.Fprintln(a.out, "\nRework:")
		for _, r := range d.Rework {
			fmt.Fprintf(a.out, "  %-17s %d in %d instance(s) (%s)\n", r.Kind, r.Events, r.Instances, percent(r.Share))
		}
		fmt.Fprintln(a.out, "\nDirectly-follows map, most frequent first (-o svg draws it):")
		if err := a.printEdges(d.Edges[:min(25, len(d.Edges))], false); err != nil {
			return err
		}
		if n := len(d.Edges) - 25; n > 0 {
			fmt.Fprintf(a.out, "  ... and %d more (-o json)\n", n)
		}
	}
	return nil
}

// printEdges writes edges with their waits, each duration column in one
// unit.
func (a *app) printEdges(edges []insight.Edge, total bool) error {
	var waits, totals []float64
	for _, e := range edges {
		waits = append(waits, e.Wait.P50, e.Wait.P90)
		totals = append(totals, e.Total)
	}
	u, ut := unitFor(waits), unitFor(totals)
	w := tabwriter.NewWriter(a.out, 0, 0, 2, ' ', 0)
	header := fmt.Sprintf("  FROM\tTO\tTIMES\tMEDIAN WAIT (%s)\tP90 WAIT (%s)", u.name, u.name)
	if total {
		header += fmt.Sprintf("\tTOTAL (%s)\tSHARE", ut.name)
	}
	fmt.Fprintln(w, header)
	for _, e := range edges {
		line := fmt.Sprintf("  %s\t%s\t%d\t%s\t%s", textsafe.Clean(e.From), textsafe.Clean(e.To), e.Count, u.format(e.Wait.P50), u.format(e.Wait.P90))
		if total {
			line += fmt.Sprintf("\t%s\t%s", ut.format(e.Total), percent(e.Share))
		}
		fmt.Fprintln(w, line)
	}
	return w.Flush()
}

// conformanceDoc is conformance's -o json answer.
type conformanceDoc struct {
	Since  time.Time `json:"since"`
	Until  time.Time `json:"until"`
	Source string    `json:"source"`
	// Readable lists the policy versions this starter could read, and
	// from which file (the audit store's pinned texts besides).
	Readable []string `json:"readablePolicies"`
	// LeftOut are the instances left out because an audit entry read of
	// them fails verification: not checked, not counted.
	LeftOut []insight.LeftOut `json:"leftOut"`
	insight.Conformance
}

func (a *app) conformanceCommand() *cobra.Command {
	var process, since, source string
	var extra []string
	cmd := &cobra.Command{
		Use:   "conformance [--process P] [--since 30d] [--policy EARLIER.yaml ...]",
		Short: "Check every ended instance against the policy it pinned; list the breaches with the entries that prove them",
		Long: `conformance checks every instance that ended in the window against the policy
version it ran under (the version each audit entry carries):

- separation of duties: nobody decides a task they were excluded from (the
  requester, the new hire), decides one task twice, or approves two levels
  of one approval chain;
- four eyes and quorum: an approved task had as many distinct approvers as
  the policy requires on the instance's recorded facts, and opened with it;
- levels: every level the policy requires on the facts was opened and
  approved before the instance went on;
- candidates: every decider held a role the task named (or was named, or
  delegated to) under the pinned policy;
- deadlines: no decision after a task's deadline; at the deadline the task
  expired or escalated as its policy says;
- decisions after close: none accepted once its task or the instance ended;
- routing: an automated route is the one the policy's rule takes on the
  facts the instance recorded (the process's own routing function);
- revoked: a decision stands only if the policy in force when it was taken
  (the version most recently pinned by an instance started before it) still
  listed its actor with the role, its signer, and the key that signed it.

Each breach lists the audit entries that prove it. Policies are read from
policy.file and from each --policy file (earlier versions); a rule that
needs a policy version not readable here, or data an older trail does not
record, is listed as not checked, with why. Exit code 6 when a breach is
found. Trails come from the audit store (audit.dsn) when it answers, else
from the Temporal histories (--source picks one).`,
		Example: "  starter conformance --since 30d\n  starter conformance --process expense --policy policy-2026-10.yaml -o json",
		Args:    cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			from, until, err := a.sinceWindow(since, process)
			if err != nil {
				return err
			}
			read, src, err := a.endedTrails(cmd, source, since, insight.Window{Process: process, Since: from, Until: until})
			if err != nil {
				return err
			}
			defer read.close()
			pols, readable, err := a.policies(extra, read.policies)
			if err != nil {
				return err
			}
			doc := conformanceDoc{Since: from, Until: until, Source: src, Readable: readable, LeftOut: read.leftOut,
				Conformance: insight.Conform(cmd.Context(), read.trails, pols, &insight.Described{Catalog: a.catalog})}
			if a.jsonOutput() {
				err = a.printJSON(doc)
			} else {
				err = a.printConformance(doc)
			}
			if err != nil {
				return err
			}
			if n := len(doc.Breaches); n > 0 {
				return &codedError{exitBreaches, fmt.Errorf("%d breach(es) of the pinned policies", n)}
			}
			return nil
		},
	}
	f := cmd.Flags()
	f.StringVar(&process, "process", "", "only this process")
	f.StringVar(&since, "since", "30d", "window: instances that ended this recently (e.g. 24h, 30d)")
	f.StringVar(&source, "source", whatifAuto, "where trails come from: auto (the audit store when it answers, else histories), store, history")
	f.StringArrayVar(&extra, "policy", nil, "an earlier policy file, for instances that pinned its version (repeatable)")
	config.AddFlags(f, "audit.dsn")
	return cmd
}

func (a *app) printConformance(d conformanceDoc) error {
	fmt.Fprintf(a.out, "Instances ended %s .. %s, trails from the %s: %d checked against the policy each pinned.\n",
		d.Since.Local().Format("01-02 15:04"), d.Until.Local().Format("01-02 15:04"), strings.ReplaceAll(d.Source, "-", " "), d.Checked)
	for _, v := range slices.Sorted(maps.Keys(d.Policies)) {
		state := "read"
		if why, ok := d.PolicyProblems[v]; ok {
			state = "not used: " + textsafe.Clean(why)
		} else if !d.Policies[v] {
			state = "not readable here (only " + strings.Join(d.Readable, ", ") + "; name it with --policy)"
		}
		fmt.Fprintf(a.out, "  policy %s: %s\n", v, state)
	}
	a.printLeftOut(d.LeftOut)
	if len(d.Breaches) == 0 {
		fmt.Fprintln(a.out, "\nNo breach.")
	} else {
		fmt.Fprintf(a.out, "\n%d breach(es):", len(d.Breaches))
		for _, k := range insight.BreachKinds() {
			if n := d.ByKind[k]; n > 0 {
				fmt.Fprintf(a.out, " %s %d", k, n)
			}
		}
		fmt.Fprintln(a.out)
		for _, b := range d.Breaches {
			task := ""
			if b.TaskID != "" {
				task = ", task " + textsafe.Clean(b.TaskID)
			}
			fmt.Fprintf(a.out, "\n%s  %s%s (policy %s)\n  %s\n", strings.ToUpper(b.Kind), textsafe.Clean(b.WorkflowID), task, b.PolicyVersion, textsafe.Clean(b.Detail))
			rows := [][]string{}
			for _, e := range b.Evidence {
				rows = append(rows, []string{fmt.Sprintf("    #%d", e.Seq), e.Time.Local().Format("01-02 15:04:05"), textsafe.Clean(e.Actor),
					textsafe.Clean(e.Action), textsafe.Clean(e.Details)})
			}
			writeWrapped(a.out, rows, 120)
		}
	}
	if len(d.Unchecked) > 0 {
		fmt.Fprintln(a.out, "\nNot checked:")
		for _, u := range d.Unchecked {
			fmt.Fprintf(a.out, "  %s on %d instance(s) (e.g. %s): %s\n", u.Rule, u.Instances, strings.Join(u.Examples, ", "), textsafe.Clean(u.Why))
		}
	}
	return nil
}

// printLeftOut lists the instances left out because an audit entry read
// of them fails verification (five, and how many more).
func (a *app) printLeftOut(out []insight.LeftOut) {
	if len(out) == 0 {
		return
	}
	fmt.Fprintf(a.out, "\nLeft out: %d instance(s) with audit entries that fail verification (starter audit --verify ID says more):\n", len(out))
	for _, l := range out[:min(5, len(out))] {
		fmt.Fprintf(a.out, "  %s: entry %d (%s): %s\n", textsafe.Clean(l.WorkflowID), l.Pos, textsafe.Clean(l.Action), textsafe.Clean(l.Detail))
	}
	if n := len(out) - 5; n > 0 {
		fmt.Fprintf(a.out, "  ... and %d more (-o json lists them)\n", n)
	}
}
