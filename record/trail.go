package record

// The audit trail: the one entry point (AuditDecision) that numbers and
// stamps every entry, the writer coroutine (runSink) that sends the
// entries to the audit store through the AppendAudit activity, and the
// directory a decision is judged by (LiveDirectory, recorded; the
// validator's CurrentDirectory, in memory).

import (
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"maps"
	"slices"
	"time"

	"go.temporal.io/sdk/temporal"
	"go.temporal.io/sdk/workflow"

	"github.com/batonhq/baton/audit"
	"github.com/batonhq/baton/humantask"
	"github.com/batonhq/baton/policy"
)

// MaxRefusedAudited is how many refused messages (decisions, withdraw,
// cancel) an instance audits one by one; beyond it they are counted, and
// the count is audited when the instance ends and shown in status. A
// flood of hostile signals cannot grow the trail without limit.
const MaxRefusedAudited = 50

// Audit appends an entry to the trail: the one entry point, which numbers
// the entries (Seq) and stamps the pinned policy version.
func (r *Record) Audit(ctx workflow.Context, actor, action, taskID, details string) {
	r.AuditDecision(ctx, actor, action, taskID, details, humantask.How{})
}

// AuditDecision implements humantask.Host: Audit with how a decision came.
func (r *Record) AuditDecision(ctx workflow.Context, actor, action, taskID, details string, how humantask.How) {
	version := ""
	if r.policy != nil {
		version = r.policy.Version
	}
	var data json.RawMessage
	if len(how.Data) > 0 {
		data = r.entryData(how.Data)
	}
	r.trail = append(r.trail, audit.Entry{
		WorkflowID: r.execution.ID, RunID: r.execution.RunID, Seq: int64(len(r.trail) + 1),
		EventID: int64(workflow.GetInfo(ctx).GetCurrentHistoryLength()), Process: r.opts.Process, BusinessKey: r.opts.BusinessKey,
		Time: workflow.Now(ctx).UTC(), Actor: actor, Action: action, TaskID: taskID, Details: details,
		Reason: how.Reason, Via: how.Via, Signature: how.Signature, PolicyVersion: version, Source: audit.SourceWorkflow, Data: data,
	})
}

// AuditRefused audits a refused message, the first MaxRefusedAudited of an
// instance one by one; later ones are counted (Status.RefusedMessages) and
// summarised in one entry when the instance ends.
func (r *Record) AuditRefused(ctx workflow.Context, actor, action, taskID, details string, how humantask.How) {
	r.refused++
	if r.refused <= MaxRefusedAudited {
		r.AuditDecision(ctx, actor, action, taskID, details, how)
	}
}

// auditRefusedSummary audits how many refusals were only counted.
func (r *Record) auditRefusedSummary(ctx workflow.Context) {
	if n := r.refused - MaxRefusedAudited; n > 0 {
		r.Audit(ctx, audit.SystemActor, audit.ActionRefusedSummary, "", fmt.Sprintf("%d more refused messages were counted, not recorded one by one (%d refused in all)", n, r.refused))
	}
}

// FactsDigest digests the instance's business facts as they stand: the
// start entry and the recorded facts (see humantask.Subject).
func (r *Record) FactsDigest() string {
	h := sha256.New()
	h.Write([]byte(r.startDetails))
	for _, k := range slices.Sorted(maps.Keys(r.facts)) {
		fmt.Fprintf(h, "\n%s=%s", k, r.facts[k])
	}
	return hex.EncodeToString(h.Sum(nil))[:32]
}

// LiveDirectory reads the worker's current entries of users through a
// local activity (recorded, so replay sees the same answer).
func (r *Record) LiveDirectory(ctx workflow.Context, users ...string) (*policy.Policy, error) {
	lctx := workflow.WithLocalActivityOptions(ctx, workflow.LocalActivityOptions{
		StartToCloseTimeout: 5 * time.Second,
		RetryPolicy:         &temporal.RetryPolicy{MaximumAttempts: 3},
	})
	var live policy.Policy
	if err := workflow.ExecuteLocalActivity(lctx, ActivityDirectory, users).Get(ctx, &live); err != nil {
		return nil, err
	}
	return &live, nil
}

// CurrentDirectory implements humantask.Host: the worker's current entries
// of users in memory (Settings.Directory), nil when it gave none.
func (r *Record) CurrentDirectory(users ...string) *policy.Policy {
	if r.opts.Settings.Directory == nil {
		return nil
	}
	return r.opts.Settings.Directory(users...)
}

// AuditTrail returns the trail so far.
func (r *Record) AuditTrail() []audit.Entry { return r.trail }

// entryData encodes v for an entry's Data, or says why it was not stored.
func (r *Record) entryData(v any) json.RawMessage {
	b, err := json.Marshal(v)
	switch {
	case err != nil:
		r.log.Error("audit data not recorded", "Error", err)
		return omitted("not encodable")
	case len(b) > audit.MaxDataBytes:
		r.log.Error("audit data not recorded: over the bound", "Bytes", len(b), "Max", audit.MaxDataBytes)
		return omitted(fmt.Sprintf("%d bytes, over the audit store's bound of %d", len(b), audit.MaxDataBytes))
	}
	return b
}

// omitted is the data that stands for data not stored.
func omitted(why string) json.RawMessage {
	b, _ := json.Marshal(map[string]string{"omitted": why})
	return b
}

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
