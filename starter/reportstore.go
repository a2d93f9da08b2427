package starter

import (
	"fmt"
	"time"

	"github.com/batonhq/baton/audit"
	"github.com/batonhq/baton/textsafe"

	"github.com/spf13/cobra"

	"github.com/batonhq/baton/internal/auditlog"
	"github.com/batonhq/baton/internal/auditstore"
)

// Sources of the report's cycle times.
const (
	cycleFromStore      = "audit-store"
	cycleFromVisibility = "visibility"
)

// storeCycles replaces each process's overall cycle time with the audit
// store's: every instance started in the window that completed, from its
// "started" to its "completed" entry (workflow time), whether or not
// visibility still lists it (retention removes closed instances from
// visibility; the store keeps them). Failed instances are left out, as in
// visibility's figure. The per-path figures stay visibility's (the store
// does not index the handling path). It returns the source used; with no
// reachable store, visibility's figures stand and one line says why.
func (a *app) storeCycles(cmd *cobra.Command, procs []ProcessReport, process string, since time.Time) ([]ProcessReport, string) {
	st, err := a.auditStore(cmd)
	if err != nil {
		fmt.Fprintf(a.errOut, "starter: %v; cycle times from visibility\n", err)
		return procs, cycleFromVisibility
	}
	defer st.Close()
	tr, err := a.trust(cmd.Context())
	if err != nil {
		fmt.Fprintf(a.errOut, "starter: %v; cycle times from visibility\n", err)
		return procs, cycleFromVisibility
	}
	var keep func(audit.Stored) bool
	if tr.writers != nil {
		keep = func(r audit.Stored) bool { kind, _ := auditlog.Attested(r, tr.writers); return kind == "" }
	}
	cycles, refused, err := st.CyclesKept(cmd.Context(), process, since, audit.ActionStarted, []string{audit.ActionCompleted, audit.ActionFailed}, keep)
	if err != nil {
		fmt.Fprintf(a.errOut, "starter: %v; cycle times from visibility\n", err)
		return procs, cycleFromVisibility
	}
	if len(refused) > 0 {
		r := refused[0]
		fmt.Fprintf(a.errOut, "starter: %d audit entries fail verification and are left out of the cycle times (the first: %s entry %d, %s): starter audit --verify --since ...\n",
			len(refused), textsafe.Clean(r.WorkflowID), r.Pos, r.Action)
	}
	return mergeStoreCycles(a.catalog.Names(), procs, cycles), cycleFromStore
}

// mergeStoreCycles sets each process's cycle time from the store's
// completed instances, adding a row for a process visibility no longer
// lists.
func mergeStoreCycles(names []string, procs []ProcessReport, cycles []auditstore.Cycle) []ProcessReport {
	byProcess := map[string][]float64{}
	for _, c := range cycles {
		if c.EndAction != audit.ActionCompleted || c.Closed.IsZero() {
			continue
		}
		byProcess[c.Process] = append(byProcess[c.Process], c.Closed.Sub(c.Started).Seconds())
	}
	seen := map[string]bool{}
	for i := range procs {
		seen[procs[i].Process] = true
		procs[i].CycleTime = cycle(byProcess[procs[i].Process])
	}
	var out []ProcessReport
	for _, name := range names {
		for _, p := range procs {
			if p.Process == name {
				out = append(out, p)
			}
		}
		if v, ok := byProcess[name]; ok && !seen[name] {
			out = append(out, ProcessReport{Process: name, CycleTime: cycle(v), CycleTimeByPath: map[string]Cycle{}, Outcomes: map[string]int{}})
		}
	}
	return out
}
