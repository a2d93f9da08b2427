package audit

// Actions of an instance's entries: the process's and its human tasks'.
// The store does not know them; readers (reports, what-if, insight, the
// lineage of a business key) match on them.
const (
	ActionStarted        = "started"
	ActionStepCompleted  = "step-completed"
	ActionStepFailed     = "step-failed"
	ActionRouted         = "routed"
	ActionRequested      = "requested"       // a customer or applicant message (withdraw, cancel)
	ActionRequestRefused = "request-refused" // such a message that came too late
	ActionCompensated    = "compensated"
	ActionCompleted      = "completed"
	ActionFailed         = "failed"
	// ActionRefusedSummary counts the refused messages beyond the cap.
	ActionRefusedSummary = "refused-summary"
	// ActionStartRefused: a run refused to start under a business key
	// whose instance has ended (business keys never run again).
	ActionStartRefused = "start-refused"

	ActionTaskOpened       = "task-opened"
	ActionDecisionAccepted = "decision-accepted"
	ActionDecisionRefused  = "decision-refused"
	ActionReminded         = "reminded"
	ActionEscalated        = "escalated"
	ActionDelegated        = "delegated"
	ActionTaskClosed       = "task-closed"
	// ActionDecisionHonoured: a reset run re-applied a decision an earlier
	// run of the instance recorded for the same task occurrence.
	ActionDecisionHonoured = "decision-honoured"
	// ActionTaskHeld: a reset run could not honour a recorded decision (the
	// task differs from the one decided): the task waits for an operator.
	ActionTaskHeld = "task-held"

	// Work on a task that decides nothing (humantask's act update and
	// action signal): claims, comments, priority, follow-up.
	ActionClaimed       = "task-claimed"
	ActionReleased      = "task-released"
	ActionClaimLapsed   = "claim-lapsed"
	ActionCommented     = "task-commented"
	ActionPrioritySet   = "priority-set"
	ActionFollowUpSet   = "follow-up-set"
	ActionActionRefused = "task-action-refused"

	// Substitutes (package substitutes): set, ended (by someone, or by
	// itself at the end of its window), refused.
	ActionSubstituteSet     = "substitute-set"
	ActionSubstituteEnded   = "substitute-ended"
	ActionSubstituteRefused = "substitute-refused"
	// ActionCaseViewed: a user opened a task's case file with its personal
	// data (recorded by the worker from the view-case update's validator,
	// never in history).
	ActionCaseViewed = "case-viewed"
)

// WorkActions are the entries that record work on a task without deciding
// it (readers that look for decisions and steps skip them).
var WorkActions = []string{ActionClaimed, ActionReleased, ActionClaimLapsed, ActionCommented, ActionPrioritySet, ActionFollowUpSet, ActionActionRefused}

// EndActions are the entries that end an instance (its outcome).
var EndActions = []string{ActionCompleted, ActionFailed}

// SystemActor is the actor of automated entries.
const SystemActor = "system"
