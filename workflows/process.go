package workflows

import (
	"errors"
	"fmt"
	"maps"
	"math"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"

	"go.temporal.io/sdk/temporal"
	"go.temporal.io/sdk/workflow"

	"github.com/batonhq/baton/activities"
	"github.com/batonhq/baton/internal/termsafe"
	"github.com/batonhq/baton/policy"
	"github.com/batonhq/baton/workflows/humantask"
	"github.com/batonhq/baton/workflows/record"
)

// ErrInvalidStart is the application error type of a start input the
// process refuses (a field fails validation, a user is not in the
// directory). Systems' own 4xx refusals are activities.ErrInvalidInput.
const ErrInvalidStart = "InvalidStart"

// Outcomes shared by the processes (each process adds its own).
const (
	OutcomeApproved = "approved"
	OutcomeDeclined = "declined"
	OutcomeRejected = "rejected"
	OutcomeFailed   = "failed"
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
	return temporal.NewNonRetryableApplicationError("invalid input: "+err.Error(), ErrInvalidStart, nil)
}

// Ending is how an instance ended; every process result embeds it. Facts
// and Tasks are what a what-if (starter whatif) re-decides and measures:
// the result is in history (and encrypted by the payload codec), so they
// are read without a worker. Decision is the routing decision taken and
// Facts those it was taken on: {} when the instance ended before routing,
// absent in results recorded before they existed. StartedAt and ClosedAt
// are the instance's start (workflow start time) and the time of its
// completed audit entry (microseconds, as the audit store keeps it): the
// cycle time a what-if measures, the same from the result as from the
// store. The completed entry carries the same as EndData.
type Ending struct {
	Outcome      string            `json:"outcome"`
	HandlingPath string            `json:"handlingPath"`
	Reason       string            `json:"reason"`
	Decision     string            `json:"decision,omitempty"`
	Facts        map[string]string `json:"facts"`
	Tasks        []TaskOutcome     `json:"tasks,omitempty"`
	StartedAt    time.Time         `json:"startedAt,omitzero"`
	ClosedAt     time.Time         `json:"closedAt,omitzero"`
}

// EndData is what an instance's completed audit entry carries as data, for
// a what-if over the durable audit store once the history is gone: the
// Ending without its reason (already the entry's details) and without
// ClosedAt (the entry's own time). Task decisions keep who decided what,
// when and how: their comments are in the decision entries already.
type EndData struct {
	StartedAt    time.Time         `json:"startedAt"`
	HandlingPath string            `json:"handlingPath,omitempty"`
	Outcome      string            `json:"outcome"`
	Decision     string            `json:"decision,omitempty"`
	Facts        map[string]string `json:"facts"`
	Tasks        []TaskOutcome     `json:"tasks,omitempty"`
	// Course is the run's course (the sequence of steps, routing, tasks
	// with their specs, decisions and escalations, with their times): what
	// discovery and conformance read from this one entry. Nil when it did
	// not fit the store's bound (CourseOmitted says so; readers read the
	// whole trail then) and on entries written before it was recorded.
	Course        *record.Course `json:"course,omitempty"`
	CourseOmitted bool           `json:"courseOmitted,omitempty"`
	// Omitted, alone, says the data was not stored and why (it was over
	// the store's bound: record.FinishWith).
	Omitted string `json:"omitted,omitempty"`
}

// endData is e as the completed entry's data, with the run's course.
func endData(e *Ending, course *record.Course) EndData {
	d := EndData{StartedAt: e.StartedAt, HandlingPath: e.HandlingPath, Outcome: e.Outcome, Decision: e.Decision, Facts: e.Facts,
		Course: course, CourseOmitted: course == nil}
	for _, t := range e.Tasks {
		votes := make([]humantask.Vote, len(t.Decisions))
		for i, v := range t.Decisions {
			votes[i] = humantask.Vote{Actor: v.Actor, Verdict: v.Verdict, At: v.At, Via: v.Via}
		}
		t.Decisions = votes
		d.Tasks = append(d.Tasks, t)
	}
	return d
}

// Ending is the data of a completed entry as a what-if reads it (Reason
// empty; ClosedAt is the entry's time).
func (d EndData) Ending(closedAt time.Time) Ending {
	return Ending{Outcome: d.Outcome, HandlingPath: d.HandlingPath, Decision: d.Decision, Facts: d.Facts, Tasks: d.Tasks,
		StartedAt: d.StartedAt, ClosedAt: closedAt}
}

// TaskOutcome is a human task as the result records it: when it opened and
// closed, how it ended, and each decision (who, which verdict, when).
type TaskOutcome struct {
	ID        string           `json:"id"`
	State     string           `json:"state"`
	OpenedAt  time.Time        `json:"openedAt"`
	ClosedAt  time.Time        `json:"closedAt"`
	Decisions []humantask.Vote `json:"decisions,omitempty"`
}

// taskOutcomes lists the instance's tasks, closed by now.
func taskOutcomes(views []humantask.TaskView) []TaskOutcome {
	var out []TaskOutcome
	for _, v := range views {
		t := TaskOutcome{ID: v.ID, State: v.State, OpenedAt: v.OpenedAt, Decisions: v.Votes}
		if v.ClosedAt != nil {
			t.ClosedAt = *v.ClosedAt
		}
		out = append(out, t)
	}
	return out
}

func (e *Ending) ending() *Ending { return e }

// result is a process result: it embeds Ending.
type result interface{ ending() *Ending }

// proc is what a process body holds: the instance record (embedded: stage,
// routing, facts, tasks, audit), its steps and compensations, and what it
// does once it ends.
type proc struct {
	*record.Record
	retry *temporal.RetryPolicy
	undo  []compensation
	// onEnd runs when the instance ends, after compensation and before the
	// record is finished (a notification).
	onEnd  func(ctx workflow.Context, outcome, reason string)
	ending bool
	// compensated names the compensations that ran, in order.
	compensated []string
	// decision is the routing decision taken ("" before routing).
	decision string
	// steps counts each business step's occurrences (see stepID).
	steps map[string]int
}

// stepID is the activity ID of a business step: its name, and "#n" from
// its second occurrence on (onboarding's retried provisioning). A system's
// idempotency key is the workflow ID (the business key) and this ID, so a
// reset or a re-run of the instance repeats a step under the same key and
// the system answers with the first result instead of a second effect.
func (p *proc) stepID(name string) string {
	if p.steps == nil {
		p.steps = map[string]int{}
	}
	p.steps[name]++
	if n := p.steps[name]; n > 1 {
		return fmt.Sprintf("%s#%d", name, n)
	}
	return name
}

// run is every process's frame: it validates the input (failing at once,
// naming the field), refuses a business key whose instance has ended
// (record.ClaimKey), builds the record, runs body,
// and finishes the instance once body returns an ending (record.End, or a
// message that stopped it): compensation, onEnd, then the record's Finish.
// Any other error fails the workflow as it is.
func run[I any, R result](ctx workflow.Context, d *Process, in I, res R, body func(ctx workflow.Context, p *proc, in I, res R) error) (R, error) {
	var none R
	input, ok := any(&in).(Input)
	if !ok {
		return none, fmt.Errorf("%s: %T is not an Input", d.Name, in)
	}
	if err := input.Validate(); err != nil {
		return none, nonRetryableInput(err)
	}
	// The workflow ID is the business key, so that Temporal's one-open-
	// instance-per-ID rule and the systems' idempotency keys hold for the
	// business: two instances for one application cannot both pay out.
	if id := workflow.GetInfo(ctx).WorkflowExecution.ID; id != input.Key() {
		return none, nonRetryableInput(invalid(d.IDField, "the workflow ID %q is not the business key %q; start it under %s", id, input.Key(), input.Key()))
	}
	// A business key whose instance has ended never runs again, whoever
	// starts it: refused (and recorded) before anything happens.
	if err := record.ClaimKey(ctx, d.Name, input.Key()); err != nil {
		return none, err
	}
	rec, err := record.New(ctx, record.Options{Process: d.Name, BusinessKey: input.Key(), Stages: d.Stages})
	if err != nil {
		return none, err
	}
	p := &proc{
		Record: rec,
		retry:  &temporal.RetryPolicy{InitialInterval: time.Second, BackoffCoefficient: 2, MaximumInterval: time.Minute},
	}
	err = body(ctx, p, in, res)
	if err == nil {
		err = fmt.Errorf("%s: the process ended without an outcome", d.Name)
	}
	var end *record.Ending
	if !errors.As(err, &end) {
		if errorType(err) == ErrInvalidStart {
			// An input refused once the record exists (a user the
			// directory does not know): the record fails, saying why.
			p.FailWith(ctx, OutcomeFailed, err, func(course *record.Course) any {
				// A failed entry's data: when the instance started and its
				// course (no facts: it failed before it could be routed).
				return EndData{StartedAt: p.StartedAt().UTC(), HandlingPath: p.HandlingPath(), Outcome: OutcomeFailed,
					Course: course, CourseOmitted: course == nil}
			})
		} else {
			p.DrainAudit(ctx) // the trail so far reaches the audit store
		}
		return none, err
	}
	p.ending = true
	p.compensate(ctx, end.Outcome)
	e := res.ending()
	e.Outcome, e.Reason, e.HandlingPath = end.Outcome, end.Reason, p.HandlingPath()
	if p.onEnd != nil {
		p.onEnd(ctx, end.Outcome, end.Reason)
	}
	p.FinishWith(ctx, end.Outcome, end.Reason, func(course *record.Course) any {
		e.Decision, e.Facts, e.Tasks = p.decision, maps.Clone(p.Facts()), taskOutcomes(p.Tasks())
		e.StartedAt, e.ClosedAt = p.StartedAt().UTC(), p.ClosedAt().UTC().Truncate(time.Microsecond)
		return endData(e, course)
	})
	return res, nil
}

// start pins the policy, audits the start, refuses users the directory
// does not know (the description's Directory fields) and returns the
// process's own section of the pinned policy, decoded into a T.
func start[T any](ctx workflow.Context, p *proc, d *Process, in Input, details string) (T, error) {
	var sec T
	pol, err := p.Start(ctx, details)
	if err != nil {
		return sec, err
	}
	if d.Directory != nil {
		for _, f := range d.Directory(in) {
			if _, ok := pol.Users[f.User]; !ok {
				return sec, nonRetryableInput(invalid(f.Field, "%q is not in the directory", f.User))
			}
		}
	}
	return policy.Section[T](pol, d.Name)
}

// checkSection builds a description's CheckPolicy: it decodes the
// process's section into a T and hands it to check.
func checkSection[T any](process string, check func(p *policy.Policy, sec T) error) func(*policy.Policy) error {
	return func(p *policy.Policy) error {
		sec, err := policy.Section[T](p, process)
		if err != nil {
			return err
		}
		return check(p, sec)
	}
}

// sectionRules builds a description's Rules from its pure routing and
// task functions: the process's section of a policy is decoded into a T
// once, and each instance's recorded facts are read with parsers into an F.
func sectionRules[T, F any](process string, parsers func(f *F) []factParser, route func(f F, sec T) Route, tasks func(f F, sec T) []TaskRule) func(*policy.Policy) (Rules, error) {
	return func(p *policy.Policy) (Rules, error) {
		sec, err := policy.Section[T](p, process)
		if err != nil {
			return Rules{}, err
		}
		read := func(facts map[string]string) (F, error) {
			var f F
			return f, parseFacts(facts, parsers(&f)...)
		}
		return Rules{
			Route: func(facts map[string]string) (Route, error) {
				f, err := read(facts)
				if err != nil {
					return Route{}, err
				}
				return route(f, sec), nil
			},
			Tasks: func(facts map[string]string) ([]TaskRule, error) {
				f, err := read(facts)
				if err != nil {
					return nil, err
				}
				return tasks(f, sec), nil
			},
		}, nil
	}
}

// fourEyesQuorum is the task's quorum, at least two (distinct approvers)
// when amount is above the four-eyes threshold.
func fourEyesQuorum(t policy.Task, amount, above float64) int {
	q := t.QuorumOrOne()
	if amount > above {
		q = max(q, 2)
	}
	return q
}

// minAmount is the smallest amount of money a process accepts: one cent.
const minAmount = 0.01

// amount requires a finite amount of money of at least one cent. JSON cannot
// carry NaN or infinities, but a flag (--amount NaN) or another client's
// data converter can.
func amount(field string, v float64) error {
	switch {
	case math.IsNaN(v) || math.IsInf(v, 0):
		return invalid(field, "%v is not an amount of money", v)
	case v < minAmount:
		return invalid(field, "%v is below one cent (at least 0.01)", v)
	}
	return nil
}

// amountUpTo requires an amount (see amount) of at most limit.
func amountUpTo(field string, v, limit float64) error {
	if err := amount(field, v); err != nil {
		return err
	}
	if v > limit {
		return invalid(field, "%v is above the limit of %s", v, strings.TrimSuffix(money(limit), ".00"))
	}
	return nil
}

// atMost limits a free-text field's length and refuses text that would not
// show as it is: control characters (an ANSI escape or a newline forging a
// line of a table), bidi overrides, and U+FFFD (invalid UTF-8 that another
// client's JSON decoder replaced).
func atMost(field, v string, n int) error {
	if len(v) > n {
		return invalid(field, "at most %d characters", n)
	}
	if termsafe.Clean(v) != v || strings.ContainsRune(v, utf8.RuneError) {
		return invalid(field, "control characters and invalid UTF-8 are not allowed")
	}
	return nil
}

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

// undoneBy registers fn (named name) as the compensation of a step.
func undoneBy(name string, fn func(ctx workflow.Context) error) stepOptions {
	return stepOptions{undo: &compensation{name, fn}}
}

// step runs one activity, audits its completion or failure, and names
// itself in the UI with summary. Once it succeeds, a message that stopped
// the instance (withdraw, cancel) ends it: step returns that ending.
func (p *proc) step(ctx workflow.Context, name, summary string, fn, in, out any, opts ...stepOptions) error {
	o := p.options(opts...)
	if err := workflow.ExecuteActivity(p.activityCtx(ctx, p.stepID(name), summary, o), fn, in).Get(ctx, out); err != nil {
		p.Audit(ctx, humantask.SystemActor, record.ActionStepFailed, "", name+": "+cause(err))
		p.Count(ctx, record.MetricStepFailures, map[string]string{"step": name})
		return err
	}
	p.Audit(ctx, humantask.SystemActor, record.ActionStepCompleted, "", name)
	if o.undo != nil {
		p.undo = append(p.undo, *o.undo)
	}
	return p.stopped()
}

// options merges a step's options over the defaults (30 s, the process's
// retry policy).
func (p *proc) options(opts ...stepOptions) stepOptions {
	o := stepOptions{timeout: 30 * time.Second, retry: p.retry}
	for _, x := range opts {
		if x.timeout > 0 {
			o.timeout = x.timeout
		}
		if x.retry != nil {
			o.retry = x.retry
		}
		if x.undo != nil {
			o.undo = x.undo
		}
	}
	return o
}

// activityCtx carries one activity's options: a slow system keeps
// heartbeating, a worker that died is noticed in seconds.
func (p *proc) activityCtx(ctx workflow.Context, id, summary string, o stepOptions) workflow.Context {
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
func (p *proc) stopped() error {
	if p.ending {
		return nil
	}
	if s := p.Stopped(); s != nil {
		return s
	}
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

// commit forgets the compensations: past this point what was done stays done.
func (p *proc) commit() { p.undo = nil }

// compensate runs the registered compensations in reverse order on a
// disconnected context, so a cancelled instance still undoes its side
// effects.
func (p *proc) compensate(ctx workflow.Context, why string) {
	if len(p.undo) == 0 {
		return
	}
	dctx, cancel := workflow.NewDisconnectedContext(ctx)
	defer cancel()
	for i := len(p.undo) - 1; i >= 0; i-- {
		c := p.undo[i]
		if err := c.run(dctx); err != nil {
			p.Audit(ctx, humantask.SystemActor, record.ActionStepFailed, "", "compensation "+c.name+": "+cause(err))
			continue
		}
		p.compensated = append(p.compensated, c.name)
		p.Count(ctx, record.MetricCompensations, map[string]string{"step": c.name})
		p.Audit(ctx, humantask.SystemActor, record.ActionCompensated, "", c.name+" ("+why+")")
	}
	p.undo = nil
}

// notify mails a person about this instance as an audited step.
func (p *proc) notify(ctx workflow.Context, step, to, subject, body string) error {
	var mail *activities.Mail
	return p.step(ctx, step, "mail: "+step+" for "+p.BusinessKey(), mail.SendMail,
		activities.MailInput{To: to, Subject: subject, Body: body, Ref: p.BusinessKey()}, nil, stepOptions{timeout: 10 * time.Second})
}

// review is a human decision the process waits for, and how it ends the
// instance when the task is not approved.
type review struct {
	// outcome ends the instance when the task is rejected or expires.
	outcome string
	// decision names what a deadline missed: "no <decision> by the deadline".
	decision string
	// level, if set, is named in a rejection: "rejected at <level> level by ...".
	level string
}

// decide opens a task and waits for it. Approved: its result. Rejected or
// expired: the instance ends with rv.outcome. A message that stops the
// instance (withdraw, cancel) cancels the task and ends the instance.
func (p *proc) decide(ctx workflow.Context, spec humantask.Spec, rv review) (humantask.Result, error) {
	task, err := p.Open(ctx, spec)
	if err != nil {
		return humantask.Result{}, err
	}
	if err := workflow.Await(ctx, func() bool { return task.Closed() || p.Stopped() != nil }); err != nil {
		return humantask.Result{}, err
	}
	if s := p.Stopped(); s != nil {
		p.CancelOpen(ctx, s.Reason)
		return humantask.Result{}, s
	}
	r := task.Result()
	switch r.State {
	case humantask.StateApproved:
		return r, nil
	case humantask.StateRejected:
		at := ""
		if rv.level != "" {
			at = " at " + rv.level + " level"
		}
		return r, record.End(rv.outcome, "rejected"+at+" by "+r.Rejecter+": "+r.Comment)
	default:
		return r, record.End(rv.outcome, "no "+rv.decision+" by the deadline")
	}
}

// route records a routing decision: its handling path, the facts it used,
// and why, in the audit trail.
func (p *proc) route(ctx workflow.Context, r Route) {
	p.decision = r.Decision
	for _, k := range slices.Sorted(maps.Keys(r.Facts)) {
		p.SetFact(k, r.Facts[k])
	}
	p.Route(ctx, r.Path, r.Reason)
}

// cause is the innermost message of an activity error, for people: a
// system's refusal with its own message, which travels only in the
// error's (encrypted) details. It goes to the audit trail and the result,
// both encrypted; never to search attributes or details.
func cause(err error) string {
	var ae *temporal.ApplicationError
	if errors.As(err, &ae) {
		var se activities.SystemError
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

// errorType is the application error type of err ("" if none).
func errorType(err error) string {
	var ae *temporal.ApplicationError
	if errors.As(err, &ae) {
		return ae.Type()
	}
	return ""
}

// endOnError turns a failed step into the instance's ending: an error type
// listed in outcomes ends it with that outcome and the system's message;
// any other failure ends it as otherwise, prefixed with the step. An ending
// (the instance was stopped) passes through.
func endOnError(err error, step string, outcomes map[string]string, otherwise string) error {
	var e *record.Ending
	if errors.As(err, &e) {
		return err
	}
	if o, ok := outcomes[errorType(err)]; ok {
		return record.End(o, cause(err))
	}
	return record.End(otherwise, step+": "+cause(err))
}

// A fact parser reads one recorded fact (for a routing decision taken again).
type factParser struct {
	key   string
	parse func(v string) error
}

func intFact(key string, dst *int) factParser {
	return factParser{key, func(v string) (err error) { *dst, err = strconv.Atoi(v); return err }}
}

func floatFact(key string, dst *float64) factParser {
	return factParser{key, func(v string) (err error) { *dst, err = strconv.ParseFloat(v, 64); return err }}
}

// parseFacts reads the facts a routing decision needs, naming a missing or
// malformed one.
func parseFacts(facts map[string]string, parsers ...factParser) error {
	for _, p := range parsers {
		v, ok := facts[p.key]
		if !ok {
			return fmt.Errorf("fact %s: not recorded", p.key)
		}
		if err := p.parse(v); err != nil {
			return fmt.Errorf("fact %s: %q is not a number", p.key, v)
		}
	}
	return nil
}

// formatAmount writes an amount as a fact: exact, and parseable again.
func formatAmount(v float64) string { return strconv.FormatFloat(v, 'f', -1, 64) }

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
