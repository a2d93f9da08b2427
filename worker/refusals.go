package worker

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"sync"
	"time"
	"unicode/utf8"

	"github.com/batonhq/baton/audit"

	"go.temporal.io/sdk/client"
	"go.temporal.io/sdk/interceptor"
	"go.temporal.io/sdk/temporal"
	"go.temporal.io/sdk/workflow"
	"go.uber.org/zap"

	"github.com/batonhq/baton/humantask"
	"github.com/batonhq/baton/internal/auditstore"
	"github.com/batonhq/baton/record"
	"github.com/batonhq/baton/substitutes"
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
//   - Bounded: like refused signals, a run's first record.MaxRefusedAudited
//     refusals are stored one by one; beyond them the store refuses the row
//     (auditstore.AppendCapped, checked under the chain's lock, so workers
//     together cannot pass the cap) and they are counted: the metric
//     baton_audit_refusals_counted, and a refused-summary entry each time a
//     run's count beyond the cap reaches 1, 2, 4, 8, ... (so 120 refusals
//     store 57 rows, a million about 70). The count is per worker process.
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
	store      refusalStore
	log        *zap.Logger
	unrecorded client.MetricsCounter
	counted    client.MetricsCounter
	timeout    time.Duration

	mu      sync.Mutex
	backlog []audit.Entry
	wake    chan struct{}
	// beyond counts each run's refusals beyond the cap (workflow/run).
	beyond map[string]int
}

// refusalStore is where refusals go (auditstore.Store).
type refusalStore interface {
	Append(ctx context.Context, entries []audit.Entry) (audit.AppendResult, error)
	AppendCapped(ctx context.Context, e audit.Entry, max int) error
}

const (
	refusalWriteTimeout = 500 * time.Millisecond
	maxBacklog          = 10000
	// maxCountedRuns bounds the runs whose refusals beyond the cap are
	// counted in memory (then the counts start again).
	maxCountedRuns = 10000
	// Bounds on what a refused message may put in the store: a refusal
	// must not let anyone grow the audit without limit.
	maxFieldRunes   = 200
	maxDetailsRunes = 1000
)

// Metrics of refusals: those the store did not take at once, and those
// beyond a run's cap, counted rather than stored.
const (
	metricUnrecordedRefusals = "baton_audit_refusals_unrecorded"
	metricCountedRefusals    = "baton_audit_refusals_counted"
)

func newRefusalRecorder(store refusalStore, log *zap.Logger, metrics client.MetricsHandler) *refusalRecorder {
	if metrics == nil {
		metrics = client.MetricsNopHandler
	}
	return &refusalRecorder{
		store: store, log: log, timeout: refusalWriteTimeout,
		unrecorded: metrics.Counter(metricUnrecordedRefusals),
		counted:    metrics.Counter(metricCountedRefusals),
		wake:       make(chan struct{}, 1),
		beyond:     map[string]int{},
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
	if in.Name == humantask.UpdateViewCase {
		return i.r.recordView(ctx, err)
	}
	if err == nil || refusedAction(in.Name) == "" {
		return err
	}
	e := refusalEntry(ctx, in, err)
	if werr := i.r.record(e); werr != nil {
		return notRecorded(err)
	}
	return err
}

// refusedAction is the audit action of a refused update of the given name
// ("" for updates whose refusals are not recorded): a decision, work on a
// task, a substitution.
func refusedAction(update string) string {
	switch update {
	case humantask.UpdateDecide:
		return audit.ActionDecisionRefused
	case humantask.UpdateAct:
		return audit.ActionActionRefused
	case substitutes.UpdateSubstitute:
		return audit.ActionSubstituteRefused
	}
	return ""
}

// claimed is what a refused message says about itself (not proven: it
// was refused): a decision's verdict, an action's kind, a substitution's op.
type claimed struct {
	TaskID    string `json:"taskId"`
	Verdict   string `json:"verdict"`
	Kind      string `json:"kind"`
	Op        string `json:"op"`
	Actor     string `json:"actor"`
	Signature string `json:"signature"`
}

func refusalEntry(ctx workflow.Context, in *interceptor.UpdateInput, refusal error) audit.Entry {
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
	return audit.Entry{
		WorkflowID: info.WorkflowExecution.ID, RunID: info.WorkflowExecution.RunID,
		UpdateID: workflow.GetCurrentUpdateInfo(ctx).ID, EventID: int64(info.GetCurrentHistoryLength()),
		Process: info.WorkflowType.Name, BusinessKey: key, Time: workflow.Now(ctx),
		Actor: humantask.ActorOrUnknown(clip(d.Actor, maxFieldRunes)), Action: refusedAction(in.Name), TaskID: clip(d.TaskID, maxFieldRunes),
		Details:       clip(fmt.Sprintf("%s refused (update): %s", clip(d.Verdict+d.Kind+d.Op, maxFieldRunes), msg), maxDetailsRunes),
		Reason:        reason,
		Via:           "update",
		Signature:     clip(d.Signature, maxFieldRunes),
		PolicyVersion: version, Source: audit.SourceValidator,
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
func (r *refusalRecorder) record(e audit.Entry) error {
	ctx, cancel := context.WithTimeout(context.Background(), r.timeout)
	defer cancel()
	err := r.store.AppendCapped(ctx, e, record.MaxRefusedAudited)
	if errors.Is(err, auditstore.ErrCapped) {
		r.count(ctx, e)
		return nil
	}
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

// count counts a refusal beyond its run's cap, and writes a summary when
// the run's count reaches a power of two. A summary the store does not
// take is only logged: the count goes on in the metric and the next one.
func (r *refusalRecorder) count(ctx context.Context, e audit.Entry) {
	r.counted.Inc(1)
	key := e.WorkflowID + "/" + e.RunID
	r.mu.Lock()
	if len(r.beyond) >= maxCountedRuns {
		clear(r.beyond)
	}
	r.beyond[key]++
	n := r.beyond[key]
	r.mu.Unlock()
	if n&(n-1) != 0 {
		return
	}
	sum := e
	sum.UpdateID = fmt.Sprintf("refused-summary-%d", n)
	sum.Actor, sum.Action, sum.TaskID, sum.Reason, sum.Signature = audit.SystemActor, audit.ActionRefusedSummary, "", "", ""
	sum.Details = fmt.Sprintf("%d more refused updates of this run were counted, not recorded one by one (beyond the first %d; %s on the worker)",
		n, record.MaxRefusedAudited, metricCountedRefusals)
	if _, err := r.store.Append(ctx, []audit.Entry{sum}); err != nil {
		r.log.Warn("refusal summary not recorded in the audit store", zap.Error(err), zap.Any("entry", sum))
	}
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

// flush writes the queued entries, each under its run's cap.
func (r *refusalRecorder) flush(ctx context.Context) bool {
	r.mu.Lock()
	batch := append([]audit.Entry(nil), r.backlog...)
	r.mu.Unlock()
	if len(batch) == 0 {
		return true
	}
	for i, e := range batch {
		err := r.store.AppendCapped(ctx, e, record.MaxRefusedAudited)
		switch {
		case errors.Is(err, auditstore.ErrCapped):
			r.count(ctx, e)
		case err != nil && auditstore.Transient(err):
			r.drop(i)
			return false
		case err != nil:
			r.log.Error("queued refusal rejected by the audit store; dropped (it is in this log)", zap.Error(err), zap.Any("entry", e))
		}
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

// recordView writes the case-viewed entry of a view the validator found
// recordable (its answer's details hold the entry's data) and answers
// ViewRecorded; a view the validator refused is answered as it was, one
// the store did not take is ViewUnrecorded (the inbox then shows no
// personal data). Like refusals, the entry never reaches history: it is
// keyed by the update ID (a retried view is stored once) and attested by
// the worker's key.
func (r *refusalRecorder) recordView(ctx workflow.Context, verdict error) error {
	var ae *temporal.ApplicationError
	if !errors.As(verdict, &ae) || ae.Type() != humantask.ViewRecordable {
		return verdict
	}
	var data humantask.ViewData
	if err := ae.Details(&data); err != nil {
		return temporal.NewApplicationError("the view's data could not be read: "+err.Error(), humantask.ViewUnrecorded)
	}
	info := workflow.GetInfo(ctx)
	sa := workflow.GetTypedSearchAttributes(ctx)
	key, _ := sa.GetKeyword(record.SABusinessKey)
	version, _ := sa.GetKeyword(record.SAPolicyVersion)
	raw, _ := json.Marshal(data)
	v := data.View
	e := audit.Entry{
		WorkflowID: info.WorkflowExecution.ID, RunID: info.WorkflowExecution.RunID,
		UpdateID: workflow.GetCurrentUpdateInfo(ctx).ID, EventID: int64(info.GetCurrentHistoryLength()),
		Process: info.WorkflowType.Name, BusinessKey: key, Time: workflow.Now(ctx),
		Actor: v.Actor, Action: audit.ActionCaseViewed, TaskID: v.TaskID,
		Details: clip(fmt.Sprintf("opened the case file of task %s with its personal data (signed by %s, authenticated: %s)", v.TaskID, v.Signer, v.Authenticated), maxDetailsRunes),
		Via:     "update", Signature: v.Signature, PolicyVersion: version, Source: audit.SourceValidator, Data: raw,
	}
	wctx, cancel := context.WithTimeout(context.Background(), r.timeout)
	defer cancel()
	if _, err := r.store.Append(wctx, []audit.Entry{e}); err != nil {
		r.log.Warn("case view not recorded in the audit store", zap.Error(err), zap.String("workflow", e.WorkflowID), zap.String("task", e.TaskID))
		return temporal.NewApplicationError("the view could not be recorded: the audit store is unavailable", humantask.ViewUnrecorded)
	}
	return temporal.NewApplicationError("recorded", humantask.ViewRecorded)
}
