package process

import (
	"go.temporal.io/sdk/workflow"

	"github.com/batonhq/baton/humantask"
)

// Review is a human decision the process waits for, and how it ends the
// instance when the task is not approved.
type Review struct {
	// Outcome ends the instance when the task is rejected or expires.
	Outcome string
	// Decision names what a missed deadline missed: "no <Decision> by the
	// deadline".
	Decision string
	// Level, if set, is named in a rejection: "rejected at <Level> level by ...".
	Level string
}

// Decide opens a task and waits for it. Approved: its result. Rejected or
// expired: the instance ends with rv.Outcome. A message that stops the
// instance (withdraw, cancel) cancels the task and ends the instance.
func (p *Proc) Decide(ctx workflow.Context, spec humantask.Spec, rv Review) (humantask.Result, error) {
	task, err := p.Open(ctx, spec)
	if err != nil {
		return humantask.Result{}, err
	}
	if err := workflow.Await(ctx, func() bool { return task.Closed() || p.Stopped() != nil }); err != nil {
		return humantask.Result{}, err
	}
	if s := p.Stopped(); s != nil {
		p.CancelOpen(ctx, s.Reason)
		return humantask.Result{}, End(s.Outcome, s.Reason)
	}
	r := task.Result()
	switch r.State {
	case humantask.StateApproved:
		return r, nil
	case humantask.StateRejected:
		at := ""
		if rv.Level != "" {
			at = " at " + rv.Level + " level"
		}
		return r, End(rv.Outcome, "rejected"+at+" by "+r.Rejecter+": "+r.Comment)
	default:
		return r, End(rv.Outcome, "no "+rv.Decision+" by the deadline")
	}
}
