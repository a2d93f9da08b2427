package main

import (
	"context"
	"fmt"
	"runtime/debug"
	"time"

	"github.com/spf13/cobra"
	"go.temporal.io/sdk/client"

	"github.com/batonhq/baton/workflows"
)

// version is set at build time with -ldflags "-X main.version=...".
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
			}, workflows.ProcessPing, workflows.PingInput{})
			if err != nil {
				return fmt.Errorf("start ping: %w", err)
			}
			var res workflows.PingResult
			if err := run.Get(ctx, &res); err != nil {
				return fmt.Errorf("no worker answered on task queue %q within %s (is the worker running?)", a.cfg.TaskQueue, timeout)
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
