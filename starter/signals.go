package starter

import (
	"context"
	"crypto/ed25519"
	"encoding/base64"
	"errors"
	"fmt"
	"os"
	"slices"
	"strings"
	"time"

	"github.com/spf13/cobra"
	"go.temporal.io/api/serviceerror"
	"go.temporal.io/sdk/client"
	"go.temporal.io/sdk/temporal"

	"github.com/batonhq/baton/humantask"
	"github.com/batonhq/baton/record"
)

func (a *app) signalCommands() []*cobra.Command {
	// One command per message name the catalog's processes declare, for
	// the processes that declare it.
	type spec struct {
		name, short, example string
		processes            []string
	}
	var specs []*spec
	byName := map[string]*spec{}
	for _, p := range a.catalog.Processes() {
		for _, m := range p.Messages {
			sp := byName[m.Name]
			if sp == nil {
				sp = &spec{name: m.Name, short: m.Short, example: m.Example}
				byName[m.Name] = sp
				specs = append(specs, sp)
			}
			sp.processes = append(sp.processes, p.Name)
		}
	}
	var cmds []*cobra.Command
	for _, s := range specs {
		var by, reason, keyFile string
		cmd := &cobra.Command{
			Use:     s.name + " <" + strings.Join(s.processes, "|") + "-workflow-id> --by <requester>",
			Short:   s.short,
			Example: s.example,
			Args:    exactlyOneID,
			RunE: func(cmd *cobra.Command, args []string) error {
				id := args[0]
				if p := a.catalog.ProcessOf(id); p == nil || !slices.Contains(s.processes, p.Name) {
					return usageErr("%s applies to %s instances (%s-...), not %s", s.name, strings.Join(s.processes, " and "), strings.Join(s.processes, "-..., "), id)
				}
				if by == "" {
					return usageErr("--by: who asks is required (the customer or applicant, or a user holding a role the policy names)")
				}
				cl, err := a.connect()
				if err != nil {
					return err
				}
				ctx, cancel := context.WithTimeout(cmd.Context(), 30*time.Second)
				defer cancel()
				req := record.Request{By: by, Reason: reason}
				var h client.WorkflowUpdateHandle
				runID := ""
				if keyFile != "" {
					key, err := loadSigningKey(keyFile)
					if err != nil {
						return err
					}
					desc, err := cl.DescribeWorkflowExecution(ctx, id, "")
					if err != nil {
						return instanceErr(id, err)
					}
					runID = desc.WorkflowExecutionInfo.Execution.RunId
					req.Signature = base64.StdEncoding.EncodeToString(ed25519.Sign(key, record.RequestSigningBytes(id, runID, s.name, req)))
				}
				var msg string
				// An instance that has not pinned its policy yet refuses as
				// "starting": a request sent right after the start is retried.
				for {
					h, err = cl.UpdateWorkflow(ctx, client.UpdateWorkflowOptions{
						WorkflowID: id, RunID: runID, UpdateName: s.name, Args: []any{req},
						WaitForStage: client.WorkflowUpdateStageCompleted,
					})
					if err == nil {
						err = h.Get(ctx, &msg)
					}
					var ae *temporal.ApplicationError
					if !errors.As(err, &ae) || ae.Type() != humantask.RefusedStarting {
						break
					}
					select {
					case <-ctx.Done():
					case <-time.After(250 * time.Millisecond):
						continue
					}
					break
				}
				if err != nil {
					var ae *temporal.ApplicationError
					var nf *serviceerror.NotFound
					switch {
					case errors.As(err, &nf):
						if _, derr := cl.DescribeWorkflowExecution(ctx, id, ""); derr != nil {
							return instanceErr(id, derr)
						}
						return &codedError{exitRefused, fmt.Errorf("refused: too late, %s has ended", id)}
					case errors.As(err, &ae):
						return &codedError{exitRefused, fmt.Errorf("refused: %s", ae.Message())}
					}
					return instanceErr(id, err)
				}
				if a.jsonOutput() {
					return a.printJSON(map[string]string{"workflowId": id, "accepted": s.name, "message": msg})
				}
				_, err = fmt.Fprintf(a.out, "%s (%s); see: starter status %s\n", msg, id, id)
				return err
			},
		}
		cmd.Flags().StringVar(&by, "by", "", "who asks: the customer or applicant, or a user holding a role the policy names (required)")
		cmd.Flags().StringVar(&reason, "reason", "", "why, for the audit trail")
		cmd.Flags().StringVar(&keyFile, "key", os.Getenv("BATON_SIGNING_KEY"), "sign the request with this key (starter keygen; also BATON_SIGNING_KEY)")
		cmds = append(cmds, cmd)
	}
	return cmds
}
