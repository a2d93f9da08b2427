package starter

import (
	"context"
	"errors"
	"fmt"
	"io"
	"maps"
	"os"
	"slices"
	"strings"
	"time"

	"github.com/batonhq/baton/audit"
	"github.com/batonhq/baton/config"
	"github.com/batonhq/baton/process"

	"github.com/spf13/cobra"
	"github.com/spf13/pflag"
	"go.temporal.io/api/enums/v1"
	"go.temporal.io/api/serviceerror"
	"go.temporal.io/sdk/client"

	"github.com/batonhq/baton/record"
	"github.com/batonhq/baton/strictjson"
	"github.com/batonhq/baton/textsafe"
)

// declareFlags declares a process's input flags on fs (a flag another
// process declared already is shared, and its usage lists both).
func declareFlags(fs *pflag.FlagSet, p *process.Description) {
	for _, f := range p.Flags {
		if had := fs.Lookup(f.Name); had != nil {
			if !strings.Contains(had.Usage, f.Usage) {
				had.Usage += "; " + f.Usage
			}
			continue
		}
		switch f.Kind {
		case process.FlagString:
			fs.String(f.Name, "", f.Usage)
		case process.FlagFloat:
			fs.Float64(f.Name, 0, f.Usage)
		case process.FlagInt:
			fs.Int(f.Name, 0, f.Usage)
		case process.FlagStrings:
			fs.StringArray(f.Name, nil, f.Usage)
		case process.FlagList:
			fs.StringSlice(f.Name, nil, f.Usage)
		}
	}
}

// applyFlags sets the input fields of the flags given on the command line,
// over what the file set.
func applyFlags(fs *pflag.FlagSet, p *process.Description, in process.Input) error {
	for _, f := range p.Flags {
		if !fs.Changed(f.Name) {
			continue
		}
		var v any
		switch f.Kind {
		case process.FlagString:
			v, _ = fs.GetString(f.Name)
		case process.FlagFloat:
			v, _ = fs.GetFloat64(f.Name)
		case process.FlagInt:
			v, _ = fs.GetInt(f.Name)
		case process.FlagStrings:
			v, _ = fs.GetStringArray(f.Name)
		case process.FlagList:
			v, _ = fs.GetStringSlice(f.Name)
		}
		if err := f.Set(in, v); err != nil {
			return usageErr("%v", err)
		}
	}
	return nil
}

func (a *app) startCommand() *cobra.Command {
	var idFields []string
	for _, p := range a.catalog.Processes() {
		idFields = append(idFields, p.IDField)
	}
	cmd := &cobra.Command{
		Use:   "start <" + strings.Join(a.catalog.Names(), "|") + ">",
		Short: "Start a process from an input file or flags",
		Long: `Start a process instance. The workflow ID is the business key, e.g. loan-A-17.
Input comes from --file (JSON, see examples/; - reads standard input) and/or the
process's flags, which override the file. The file must hold exactly one JSON
object: duplicate or unknown keys, invalid UTF-8 and trailing data are refused,
naming the field. People the input names are checked against the directory of
the policy file (policy.file) before anything starts. Without an id one is
generated.`,
		Example: `  starter start loan --file examples/loan-manual.json
  starter start loan --applicant C-1002 --amount 40000 --term-months 36
  starter start order --customer K-100 --item SKU-BOOK:2 --amount 120 --card 4111111111111111 --billing DE --shipping DE
  starter start onboarding --file examples/onboarding.json --wait
  starter start expense --requester max --amount 300 --category travel
  starter start claim --file examples/claim-auto-pay.json`,
		Args: func(_ *cobra.Command, args []string) error {
			if len(args) != 1 {
				return usageErr("start needs a process: one of %s", strings.Join(a.catalog.Names(), ", "))
			}
			if _, ok := a.catalog.Lookup(args[0]); !ok {
				return usageErr("unknown process %q: one of %s", args[0], strings.Join(a.catalog.Names(), ", "))
			}
			return nil
		},
		RunE: func(cmd *cobra.Command, args []string) error { return a.runStart(cmd, args[0]) },
	}
	fs := cmd.Flags()
	fs.String("file", "", "input JSON file (-: standard input); one object, no duplicate or unknown keys")
	fs.String("id", "", "business id ("+strings.Join(idFields, ", ")+")")
	fs.Bool("wait", false, "wait until the process ends and print its outcome")
	fs.Duration("wait-timeout", 0, "with --wait, give up after this long (0: no limit)")
	// Every process's flags are declared; start checks they fit the process.
	for _, p := range a.catalog.Processes() {
		declareFlags(fs, p)
	}
	return cmd
}

// readInput decodes the input file ("-": standard input) strictly: one
// JSON object, no duplicate or unknown keys, valid UTF-8, nothing after it.
// The error names the field, and the line and column of a syntax error.
func readInput(path string, stdin io.Reader, in process.Input) error {
	var data []byte
	var err error
	if path == "-" {
		data, err = io.ReadAll(stdin)
		path = "stdin"
	} else {
		data, err = os.ReadFile(path)
	}
	if err != nil {
		return usageErr("--file: %v", err)
	}
	if err := strictjson.Decode(data, in); err != nil {
		var se *strictjson.Error
		if errors.As(err, &se) && se.Offset >= 0 {
			line, col := position(data, se.Offset)
			return usageErr("%s:%d:%d: %v", path, line, col, err)
		}
		return usageErr("%s: %v", path, err)
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

func (a *app) runStart(cmd *cobra.Command, name string) error {
	fs := cmd.Flags()
	p, _ := a.catalog.Lookup(name)
	// Flags of other processes are refused rather than silently ignored.
	own := pflag.NewFlagSet(name, pflag.ContinueOnError)
	declareFlags(own, p)
	var stray []string
	fs.Visit(func(f *pflag.Flag) {
		if own.Lookup(f.Name) == nil && cmd.LocalNonPersistentFlags().Lookup(f.Name) != nil && !isStartFlag(f.Name) {
			stray = append(stray, "--"+f.Name)
		}
	})
	if len(stray) > 0 {
		return usageErr("%s does not apply to %s", strings.Join(stray, ", "), name)
	}
	in := p.NewInput()
	if file, _ := fs.GetString("file"); file != "" {
		if err := readInput(file, cmd.InOrStdin(), in); err != nil {
			return err
		}
	}
	if err := applyFlags(fs, p, in); err != nil {
		return err
	}
	if id, _ := fs.GetString("id"); id != "" {
		in.SetID(id)
	} else if in.Key() == process.WorkflowID(name, "") {
		in.SetID(generatedID(p))
	}
	if err := in.Validate(); err != nil {
		return usageErr("invalid %s input: %v", name, err)
	}
	cfg, err := a.config()
	if err != nil {
		return err
	}
	if err := a.checkDirectory(cfg.Policy.File, p, in); err != nil {
		return err
	}
	cl, err := a.connect()
	if err != nil {
		return err
	}
	if err := a.refuseEndedKey(cmd, cl, in.Key()); err != nil {
		return err
	}
	run, err := a.startInstance(cmd.Context(), cl, name, in)
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
	id := textsafe.Clean(res.WorkflowID)
	fmt.Fprintf(a.out, "started %s\n  UI: %s\n", id, textsafe.Clean(res.URL))
	if res.Outcome != "" {
		reason, _ := res.Result["reason"].(string)
		fmt.Fprintf(a.out, "  outcome: %s (%s)\n", textsafe.Clean(res.Outcome), textsafe.Clean(reason))
	} else {
		fmt.Fprintf(a.out, "  next: starter status %s\n", id)
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

// checkDirectory refuses, before anything starts, a user field (manager,
// requester, ...) the policy's directory does not know, and a policy file
// that cannot be read or would be refused (the starter checks against the
// file the worker is configured with). The worker checks again against the
// policy it serves.
func (a *app) checkDirectory(policyFile string, p *process.Description, in process.Input) error {
	pol, err := config.LoadPolicy(policyFile, a.catalog.CheckPolicy)
	if err != nil {
		return usageErr("policy.file: %v", err)
	}
	if p.Directory == nil {
		return nil
	}
	for _, f := range p.Directory(in) {
		if _, ok := pol.Users[f.User]; !ok {
			return usageErr("invalid %s input: %s: %q is not in the directory (%s)", p.Name, f.Field, f.User, strings.Join(slices.Sorted(maps.Keys(pol.Users)), ", "))
		}
	}
	return nil
}

// generatedID is a short, sortable id for starts without one.
func generatedID(p *process.Description) string {
	return fmt.Sprintf("%s-%s", p.IDPrefix, time.Now().UTC().Format("0102-150405.000"))
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

// refuseEndedKey says, before anything starts, what the workflow would
// answer (record.ClaimKey): a business key whose instance has ended never
// runs again. The audit store knows the key's outcome; an instance that
// ended without one (terminated, ...) is one the store saw start and
// Temporal no longer runs. A store that cannot be read is a warning: the
// workflow checks the key itself.
func (a *app) refuseEndedKey(cmd *cobra.Command, cl client.Client, key string) error {
	st, err := a.auditStore(cmd)
	if err != nil {
		fmt.Fprintf(a.errOut, "starter: %v; the process checks %s itself\n", err, key)
		return nil
	}
	defer st.Close()
	k, err := st.KeyState(cmd.Context(), key, audit.ActionStarted, audit.EndActions)
	if err != nil {
		fmt.Fprintf(a.errOut, "starter: %v; the process checks %s itself\n", err, key)
		return nil
	}
	if k.Start == nil {
		return nil
	}
	// A run of it (or a reset of it) still running: the start says so.
	desc, err := cl.DescribeWorkflowExecution(cmd.Context(), key, "")
	var nf *serviceerror.NotFound
	switch {
	case errors.As(err, &nf):
	case err != nil:
		return nil // the start answers for the server
	case desc.GetWorkflowExecutionInfo().GetStatus() == enums.WORKFLOW_EXECUTION_STATUS_RUNNING:
		return nil
	}
	return errors.New(textsafe.Clean(record.KeyEnded(key, k)))
}

// startInstance starts one process instance: business-key ID, the UI's
// summary and details, the start-time search attributes, and a clear
// refusal for a key that exists.
func (a *app) startInstance(ctx context.Context, cl client.Client, name string, in process.Input) (client.WorkflowRun, error) {
	run, err := cl.ExecuteWorkflow(ctx, client.StartWorkflowOptions{
		ID:        in.Key(),
		TaskQueue: a.cfg.TaskQueue,
		// Without this the SDK hands back the running instance as if it
		// had just been started.
		WorkflowExecutionErrorWhenAlreadyStarted: true,
		WorkflowIDReusePolicy:                    enums.WORKFLOW_ID_REUSE_POLICY_ALLOW_DUPLICATE_FAILED_ONLY,
		StaticSummary:                            in.Summary(),
		StaticDetails:                            in.Details(),
		TypedSearchAttributes:                    record.StartAttributes(name, in.Key()),
	}, name, in)
	if err != nil {
		var started *serviceerror.WorkflowExecutionAlreadyStarted
		if errors.As(err, &started) {
			return nil, fmt.Errorf("%s already exists (running, or completed: business keys are not reused); see: starter status %s", in.Key(), in.Key())
		}
		return nil, fmt.Errorf("start %s: %v", in.Key(), rootMessage(err))
	}
	return run, nil
}
