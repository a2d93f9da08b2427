package activities

import (
	"context"
	"errors"

	"go.temporal.io/sdk/activity"
	"go.temporal.io/sdk/temporal"

	"baton/internal/auditstore"
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

// AppendAudit stores the entries exactly once: each is keyed by instance,
// run and sequence, so a retry after a lost answer, a worker killed after
// the commit or a replayed schedule stores nothing twice. While the
// database is unreachable the activity fails and Temporal retries it (the
// process goes on; its entries wait in the activity's input, which is in
// history). The result carries the chain head after the batch, so the
// history anchors the chain.
func (a *Audit) AppendAudit(ctx context.Context, in AppendAuditInput) (auditstore.AppendResult, error) {
	res, err := a.Store.Append(ctx, in.Entries)
	switch {
	case err == nil:
		if res.Duplicates > 0 {
			activity.GetLogger(ctx).Info("audit entries already stored (a retried write)", "Duplicates", res.Duplicates, "Stored", res.Stored)
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
