// Package starter is the CLI people use to start Baton processes, work their
// task inbox, decide, and inspect status and audit trails, as a library;
// cmd/starter is its main.
package starter

import (
	"context"
	"fmt"
	"os"
	"os/signal"
	"strings"
	"syscall"

	"github.com/batonhq/baton/process"
	"github.com/batonhq/baton/textsafe"
)

// Main runs the CLI for the catalog's processes with the program's
// arguments and exits with its code.
func Main(c *process.Catalog) {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	code := Run(ctx, c, os.Args[1:])
	stop()
	os.Exit(code)
}

// Run executes the CLI and returns the process exit code:
// 0 ok, 1 failure, 2 usage error, 3 refused by policy, 4 not found.
func Run(ctx context.Context, c *process.Catalog, args []string) int {
	a := newApp(c, os.Stdout, os.Stderr)
	root := a.rootCommand()
	root.SetArgs(args)
	err := root.ExecuteContext(ctx)
	if a.client != nil {
		a.client.Close()
	}
	if err == nil {
		return 0
	}
	err = a.withHint(err)
	// Errors quote servers and other people's input: escape control characters.
	fmt.Fprintln(os.Stderr, "starter:", textsafe.Clean(oneLine(err.Error())))
	return exitCode(err)
}

// oneLine folds cobra's multi-line suggestions into one line:
// unknown command "approvee" for "starter" (did you mean: approve?)
func oneLine(msg string) string {
	head, suggestions, ok := strings.Cut(msg, "\n\nDid you mean this?\n")
	if !ok {
		return strings.TrimSpace(msg)
	}
	return fmt.Sprintf("%s (did you mean: %s?)", head, strings.Join(strings.Fields(suggestions), ", "))
}
