package starter

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"strconv"
	"strings"
	"time"

	"github.com/spf13/cobra"
	"go.temporal.io/api/serviceerror"
	"go.temporal.io/sdk/client"
	"go.temporal.io/sdk/temporal"

	"github.com/batonhq/baton/humantask"
	"github.com/batonhq/baton/internal/signing"
	"github.com/batonhq/baton/textsafe"
)

func (a *app) decisionCommands() []*cobra.Command {
	type spec struct {
		verdict, use, short, example string
	}
	specs := []spec{
		{humantask.Approve, "approve <workflow-id> --as <user> [--task <id>] [--comment <text>] [--set field=value ...] [--data file.json]", "Approve a human task, with its form's values",
			"  starter approve loan-A-17 --as ana\n  starter approve expense-X-3 --as fin --task finance-approval --comment 'receipts ok'\n" +
				"  starter approve claim-CL-9 --as ada --set assessedAmount=4100.50 --set reasonCode=partial-damage\n  starter approve loan-A-17 --as ana --data counter-offer.json"},
		{humantask.Reject, "reject <workflow-id> --as <user> [--task <id>] --reason <text> [--set field=value ...]", "Reject a human task (a reason is required)",
			"  starter reject loan-A-17 --as ben --reason 'debt ratio too high'\n  starter reject order-O-4 --as fay --reason 'card on a stop list' --set reasonCode=stolen-card"},
		{humantask.Delegate, "delegate <workflow-id> --as <user> --to <user> [--task <id>]", "Hand a human task to another user",
			"  starter delegate loan-A-17 --as ana --to ben"},
	}
	var cmds []*cobra.Command
	for _, s := range specs {
		var as, task, comment, to, keyFile, dataFile string
		var sets []string
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
				values, err := formValues(sets, dataFile)
				if err != nil {
					return err
				}
				runID := ""
				if keyFile != "" || len(values) > 0 {
					open, err := a.openTask(cmd, args[0], task)
					if err != nil {
						return err
					}
					if err := fillValues(open, &d, values); err != nil {
						return err
					}
					if keyFile != "" {
						key, err := loadSigningKey(keyFile)
						if err != nil {
							return err
						}
						d.TaskID = open.Subject.TaskID
						humantask.Sign(key, open.Subject, &d)
						runID = open.Subject.RunID
					}
				}
				return a.decide(cmd, args[0], runID, d)
			},
		}
		f := cmd.Flags()
		f.StringVar(&as, "as", "", "the user deciding (required)")
		f.StringVar(&task, "task", "", "task id (may be omitted when one task is open)")
		f.StringVar(&keyFile, "key", os.Getenv("BATON_SIGNING_KEY"), "sign the decision with this key (starter keygen; also BATON_SIGNING_KEY)")
		if s.verdict != humantask.Delegate {
			f.StringArrayVar(&sets, "set", nil, "a value of the task's form, field=value (repeatable; starter status shows the form)")
			f.StringVar(&dataFile, "data", "", "the form's values as a JSON object in this file (- for stdin); --set wins")
		}
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
		case errors.As(err, &ae) && ae.Type() == humantask.RefusedValue:
			// A value the form refuses is the caller's to fix, as --set is.
			return &codedError{exitUsage, fmt.Errorf("refused: %s", ae.Message())}
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

// formValues reads --data (a JSON object: strings, numbers, booleans, or
// lists of strings for a multi-choice) and lays --set field=value over it.
func formValues(sets []string, dataFile string) (map[string]string, error) {
	values := map[string]string{}
	if dataFile != "" {
		var raw []byte
		var err error
		if dataFile == "-" {
			raw, err = io.ReadAll(io.LimitReader(os.Stdin, 1<<20))
		} else {
			raw, err = os.ReadFile(dataFile)
		}
		if err != nil {
			return nil, usageErr("--data: %v", err)
		}
		dec := json.NewDecoder(bytes.NewReader(raw))
		dec.UseNumber()
		var obj map[string]any
		if err := dec.Decode(&obj); err != nil {
			return nil, usageErr("--data: %s is not a JSON object of field values: %v", dataFile, err)
		}
		for k, v := range obj {
			switch v := v.(type) {
			case nil:
			case string:
				values[k] = v
			case json.Number:
				values[k] = v.String()
			case bool:
				values[k] = strconv.FormatBool(v)
			case []any:
				var parts []string
				for _, p := range v {
					ps, ok := p.(string)
					if !ok {
						return nil, usageErr("--data: %s: a list holds option names (strings)", k)
					}
					parts = append(parts, ps)
				}
				values[k] = strings.Join(parts, ",")
			default:
				return nil, usageErr("--data: %s: want a string, number, boolean or list of strings", k)
			}
		}
	}
	for _, kv := range sets {
		k, v, ok := strings.Cut(kv, "=")
		if !ok || strings.TrimSpace(k) == "" {
			return nil, usageErr("--set: %q is not field=value", kv)
		}
		values[strings.TrimSpace(k)] = v
	}
	return values, nil
}

// fillValues checks values against the open task's form, as the workflow's
// gate will, so a bad value is named before anything is sent (exit 2), and
// sends them canonical; a personal value gets a fresh salt (the trail
// keeps the salted digest only).
func fillValues(open humantask.TaskView, d *humantask.Decision, values map[string]string) error {
	if len(values) == 0 {
		return nil
	}
	canon, err := open.Form.Check(d.Verdict, values)
	if err != nil {
		return usageErr("--set %v", err)
	}
	d.Values = canon
	return signing.SaltPersonal(open.Form, d)
}
