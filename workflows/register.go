package workflows

import "go.temporal.io/sdk/workflow"

// Registry is what both the SDK worker and the replayer offer.
type Registry interface {
	RegisterWorkflowWithOptions(w any, options workflow.RegisterOptions)
}

// Register registers every workflow under its stable name. The worker and
// the replay tests call it, so both know the same workflows.
func Register(r Registry) {
	r.RegisterWorkflowWithOptions(Ping, workflow.RegisterOptions{Name: ProcessPing})
	r.RegisterWorkflowWithOptions(Loan, workflow.RegisterOptions{Name: ProcessLoan})
	r.RegisterWorkflowWithOptions(Order, workflow.RegisterOptions{Name: ProcessOrder})
	r.RegisterWorkflowWithOptions(Onboarding, workflow.RegisterOptions{Name: ProcessOnboarding})
	r.RegisterWorkflowWithOptions(Expense, workflow.RegisterOptions{Name: ProcessExpense})
}
