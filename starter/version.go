package starter

import (
	"context"
	"errors"
	"fmt"
	"runtime/debug"
	"strings"
	"time"

	"github.com/spf13/cobra"
	"go.temporal.io/api/enums/v1"
	failurepb "go.temporal.io/api/failure/v1"
	"go.temporal.io/sdk/client"

	"github.com/batonhq/baton/codec"
	"github.com/batonhq/baton/process"
)

// version is set at build time with -ldflags "-X github.com/batonhq/baton/starter.version=...".
var version = "dev"

func (a *app) versionCommand() *cobra.Command {
	return &cobra.Command{
		Use:   "version",
		Short: "Print the starter's version",
		Args:  cobra.NoArgs,
		RunE: func(*cobra.Command, []string) error {
			sdk := "unknown"
			if bi, ok := debug.ReadBuildInfo(); ok {
				for _, d := range bi.Deps {
					if d.Path == "go.temporal.io/sdk" {
						sdk = d.Version
					}
				}
			}
			if a.jsonOutput() {
				return a.printJSON(map[string]string{"version": version, "temporalSDK": sdk})
			}
			_, err := fmt.Fprintf(a.out, "starter %s (Temporal Go SDK %s)\n", version, sdk)
			return err
		},
	}
}

func (a *app) pingCommand() *cobra.Command {
	var timeout time.Duration
	cmd := &cobra.Command{
		Use:   "ping",
		Short: "Check that a worker answers on the task queue and show its policy version",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			cl, err := a.connect()
			if err != nil {
				return err
			}
			ctx, cancel := context.WithTimeout(cmd.Context(), timeout)
			defer cancel()
			run, err := cl.ExecuteWorkflow(ctx, client.StartWorkflowOptions{
				TaskQueue:     a.cfg.TaskQueue,
				StaticSummary: "ping: is a Baton worker polling?",
				// The server ends a ping nobody answered.
				WorkflowExecutionTimeout: timeout + time.Minute,
			}, process.PingName, process.PingInput{})
			if err != nil {
				return fmt.Errorf("start ping: %w", err)
			}
			var res process.PingResult
			if err := run.Get(ctx, &res); err != nil {
				return a.pingUnanswered(cmd.Context(), cl, run, timeout)
			}
			if a.jsonOutput() {
				return a.printJSON(res)
			}
			_, err = fmt.Fprintf(a.out, "worker answered on task queue %q: policy %s, %d users\n", a.cfg.TaskQueue, res.PolicyVersion, res.Users)
			return err
		},
	}
	cmd.Flags().DurationVar(&timeout, "timeout", 10*time.Second, "how long to wait for a worker")
	return cmd
}

// pingUnanswered tells a ping no worker took from one a worker took and
// failed: a worker that cannot decrypt what this starter wrote (another key
// file, or a key added after it started) fails the ping, which would
// otherwise look like no worker at all.
func (a *app) pingUnanswered(ctx context.Context, cl client.Client, run client.WorkflowRun, timeout time.Duration) error {
	none := fmt.Errorf("no worker answered on task queue %q within %s (is the worker running? make dev starts one)", a.cfg.TaskQueue, timeout)
	ctx, cancel := context.WithTimeout(ctx, 5*time.Second)
	defer cancel()
	var tries int
	var worker string
	var last *failurepb.Failure
	it := cl.GetWorkflowHistory(ctx, run.GetID(), run.GetRunID(), false, enums.HISTORY_EVENT_FILTER_TYPE_ALL_EVENT)
	for it.HasNext() {
		ev, err := it.Next()
		if err != nil {
			return none
		}
		switch {
		case ev.GetWorkflowTaskStartedEventAttributes() != nil:
			worker = ev.GetWorkflowTaskStartedEventAttributes().GetIdentity()
		case ev.GetWorkflowTaskFailedEventAttributes() != nil:
			tries++
			last = ev.GetWorkflowTaskFailedEventAttributes().GetFailure()
		case ev.GetWorkflowExecutionFailedEventAttributes() != nil:
			tries++
			last = ev.GetWorkflowExecutionFailedEventAttributes().GetFailure()
		}
	}
	if last == nil {
		return none
	}
	// Best effort: end a ping that is still retrying now rather than at its timeout.
	_ = cl.TerminateWorkflow(ctx, run.GetID(), run.GetRunID(), "starter ping: the worker failed it")
	why := a.failureMessage(last)
	msg := fmt.Sprintf("a worker (%s) took the ping on task queue %q but failed it (%d time(s)): %s", worker, a.cfg.TaskQueue, tries, why)
	if strings.Contains(why, "encrypted with key") {
		msg += ": the worker and this starter do not share their payload keys; give the starter the worker's key file " +
			"(temporal.codec.key_file, BATON_CODEC_KEY_FILE; starter profile shows the one in use), or restart the worker if a key was added since it started"
	}
	return errors.New(msg)
}

// failureMessage is the message of a failure's deepest cause, decrypted
// with the starter's keys when it can be.
func (a *app) failureMessage(f *failurepb.Failure) string {
	for f.GetCause() != nil {
		f = f.GetCause()
	}
	ea := f.GetEncodedAttributes()
	if ea == nil {
		return f.GetMessage()
	}
	dc, err := a.dataConverter()
	if err != nil {
		return f.GetMessage()
	}
	var attrs struct {
		Message string `json:"message"`
	}
	var ke *codec.KeyError
	switch err := dc.FromPayload(ea, &attrs); {
	case errors.As(err, &ke):
		return fmt.Sprintf("its error is encrypted with key %q, which this starter does not hold", ke.ID)
	case err != nil:
		return f.GetMessage()
	}
	return attrs.Message
}
