// Command starter is the CLI people use to start Baton processes, work their
// task inbox, decide, and inspect status and audit trails.
package main

import (
	"context"
	"fmt"
	"os"
	"os/signal"
	"strings"
	"syscall"

	"github.com/batonhq/baton/internal/termsafe"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	code := run(ctx, os.Args[1:])
	stop()
	os.Exit(code)
}

// run executes the CLI and returns the process exit code:
// 0 ok, 1 failure, 2 usage error, 3 refused by policy, 4 not found.
func run(ctx context.Context, args []string) int {
	a := newApp(os.Stdout, os.Stderr)
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
	fmt.Fprintln(os.Stderr, "starter:", termsafe.Clean(oneLine(err.Error())))
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
