package starter

import (
	"fmt"
	"strconv"
	"text/tabwriter"
	"time"

	"github.com/spf13/cobra"

	"github.com/batonhq/baton/process"
	"github.com/batonhq/baton/textsafe"
)

// demoInputs is a realistic mix: every process's demo cases, automated
// and manual paths, some waiting for people.
func (a *app) demoInputs(tag string, today time.Time) []demoInput {
	var out []demoInput
	for _, p := range a.catalog.Processes() {
		id := func(n int) string { return fmt.Sprintf("%s-%s-%d", p.IDPrefix, tag, n) }
		for _, in := range p.Demo(id, today) {
			out = append(out, demoInput{p.Name, in})
		}
	}
	return out
}

type demoInput struct {
	process string
	in      process.Input
}

func (a *app) demoCommand() *cobra.Command {
	return &cobra.Command{
		Use:   "demo",
		Short: "Start a realistic mix of every process, some waiting for people",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			cl, err := a.connect()
			if err != nil {
				return err
			}
			now := time.Now().UTC()
			// Short and unique per run, even for runs a moment apart.
			tag := strconv.FormatInt(now.UnixMilli()%1_000_000_000, 36)
			var started []startResult
			for _, d := range a.demoInputs(tag, now) {
				run, err := a.startInstance(cmd.Context(), cl, d.process, d.in)
				if err != nil {
					return err
				}
				started = append(started, startResult{WorkflowID: run.GetID(), RunID: run.GetRunID(), URL: a.workflowURL(run.GetID())})
			}
			if a.jsonOutput() {
				return a.printJSON(started)
			}
			fmt.Fprintf(a.out, "started %d instances:\n", len(started))
			for _, s := range started {
				fmt.Fprintf(a.out, "  %s\n", textsafe.Clean(s.WorkflowID))
			}
			hints := [][2]string{
				{"starter tasks --user ana", "ana's inbox (underwriting)"},
				{"starter approve loan-A-" + tag + "-2 --as ana", "one approval closes it"},
				{"starter approve loan-A-" + tag + "-3 --as ana", "four-eyes: 1 of 2 ..."},
				{"starter approve loan-A-" + tag + "-3 --as ben", "... and 2 of 2"},
				{"starter reject order-O-" + tag + "-2 --as fay --reason 'address mismatch'", "fraud review"},
				{"starter audit loan-A-" + tag + "-3", "who decided what, when, under which policy"},
				{"starter list", "everything, with stage and outcome"},
				{"starter report", "cycle times, automation rate, backlog"},
			}
			fmt.Fprintln(a.out, "\nNext:")
			w := tabwriter.NewWriter(a.out, 0, 0, 2, ' ', 0)
			for _, h := range hints {
				fmt.Fprintf(w, "  %s\t# %s\n", h[0], h[1])
			}
			_ = w.Flush()
			fmt.Fprintf(a.out, "  open %s\n", a.cfg.UI.URL)
			return nil
		},
	}
}
