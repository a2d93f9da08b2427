package starter

import (
	"context"
	"errors"
	"fmt"
	"strings"

	"go.temporal.io/api/serviceerror"
	"go.temporal.io/sdk/temporal"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
)

// rootMessage is the innermost human message of a Temporal error.
func rootMessage(err error) string {
	var ae *temporal.ApplicationError
	if errors.As(err, &ae) {
		return ae.Message()
	}
	return err.Error()
}

// timedOut reports an error of a call that ran out of time, whether the
// client's context or the server said so.
func timedOut(err error) bool {
	var de *serviceerror.DeadlineExceeded
	return errors.Is(err, context.DeadlineExceeded) || errors.As(err, &de) || status.Code(err) == codes.DeadlineExceeded
}

// instanceErr classifies an error about one workflow: unknown (exit 4), a
// worker that does not answer, or anything else.
func instanceErr(id string, err error) error {
	var nf *serviceerror.NotFound
	if errors.As(err, &nf) {
		return &codedError{exitNotFound, fmt.Errorf("%s: no such workflow", id)}
	}
	if timedOut(err) {
		return fmt.Errorf("%s: no answer in time: is a worker running (starter ping checks)?", id)
	}
	var qf *serviceerror.QueryFailed
	if errors.As(err, &qf) {
		return fmt.Errorf("%s: %s", id, qf.Message)
	}
	return fmt.Errorf("%s: %v", id, rootMessage(err))
}

// checkProcessFlag refuses a --process that names no process (empty means
// every process), listing the ones there are.
func (a *app) checkProcessFlag(name string) error {
	if _, ok := a.catalog.Lookup(name); name != "" && !ok {
		return usageErr("--process: unknown process %q: one of %s", name, strings.Join(a.catalog.Names(), ", "))
	}
	return nil
}
