package process

import (
	"cmp"
	"errors"
	"fmt"
	"time"

	"go.temporal.io/sdk/temporal"
	"go.temporal.io/sdk/workflow"

	"github.com/batonhq/baton/audit"
	"github.com/batonhq/baton/record"
)

// heartbeatTimeout bounds silence from a running activity; an activity
// that calls a slow system heartbeats while the call is in flight.
const heartbeatTimeout = 10 * time.Second

// StepOption changes one step's activity options.
type StepOption func(*stepOptions)

// stepOptions are the options of one activity call.
type stepOptions struct {
	timeout time.Duration
	retry   *temporal.RetryPolicy
	// undo, when set, is registered as the step's compensation once it
	// succeeds.
	undo *compensation
}

// compensation undoes a completed step.
type compensation struct {
	name string
	run  func(ctx workflow.Context) error
}

// Timeout sets a step's start-to-close timeout (default 30 s).
func Timeout(d time.Duration) StepOption { return func(o *stepOptions) { o.timeout = d } }

// Retry sets a step's retry policy (default: the process's, unlimited).
func Retry(r *temporal.RetryPolicy) StepOption { return func(o *stepOptions) { o.retry = r } }

// UndoneBy registers fn (named name) as the compensation of a step once it
// succeeds: it runs, in reverse order of the steps, when the instance ends
// before Commit.
func UndoneBy(name string, fn func(ctx workflow.Context) error) StepOption {
	return func(o *stepOptions) { o.undo = &compensation{name, fn} }
}

// stepID is the activity ID of a business step: its name, and "#n" from
// its second occurrence on (onboarding's retried provisioning). A system's
// idempotency key is the workflow ID (the business key) and this ID, so a
// reset or a re-run of the instance repeats a step under the same key and
// the system answers with the first result instead of a second effect.
func (p *Proc) stepID(name string) string {
	if p.steps == nil {
		p.steps = map[string]int{}
	}
	p.steps[name]++
	if n := p.steps[name]; n > 1 {
		return fmt.Sprintf("%s#%d", name, n)
	}
	return name
}

// Step runs one activity (fn with in, its result into out), audits its
// completion or failure, and names itself in the UI with summary. Once it
// succeeds, a message that stopped the instance (withdraw, cancel) ends it:
// Step returns that ending.
func (p *Proc) Step(ctx workflow.Context, name, summary string, fn, in, out any, opts ...StepOption) error {
	o := p.options(opts...)
	if err := workflow.ExecuteActivity(p.activityCtx(ctx, p.stepID(name), summary, o), fn, in).Get(ctx, out); err != nil {
		p.Audit(ctx, audit.SystemActor, audit.ActionStepFailed, "", name+": "+Cause(err))
		p.Count(ctx, record.MetricStepFailures, map[string]string{"step": name})
		return err
	}
	p.Audit(ctx, audit.SystemActor, audit.ActionStepCompleted, "", name)
	if o.undo != nil {
		p.undo = append(p.undo, *o.undo)
	}
	return p.stopped()
}

// StepContext is the activity context of a business step the body runs
// itself (steps in parallel): its activity ID names the step (see Step),
// with the step's options. The body audits the outcome.
func (p *Proc) StepContext(ctx workflow.Context, name, summary string, opts ...StepOption) workflow.Context {
	return p.activityCtx(ctx, p.stepID(name), summary, p.options(opts...))
}

// options merges a step's options over the defaults (30 s, the process's
// retry policy).
func (p *Proc) options(opts ...StepOption) stepOptions {
	o := stepOptions{timeout: 30 * time.Second, retry: p.retry}
	for _, set := range opts {
		set(&o)
	}
	return o
}

// activityCtx carries one activity's options: a slow system keeps
// heartbeating, a worker that died is noticed in seconds.
func (p *Proc) activityCtx(ctx workflow.Context, id, summary string, o stepOptions) workflow.Context {
	return workflow.WithActivityOptions(ctx, workflow.ActivityOptions{
		ActivityID:          id,
		StartToCloseTimeout: o.timeout,
		HeartbeatTimeout:    heartbeatTimeout,
		RetryPolicy:         o.retry,
		Summary:             summary,
	})
}

// stopped is the ending a customer's message asked for, as an error (nil
// when none, or once the instance is ending).
func (p *Proc) stopped() error {
	if p.ending {
		return nil
	}
	if s := p.Stopped(); s != nil {
		return End(s.Outcome, s.Reason)
	}
	return nil
}

// LimitedRetry gives up after attempts, for steps whose failure the
// process handles (compensation, a fix-up task) rather than waits out.
func (p *Proc) LimitedRetry(attempts int32) *temporal.RetryPolicy {
	r := *p.retry
	r.MaximumAttempts = attempts
	r.MaximumInterval = 10 * time.Second
	return &r
}

// Commit forgets the compensations: past this point what was done stays done.
func (p *Proc) Commit() { p.undo = nil }

// compensate runs the registered compensations in reverse order on a
// disconnected context, so a cancelled instance still undoes its side
// effects.
func (p *Proc) compensate(ctx workflow.Context, why string) {
	if len(p.undo) == 0 {
		return
	}
	dctx, cancel := workflow.NewDisconnectedContext(ctx)
	defer cancel()
	for i := len(p.undo) - 1; i >= 0; i-- {
		c := p.undo[i]
		if err := c.run(dctx); err != nil {
			p.Audit(ctx, audit.SystemActor, audit.ActionStepFailed, "", "compensation "+c.name+": "+Cause(err))
			continue
		}
		p.compensated = append(p.compensated, c.name)
		p.Count(ctx, record.MetricCompensations, map[string]string{"step": c.name})
		p.Audit(ctx, audit.SystemActor, audit.ActionCompensated, "", c.name+" ("+why+")")
	}
	p.undo = nil
}

// SystemError is a system's refusal as the details of an activity's
// application error: its message may name the applicant or a card's last
// digits, so it travels only in the details (a payload, encrypted by the
// codec), while the error's message, which worker logs print, holds the
// system, its code and status. Activities that call systems return it;
// Cause reads it back for people.
type SystemError struct {
	System  string `json:"system"`
	Code    string `json:"code,omitempty"`
	Message string `json:"message,omitempty"`
	Status  int    `json:"status"`
}

// Reason is the refusal for people: "<system>: <message> (HTTP <status>)".
func (e SystemError) Reason() string {
	return fmt.Sprintf("%s: %s (HTTP %d)", e.System, cmp.Or(e.Message, e.Code), e.Status)
}

// Cause is the innermost message of an activity error, for people: a
// system's refusal with its own message (SystemError, from the error's
// encrypted details), else the error's message. It goes to the audit trail
// and the result, both encrypted; never to search attributes or details.
func Cause(err error) string {
	var ae *temporal.ApplicationError
	if errors.As(err, &ae) {
		var se SystemError
		if ae.HasDetails() && ae.Details(&se) == nil && se.System != "" {
			return se.Reason()
		}
		return ae.Error()
	}
	var te *temporal.TimeoutError
	if errors.As(err, &te) {
		return "timed out"
	}
	var ce *temporal.CanceledError
	if errors.As(err, &ce) {
		return "cancelled"
	}
	return err.Error()
}

// ErrorType is the application error type of err ("" if none).
func ErrorType(err error) string {
	var ae *temporal.ApplicationError
	if errors.As(err, &ae) {
		return ae.Type()
	}
	return ""
}

// EndOnError turns a failed step into the instance's ending: an error type
// listed in outcomes ends it with that outcome and the system's message;
// any other failure ends it as otherwise, prefixed with the step. An ending
// (the instance was stopped) passes through.
func EndOnError(err error, step string, outcomes map[string]string, otherwise string) error {
	var e *EndError
	if errors.As(err, &e) {
		return err
	}
	if o, ok := outcomes[ErrorType(err)]; ok {
		return End(o, Cause(err))
	}
	return End(otherwise, step+": "+Cause(err))
}
