package main

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"maps"
	"os"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/spf13/cobra"
	"github.com/spf13/pflag"
	"go.temporal.io/api/enums/v1"
	"go.temporal.io/api/serviceerror"
	"go.temporal.io/sdk/client"

	"baton/activities"
	"baton/policy"
	"baton/workflows"
)

// processFlags binds one process's common fields to flags and applies the
// changed ones over the input (file values first, flags on top).
type processFlags struct {
	declare func(fs *pflag.FlagSet)
	apply   func(fs *pflag.FlagSet, in workflows.Input) error
}

var startFlags = map[string]processFlags{
	workflows.ProcessLoan: {
		declare: func(fs *pflag.FlagSet) {
			fs.String("applicant", "", "applicant id (e.g. C-1002)")
			fs.Float64("amount", 0, "loan amount")
			fs.Int("term-months", 0, "term in months")
			fs.String("purpose", "", "purpose of the loan")
		},
		apply: func(fs *pflag.FlagSet, in workflows.Input) error {
			v := in.(*workflows.LoanInput)
			setString(fs, "applicant", &v.ApplicantID)
			setFloat(fs, "amount", &v.Amount)
			setInt(fs, "term-months", &v.TermMonths)
			setString(fs, "purpose", &v.Purpose)
			return nil
		},
	},
	workflows.ProcessOrder: {
		declare: func(fs *pflag.FlagSet) {
			fs.String("customer", "", "customer id (ids starting NEW- are new customers)")
			fs.StringArray("item", nil, "an order line SKU:QUANTITY, repeatable (e.g. --item SKU-BOOK:2)")
			fs.Float64("amount", 0, "order amount")
			fs.String("card", "", "card number")
			fs.String("billing", "", "billing country (two letters)")
			fs.String("shipping", "", "shipping country (two letters)")
		},
		apply: func(fs *pflag.FlagSet, in workflows.Input) error {
			v := in.(*workflows.OrderInput)
			setString(fs, "customer", &v.CustomerID)
			setFloat(fs, "amount", &v.Amount)
			setString(fs, "card", &v.CardNumber)
			setString(fs, "billing", &v.BillingCountry)
			setString(fs, "shipping", &v.ShippingCountry)
			if fs.Changed("item") {
				items, _ := fs.GetStringArray("item")
				v.Items = nil
				for _, it := range items {
					sku, qty, ok := strings.Cut(it, ":")
					n, err := strconv.Atoi(qty)
					if !ok || err != nil {
						return usageErr("--item: %q is not SKU:QUANTITY", it)
					}
					v.Items = append(v.Items, activities.Item{SKU: sku, Quantity: n})
				}
			}
			return nil
		},
	},
	workflows.ProcessOnboarding: {
		declare: func(fs *pflag.FlagSet) {
			fs.String("name", "", "employee's name")
			fs.String("role", "", "job role")
			fs.String("department", "", "department")
			fs.String("manager", "", "manager's user id (e.g. mia)")
			fs.String("start-date", "", "first day, YYYY-MM-DD")
			fs.StringSlice("equipment", nil, "equipment list, comma separated")
		},
		apply: func(fs *pflag.FlagSet, in workflows.Input) error {
			v := in.(*workflows.OnboardingInput)
			setString(fs, "name", &v.Name)
			setString(fs, "role", &v.Role)
			setString(fs, "department", &v.Department)
			setString(fs, "manager", &v.Manager)
			setString(fs, "start-date", &v.StartDate)
			if fs.Changed("equipment") {
				v.Equipment, _ = fs.GetStringSlice("equipment")
			}
			return nil
		},
	},
	workflows.ProcessExpense: {
		declare: func(fs *pflag.FlagSet) {
			fs.String("requester", "", "requester's user id (e.g. max)")
			fs.Float64("amount", 0, "amount to reimburse")
			fs.String("category", "", "category (travel, equipment, training, ...)")
			fs.String("description", "", "what it was for")
		},
		apply: func(fs *pflag.FlagSet, in workflows.Input) error {
			v := in.(*workflows.ExpenseInput)
			setString(fs, "requester", &v.Requester)
			setFloat(fs, "amount", &v.Amount)
			setString(fs, "category", &v.Category)
			setString(fs, "description", &v.Description)
			return nil
		},
	},
}

func setString(fs *pflag.FlagSet, name string, dst *string) {
	if fs.Changed(name) {
		*dst, _ = fs.GetString(name)
	}
}

func setFloat(fs *pflag.FlagSet, name string, dst *float64) {
	if fs.Changed(name) {
		*dst, _ = fs.GetFloat64(name)
	}
}

func setInt(fs *pflag.FlagSet, name string, dst *int) {
	if fs.Changed(name) {
		*dst, _ = fs.GetInt(name)
	}
}

func (a *app) startCommand() *cobra.Command {
	cmd := &cobra.Command{
		Use:   "start <loan|order|onboarding|expense>",
		Short: "Start a process from an input file or flags",
		Long: `Start a process instance. The workflow ID is the business key, e.g. loan-A-17.
Input comes from --file (JSON, see examples/) and/or the process's flags, which
override the file. Without an id one is generated.`,
		Example: `  starter start loan --file examples/loan-manual.json
  starter start loan --applicant C-1002 --amount 40000 --term-months 36
  starter start order --customer K-100 --item SKU-BOOK:2 --amount 120 --card 4111111111111111 --billing DE --shipping DE
  starter start onboarding --file examples/onboarding.json --wait
  starter start expense --requester max --amount 300 --category travel`,
		Args: func(_ *cobra.Command, args []string) error {
			if len(args) != 1 {
				return usageErr("start needs a process: one of %s", strings.Join(workflows.Processes(), ", "))
			}
			if _, ok := workflows.NewInput(args[0]); !ok {
				return usageErr("unknown process %q: one of %s", args[0], strings.Join(workflows.Processes(), ", "))
			}
			return nil
		},
		RunE: func(cmd *cobra.Command, args []string) error { return a.runStart(cmd, args[0]) },
	}
	fs := cmd.Flags()
	fs.String("file", "", "input JSON file")
	fs.String("id", "", "business id (applicationId, orderId, employeeId or expenseId)")
	fs.Bool("wait", false, "wait until the process ends and print its outcome")
	fs.Duration("wait-timeout", 0, "with --wait, give up after this long (0: no limit)")
	// Every process's flags are declared; start checks they fit the process.
	seen := map[string]bool{}
	for _, p := range workflows.Processes() {
		tmp := pflag.NewFlagSet(p, pflag.ContinueOnError)
		startFlags[p].declare(tmp)
		tmp.VisitAll(func(f *pflag.Flag) {
			if !seen[f.Name] {
				seen[f.Name] = true
				fs.AddFlag(f)
			}
		})
	}
	return cmd
}

// readInput decodes the input file, naming the position of a JSON error.
func readInput(path string, in workflows.Input) error {
	data, err := os.ReadFile(path)
	if err != nil {
		return usageErr("--file: %v", err)
	}
	dec := json.NewDecoder(bytes.NewReader(data))
	dec.DisallowUnknownFields()
	if err := dec.Decode(in); err != nil {
		var se *json.SyntaxError
		var te *json.UnmarshalTypeError
		switch {
		case errors.As(err, &se):
			// The offset is just past the offending character.
			line, col := position(data, se.Offset-1)
			return usageErr("%s:%d:%d: malformed JSON: %v", path, line, col, se)
		case errors.As(err, &te):
			line, col := position(data, te.Offset)
			return usageErr("%s:%d:%d: field %s: want %s, got %s", path, line, col, te.Field, te.Type, te.Value)
		default:
			return usageErr("%s: %v", path, err)
		}
	}
	return nil
}

func position(data []byte, offset int64) (line, col int) {
	line, col = 1, 1
	for i := int64(0); i < offset && i < int64(len(data)); i++ {
		if data[i] == '\n' {
			line, col = line+1, 1
		} else {
			col++
		}
	}
	return line, col
}

// startResult is what start prints.
type startResult struct {
	WorkflowID string         `json:"workflowId"`
	RunID      string         `json:"runId"`
	URL        string         `json:"url"`
	Outcome    string         `json:"outcome,omitempty"`
	Result     map[string]any `json:"result,omitempty"`
}

func (a *app) runStart(cmd *cobra.Command, process string) error {
	fs := cmd.Flags()
	// Flags of other processes are refused rather than silently ignored.
	own := pflag.NewFlagSet(process, pflag.ContinueOnError)
	startFlags[process].declare(own)
	var stray []string
	fs.Visit(func(f *pflag.Flag) {
		if own.Lookup(f.Name) == nil && cmd.LocalNonPersistentFlags().Lookup(f.Name) != nil && !isStartFlag(f.Name) {
			stray = append(stray, "--"+f.Name)
		}
	})
	if len(stray) > 0 {
		return usageErr("%s does not apply to %s", strings.Join(stray, ", "), process)
	}
	in, _ := workflows.NewInput(process)
	if file, _ := fs.GetString("file"); file != "" {
		if err := readInput(file, in); err != nil {
			return err
		}
	}
	if err := startFlags[process].apply(fs, in); err != nil {
		return err
	}
	if id, _ := fs.GetString("id"); id != "" {
		workflows.SetID(in, id)
	} else if in.Key() == workflows.WorkflowID(process, "") {
		workflows.SetID(in, generatedID(process))
	}
	if err := in.Validate(); err != nil {
		return usageErr("invalid %s input: %v", process, err)
	}
	cfg, err := a.config()
	if err != nil {
		return err
	}
	if err := checkDirectory(cfg.Policy.File, in); err != nil {
		return err
	}
	cl, err := a.connect()
	if err != nil {
		return err
	}
	run, err := a.startInstance(cmd.Context(), cl, process, in)
	if err != nil {
		return err
	}
	res := startResult{WorkflowID: run.GetID(), RunID: run.GetRunID(), URL: a.workflowURL(run.GetID())}
	if wait, _ := fs.GetBool("wait"); wait {
		ctx := cmd.Context()
		if d, _ := fs.GetDuration("wait-timeout"); d > 0 {
			var cancel func()
			ctx, cancel = context.WithTimeout(cmd.Context(), d)
			defer cancel()
		}
		if err := run.Get(ctx, &res.Result); err != nil {
			if gaveUp(ctx, err) {
				return fmt.Errorf("stopped waiting; %s goes on: starter status %s", run.GetID(), run.GetID())
			}
			return fmt.Errorf("%s ended without a result: %v", run.GetID(), rootMessage(err))
		}
		res.Outcome, _ = res.Result["outcome"].(string)
	}
	if a.jsonOutput() {
		return a.printJSON(res)
	}
	fmt.Fprintf(a.out, "started %s\n  UI: %s\n", res.WorkflowID, res.URL)
	if res.Outcome != "" {
		reason, _ := res.Result["reason"].(string)
		fmt.Fprintf(a.out, "  outcome: %s (%s)\n", res.Outcome, reason)
	} else {
		fmt.Fprintf(a.out, "  next: starter status %s\n", res.WorkflowID)
	}
	return nil
}

func isStartFlag(name string) bool {
	switch name {
	case "file", "id", "wait", "wait-timeout":
		return true
	}
	return false
}

// checkDirectory refuses, before anything starts, a manager or requester
// the local policy's directory does not know. The worker checks again
// against the policy it serves.
func checkDirectory(policyFile string, in workflows.Input) error {
	var field, user string
	switch v := in.(type) {
	case *workflows.OnboardingInput:
		field, user = "manager", v.Manager
	case *workflows.ExpenseInput:
		field, user = "requester", v.Requester
	default:
		return nil
	}
	pol, err := policy.Load(policyFile)
	if err != nil {
		return nil // no local policy: the worker decides
	}
	if _, ok := pol.Users[user]; !ok {
		return usageErr("invalid input: %s: %q is not in the directory (%s)", field, user, strings.Join(slices.Sorted(maps.Keys(pol.Users)), ", "))
	}
	return nil
}

// generatedID is a short, sortable id for starts without one.
func generatedID(process string) string {
	prefix := map[string]string{workflows.ProcessLoan: "A", workflows.ProcessOrder: "O", workflows.ProcessOnboarding: "E", workflows.ProcessExpense: "X"}[process]
	return fmt.Sprintf("%s-%s", prefix, time.Now().UTC().Format("0102-150405.000"))
}

// gaveUp reports whether err is the wait being cut short (timeout or
// Ctrl-C). gRPC's own deadline timer may fire a moment before the context's,
// so the error is checked as well as the context.
func gaveUp(ctx context.Context, err error) bool {
	var de *serviceerror.DeadlineExceeded
	var ce *serviceerror.Canceled
	return ctx.Err() != nil || errors.Is(err, context.DeadlineExceeded) || errors.Is(err, context.Canceled) ||
		errors.As(err, &de) || errors.As(err, &ce)
}

// startInstance starts one process instance: business-key ID, the UI's
// summary and details, the start-time search attributes, and a clear
// refusal for a key that exists.
func (a *app) startInstance(ctx context.Context, cl client.Client, process string, in workflows.Input) (client.WorkflowRun, error) {
	run, err := cl.ExecuteWorkflow(ctx, client.StartWorkflowOptions{
		ID:        in.Key(),
		TaskQueue: a.cfg.TaskQueue,
		// Without this the SDK hands back the running instance as if it
		// had just been started.
		WorkflowExecutionErrorWhenAlreadyStarted: true,
		WorkflowIDReusePolicy:                    enums.WORKFLOW_ID_REUSE_POLICY_ALLOW_DUPLICATE_FAILED_ONLY,
		StaticSummary:                            in.Summary(),
		StaticDetails:                            in.Details(),
		TypedSearchAttributes:                    workflows.StartAttributes(process, in.Key()),
	}, process, in)
	if err != nil {
		var started *serviceerror.WorkflowExecutionAlreadyStarted
		if errors.As(err, &started) {
			return nil, fmt.Errorf("%s already exists (running, or completed: business keys are not reused); see: starter status %s", in.Key(), in.Key())
		}
		return nil, fmt.Errorf("start %s: %v", in.Key(), rootMessage(err))
	}
	return run, nil
}
