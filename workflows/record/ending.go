package record

import (
	"cmp"

	"go.temporal.io/sdk/workflow"
)

// Ending is how an instance ends: its outcome and the reason people read.
// As an error it unwinds a process body to the one place that finishes the
// instance (compensation, notification, Finish).
type Ending struct {
	Outcome string
	Reason  string
}

func (e *Ending) Error() string { return e.Outcome + ": " + e.Reason }

// End is the error a process body returns to end the instance with outcome.
func End(outcome, reason string) error { return &Ending{Outcome: outcome, Reason: reason} }

// Request is the payload of a customer's or applicant's message that ends
// an instance (withdraw, cancel); it may be empty.
type Request struct {
	By     string `json:"by,omitempty"`
	Reason string `json:"reason,omitempty"`
}

// EndOn listens for signal (withdraw, cancel): while allowed() holds, the
// first one is audited as requested and the instance is to end with outcome
// and reason (see Stopped); later ones, and any after allowed() turned
// false, are audited as refused. actor is who sends it when the payload
// does not say.
func (r *Record) EndOn(ctx workflow.Context, signal, actor string, allowed func() bool, outcome, reason string) {
	ch := workflow.GetSignalChannel(ctx, signal)
	workflow.Go(ctx, func(ctx workflow.Context) {
		for {
			var req Request
			if !ch.Receive(ctx, &req) {
				return
			}
			who := cmp.Or(req.By, actor)
			if !allowed() || r.stop != nil {
				r.Audit(ctx, who, ActionRequestRefused, "", signal+" refused: too late"+suffix(req.Reason))
				continue
			}
			r.stop = &Ending{Outcome: outcome, Reason: reason}
			r.Audit(ctx, who, ActionRequested, "", signal+suffix(req.Reason))
		}
	})
}

// Stopped returns the ending a message asked for, or nil. Once the instance
// is ending (Finish or Fail began), it is nil: nothing interrupts the end.
func (r *Record) Stopped() *Ending {
	if r.ending {
		return nil
	}
	return r.stop
}

func suffix(s string) string {
	if s == "" {
		return ""
	}
	return ": " + s
}
