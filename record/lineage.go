package record

import (
	"encoding/json"
	"fmt"
	"time"

	"github.com/batonhq/baton/audit"

	"go.temporal.io/sdk/temporal"
	"go.temporal.io/sdk/workflow"

	"github.com/batonhq/baton/humantask"
)

// ErrKeyEnded is the application error type of a run refused because its
// business key belongs to an instance that has ended.
const ErrKeyEnded = "KeyEnded"

// lineage is the run a workflow execution descends from through resets:
// its original run (the first run's ID, kept across resets), or its own run
// where the SDK gives none (the test environment).
func lineage(info *workflow.Info) string {
	if info.OriginalRunID != "" {
		return info.OriginalRunID
	}
	return info.WorkflowExecution.RunID
}

// isReset reports whether this run was made by a reset of an earlier one.
func isReset(info *workflow.Info) bool {
	return lineage(info) != info.WorkflowExecution.RunID
}

// startData is the started entry's data: the lineage that owns the key.
type startData struct {
	OriginalRunID string `json:"originalRunId"`
}

// Owner is the lineage that owns a business key according to the store:
// the original run its first start entry names (its run, for entries
// written before they named it); "" when nothing started under the key.
func Owner(k audit.KeyState) string {
	if k.Start == nil {
		return ""
	}
	var d startData
	if json.Unmarshal(k.Start.Data, &d) == nil && d.OriginalRunID != "" {
		return d.OriginalRunID
	}
	return k.Start.RunID
}

// KeyEnded says, in one line, that key belongs to an instance that has
// ended: its outcome and when, or, for an instance Temporal ended without
// one (terminated, cancelled, timed out), when it last wrote.
func KeyEnded(key string, k audit.KeyState) string {
	const never = "a business key never runs again; start the case under a new key"
	if e := k.End; e != nil {
		outcome := e.Action
		var d struct {
			Outcome string `json:"outcome"`
		}
		if e.Action == audit.ActionCompleted && json.Unmarshal(e.Data, &d) == nil && d.Outcome != "" {
			outcome = d.Outcome
		}
		return fmt.Sprintf("%s has ended (%s, %s): %s", key, outcome, e.Time.UTC().Format("2006-01-02 15:04:05 MST"), never)
	}
	return fmt.Sprintf("%s has ended (without an outcome: terminated, cancelled or timed out after %s): %s",
		key, k.LastAt.UTC().Format("2006-01-02 15:04:05 MST"), never)
}

// storeRetry reads the store until it answers: a run waits for it before
// anything happens rather than act on a guess.
var storeRetry = &temporal.RetryPolicy{InitialInterval: time.Second, BackoffCoefficient: 2, MaximumInterval: 30 * time.Second,
	NonRetryableErrorTypes: []string{ErrAuditInvalid}}

// ClaimKey refuses a run whose business key belongs to an instance that has
// ended, before anything else happens: it asks the audit store (a local
// activity) who owns the key. The owner is the lineage (first run and its
// resets) whose start the key's trail records first; a run of another
// lineage is a second instance for an ended business case, whoever
// started it and with whichever reuse policy. The refused start is written
// to the key's trail as start-refused, under the refused run, and the run
// fails (non-retryable, one line). A run refused at validation wrote
// nothing, so it owns nothing.
func ClaimKey(ctx workflow.Context, s Settings, process, key string) error {
	if !s.writes() {
		return nil
	}
	info := workflow.GetInfo(ctx)
	lctx := workflow.WithLocalActivityOptions(ctx, workflow.LocalActivityOptions{StartToCloseTimeout: 10 * time.Second, RetryPolicy: storeRetry})
	var k audit.KeyState
	in := KeyStateInput{WorkflowID: info.WorkflowExecution.ID, StartAction: audit.ActionStarted, EndActions: audit.EndActions}
	if err := workflow.ExecuteLocalActivity(lctx, ActivityKeyState, in).Get(ctx, &k); err != nil {
		return fmt.Errorf("audit store: who owns %s: %w", key, err)
	}
	if owner := Owner(k); owner == "" || owner == lineage(info) {
		return nil
	}
	msg := KeyEnded(key, k)
	refused := audit.Entry{
		WorkflowID: info.WorkflowExecution.ID, RunID: info.WorkflowExecution.RunID, Seq: 1,
		EventID: int64(info.GetCurrentHistoryLength()), Process: process, BusinessKey: key,
		Time: workflow.Now(ctx).UTC(), Actor: audit.SystemActor, Action: audit.ActionStartRefused, Details: msg,
		Source: audit.SourceWorkflow,
	}
	sctx := workflow.WithLocalActivityOptions(ctx, workflow.LocalActivityOptions{StartToCloseTimeout: 10 * time.Second, RetryPolicy: sinkRetry})
	if err := workflow.ExecuteLocalActivity(sctx, ActivityAppendAudit, AppendAuditInput{Entries: []audit.Entry{refused}}).Get(ctx, nil); err != nil {
		workflow.GetLogger(ctx).Error("refused start not recorded in the audit store", "Error", err)
	}
	return temporal.NewNonRetryableApplicationError(msg, ErrKeyEnded, nil)
}

// earlierActions are what a reset run looks up: decisions and the tasks
// they decided.
var earlierActions = []string{audit.ActionTaskOpened, audit.ActionDecisionAccepted, audit.ActionDelegated, audit.ActionDecisionHonoured}

// earlierProbe names the version markers by which a reset run tells the
// part of its history it replays from the runs before it (no marker: what
// an earlier run did is done again as it was) from what it does itself.
const earlierProbe = "baton-earlier-"

// Earlier implements humantask.Host: in a reset run, the decisions (and
// the tasks they decided) that earlier runs of the instance recorded; nil
// in a run that was not reset, which asks nothing. The answer is read
// through a local activity at the first event this run handles itself, and
// kept for the rest of the run: the earlier runs have ended, so it does not
// change. To find that event, each call before it (the events the reset
// replays from earlier runs) asks workflow.GetVersion under a new name: a
// replayed event has no marker for it (DefaultVersion) and keeps what the
// earlier run knew then; an event this run handles records one. The
// answer names the run that asked, so a later reset of this run asks again.
func (r *Record) Earlier(ctx workflow.Context) []humantask.Recorded {
	info := workflow.GetInfo(ctx)
	if !r.opts.Settings.writes() || !isReset(info) {
		return nil
	}
	run := info.WorkflowExecution.RunID
	// One lookup at a time: a handler that comes while one is in flight
	// waits for its answer.
	dctx, _ := workflow.NewDisconnectedContext(ctx)
	_ = workflow.Await(dctx, func() bool { return !r.asking })
	if r.earlier == nil || r.earlier.AskedBy != run {
		r.probes++
		if workflow.GetVersion(ctx, fmt.Sprintf("%s%d", earlierProbe, r.probes), workflow.DefaultVersion, 1) == 1 {
			lctx := workflow.WithLocalActivityOptions(dctx, workflow.LocalActivityOptions{StartToCloseTimeout: 10 * time.Second, RetryPolicy: storeRetry})
			var res EarlierResult
			in := EarlierInput{WorkflowID: info.WorkflowExecution.ID, RunID: run, Actions: earlierActions}
			r.asking = true
			err := workflow.ExecuteLocalActivity(lctx, ActivityEarlier, in).Get(dctx, &res)
			r.asking = false
			if err != nil {
				r.log.Error("earlier runs' decisions not read", "Error", err)
				return nil
			}
			r.earlier = &res
		}
	}
	if r.earlier == nil {
		return nil
	}
	out := make([]humantask.Recorded, len(r.earlier.Entries))
	for i, e := range r.earlier.Entries {
		out[i] = humantask.Recorded{RunID: e.RunID, Pos: e.Pos, Action: e.Action, Actor: e.Actor, TaskID: e.TaskID,
			Details: e.Details, Via: e.Via, Data: e.Data}
	}
	return out
}
