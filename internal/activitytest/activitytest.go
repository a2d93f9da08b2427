// Package activitytest runs one activity in Temporal's test activity
// environment and checks its application errors, for the tests of
// activities (Baton's systems, the frame's own).
package activitytest

import (
	"errors"
	"io"
	"log/slog"
	"testing"

	"go.temporal.io/sdk/log"
	"go.temporal.io/sdk/temporal"
	"go.temporal.io/sdk/testsuite"
)

// Run executes one activity in a fresh test environment and decodes its
// result. Fresh environments give the same workflow and activity IDs,
// hence the same idempotency key: exactly what a retry of one activity
// sends.
func Run[R any](t testing.TB, act any, in any) (*R, error) {
	t.Helper()
	var s testsuite.WorkflowTestSuite
	s.SetLogger(log.NewStructuredLogger(slog.New(slog.NewTextHandler(io.Discard, nil))))
	env := s.NewTestActivityEnvironment()
	env.RegisterActivity(act)
	val, err := env.ExecuteActivity(act, in)
	if err != nil {
		return nil, err
	}
	var out R
	if err := val.Get(&out); err != nil {
		t.Fatal(err)
	}
	return &out, nil
}

// WantAppError checks that err is an application error of type typ (any
// type when empty), retryable or not.
func WantAppError(t testing.TB, err error, typ string, nonRetryable bool) {
	t.Helper()
	var ae *temporal.ApplicationError
	if !errors.As(err, &ae) {
		t.Fatalf("err = %v, want an application error", err)
	}
	if typ != "" && ae.Type() != typ {
		t.Errorf("type = %q, want %q (%v)", ae.Type(), typ, err)
	}
	if ae.NonRetryable() != nonRetryable {
		t.Errorf("non-retryable = %v, want %v (%v)", ae.NonRetryable(), nonRetryable, err)
	}
}
