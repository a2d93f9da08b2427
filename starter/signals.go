package main

import (
	"context"
	"fmt"
	"time"

	"github.com/spf13/cobra"

	"baton/workflows"
	"baton/workflows/record"
)

func (a *app) signalCommands() []*cobra.Command {
	type spec struct{ name, process, signal, short, example string }
	specs := []spec{
		{"withdraw", workflows.ProcessLoan, workflows.SignalWithdraw, "Withdraw a loan application (until disbursement)", "  starter withdraw loan-A-17 --reason 'found a better rate'"},
		{"cancel", workflows.ProcessOrder, workflows.SignalCancel, "Cancel an order (until shipment); reservations and charges are undone", "  starter cancel order-O-4"},
	}
	var cmds []*cobra.Command
	for _, s := range specs {
		var by, reason string
		cmd := &cobra.Command{
			Use:     s.name + " <" + s.process + "-workflow-id>",
			Short:   s.short,
			Example: s.example,
			Args:    exactlyOneID,
			RunE: func(cmd *cobra.Command, args []string) error {
				id := args[0]
				if p := workflows.ProcessOf(id); p == nil || p.Name != s.process {
					return usageErr("%s applies to %s instances (%s-...), not %s", s.name, s.process, s.process, id)
				}
				cl, err := a.connect()
				if err != nil {
					return err
				}
				ctx, cancel := context.WithTimeout(cmd.Context(), 15*time.Second)
				defer cancel()
				if err := cl.SignalWorkflow(ctx, id, "", s.signal, record.Request{By: by, Reason: reason}); err != nil {
					return instanceErr(id, err)
				}
				if a.jsonOutput() {
					return a.printJSON(map[string]string{"workflowId": id, "sent": s.signal})
				}
				_, err = fmt.Fprintf(a.out, "%s requested for %s; see: starter status %s\n", s.name, id, id)
				return err
			},
		}
		cmd.Flags().StringVar(&by, "by", "", "who asks (default: the customer or applicant)")
		cmd.Flags().StringVar(&reason, "reason", "", "why, for the audit trail")
		cmds = append(cmds, cmd)
	}
	return cmds
}
