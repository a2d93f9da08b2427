package workflows

import (
	"cmp"
	"errors"
	"fmt"
	"regexp"
	"strings"
	"time"

	"go.temporal.io/sdk/temporal"
	"go.temporal.io/sdk/workflow"

	"baton/activities"
	"baton/workflows/humantask"
)

// ErrInvalidInput is the application error type of a rejected start input.
const ErrInvalidInput = "InvalidInput"

// Outcomes shared by the processes (each process adds its own).
const (
	OutcomeApproved = "approved"
	OutcomeDeclined = "declined"
	OutcomeRejected = "rejected"
)

var keyPattern = regexp.MustCompile(`^[A-Za-z0-9][A-Za-z0-9_.-]{0,63}$`)

// heartbeatTimeout bounds silence from a running activity; the HTTP client
// heartbeats at half of it while a call is in flight.
const heartbeatTimeout = 10 * time.Second

// fieldError names the field that failed validation.
type fieldError struct{ field, why string }

func (e *fieldError) Error() string { return e.field + ": " + e.why }

func invalid(field, format string, args ...any) error {
	return &fieldError{field, fmt.Sprintf(format, args...)}
}

func requireKey(field, v string) error {
	if v == "" {
		return invalid(field, "required")
	}
	if !keyPattern.MatchString(v) {
		return invalid(field, "%q must be letters, digits, '-', '_' or '.' (at most 64)", v)
	}
	return nil
}

// nonRetryableInput wraps a validation error so the instance fails at once.
func nonRetryableInput(err error) error {
	return temporal.NewNonRetryableApplicationError("invalid input: "+err.Error(), ErrInvalidInput, nil)
}

// proc is what every process workflow holds: its manager and its step
// helper. It is built first thing, before anything blocks.
type proc struct {
	m        *humantask.Manager
	process  string
	key      string
	retry    *temporal.RetryPolicy
	stageTot int
}

func newProc(ctx workflow.Context, process, key string, stages int) (*proc, error) {
	m, err := humantask.New(ctx, humantask.Options{Process: process, BusinessKey: key, Keys: HumanTaskKeys()})
	if err != nil {
		return nil, err
	}
	return &proc{
		m: m, process: process, key: key, stageTot: stages,
		retry: &temporal.RetryPolicy{InitialInterval: time.Second, BackoffCoefficient: 2, MaximumInterval: time.Minute},
	}, nil
}

// begin validates the input (failing at once, naming the field, before
// anything happens) and builds the process's manager before anything blocks.
func begin(ctx workflow.Context, process string, in Input, stages int) (*proc, error) {
	if err := in.Validate(); err != nil {
		return nil, nonRetryableInput(err)
	}
	return newProc(ctx, process, in.Key(), stages)
}

// start pins the policy and audits the start.
func (p *proc) start(ctx workflow.Context, details string) error {
	_, err := p.m.Start(ctx, details)
	return err
}

func (p *proc) stage(ctx workflow.Context, index int, name, description string) {
	p.m.SetStage(ctx, name, index, p.stageTot, description)
}

// stepOptions are the options of one activity call.
type stepOptions struct {
	timeout time.Duration
	retry   *temporal.RetryPolicy
}

// step runs one activity, audits its completion or failure, and names
// itself in the UI with summary.
func (p *proc) step(ctx workflow.Context, name, summary string, fn, in, out any, opts ...stepOptions) error {
	o := stepOptions{timeout: 30 * time.Second, retry: p.retry}
	for _, x := range opts {
		if x.timeout > 0 {
			o.timeout = x.timeout
		}
		if x.retry != nil {
			o.retry = x.retry
		}
	}
	actx := workflow.WithActivityOptions(ctx, workflow.ActivityOptions{
		StartToCloseTimeout: o.timeout,
		// A slow system keeps heartbeating; a worker that died is noticed
		// in seconds, not at the end of the start-to-close timeout.
		HeartbeatTimeout: heartbeatTimeout,
		RetryPolicy:      o.retry,
		Summary:          summary,
	})
	if err := workflow.ExecuteActivity(actx, fn, in).Get(ctx, out); err != nil {
		p.m.Audit(ctx, humantask.SystemActor, humantask.ActionStepFailed, "", name+": "+cause(err))
		return err
	}
	p.m.Audit(ctx, humantask.SystemActor, humantask.ActionStepCompleted, "", name)
	return nil
}

// limitedRetry gives up after attempts, for steps whose failure the process
// handles (compensation, a fix-up task) rather than waits out.
func (p *proc) limitedRetry(attempts int32) *temporal.RetryPolicy {
	r := *p.retry
	r.MaximumAttempts = attempts
	r.MaximumInterval = 10 * time.Second
	return &r
}

// notify mails a person about this instance as an audited step.
func (p *proc) notify(ctx workflow.Context, step, to, subject, body string) error {
	var mail *activities.Mail
	return p.step(ctx, step, "mail: "+step+" to "+to+" for "+p.key, mail.SendMail,
		activities.MailInput{To: to, Subject: subject, Body: body, Ref: p.key}, nil, stepOptions{timeout: 10 * time.Second})
}

// cause is the innermost message of an activity error, for people.
func cause(err error) string {
	var ae *temporal.ApplicationError
	if errors.As(err, &ae) {
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

// errorType is the application error type of err ("" if none).
func errorType(err error) string {
	var ae *temporal.ApplicationError
	if errors.As(err, &ae) {
		return ae.Type()
	}
	return ""
}

// finish records the outcome and waits for handlers.
func (p *proc) finish(ctx workflow.Context, outcome, details string) {
	p.m.Finish(ctx, outcome, details)
}

// watch records a customer or applicant signal (withdraw, cancel) and sets
// *flag while allowed() holds; later ones are audited as refused.
func (p *proc) watch(ctx workflow.Context, signal, actor string, allowed func() bool, flag *bool) {
	ch := workflow.GetSignalChannel(ctx, signal)
	workflow.Go(ctx, func(ctx workflow.Context) {
		for {
			var req Request
			if !ch.Receive(ctx, &req) {
				return
			}
			who := cmp.Or(req.By, actor)
			if !allowed() || *flag {
				p.m.Audit(ctx, who, humantask.ActionRequestRefused, "", signal+" refused: too late"+suffix(req.Reason))
				continue
			}
			*flag = true
			p.m.Audit(ctx, who, humantask.ActionRequested, "", signal+suffix(req.Reason))
		}
	})
}

// Request is the payload of the withdraw and cancel signals (may be empty).
type Request struct {
	By     string `json:"by,omitempty"`
	Reason string `json:"reason,omitempty"`
}

func suffix(s string) string {
	if s == "" {
		return ""
	}
	return ": " + s
}

func money(v float64) string {
	s := fmt.Sprintf("%.2f", v)
	intPart, frac := s[:len(s)-3], s[len(s)-3:]
	neg := strings.HasPrefix(intPart, "-")
	intPart = strings.TrimPrefix(intPart, "-")
	var b strings.Builder
	for i, c := range intPart {
		if i > 0 && (len(intPart)-i)%3 == 0 {
			b.WriteByte(',')
		}
		b.WriteRune(c)
	}
	if neg {
		return "-" + b.String() + frac
	}
	return b.String() + frac
}

// facts renders static details compactly (the Web UI shows them in a small
// frame): a heading with the business key, then "name: value" pairs.
func facts(process, key string, pairs ...string) string {
	var parts []string
	for i := 0; i+1 < len(pairs); i += 2 {
		parts = append(parts, "**"+pairs[i]+"**: "+pairs[i+1])
	}
	return fmt.Sprintf("**%s** `%s`\n\n%s\n", process, key, strings.Join(parts, " · "))
}
