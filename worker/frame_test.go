package worker

import (
	"context"
	"errors"
	"io"
	"log/slog"
	"testing"
	"time"

	"go.temporal.io/sdk/log"
	"go.temporal.io/sdk/temporal"
	"go.temporal.io/sdk/testsuite"

	"github.com/batonhq/baton/record"

	"github.com/batonhq/baton/audit"

	"github.com/batonhq/baton/internal/auditstore/auditstoretest"
)

// The audit activity against a real PostgreSQL: stored once however often
// it runs, a changed entry is never retried, an unreachable store is.
func TestAppendAudit(t *testing.T) {
	st, pg := auditstoretest.Start(t)
	ctx := context.Background()
	f := NewFrame(nil, st)
	e := audit.Entry{WorkflowID: "loan-A-1", RunID: "r1", Seq: 1, Process: "loan", BusinessKey: "A-1",
		Time: time.Now(), Actor: "system", Action: "started", Source: audit.SourceWorkflow}
	in := record.AppendAuditInput{Entries: []audit.Entry{e}}

	res, err := run[audit.AppendResult](t, f.appendAudit, in)
	if err != nil || res.Stored != 1 || len(res.Heads["loan-A-1"]) != 64 {
		t.Fatalf("first attempt: %+v, %v", res, err)
	}
	// A retry (the worker died after the commit, before reporting it).
	if res, err = run[audit.AppendResult](t, f.appendAudit, in); err != nil || res.Stored != 0 || res.Duplicates != 1 {
		t.Fatalf("retry: %+v, %v", res, err)
	}
	changed := e
	changed.Actor = "ana"
	_, err = run[audit.AppendResult](t, f.appendAudit, record.AppendAuditInput{Entries: []audit.Entry{changed}})
	wantAppError(t, err, record.ErrAuditConflict, true)

	invalid := e
	invalid.Seq = 0
	_, err = run[audit.AppendResult](t, f.appendAudit, record.AppendAuditInput{Entries: []audit.Entry{invalid}})
	wantAppError(t, err, record.ErrAuditInvalid, true)

	if err := pg.Stop(ctx, "fast"); err != nil {
		t.Fatal(err)
	}
	e.Seq = 2
	_, err = run[audit.AppendResult](t, f.appendAudit, record.AppendAuditInput{Entries: []audit.Entry{e}})
	wantAppError(t, err, "", false)
}

func run[R any](t *testing.T, act any, in any) (*R, error) {
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

func wantAppError(t *testing.T, err error, typ string, nonRetryable bool) {
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
