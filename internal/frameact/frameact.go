// Package frameact implements the frame's own activities on the worker
// side (record.Activity*: the policy to pin, the live directory, the audit
// store); the worker registers them, and so do the test environments of
// processtest. Workflow code calls them by name and imports none of this.
package frameact

import (
	"context"
	"errors"
	"sync"
	"time"

	"go.temporal.io/sdk/activity"
	"go.temporal.io/sdk/temporal"

	"github.com/batonhq/baton/audit"
	"github.com/batonhq/baton/internal/auditstore"
	"github.com/batonhq/baton/policy"
	"github.com/batonhq/baton/record"
)

// AuditStore is the durable audit store as the frame's activities use it
// (auditstore.Store): they write an instance's entries and read what the
// store knows of its business key and of its earlier runs.
type AuditStore interface {
	Append(ctx context.Context, entries []audit.Entry) (audit.AppendResult, error)
	KeyState(ctx context.Context, workflowID, startAction string, endActions []string) (audit.KeyState, error)
	Earlier(ctx context.Context, workflowID, exceptRun string, actions []string) ([]audit.Stored, error)
}

// SubstituteStore is an AuditStore that keeps substitutions too
// (auditstore.Store): the live directory then holds them.
type SubstituteStore interface {
	// Substitutes lists the substitutions not ended at at in which one
	// of users stands in for someone (or is stood in for).
	Substitutes(ctx context.Context, users []string, at time.Time) ([]policy.Substitute, error)
}

// Frame implements the frame's own activities (record.Activity*): the
// governance policy the worker loaded and validated at start, which
// processes pin (so the exact policy is recorded in their history) and
// whose directory they read live at decision time, and the audit store.
type Frame struct {
	mu     sync.RWMutex
	policy *policy.Policy
	store  AuditStore
}

// NewFrame serves pol and writes to store (nil: the audit activities are
// not registered, for tests that run without them).
func NewFrame(pol *policy.Policy, store AuditStore) *Frame {
	return &Frame{policy: pol, store: store}
}

// Register registers the frame's activities under the names the record
// calls them by.
func (f *Frame) Register(r interface {
	RegisterActivityWithOptions(a any, options activity.RegisterOptions)
}) {
	r.RegisterActivityWithOptions(f.loadPolicy, activity.RegisterOptions{Name: record.ActivityLoadPolicy})
	r.RegisterActivityWithOptions(f.directory, activity.RegisterOptions{Name: record.ActivityDirectory})
	if f.store == nil {
		return
	}
	r.RegisterActivityWithOptions(f.appendAudit, activity.RegisterOptions{Name: record.ActivityAppendAudit})
	r.RegisterActivityWithOptions(f.keyState, activity.RegisterOptions{Name: record.ActivityKeyState})
	r.RegisterActivityWithOptions(f.earlier, activity.RegisterOptions{Name: record.ActivityEarlier})
}

// SetPolicy replaces the worker's current policy: running instances keep
// their pinned routing rules, but their decisions are checked against the
// new directory (see Directory).
func (f *Frame) SetPolicy(pol *policy.Policy) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.policy = pol
}

func (f *Frame) current() *policy.Policy {
	f.mu.RLock()
	defer f.mu.RUnlock()
	return f.policy
}

// Directory is the worker's current directory entries of users (those it
// lists), its trusted signers, its version and whether it requires signed
// decisions: what the Directory activity returns, read in memory, for the
// update validator (record.Settings.Directory).
//
// With an audit store it also holds the substitutions not yet ended in
// which one of users stands in for someone, and those principals' entries:
// the workflow honours a substitution only inside its window (workflow
// time). The validator's read is bounded (substituteReadTimeout); when it
// fails the validator judges without substitutions (refusing a substitute,
// the safe direction) and the handler reads them again.
func (f *Frame) Directory(users ...string) *policy.Policy {
	ctx, cancel := context.WithTimeout(context.Background(), substituteReadTimeout)
	defer cancel()
	out, _ := f.directoryAt(ctx, users)
	return out
}

// substituteReadTimeout bounds the validator's read of substitutions, well
// inside the SDK's one-second deadlock detector.
const substituteReadTimeout = 300 * time.Millisecond

// directoryAt is the worker's current entries of users, its signers, its
// tasks settings and the substitutions of users (with the entries of the
// users they stand in for); err says the substitutions could not be read.
func (f *Frame) directoryAt(ctx context.Context, users []string) (*policy.Policy, error) {
	cur := f.current()
	out := &policy.Policy{Version: cur.Version, RequireSignedDecisions: cur.RequireSignedDecisions,
		Users: map[string]policy.User{}, Signers: cur.Signers, Tasks: cur.Tasks}
	for _, u := range users {
		if e, ok := cur.Users[u]; ok {
			out.Users[u] = e
		}
	}
	ss, ok := f.store.(SubstituteStore)
	if !ok {
		return out, nil
	}
	subs, err := ss.Substitutes(ctx, users, time.Now())
	if err != nil {
		return out, err
	}
	for _, s := range subs {
		if e, ok := cur.Users[s.Principal]; ok {
			out.Users[s.Principal] = e
			out.Substitutes = append(out.Substitutes, s)
		}
	}
	return out, nil
}

// loadPolicy returns the policy snapshot a process pins.
func (f *Frame) loadPolicy(_ context.Context) (*record.LoadPolicyResult, error) {
	return &record.LoadPolicyResult{Policy: *f.current()}, nil
}

// directory is read at decision time as a local activity, so a key or
// role removed from the policy stops working on running instances.
//
// An audit store that does not answer is retried (a decision waits rather
// than be judged without the substitutions in force).
func (f *Frame) directory(ctx context.Context, users []string) (*policy.Policy, error) {
	return f.directoryAt(ctx, users)
}

// appendAudit stores the entries exactly once: each is keyed by instance,
// run and sequence, so a retry after a lost answer, a worker killed after
// the commit or a replayed schedule stores nothing twice. While the
// database is unreachable the activity fails and Temporal retries it (the
// process goes on; its entries wait in the activity's input, which is in
// history). The result carries the chain head after the batch, so the
// history anchors the chain.
func (f *Frame) appendAudit(ctx context.Context, in record.AppendAuditInput) (record.AppendAuditResult, error) {
	stored, err := f.store.Append(ctx, in.Entries)
	res := record.AppendAuditResult{AppendResult: stored}
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
		return res, temporal.NewNonRetryableApplicationError(err.Error(), record.ErrAuditConflict, nil)
	case auditstore.Transient(err):
		return res, err
	default:
		// An invalid entry is a bug in the writer: retrying will not fix it.
		return res, temporal.NewNonRetryableApplicationError(err.Error(), record.ErrAuditInvalid, nil)
	}
}

// keyState reads what the store knows of a workflow ID's instance: its
// first start entry, its last terminal entry and when it last wrote. A
// process asks before anything else, so a business key that has ended
// never runs again. An unreachable store is retried.
func (f *Frame) keyState(ctx context.Context, in record.KeyStateInput) (audit.KeyState, error) {
	k, err := f.store.KeyState(ctx, in.WorkflowID, in.StartAction, in.EndActions)
	if err != nil && !auditstore.Transient(err) {
		return k, temporal.NewNonRetryableApplicationError(err.Error(), record.ErrAuditInvalid, nil)
	}
	return k, err
}

// earlier lists the entries of the given actions that runs of the workflow
// ID other than the asking one wrote (with data): what a reset run must
// not act against.
func (f *Frame) earlier(ctx context.Context, in record.EarlierInput) (record.EarlierResult, error) {
	recs, err := f.store.Earlier(ctx, in.WorkflowID, in.RunID, in.Actions)
	if err != nil && !auditstore.Transient(err) {
		return record.EarlierResult{}, temporal.NewNonRetryableApplicationError(err.Error(), record.ErrAuditInvalid, nil)
	}
	return record.EarlierResult{AskedBy: in.RunID, Entries: recs}, err
}
