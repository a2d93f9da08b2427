package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"sync"
	"time"
	"unicode/utf8"

	"go.temporal.io/sdk/client"
	"go.temporal.io/sdk/interceptor"
	"go.temporal.io/sdk/temporal"
	"go.temporal.io/sdk/workflow"
	"go.uber.org/zap"

	"github.com/batonhq/baton/activities"
	"github.com/batonhq/baton/internal/auditstore"
	"github.com/batonhq/baton/workflows/humantask"
	"github.com/batonhq/baton/workflows/record"
)

// Decisions refused by the update validator never reach workflow history,
// so the workflow cannot audit them. The refusal recorder is a worker
// interceptor around ValidateUpdate: when the validator refuses a decide
// update, it writes a decision-refused entry to the audit store before the
// refusal goes back to the caller.
//
//   - Attributable: the entry carries the instance, run, update ID, the
//     claimed actor, task, verdict, the refusal code, the signature as sent
//     (evidence when the refusal is a bad signature), the policy version
//     and how long the history was at that moment (event ID).
//   - Exactly once: its key is (workflow ID, run ID, update ID). Temporal
//     does not remember rejected updates, so a client retrying the same
//     update (same ID) runs the validator again, possibly on another worker
//     after this one was killed; the store keeps the first write and counts
//     the rest as duplicates. Validators never run on replay, so a replay
//     never writes.
//   - Durable: the write commits before the caller gets the refusal, so a
//     refusal someone was told about is in the store. It is bounded by
//     refusalWriteTimeout, well inside the SDK's one-second deadlock
//     detector. When the store is down the refusal still stands (refusing
//     is the safe direction), the caller's message says it is not recorded
//     yet, the worker logs the full entry and retries it in the background
//     (same key, so a late write is still stored once); only a refusal
//     still queued when the worker is killed is lost from the store, and it
//     is in the worker's log.
type refusalRecorder struct {
	interceptor.WorkerInterceptorBase
	store      activities.AuditAppender
	log        *zap.Logger
	unrecorded client.MetricsCounter
	timeout    time.Duration

	mu      sync.Mutex
	backlog []auditstore.Entry
	wake    chan struct{}
}

const (
	refusalWriteTimeout = 500 * time.Millisecond
	maxBacklog          = 10000
	// Bounds on what a refused message may put in the store: a refusal
	// must not let anyone grow the audit without limit.
	maxFieldRunes   = 200
	maxDetailsRunes = 1000
)

// metricUnrecordedRefusals counts refusals the store did not take at once.
const metricUnrecordedRefusals = "baton_audit_refusals_unrecorded"

func newRefusalRecorder(store activities.AuditAppender, log *zap.Logger, metrics client.MetricsHandler) *refusalRecorder {
	if metrics == nil {
		metrics = client.MetricsNopHandler
	}
	return &refusalRecorder{
		store: store, log: log, timeout: refusalWriteTimeout,
		unrecorded: metrics.Counter(metricUnrecordedRefusals),
		wake:       make(chan struct{}, 1),
	}
}

// InterceptWorkflow wraps every workflow's inbound calls.
func (r *refusalRecorder) InterceptWorkflow(_ workflow.Context, next interceptor.WorkflowInboundInterceptor) interceptor.WorkflowInboundInterceptor {
	i := &refusalInbound{r: r}
	i.Next = next
	return i
}

type refusalInbound struct {
	interceptor.WorkflowInboundInterceptorBase
	r *refusalRecorder
}

// ValidateUpdate records a refused decision before answering.
func (i *refusalInbound) ValidateUpdate(ctx workflow.Context, in *interceptor.UpdateInput) error {
	err := i.Next.ValidateUpdate(ctx, in)
	if err == nil || in.Name != humantask.UpdateDecide {
		return err
	}
	e := refusalEntry(ctx, in, err)
	if werr := i.r.record(e); werr != nil {
		return notRecorded(err)
	}
	return err
}

// claimed is what a refused decision says about itself (not proven: it
// was refused).
type claimed struct {
	TaskID    string `json:"taskId"`
	Verdict   string `json:"verdict"`
	Actor     string `json:"actor"`
	Signature string `json:"signature"`
}

func refusalEntry(ctx workflow.Context, in *interceptor.UpdateInput, refusal error) auditstore.Entry {
	info := workflow.GetInfo(ctx)
	var d claimed
	if len(in.Args) > 0 {
		if b, err := json.Marshal(in.Args[0]); err == nil {
			_ = json.Unmarshal(b, &d)
		}
	}
	reason, msg := "invalid", refusal.Error()
	var ae *temporal.ApplicationError
	if errors.As(refusal, &ae) {
		reason, msg = ae.Type(), ae.Message()
	}
	sa := workflow.GetTypedSearchAttributes(ctx)
	key, _ := sa.GetKeyword(record.SABusinessKey)
	version, _ := sa.GetKeyword(record.SAPolicyVersion)
	return auditstore.Entry{
		WorkflowID: info.WorkflowExecution.ID, RunID: info.WorkflowExecution.RunID,
		UpdateID: workflow.GetCurrentUpdateInfo(ctx).ID, EventID: int64(info.GetCurrentHistoryLength()),
		Process: info.WorkflowType.Name, BusinessKey: key, Time: workflow.Now(ctx),
		Actor: humantask.ActorOrUnknown(clip(d.Actor, maxFieldRunes)), Action: humantask.ActionDecisionRefused, TaskID: clip(d.TaskID, maxFieldRunes),
		Details:       clip(fmt.Sprintf("%s refused (update): %s", clip(d.Verdict, maxFieldRunes), msg), maxDetailsRunes),
		Reason:        reason,
		Via:           "update",
		Signature:     clip(d.Signature, maxFieldRunes),
		PolicyVersion: version, Source: auditstore.SourceValidator,
	}
}

// clip keeps at most n runes of s, marking a cut.
func clip(s string, n int) string {
	if utf8.RuneCountInString(s) <= n {
		return s
	}
	return string([]rune(s)[:n-1]) + "…"
}

// notRecorded keeps the refusal (same type, so the caller's exit code is
// unchanged) and says it is not in the audit store yet.
func notRecorded(refusal error) error {
	var ae *temporal.ApplicationError
	if errors.As(refusal, &ae) {
		return temporal.NewApplicationError(ae.Message()+" (not yet recorded in the audit store: it is unavailable)", ae.Type())
	}
	return fmt.Errorf("%w (not yet recorded in the audit store: it is unavailable)", refusal)
}

// record writes the entry within the timeout, or queues it for the
// background writer.
func (r *refusalRecorder) record(e auditstore.Entry) error {
	ctx, cancel := context.WithTimeout(context.Background(), r.timeout)
	defer cancel()
	_, err := r.store.Append(ctx, []auditstore.Entry{e})
	if err == nil {
		return nil
	}
	r.unrecorded.Inc(1)
	fields := []zap.Field{zap.Error(err), zap.Any("entry", e)}
	if !auditstore.Transient(err) {
		r.log.Error("refused decision not recorded in the audit store", fields...)
		return err
	}
	r.mu.Lock()
	if len(r.backlog) < maxBacklog {
		r.backlog = append(r.backlog, e)
		r.log.Warn("refused decision queued for the audit store", fields...)
	} else {
		r.log.Error("refused decision not recorded: the audit store backlog is full", fields...)
	}
	r.mu.Unlock()
	select {
	case r.wake <- struct{}{}:
	default:
	}
	return err
}

// run writes the backlog until ctx ends, then tries once more.
func (r *refusalRecorder) run(ctx context.Context) {
	backoff := 200 * time.Millisecond
	for {
		select {
		case <-ctx.Done():
			fctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
			r.flush(fctx)
			cancel()
			if n := r.pending(); n > 0 {
				r.log.Error("refused decisions left unrecorded at shutdown (each is in this log)", zap.Int("count", n))
			}
			return
		case <-r.wake:
		case <-time.After(backoff):
		}
		if r.pending() == 0 {
			continue
		}
		wctx, cancel := context.WithTimeout(ctx, 5*time.Second)
		ok := r.flush(wctx)
		cancel()
		if ok {
			backoff = 200 * time.Millisecond
		} else {
			backoff = min(2*backoff, 10*time.Second)
		}
	}
}

func (r *refusalRecorder) pending() int {
	r.mu.Lock()
	defer r.mu.Unlock()
	return len(r.backlog)
}

// flush writes the queued entries in one batch.
func (r *refusalRecorder) flush(ctx context.Context) bool {
	r.mu.Lock()
	batch := append([]auditstore.Entry(nil), r.backlog...)
	r.mu.Unlock()
	if len(batch) == 0 {
		return true
	}
	if _, err := r.store.Append(ctx, batch); err != nil {
		if !auditstore.Transient(err) {
			r.log.Error("queued refusals rejected by the audit store; dropped (each is in this log)", zap.Error(err), zap.Int("count", len(batch)))
			r.drop(len(batch))
		}
		return false
	}
	r.drop(len(batch))
	r.log.Info("queued refused decisions recorded in the audit store", zap.Int("count", len(batch)))
	return true
}

func (r *refusalRecorder) drop(n int) {
	r.mu.Lock()
	r.backlog = r.backlog[n:]
	r.mu.Unlock()
}
