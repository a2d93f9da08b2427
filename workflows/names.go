// Package workflows holds Baton's deterministic process code and every name
// that crosses the wire between the worker, the starter and other Temporal
// clients: task queue, message names, search attribute keys and workflow IDs.
package workflows

import (
	"go.temporal.io/api/enums/v1"
	"go.temporal.io/sdk/temporal"

	"baton/workflows/humantask"
)

// DefaultTaskQueue is the task queue the worker polls unless configured otherwise.
const DefaultTaskQueue = "baton"

// Message names shared by every process.
const (
	// UpdateDecide takes a humantask.Decision and answers synchronously;
	// its validator refuses what the policy forbids before history is written.
	UpdateDecide = humantask.UpdateName
	// SignalDecision takes the same payload; refusals land in the audit trail.
	SignalDecision = humantask.SignalName
	// SignalWithdraw lets a loan applicant withdraw until disbursement.
	SignalWithdraw = "withdraw"
	// SignalCancel lets a customer cancel an order before shipment.
	SignalCancel = "cancel"

	QueryTasks  = humantask.QueryTasks
	QueryAudit  = humantask.QueryAudit
	QueryStatus = humantask.QueryState
)

// Search attribute keys. They never hold personal data: search attributes
// are not encrypted.
var (
	SAProcessType   = temporal.NewSearchAttributeKeyKeyword("ProcessType")
	SABusinessKey   = temporal.NewSearchAttributeKeyKeyword("BusinessKey")
	SAProcessStage  = temporal.NewSearchAttributeKeyKeyword("ProcessStage")
	SAPendingRoles  = temporal.NewSearchAttributeKeyKeywordList("PendingRoles")
	SATaskDeadline  = temporal.NewSearchAttributeKeyTime("TaskDeadline")
	SAHandlingPath  = temporal.NewSearchAttributeKeyKeyword("HandlingPath")
	SAOutcome       = temporal.NewSearchAttributeKeyKeyword("Outcome")
	SAPolicyVersion = temporal.NewSearchAttributeKeyKeyword("PolicyVersion")
)

// SearchAttributes lists every custom search attribute Baton needs, with its
// type, for the worker (which ensures they exist) and the dev server scripts.
func SearchAttributes() map[string]enums.IndexedValueType {
	return map[string]enums.IndexedValueType{
		SAProcessType.GetName():   enums.INDEXED_VALUE_TYPE_KEYWORD,
		SABusinessKey.GetName():   enums.INDEXED_VALUE_TYPE_KEYWORD,
		SAProcessStage.GetName():  enums.INDEXED_VALUE_TYPE_KEYWORD,
		SAPendingRoles.GetName():  enums.INDEXED_VALUE_TYPE_KEYWORD_LIST,
		SATaskDeadline.GetName():  enums.INDEXED_VALUE_TYPE_DATETIME,
		SAHandlingPath.GetName():  enums.INDEXED_VALUE_TYPE_KEYWORD,
		SAOutcome.GetName():       enums.INDEXED_VALUE_TYPE_KEYWORD,
		SAPolicyVersion.GetName(): enums.INDEXED_VALUE_TYPE_KEYWORD,
	}
}

// StartAttributes are the search attributes known when an instance starts
// (free to set then): its process, business key and first stage.
func StartAttributes(process, key string) temporal.SearchAttributes {
	return temporal.NewSearchAttributes(
		SAProcessType.ValueSet(process),
		SABusinessKey.ValueSet(key),
		SAProcessStage.ValueSet("starting"),
	)
}

// Handling paths recorded in HandlingPath.
const (
	PathAutomated = "automated"
	PathManual    = "manual"
)

// Process types recorded in ProcessType and used on the command line.
const (
	ProcessLoan       = "loan"
	ProcessOrder      = "order"
	ProcessOnboarding = "onboarding"
	ProcessExpense    = "expense"
	ProcessPing       = "ping"
)

// Processes lists the business processes people start, in display order.
func Processes() []string {
	return []string{ProcessLoan, ProcessOrder, ProcessOnboarding, ProcessExpense}
}

// WorkflowID builds the business-key workflow ID of a process instance,
// e.g. WorkflowID("loan", "A-17") = "loan-A-17".
func WorkflowID(process, key string) string { return process + "-" + key }

// HumanTaskKeys are the search attributes the human-task manager keeps current.
func HumanTaskKeys() humantask.SearchKeys {
	return humantask.SearchKeys{
		ProcessType:   SAProcessType,
		BusinessKey:   SABusinessKey,
		ProcessStage:  SAProcessStage,
		PendingRoles:  SAPendingRoles,
		TaskDeadline:  SATaskDeadline,
		HandlingPath:  SAHandlingPath,
		Outcome:       SAOutcome,
		PolicyVersion: SAPolicyVersion,
	}
}

// Input is what every process input offers its starters: validation naming
// the field, the business key, and what the Web UI shows.
type Input interface {
	Validate() error
	Key() string
	Summary() string
	Details() string
}

// NewInput returns an empty input for process (a pointer, for decoding).
func NewInput(process string) (Input, bool) {
	switch process {
	case ProcessLoan:
		return &LoanInput{}, true
	case ProcessOrder:
		return &OrderInput{}, true
	case ProcessOnboarding:
		return &OnboardingInput{}, true
	case ProcessExpense:
		return &ExpenseInput{}, true
	}
	return nil, false
}

// SetID sets the input's business id field (applicationId, orderId, ...).
func SetID(in Input, id string) {
	switch v := in.(type) {
	case *LoanInput:
		v.ApplicationID = id
	case *OrderInput:
		v.OrderID = id
	case *OnboardingInput:
		v.EmployeeID = id
	case *ExpenseInput:
		v.ExpenseID = id
	}
}

// ProcessOf returns the process of a business-key workflow ID ("" if none).
func ProcessOf(workflowID string) string {
	for _, p := range Processes() {
		if len(workflowID) > len(p)+1 && workflowID[:len(p)+1] == p+"-" {
			return p
		}
	}
	return ""
}
