package starter

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"go.temporal.io/api/serviceerror"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"

	"github.com/batonhq/baton/workflows"
)

// Every example input passes the starter's strict decoding and its
// process's validation.
func TestExamplesAreStrictlyValid(t *testing.T) {
	files, _ := filepath.Glob("../examples/*.json")
	if len(files) < 10 {
		t.Fatalf("found %d examples", len(files))
	}
	for _, f := range files {
		name, _, _ := strings.Cut(filepath.Base(f), "-")
		p, ok := workflows.Catalog().Lookup(strings.TrimSuffix(name, ".json"))
		if !ok {
			t.Errorf("%s: no process %q", f, name)
			continue
		}
		in := p.NewInput()
		if err := readInput(f, os.Stdin, in); err != nil {
			t.Errorf("%s: %v", f, err)
			continue
		}
		if err := in.Validate(); err != nil {
			t.Errorf("%s: %v", f, err)
		}
	}
}

// Running out of time reads as such whether the client's context or the
// server reports it (the server's DeadlineExceeded is not context's).
func TestTimedOut(t *testing.T) {
	for _, err := range []error{
		context.DeadlineExceeded,
		fmt.Errorf("query: %w", context.DeadlineExceeded),
		serviceerror.NewDeadlineExceeded("context deadline exceeded"),
		status.Error(codes.DeadlineExceeded, "context deadline exceeded"),
	} {
		if !timedOut(err) {
			t.Errorf("%T %v: not a time-out", err, err)
		}
		if msg := instanceErr("loan-A-1", err).Error(); !strings.Contains(msg, "starter ping") {
			t.Errorf("%T: %q", err, msg)
		}
	}
	if timedOut(errors.New("boom")) || timedOut(serviceerror.NewNotFound("x")) {
		t.Error("other errors read as time-outs")
	}
}
