// Package record is the instance record every process keeps: its stage,
// handling path, outcome and facts, the append-only audit trail, the search
// attributes and current details the Web UI and the inbox read, the memo,
// process metrics and the pinned policy. Human tasks (package humantask)
// report to it through humantask.Host; processes talk to it directly.
//
// Everything here is workflow code: deterministic, replay-safe.
package record

import (
	"cmp"
	"encoding/json"
	"errors"
	"fmt"
	"time"

	"github.com/batonhq/baton/audit"

	"go.temporal.io/sdk/log"
	"go.temporal.io/sdk/temporal"
	"go.temporal.io/sdk/workflow"

	"github.com/batonhq/baton/humantask"
	"github.com/batonhq/baton/policy"
)

// Queries the record answers (humantask answers QueryTasks).
const (
	QueryAudit  = "audit"
	QueryStatus = "status"
)

// Handling paths recorded in HandlingPath.
const (
	PathAutomated = "automated"
	PathManual    = "manual"
)

// Stages every process ends in, and the one it starts in.
const (
	StageStarting  = "starting"
	StageCompleted = "completed"
	StageFailed    = "failed"
)

// Process metric names (Prometheus adds _total and _seconds). Dashboards
// rely on them; humantask declares the task metrics.
const (
	MetricProcessStarted   = "baton_process_started"
	MetricProcessCompleted = "baton_process_completed"
	MetricProcessDuration  = "baton_process_duration"
	// MetricProcessQueue is the queue time: workflow start to its first
	// step (the started entry), the wait for a worker.
	MetricProcessQueue = "baton_process_queue"
	// MetricStepFailures counts steps that failed after their retries.
	MetricStepFailures  = "baton_step_failures"
	MetricCompensations = "baton_compensations"
)

// MemoTaskStats is the memo key of humantask.TaskStats, written at the end.
const MemoTaskStats = "taskStats"

// Status is the status query's answer.
type Status struct {
	Process       string               `json:"process"`
	BusinessKey   string               `json:"businessKey"`
	Stage         string               `json:"stage"`
	StageIndex    int                  `json:"stageIndex"`
	StageTotal    int                  `json:"stageTotal"`
	HandlingPath  string               `json:"handlingPath,omitempty"`
	Outcome       string               `json:"outcome,omitempty"`
	PolicyVersion string               `json:"policyVersion,omitempty"`
	StartedAt     time.Time            `json:"startedAt"`
	ClosedAt      *time.Time           `json:"closedAt,omitempty"`
	OpenTasks     []humantask.TaskView `json:"openTasks"`
	Facts         map[string]string    `json:"facts,omitempty"`
	// RefusedMessages counts every refused message (decision, withdraw,
	// cancel), audited one by one or not.
	RefusedMessages int `json:"refusedMessages,omitempty"`
}

// Options name the instance.
type Options struct {
	Process     string
	BusinessKey string
	// Stages is the number of stages shown as "Stage i of n" (0: unknown
	// yet; SetStages sets it later).
	Stages int
	// Settings are the worker\'s, fixed at registration.
	Settings Settings
}

// Record is one instance's record. Build it with New first thing in a
// workflow, before anything blocks.
type Record struct {
	opts      Options
	log       log.Logger
	policy    *policy.Policy
	tasks     *humantask.Tasks
	trail     []audit.Entry
	stage     string
	stageIdx  int
	stageText string
	path      string
	outcome   string
	facts     map[string]string
	startedAt time.Time
	closedAt  *time.Time
	ending    bool  // Finish or Fail has begun
	stop      *Stop // asked for by a customer message (withdraw, cancel)
	// last upserted search attribute values and details, to write only changes
	lastSA      map[string]string
	lastDetails string
	dirty       bool
	// startDetails is the start entry's text, part of the facts digest.
	startDetails string
	// caseTitle and caseSummary say what the instance is about (SetCase).
	caseTitle, caseSummary string
	// execution is the instance's workflow and run ID (request signatures).
	execution workflow.Execution
	// reminders numbers reminder mails, for their activity IDs.
	reminders int
	// refused counts refused messages; beyond MaxRefusedAudited they are
	// counted, not audited one by one.
	refused int
	sink    sink // the audit store writer (sink.go)
	// earlier is what earlier runs recorded, read by a reset run (Earlier);
	// probes counts its version markers.
	earlier *EarlierResult
	probes  int
	asking  bool
	// clean and cleanMemo are the search attributes and memo keys the
	// record owns that a starter set: removed at the first flush.
	clean      []temporal.SearchAttributeUpdate
	cleanMemo  []string
	cleanStart bool // the first flush has something to clean
}

// New registers the queries, the human tasks' update and signal, and the
// flusher, so they exist before the workflow first blocks.
func New(ctx workflow.Context, opts Options) (*Record, error) {
	r := &Record{
		opts:      opts,
		log:       log.With(workflow.GetLogger(ctx), "BusinessKey", opts.BusinessKey, "Process", opts.Process),
		facts:     map[string]string{},
		startedAt: workflow.GetInfo(ctx).WorkflowStartTime,
		lastSA:    map[string]string{},
		execution: workflow.GetInfo(ctx).WorkflowExecution,
	}
	r.readStartAttributes(ctx)
	if err := workflow.SetQueryHandler(ctx, QueryAudit, func() ([]audit.Entry, error) { return r.trail, nil }); err != nil {
		return nil, err
	}
	if err := workflow.SetQueryHandler(ctx, QueryStatus, func() (Status, error) { return r.Status(), nil }); err != nil {
		return nil, err
	}
	// The flusher starts before the tasks' signal handler: coroutine order
	// is part of what replay checks.
	workflow.Go(ctx, r.runFlusher)
	workflow.Go(ctx, r.runSink)
	tasks, err := humantask.New(ctx, r)
	if err != nil {
		return nil, err
	}
	r.tasks = tasks
	if r.cleanStart {
		r.changed()
	}
	return r, nil
}

// readStartAttributes remembers what the starter already set that the
// record would set itself (process, business key, first stage), so it is
// not upserted again. The record owns its search attributes and memo keys:
// anything else a starter put there (a task in someone's inbox, an
// outcome, another process type) is overwritten, or removed at the first
// flush, before the instance does anything.
func (r *Record) readStartAttributes(ctx workflow.Context) {
	sa := workflow.GetTypedSearchAttributes(ctx)
	own := map[string]string{SAProcessType.GetName(): r.opts.Process, SABusinessKey.GetName(): r.opts.BusinessKey, SAProcessStage.GetName(): StageStarting}
	for _, key := range []temporal.SearchAttributeKeyKeyword{SAProcessType, SABusinessKey, SAProcessStage, SAHandlingPath, SAOutcome, SAPolicyVersion} {
		v, ok := sa.GetKeyword(key)
		switch {
		case !ok:
		case own[key.GetName()] == v:
			r.lastSA[key.GetName()] = v
		case key == SAProcessType || key == SABusinessKey:
			// Overwritten by the first flush.
		default:
			r.clean = append(r.clean, key.ValueUnset())
		}
	}
	if _, ok := sa.GetKeywordList(SAPendingRoles); ok {
		r.clean, r.lastSA[SAPendingRoles.GetName()] = append(r.clean, SAPendingRoles.ValueUnset()), ""
	}
	if _, ok := sa.GetTime(SATaskDeadline); ok {
		r.clean, r.lastSA[SATaskDeadline.GetName()] = append(r.clean, SATaskDeadline.ValueUnset()), ""
	}
	memo := workflow.GetInfo(ctx).Memo.GetFields()
	for _, k := range []string{MemoOpenTasks, MemoTaskStats} {
		if _, ok := memo[k]; ok {
			r.cleanMemo = append(r.cleanMemo, k)
			r.lastSA[k] = ""
		}
	}
	r.cleanStart = len(r.clean) > 0 || len(r.cleanMemo) > 0 ||
		r.lastSA[SAProcessType.GetName()] != r.opts.Process && sa.ContainsKey(SAProcessType) ||
		r.lastSA[SABusinessKey.GetName()] != r.opts.BusinessKey && sa.ContainsKey(SABusinessKey)
}

// BusinessKey is the instance's business key (its workflow ID).
func (r *Record) BusinessKey() string { return r.opts.BusinessKey }

// Logger logs with the business key and process.
func (r *Record) Logger() log.Logger { return r.log }

// Policy returns the pinned policy (nil before Start).
func (r *Record) Policy() *policy.Policy { return r.policy }

// Start pins the policy, audits the start and counts it.
func (r *Record) Start(ctx workflow.Context, details string) (*policy.Policy, error) {
	if _, err := r.LoadPolicy(ctx); err != nil {
		return nil, err
	}
	r.startDetails = details
	// The start names the lineage (first run, kept across resets) that
	// owns the business key (ClaimKey).
	owner, _ := json.Marshal(startData{OriginalRunID: lineage(workflow.GetInfo(ctx))})
	r.AuditDecision(ctx, audit.SystemActor, audit.ActionStarted, "", details, humantask.How{Data: owner})
	r.Count(ctx, MetricProcessStarted, nil)
	r.Observe(ctx, MetricProcessQueue, workflow.Now(ctx).Sub(r.startedAt), nil)
	return r.policy, nil
}

// LoadPolicy reads the policy through an activity (so it is recorded in
// history and replay sees the same) and pins it: its version goes to every
// audit entry and the PolicyVersion search attribute.
func (r *Record) LoadPolicy(ctx workflow.Context) (*policy.Policy, error) {
	actx := workflow.WithActivityOptions(ctx, workflow.ActivityOptions{
		ActivityID:          "policy",
		StartToCloseTimeout: 10 * time.Second,
		Summary:             "policy: load and pin for " + r.opts.BusinessKey,
	})
	var res LoadPolicyResult
	if err := workflow.ExecuteActivity(actx, ActivityLoadPolicy).Get(ctx, &res); err != nil {
		return nil, fmt.Errorf("load policy: %w", err)
	}
	r.policy = &res.Policy
	r.changed()
	return r.policy, nil
}

// SetFact records a business fact shown in status: routing records the
// facts it decided on, so a what-if can replay the decision. No personal
// data: operators see facts in status and in the Web UI.
func (r *Record) SetFact(key, value string) { r.facts[key] = value }

// Facts returns the recorded facts.
func (r *Record) Facts() map[string]string { return r.facts }

// SetStages sets the stage count once the process knows it.
func (r *Record) SetStages(total int) { r.opts.Stages = total }

// Stages is the stage count.
func (r *Record) Stages() int { return r.opts.Stages }

// SetStage moves the process to stage index (of Stages), with a one-line
// description for people ("awaiting underwriter approval").
func (r *Record) SetStage(ctx workflow.Context, index int, name, description string) {
	r.stage, r.stageIdx, r.stageText = name, index, description
	r.log.Info("stage", "Stage", name, "Index", index, "Total", r.opts.Stages)
	r.changed()
}

// SetPath records the handling path and, when why is not empty, the
// routing decision in the audit trail.
func (r *Record) SetPath(ctx workflow.Context, path, why string) {
	r.path = path
	r.changed()
	if why != "" {
		r.Audit(ctx, audit.SystemActor, audit.ActionRouted, "", why)
	}
}

// HandlingPath returns the recorded handling path.
func (r *Record) HandlingPath() string { return r.path }

// Open opens a human task (see humantask.Tasks.Open).
func (r *Record) Open(ctx workflow.Context, s humantask.Spec) (*humantask.Task, error) {
	return r.tasks.Open(ctx, s)
}

// CancelOpen closes every open task as cancelled.
func (r *Record) CancelOpen(ctx workflow.Context, reason string) { r.tasks.CancelOpen(ctx, reason) }

// Tasks lists every task, open and closed.
func (r *Record) Tasks() []humantask.TaskView { return r.tasks.Views() }

// TasksChanged implements humantask.Host.
func (r *Record) TasksChanged() { r.changed() }

// Remind implements humantask.Host: a reminder through the settings'
// Remind (a mail), a few tries only (a missed reminder must not hold the
// task up).
func (r *Record) Remind(ctx workflow.Context, to, subject, body string) error {
	r.reminders++
	send := r.opts.Settings.Remind
	if send == nil {
		return nil
	}
	actx := workflow.WithActivityOptions(ctx, workflow.ActivityOptions{
		// The activity ID names the business step: a reset does not mail twice.
		ActivityID:          fmt.Sprintf("reminder-%d-%s", r.reminders, to),
		StartToCloseTimeout: 10 * time.Second,
		RetryPolicy:         &temporal.RetryPolicy{MaximumAttempts: 3},
		Summary:             "mail: reminder for " + r.opts.BusinessKey,
	})
	return send(actx, Reminder{To: to, Subject: subject, Body: body, BusinessKey: r.opts.BusinessKey})
}

// Finish cancels open tasks, records the outcome, waits for running
// handlers and drains decisions that arrived too late (they are audited
// as refused: the process has ended).
func (r *Record) Finish(ctx workflow.Context, outcome, details string) {
	r.FinishWith(ctx, outcome, details, nil)
}

// FinishWith is Finish, with data for the completed entry: data is called
// once the open tasks are cancelled and the close time is set, with the
// run's course (CourseOf its entries before this one), and what it returns
// is written (as compact JSON) into that entry's Data, so the durable audit
// store holds it after the history is gone. Data larger than
// audit.MaxDataBytes is not sent (the store would refuse the entry, and
// with it the rest of the trail): data is asked again without the course
// (nil; a reader then reads the whole trail of this instance), and when
// that is still too large {"omitted": why} stands in its place, so a
// reader of the store knows it was not stored rather than never recorded.
func (r *Record) FinishWith(ctx workflow.Context, outcome, details string, data func(course *Course) any) {
	r.CancelOpen(ctx, "the process ended: "+outcome)
	r.close(ctx, outcome)
	r.Audit(ctx, audit.SystemActor, audit.ActionCompleted, "", cmp.Or(details, outcome))
	if data != nil {
		r.trail[len(r.trail)-1].Data = r.endData(data)
	}
	r.stage, r.stageIdx, r.stageText = StageCompleted, r.opts.Stages, "ended: "+outcome
	r.ended(ctx)
	r.tasks.Drain(ctx)
	r.auditRefusedSummary(ctx)
	r.DrainAudit(ctx)
	r.log.Info("process finished", "Outcome", outcome)
}

// Fail records a failed process (a step that could not be completed).
func (r *Record) Fail(ctx workflow.Context, outcome string, err error) {
	r.FailWith(ctx, outcome, err, nil)
}

// FailWith is Fail, with data for the failed entry, as FinishWith.
func (r *Record) FailWith(ctx workflow.Context, outcome string, err error, data func(course *Course) any) {
	r.CancelOpen(ctx, "the process failed")
	r.close(ctx, outcome)
	r.Audit(ctx, audit.SystemActor, audit.ActionFailed, "", err.Error())
	if data != nil {
		r.trail[len(r.trail)-1].Data = r.endData(data)
	}
	r.stage, r.stageText = StageFailed, "failed: "+FailureCode(err)
	r.ended(ctx)
	r.auditRefusedSummary(ctx)
	r.DrainAudit(ctx)
}

// endData is the terminal entry's data: data with the run's course when
// it fits the store's bound, else without it.
func (r *Record) endData(data func(*Course) any) json.RawMessage {
	course := CourseOf(r.trail[:len(r.trail)-1])
	if b, err := json.Marshal(data(&course)); err == nil && len(b) <= audit.MaxDataBytes {
		return b
	} else if err == nil {
		r.log.Warn("the course is left out of the terminal entry: over the bound (readers read the whole trail)", "Bytes", len(b), "Max", audit.MaxDataBytes)
	}
	return r.entryData(data(nil))
}

// FailureCode is what the current details say about a failure: the
// application error type ("InvalidStart"), never its message, which may
// carry input values and is encrypted only in the failure itself.
func FailureCode(err error) string {
	var ae *temporal.ApplicationError
	if errors.As(err, &ae) && ae.Type() != "" {
		return ae.Type()
	}
	return "error"
}

// StartedAt is when the instance started (its workflow start time).
func (r *Record) StartedAt() time.Time { return r.startedAt }

// ClosedAt is when the instance ended (zero before Finish or Fail): the
// time of its terminal audit entry.
func (r *Record) ClosedAt() time.Time {
	if r.closedAt == nil {
		return time.Time{}
	}
	return *r.closedAt
}

func (r *Record) close(ctx workflow.Context, outcome string) {
	now := workflow.Now(ctx).UTC()
	r.closedAt, r.outcome, r.ending = &now, outcome, true
}

// ended writes the last search attributes and details, counts the end and
// writes the task statistics to the memo, then waits for running handlers.
func (r *Record) ended(ctx workflow.Context) {
	r.flush(ctx)
	path := cmp.Or(r.path, "none")
	r.Count(ctx, MetricProcessCompleted, map[string]string{"outcome": r.outcome, "handling_path": path})
	r.Observe(ctx, MetricProcessDuration, r.closedAt.Sub(r.startedAt), map[string]string{"handling_path": path})
	if st := r.tasks.Stats(); st.Tasks > 0 {
		if err := workflow.UpsertMemo(ctx, map[string]any{MemoTaskStats: st}); err != nil {
			r.log.Warn("memo not updated", "Error", err)
		}
	}
	_ = workflow.Await(ctx, func() bool { return workflow.AllHandlersFinished(ctx) })
}

// Status answers the status query.
func (r *Record) Status() Status {
	s := Status{
		Process: r.opts.Process, BusinessKey: r.opts.BusinessKey,
		Stage: r.stage, StageIndex: r.stageIdx, StageTotal: r.opts.Stages,
		HandlingPath: r.path, Outcome: r.outcome, StartedAt: r.startedAt, ClosedAt: r.closedAt,
		OpenTasks: r.tasks.OpenViews(), Facts: r.facts, RefusedMessages: r.refused,
	}
	if r.policy != nil {
		s.PolicyVersion = r.policy.Version
	}
	return s
}

// Count adds one to a business counter. The workflow metrics handler is
// silent on replay, so a replayed history does not count twice.
func (r *Record) Count(ctx workflow.Context, name string, tags map[string]string) {
	workflow.GetMetricsHandler(ctx).WithTags(r.tags(tags)).Counter(name).Inc(1)
}

// Observe records a duration.
func (r *Record) Observe(ctx workflow.Context, name string, d time.Duration, tags map[string]string) {
	workflow.GetMetricsHandler(ctx).WithTags(r.tags(tags)).Timer(name).Record(d)
}

func (r *Record) tags(extra map[string]string) map[string]string {
	all := map[string]string{"process": r.opts.Process}
	for k, v := range extra {
		all[k] = v
	}
	return all
}
