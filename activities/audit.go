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

// AuditAppender is the durable audit store (auditstore.Store).
type AuditAppender interface {
	Append(ctx context.Context, entries []auditstore.Entry) (auditstore.AppendResult, error)
}

// Audit writes an instance's audit entries to the durable store.
type Audit struct {
	Store AuditAppender
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

// RegisterAudit registers the audit activity.
func RegisterAudit(r Registry, a *Audit) {
	r.RegisterActivityWithOptions(a, activity.RegisterOptions{})
}
