package record

import (
	"go.temporal.io/sdk/workflow"

	"github.com/batonhq/baton/audit"
	"github.com/batonhq/baton/policy"
)

// The frame's own activities, called by name with the payloads below: the
// record pins the policy, reads the live directory, writes the trail to the
// audit store and asks it who owns a business key and what earlier runs
// recorded. Their implementations are on the worker side (package worker),
// which registers them under these names; a workflow package imports none
// of them. The names are those the activities were first registered under
// (the methods' names), so recorded histories replay.
const (
	// ActivityLoadPolicy returns the worker's policy to pin (LoadPolicyResult).
	ActivityLoadPolicy = "LoadPolicy"
	// ActivityDirectory returns the worker's current directory entries of
	// the users given ([]string → *policy.Policy), a local activity.
	ActivityDirectory = "Directory"
	// ActivityAppendAudit stores entries exactly once (AppendAuditInput →
	// AppendAuditResult); starter audit --verify finds the entries an
	// instance wrote in its history by this name.
	ActivityAppendAudit = "AppendAudit"
	// ActivityKeyState reads who owns a business key (KeyStateInput →
	// audit.KeyState), a local activity.
	ActivityKeyState = "AuditKeyState"
	// ActivityEarlier reads what other runs of a workflow ID recorded
	// (EarlierInput → EarlierResult), a local activity.
	ActivityEarlier = "AuditEarlier"
)

// Application error types of the audit activities.
const (
	// ErrAuditConflict: an entry's key is already stored with different
	// content. Retrying cannot help; the record is not deterministic, or
	// the store was changed.
	ErrAuditConflict = "AuditConflict"
	// ErrAuditInvalid: the store refused an entry or a lookup as invalid (a
	// bug in the writer): not retried.
	ErrAuditInvalid = "InvalidInput"
)

// LoadPolicyResult is the policy snapshot a process pins.
type LoadPolicyResult struct {
	Policy policy.Policy `json:"policy"`
}

// AppendAuditInput is a batch of entries, in the instance's order.
type AppendAuditInput struct {
	Entries []audit.Entry `json:"entries"`
}

// AppendAuditResult is what the store did, and, for a local activity (the
// record's writer), the entries written: a local activity's marker in
// history holds its result, not its input, and --verify compares the store
// with the history's entries.
type AppendAuditResult struct {
	audit.AppendResult
	Entries []audit.Entry `json:"entries,omitempty"`
}

// KeyStateInput asks who owns a business key (see audit.KeyState).
type KeyStateInput struct {
	WorkflowID  string   `json:"workflowId"`
	StartAction string   `json:"startAction"`
	EndActions  []string `json:"endActions"`
}

// EarlierInput asks for what the other runs of a workflow ID recorded.
type EarlierInput struct {
	WorkflowID string   `json:"workflowId"`
	RunID      string   `json:"runId"`
	Actions    []string `json:"actions"`
}

// EarlierResult is what earlier runs recorded, and which run asked: it is
// recorded in history, so a later reset of that run knows the answer was
// given to another run.
type EarlierResult struct {
	AskedBy string         `json:"askedBy"`
	Entries []audit.Stored `json:"entries,omitempty"`
}

// AuditMode is how instances write their trail to the audit store.
type AuditMode int

// Audit modes. Workflow code reads the mode, so it is fixed for a worker's
// life: a history written under one does not replay under another.
const (
	// AuditLocal writes through a local activity: the default, chosen by
	// make bench (one marker event per batch).
	AuditLocal AuditMode = iota
	// AuditActivity writes through a regular activity (make bench's
	// comparison only).
	AuditActivity
	// AuditOff writes nothing to the store (make bench's "without audit
	// writes" half only).
	AuditOff
)

// Settings are the frame's settings for a worker's life. The worker fixes
// them when it registers the workflows (process.Catalog.Register binds them
// into each workflow function), so workflow code reads no package variable
// that someone could change while it runs.
type Settings struct {
	Audit AuditMode
	// Directory returns the worker's current directory entries of users,
	// with its signers, version and requireSignedDecisions (what the
	// Directory activity returns), read in memory, for the update
	// validator, which cannot call an activity. Nil (unit tests, a
	// replayer): the validator judges with the pinned policy alone.
	Directory func(users ...string) *policy.Policy
	// Remind sends a reminder about an open task to a user (the
	// process's own notification system, e.g. mail). ctx carries the
	// activity options of the reminder's step (its activity ID names the
	// reminder, so a reset does not send it twice). Nil: reminders are
	// audited, not sent.
	Remind func(ctx workflow.Context, m Reminder) error
}

// Reminder is a reminder about an open task, for one user.
type Reminder struct {
	To, Subject, Body string
	// BusinessKey is the instance's (the reference for the recipient).
	BusinessKey string
}

// writes reports whether instances write their trail to the store.
func (s Settings) writes() bool { return s.Audit != AuditOff }
