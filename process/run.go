package process

import (
	"errors"
	"fmt"
	"maps"
	"time"

	"go.temporal.io/sdk/temporal"
	"go.temporal.io/sdk/workflow"

	"github.com/batonhq/baton/audit"
	"github.com/batonhq/baton/policy"
	"github.com/batonhq/baton/record"
)

// Proc is what a process body holds: the instance record (embedded: stage,
// facts, tasks, audit), its steps and compensations, and what it does once
// it ends.
type Proc struct {
	*record.Record
	desc  *Description
	input Input
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

// run is every process's frame: it validates the input (failing at once,
// naming the field), refuses a business key whose instance has ended
// (record.ClaimKey), builds the record, runs body, and finishes the
// instance once body returns an ending (End, or a message that stopped
// it): compensation, OnEnd, then the record's Finish. Any other error
// fails the workflow as it is.
func run(ctx workflow.Context, s record.Settings, d *Description, in Input, e *Ending, body func(ctx workflow.Context, p *Proc) error) error {
	if err := in.Validate(); err != nil {
		return InvalidStart(err)
	}
	// The workflow ID is the business key, so that Temporal's one-open-
	// instance-per-ID rule and the systems' idempotency keys hold for the
	// business: two instances for one application cannot both pay out.
	if id := workflow.GetInfo(ctx).WorkflowExecution.ID; id != in.Key() {
		return InvalidStart(Invalid(d.IDField, "the workflow ID %q is not the business key %q; start it under %s", id, in.Key(), in.Key()))
	}
	// A business key whose instance has ended never runs again, whoever
	// starts it: refused (and recorded) before anything happens.
	if err := record.ClaimKey(ctx, s, d.Name, in.Key()); err != nil {
		return err
	}
	rec, err := record.New(ctx, record.Options{Process: d.Name, BusinessKey: in.Key(), Stages: d.Stages, Settings: s})
	if err != nil {
		return err
	}
	rec.SetCase(d.Title, in.Summary())
	p := &Proc{
		Record: rec,
		desc:   d,
		input:  in,
		retry:  &temporal.RetryPolicy{InitialInterval: time.Second, BackoffCoefficient: 2, MaximumInterval: time.Minute},
	}
	err = body(ctx, p)
	if err == nil {
		err = fmt.Errorf("%s: the process ended without an outcome", d.Name)
	}
	var end *EndError
	if !errors.As(err, &end) {
		if ErrorType(err) == ErrInvalidStart {
			// An input refused once the record exists (a user the
			// directory does not know): the record fails, saying why.
			p.FailWith(ctx, OutcomeFailed, err, func(course *record.Course) any {
				// When the instance started and its course (no facts: it
				// failed before it could be routed).
				return record.EndData{EndData: audit.EndData{StartedAt: p.StartedAt().UTC(), HandlingPath: p.HandlingPath(), Outcome: OutcomeFailed},
					Course: course, CourseOmitted: course == nil}
			})
		} else {
			p.DrainAudit(ctx) // the trail so far reaches the audit store
		}
		return err
	}
	p.ending = true
	p.compensate(ctx, end.Outcome)
	e.Outcome, e.Reason, e.HandlingPath = end.Outcome, end.Reason, p.HandlingPath()
	if p.onEnd != nil {
		p.onEnd(ctx, end.Outcome, end.Reason)
	}
	p.FinishWith(ctx, end.Outcome, end.Reason, func(course *record.Course) any {
		e.Decision, e.Facts, e.Tasks = p.decision, maps.Clone(p.Facts()), taskOutcomes(p.Tasks())
		e.StartedAt, e.ClosedAt = p.StartedAt().UTC(), p.ClosedAt().UTC().Truncate(time.Microsecond)
		return record.EndData{EndData: EndData(e), Course: course, CourseOmitted: course == nil}
	})
	return nil
}

// Start pins the policy, audits the start (details say what the instance
// is about, for people), refuses users the directory does not know (the
// description's Directory fields) and returns the process's own section
// of the pinned policy, decoded into a T. Every body calls it first.
func Start[T any](ctx workflow.Context, p *Proc, details string) (T, error) {
	var sec T
	pol, err := p.Record.Start(ctx, details)
	if err != nil {
		return sec, err
	}
	if p.desc.Directory != nil {
		for _, f := range p.desc.Directory(p.input) {
			if _, ok := pol.Users[f.User]; !ok {
				return sec, InvalidStart(Invalid(f.Field, "%q is not in the directory", f.User))
			}
		}
	}
	return policy.Section[T](pol, p.desc.Name)
}

// OnEnd sets what runs when the instance ends (after compensation, before
// the record is finished): a notification, a result field.
func (p *Proc) OnEnd(fn func(ctx workflow.Context, outcome, reason string)) { p.onEnd = fn }

// Compensated names the compensations that ran, in order.
func (p *Proc) Compensated() []string { return p.compensated }

// Description is the process's description.
func (p *Proc) Description() *Description { return p.desc }
