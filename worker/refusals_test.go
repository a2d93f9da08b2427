package worker

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/batonhq/baton/audit"

	"go.temporal.io/sdk/temporal"
	"go.uber.org/zap"

	"github.com/batonhq/baton/internal/auditstore/auditstoretest"
	"github.com/batonhq/baton/record"
)

// With the store down, a refusal stands, says it is not recorded yet, and
// is written once the store is back — once, even if it is sent again.
func TestRefusalRecorderQueuesWhileTheStoreIsDown(t *testing.T) {
	st, pg := auditstoretest.Start(t)
	ctx := context.Background()
	r := newRefusalRecorder(st, zap.NewNop(), nil)
	e := audit.Entry{WorkflowID: "loan-A-1", RunID: "r1", UpdateID: "u-1", Process: "loan", BusinessKey: "A-1",
		Time: time.Now(), Actor: "eve", Action: "decision-refused", Reason: "not-a-candidate", Via: "update", Source: audit.SourceValidator}

	if err := r.record(e); err != nil {
		t.Fatalf("store up: %v", err)
	}
	if err := pg.Stop(ctx, "fast"); err != nil {
		t.Fatal(err)
	}
	e2 := e
	e2.UpdateID = "u-2"
	start := time.Now()
	if err := r.record(e2); err == nil {
		t.Fatal("recorded with the store down")
	}
	if d := time.Since(start); d > time.Second {
		t.Errorf("the validator waited %s for a store that is down (deadlock detector: 1s)", d)
	}
	_ = r.record(e2) // the caller retries the same update
	if r.pending() != 2 {
		t.Fatalf("backlog %d, want 2", r.pending())
	}
	msg := notRecorded(temporal.NewApplicationError("eve may not decide", "not-a-candidate")).Error()
	var ae *temporal.ApplicationError
	if !errors.As(notRecorded(temporal.NewApplicationError("x", "not-a-candidate")), &ae) || ae.Type() != "not-a-candidate" || !strings.Contains(msg, "not yet recorded") {
		t.Errorf("refusal while the store is down: %q", msg)
	}

	if err := pg.StartServer(ctx); err != nil {
		t.Fatal(err)
	}
	rctx, cancel := context.WithCancel(ctx)
	done := make(chan struct{})
	go func() { r.run(rctx); close(done) }()
	deadline := time.Now().Add(20 * time.Second)
	for r.pending() > 0 && time.Now().Before(deadline) {
		time.Sleep(50 * time.Millisecond)
	}
	cancel()
	<-done
	recs, err := st.Trail(ctx, "loan-A-1")
	if err != nil {
		t.Fatal(err)
	}
	if len(recs) != 2 || recs[1].UpdateID != "u-2" {
		t.Fatalf("store holds %d refusals, want u-1 and u-2 once each: %+v", len(recs), recs)
	}
}

// Refused updates are capped like refused signals: a run's first
// MaxRefusedAudited are stored one by one; beyond them they are counted,
// and the count is in the trail (summaries at 1, 2, 4, ... more), so 120
// refusals do not store 120 rows.
func TestRefusalsBeyondTheCapAreCounted(t *testing.T) {
	st, _ := auditstoretest.Start(t)
	ctx := context.Background()
	r := newRefusalRecorder(st, zap.NewNop(), nil)
	for i := range 120 {
		e := audit.Entry{WorkflowID: "loan-A-2", RunID: "r1", UpdateID: fmt.Sprint("u-", i), Process: "loan", BusinessKey: "A-2",
			Time: time.Now(), Actor: "eve", Action: "decision-refused", Reason: "not-a-candidate", Via: "update", Source: audit.SourceValidator}
		if err := r.record(e); err != nil {
			t.Fatalf("refusal %d: %v", i, err)
		}
	}
	recs, err := st.Trail(ctx, "loan-A-2")
	if err != nil {
		t.Fatal(err)
	}
	var refused, summaries []audit.Stored
	for _, rec := range recs {
		switch rec.Action {
		case "decision-refused":
			refused = append(refused, rec)
		case audit.ActionRefusedSummary:
			summaries = append(summaries, rec)
		}
	}
	if len(refused) != record.MaxRefusedAudited || len(summaries) != 7 {
		t.Fatalf("%d refusals and %d summaries stored, want %d and 7 (1, 2, ... 64 counted)", len(refused), len(summaries), record.MaxRefusedAudited)
	}
	if last := summaries[len(summaries)-1]; !strings.HasPrefix(last.Details, "64 more refused updates of this run were counted") {
		t.Errorf("last summary = %q", last.Details)
	}
	if rep, err := st.Verify(ctx, "loan-A-2"); err != nil || !rep.OK() {
		t.Errorf("chain: %+v %v", rep.Problems, err)
	}
}
