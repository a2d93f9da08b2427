package activities

import (
	"context"
	"errors"

	"go.temporal.io/sdk/activity"
	"go.temporal.io/sdk/temporal"

	"github.com/batonhq/baton/internal/auditstore"
)

// ErrAuditConflict: an audit entry's key is already stored with different
// content. Retrying cannot help; the instance's record is not
// deterministic, or the store was changed.
const ErrAuditConflict = "AuditConflict"

// AppendAuditName is the audit activity's type name: starter audit --verify
// finds the entries an instance wrote in its history by it.
const AppendAuditName = "AppendAudit"

// AuditAppender writes to the durable audit store (auditstore.Store).
type AuditAppender interface {
	Append(ctx context.Context, entries []auditstore.Entry) (auditstore.AppendResult, error)
}

// AuditStore is the durable audit store as the audit activities use it
// (auditstore.Store): they write an instance's entries and read what the
// store knows of its business key and of its earlier runs.
type AuditStore interface {
	AuditAppender
	KeyState(ctx context.Context, workflowID, startAction string, endActions []string) (auditstore.KeyState, error)
	Earlier(ctx context.Context, workflowID, exceptRun string, actions []string) ([]auditstore.Record, error)
}

// Audit writes an instance's audit entries to the durable store and reads
// them back for the instance.
type Audit struct {
	Store AuditStore
}

// AppendAuditInput is a batch of entries, in the instance's order.
type AppendAuditInput struct {
	Entries []auditstore.Entry `json:"entries"`
}

// AppendAuditResult is what the store did, and, for a local activity (the
// record's writer), the entries written: a local activity's marker in
// history holds its result, not its input, and --verify compares the store
// with the history's entries.
type AppendAuditResult struct {
	auditstore.AppendResult
	Entries []auditstore.Entry `json:"entries,omitempty"`
}

// AppendAudit stores the entries exactly once: each is keyed by instance,
// run and sequence, so a retry after a lost answer, a worker killed after
// the commit or a replayed schedule stores nothing twice. While the
// database is unreachable the activity fails and Temporal retries it (the
// process goes on; its entries wait in the activity's input, which is in
// history). The result carries the chain head after the batch, so the
// history anchors the chain.
func (a *Audit) AppendAudit(ctx context.Context, in AppendAuditInput) (AppendAuditResult, error) {
	stored, err := a.Store.Append(ctx, in.Entries)
	res := AppendAuditResult{AppendResult: stored}
	switch {
	case err == nil:
		if res.Duplicates > 0 {
			activity.GetLogger(ctx).Info("audit entries already stored (a retried write)", "Duplicates", res.Duplicates, "Stored", res.Stored)
		}
		if activity.IsActivity(ctx) && activity.GetInfo(ctx).IsLocalActivity {
			// A local activity's input is not in history, its result is
			// (the marker): it carries the entries for --verify.
			res.Entries = in.Entries
		}
		return res, nil
	case errors.Is(err, auditstore.ErrConflict):
		return res, temporal.NewNonRetryableApplicationError(err.Error(), ErrAuditConflict, nil)
	case auditstore.Transient(err):
		return res, err
	default:
		// An invalid entry is a bug in the writer: retrying will not fix it.
		return res, temporal.NewNonRetryableApplicationError(err.Error(), ErrInvalidInput, nil)
	}
}

// AuditKeyStateInput asks who owns a business key (see auditstore.KeyState).
type AuditKeyStateInput struct {
	WorkflowID  string   `json:"workflowId"`
	StartAction string   `json:"startAction"`
	EndActions  []string `json:"endActions"`
}

// AuditKeyState reads what the store knows of a workflow ID's instance: its
// first start entry, its last terminal entry and when it last wrote. A
// process asks before anything else, so a business key that has ended
// never runs again. An unreachable store is retried.
func (a *Audit) AuditKeyState(ctx context.Context, in AuditKeyStateInput) (auditstore.KeyState, error) {
	k, err := a.Store.KeyState(ctx, in.WorkflowID, in.StartAction, in.EndActions)
	if err != nil && !auditstore.Transient(err) {
		return k, temporal.NewNonRetryableApplicationError(err.Error(), ErrInvalidInput, nil)
	}
	return k, err
}

// AuditEarlierInput asks for what the other runs of a workflow ID recorded.
type AuditEarlierInput struct {
	WorkflowID string   `json:"workflowId"`
	RunID      string   `json:"runId"`
	Actions    []string `json:"actions"`
}

// AuditEarlierResult is what earlier runs recorded, and which run asked:
// it is recorded in history, so a later reset of that run knows the answer
// was given to another run.
type AuditEarlierResult struct {
	AskedBy string              `json:"askedBy"`
	Entries []auditstore.Record `json:"entries,omitempty"`
}

// AuditEarlier lists the entries of the given actions that runs of the
// workflow ID other than the asking one wrote (with data): what a reset
// run must not act against.
func (a *Audit) AuditEarlier(ctx context.Context, in AuditEarlierInput) (AuditEarlierResult, error) {
	recs, err := a.Store.Earlier(ctx, in.WorkflowID, in.RunID, in.Actions)
	if err != nil && !auditstore.Transient(err) {
		return AuditEarlierResult{}, temporal.NewNonRetryableApplicationError(err.Error(), ErrInvalidInput, nil)
	}
	return AuditEarlierResult{AskedBy: in.RunID, Entries: recs}, err
}

// RegisterAudit registers the audit activities.
func RegisterAudit(r Registry, a *Audit) {
	r.RegisterActivityWithOptions(a, activity.RegisterOptions{})
}
