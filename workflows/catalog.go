// Package workflows holds Baton's own processes, one file per process, each
// declaring its process.Description: loan origination, order fulfilment,
// employee onboarding, expense approval and insurance claims. They are one
// consumer of the public frame (package process); Catalog lists them, the
// one place they are registered.
//
// Names that cross the wire are declared once: the customers' messages
// here; the human tasks' messages in humantask; the record's queries and
// search attributes in record; the task queue and ping in process.
package workflows

import (
	"time"

	"go.temporal.io/sdk/workflow"

	"github.com/batonhq/baton/activities"
	"github.com/batonhq/baton/policy"
	"github.com/batonhq/baton/process"
	"github.com/batonhq/baton/record"
)

// Customers' messages that end an instance (payload record.Request).
const (
	// SignalWithdraw lets a loan applicant withdraw until disbursement.
	SignalWithdraw = "withdraw"
	// SignalCancel lets a customer cancel an order before shipment.
	SignalCancel = "cancel"
)

// versionTaskForms guards the data-entry steps (task forms and what the
// processes do with their values): instances that opened their tasks
// before replay without them.
const versionTaskForms = "task-forms"

// Catalog lists Baton's processes: what cmd/worker hosts and cmd/starter
// starts. Reminders of human tasks go out as mail.
func Catalog() *process.Catalog {
	c := process.NewCatalog(Claim, Expense, Loan, Onboarding, Order)
	c.Remind = remind
	return c
}

// remind mails a task's reminder (the record sets the step's activity
// options: its ID names the reminder).
func remind(ctx workflow.Context, m record.Reminder) error {
	var mail *activities.Mail
	in := activities.MailInput{To: m.To, Subject: m.Subject, Body: m.Body, Ref: m.BusinessKey}
	return workflow.ExecuteActivity(ctx, mail.SendMail, in).Get(ctx, nil)
}

// notify mails a person about this instance as an audited step.
func notify(ctx workflow.Context, p *process.Proc, step, to, subject, body string) error {
	var mail *activities.Mail
	return p.Step(ctx, step, "mail: "+step+" for "+p.BusinessKey(), mail.SendMail,
		activities.MailInput{To: to, Subject: subject, Body: body, Ref: p.BusinessKey()}, nil, process.Timeout(10*time.Second))
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
