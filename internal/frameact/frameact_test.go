package frameact

import (
	"context"
	"testing"
	"time"

	"github.com/batonhq/baton/record"

	"github.com/batonhq/baton/audit"

	"github.com/batonhq/baton/internal/activitytest"
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

	res, err := activitytest.Run[audit.AppendResult](t, f.appendAudit, in)
	if err != nil || res.Stored != 1 || len(res.Heads["loan-A-1"]) != 64 {
		t.Fatalf("first attempt: %+v, %v", res, err)
	}
	// A retry (the worker died after the commit, before reporting it).
	if res, err = activitytest.Run[audit.AppendResult](t, f.appendAudit, in); err != nil || res.Stored != 0 || res.Duplicates != 1 {
		t.Fatalf("retry: %+v, %v", res, err)
	}
	changed := e
	changed.Actor = "ana"
	_, err = activitytest.Run[audit.AppendResult](t, f.appendAudit, record.AppendAuditInput{Entries: []audit.Entry{changed}})
	activitytest.WantAppError(t, err, record.ErrAuditConflict, true)

	invalid := e
	invalid.Seq = 0
	_, err = activitytest.Run[audit.AppendResult](t, f.appendAudit, record.AppendAuditInput{Entries: []audit.Entry{invalid}})
	activitytest.WantAppError(t, err, record.ErrAuditInvalid, true)

	if err := pg.Stop(ctx, "fast"); err != nil {
		t.Fatal(err)
	}
	e.Seq = 2
	_, err = activitytest.Run[audit.AppendResult](t, f.appendAudit, record.AppendAuditInput{Entries: []audit.Entry{e}})
	activitytest.WantAppError(t, err, "", false)
}
