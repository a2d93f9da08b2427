package starter

import (
	"context"
	"errors"
	"fmt"
	"os"
	"time"

	"github.com/spf13/cobra"
	"go.temporal.io/api/serviceerror"
	"go.temporal.io/sdk/client"
	"go.temporal.io/sdk/temporal"

	"github.com/batonhq/baton/humantask"
	"github.com/batonhq/baton/textsafe"
)

func (a *app) decisionCommands() []*cobra.Command {
	type spec struct {
		verdict, use, short, example string
	}
	specs := []spec{
		{humantask.Approve, "approve <workflow-id> --as <user> [--task <id>] [--comment <text>]", "Approve a human task",
			"  starter approve loan-A-17 --as ana\n  starter approve expense-X-3 --as fin --task finance-approval --comment 'receipts ok'"},
		{humantask.Reject, "reject <workflow-id> --as <user> [--task <id>] --reason <text>", "Reject a human task (a reason is required)",
			"  starter reject loan-A-17 --as ben --reason 'debt ratio too high'"},
		{humantask.Delegate, "delegate <workflow-id> --as <user> --to <user> [--task <id>]", "Hand a human task to another user",
			"  starter delegate loan-A-17 --as ana --to ben"},
	}
	var cmds []*cobra.Command
	for _, s := range specs {
		var as, task, comment, to, keyFile string
		cmd := &cobra.Command{
			Use:     s.use,
			Short:   s.short,
			Example: s.example,
			Args:    exactlyOneID,
			RunE: func(cmd *cobra.Command, args []string) error {
				if as == "" {
					return usageErr("--as: who decides is required (e.g. --as ana)")
				}
				d := humantask.Decision{TaskID: task, Verdict: s.verdict, Actor: as, Comment: comment, DelegateTo: to}
				if s.verdict == humantask.Reject && comment == "" {
					return usageErr("--reason: required to reject")
				}
				if s.verdict == humantask.Delegate && to == "" {
					return usageErr("--to: required to delegate")
				}
				runID := ""
				if keyFile != "" {
					key, err := loadSigningKey(keyFile)
					if err != nil {
						return err
					}
					if runID, err = a.signDecision(cmd, key, args[0], &d); err != nil {
						return err
					}
				}
				return a.decide(cmd, args[0], runID, d)
			},
		}
		f := cmd.Flags()
		f.StringVar(&as, "as", "", "the user deciding (required)")
		f.StringVar(&task, "task", "", "task id (may be omitted when one task is open)")
		f.StringVar(&keyFile, "key", os.Getenv("BATON_SIGNING_KEY"), "sign the decision with this key (starter keygen; also BATON_SIGNING_KEY)")
		switch s.verdict {
		case humantask.Reject:
			f.StringVar(&comment, "reason", "", "why (required)")
		case humantask.Delegate:
			f.StringVar(&to, "to", "", "the user to hand the task to (required)")
			f.StringVar(&comment, "comment", "", "a note for the trail")
		default:
			f.StringVar(&comment, "comment", "", "a note for the trail")
		}
		cmds = append(cmds, cmd)
	}
	return cmds
}

func exactlyOneID(_ *cobra.Command, args []string) error {
	if len(args) != 1 {
		return usageErr("one workflow id is needed, e.g. loan-A-17")
	}
	return nil
}

// decide sends the decision as the decide update (to runID when it was
// signed for that run) and prints the answer.
func (a *app) decide(cmd *cobra.Command, id, runID string, d humantask.Decision) error {
	cl, err := a.connect()
	if err != nil {
		return err
	}
	ctx, cancel := context.WithTimeout(cmd.Context(), 30*time.Second)
	defer cancel()
	h, err := cl.UpdateWorkflow(ctx, client.UpdateWorkflowOptions{
		WorkflowID:   id,
		RunID:        runID,
		UpdateName:   humantask.UpdateDecide,
		Args:         []any{d},
		WaitForStage: client.WorkflowUpdateStageCompleted,
	})
	var res humantask.DecisionResult
	if err == nil {
		err = h.Get(ctx, &res)
	}
	if err != nil {
		var ae *temporal.ApplicationError
		var nf *serviceerror.NotFound
		switch {
		case errors.As(err, &nf):
			return &codedError{exitNotFound, fmt.Errorf("%s: no such workflow, or it has ended", id)}
		case errors.As(err, &ae):
			return &codedError{exitRefused, fmt.Errorf("refused: %s", ae.Message())}
		}
		return instanceErr(id, err)
	}
	if a.jsonOutput() {
		return a.printJSON(res)
	}
	_, err = fmt.Fprintf(a.out, "%s (%s, task %s)\n", textsafe.Clean(res.Message), textsafe.Clean(id), textsafe.Clean(res.TaskID))
	return err
}
