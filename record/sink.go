package record

import (
	"slices"
	"time"

	"go.temporal.io/sdk/temporal"
	"go.temporal.io/sdk/workflow"
)

// sink is the audit store writer's state: entries with Seq <= sent are
// stored; inFlight while a batch is being written.
type sink struct {
	sent     int
	inFlight bool
	broken   bool // the store refused a batch for good (a conflict): stop
}

// sinkRetry: the store is retried until it answers (an outage holds the
// entries in the scheduled activity's input, which is in history); a
// conflict or an invalid entry is not retryable.
var sinkRetry = &temporal.RetryPolicy{
	InitialInterval:        time.Second,
	BackoffCoefficient:     2,
	MaximumInterval:        30 * time.Second,
	NonRetryableErrorTypes: []string{ErrAuditConflict, ErrAuditInvalid},
}

// runSink writes the trail to the audit store through the AppendAudit
// activity: each time the workflow code has appended entries and yielded,
// one batch of every entry not yet sent, one batch in flight at a time (so
// a turn's entries cost one activity, and entries made while a batch is in
// flight go in the next). Entries are keyed by workflow ID, run ID and Seq:
// a retried or replayed write stores nothing twice. It runs on a
// disconnected context, so a cancelled instance still writes its trail.
func (r *Record) runSink(ctx workflow.Context) {
	if !r.opts.Settings.writes() {
		return
	}
	ctx, _ = workflow.NewDisconnectedContext(ctx)
	ctx = workflow.WithActivityOptions(ctx, workflow.ActivityOptions{
		StartToCloseTimeout: 30 * time.Second,
		RetryPolicy:         sinkRetry,
		Summary:             "audit: store the trail of " + r.opts.BusinessKey,
	})
	for {
		_ = workflow.Await(ctx, func() bool { return len(r.trail) > r.sink.sent })
		// A copy: a local activity gets its input as it is, not encoded.
		batch := slices.Clone(r.trail[r.sink.sent:])
		in := AppendAuditInput{Entries: batch}
		r.sink.inFlight = true
		var err error
		if r.opts.Settings.Audit == AuditLocal {
			lctx := workflow.WithLocalActivityOptions(ctx, workflow.LocalActivityOptions{StartToCloseTimeout: 10 * time.Second, RetryPolicy: sinkRetry})
			err = workflow.ExecuteLocalActivity(lctx, ActivityAppendAudit, in).Get(ctx, nil)
		} else {
			err = workflow.ExecuteActivity(ctx, ActivityAppendAudit, in).Get(ctx, nil)
		}
		r.sink.inFlight = false
		if err != nil {
			// Only a refusal for good ends up here: the activity retries
			// an unreachable store forever. starter audit --verify reports
			// the entries missing from the store.
			r.log.Error("audit store refused the trail; further entries are not written", "FirstSeq", batch[0].Seq, "Error", err)
			r.sink.broken = true
			return
		}
		r.sink.sent += len(batch)
	}
}

// DrainAudit waits until every entry is in the audit store (or the store
// refused them for good), so an instance never completes with entries
// only in its history. Finish and Fail call it; a workflow that returns an
// error without them calls it first.
func (r *Record) DrainAudit(ctx workflow.Context) {
	if !r.opts.Settings.writes() {
		return
	}
	ctx, _ = workflow.NewDisconnectedContext(ctx)
	_ = workflow.Await(ctx, func() bool { return r.sink.broken || (!r.sink.inFlight && r.sink.sent == len(r.trail)) })
}
