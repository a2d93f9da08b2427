// Package whatifstore is the what-if's Source over the durable audit store:
// the instances whose terminal entry (completed or failed) falls in the
// window, with what each completed one recorded in its completed entry's
// data (audit.EndData). The store outlives Temporal's retention, so a
// what-if reaches as far back as the store does.
package whatifstore

import (
	"context"
	"encoding/json"
	"fmt"

	"github.com/batonhq/baton/audit"
	"github.com/batonhq/baton/process"

	"golang.org/x/mod/sumdb/note"

	"github.com/batonhq/baton/internal/auditlog"
	"github.com/batonhq/baton/internal/auditstore"
	"github.com/batonhq/baton/internal/whatif"
)

// Instance statuses, as Temporal names a closed execution's: a completed
// entry ends an instance that completed, a failed entry one that failed.
const (
	StatusCompleted = "completed"
	StatusFailed    = "failed"
)

// Source reads finished instances from an audit store.
type Source struct {
	Store *auditstore.Store
	// Writers are the keys a terminal entry's attestation must verify
	// with; an instance whose entry fails is listed as not evaluated,
	// never counted (a forged completed row must not change a what-if).
	// Nil checks nothing.
	Writers []note.Verifier
}

// Finished lists, in one query, every instance of the window's process
// (every process when empty) whose last terminal entry is in [Since,
// Until]. A completed instance whose entry carries no data (it ended
// before Baton recorded it) comes back with Recorded false, counted and
// listed by the what-if, never dropped. Instances that never wrote a
// terminal entry (terminated, cancelled or timed out by Temporal) are not
// in the store as finished: only visibility knows them.
func (s Source) Finished(ctx context.Context, w whatif.Window) ([]whatif.Instance, error) {
	ended, err := s.Store.Ended(ctx, auditstore.EndedFilter{
		Process: w.Process, Since: w.Since, Until: w.Until,
		StartAction: audit.ActionStarted, EndActions: []string{audit.ActionCompleted, audit.ActionFailed},
	})
	if err != nil {
		return nil, err
	}
	out := make([]whatif.Instance, 0, len(ended))
	for _, e := range ended {
		in := whatif.Instance{Process: e.Process, BusinessKey: e.WorkflowID, Status: StatusFailed, Start: e.Started, Close: e.Closed}
		if e.EndAction == audit.ActionCompleted {
			in.Status = StatusCompleted
		}
		if s.Writers != nil {
			if kind, detail := auditlog.Attested(e.Stored, s.Writers); kind != "" {
				in.Unreadable = fmt.Sprintf("its %s entry in the audit store fails verification (%s: %s): left out; check it with starter audit --verify %s", e.EndAction, kind, detail, e.WorkflowID)
				out = append(out, in)
				continue
			}
		}
		if in.Status == StatusCompleted && len(e.Data) > 0 {
			var d audit.EndData
			if err := json.Unmarshal(e.Data, &d); err != nil {
				// Writes are checked for JSON: only a change in the
				// database makes this. The instance is listed, not lost.
				in.Unreadable = fmt.Sprintf("the completed entry's data in the audit store is not what Baton wrote (%v): check it with starter audit %s --verify", err, e.WorkflowID)
				out = append(out, in)
				continue
			}
			if d.Omitted != "" {
				in.Unreadable = "not in the audit store (" + d.Omitted + "): --source history reads them while Temporal keeps the history"
				out = append(out, in)
				continue
			}
			end := process.EndingOf(d, e.Closed)
			in.Recorded = end.Facts != nil
			in.Path, in.Outcome, in.Decision, in.Facts, in.Tasks = end.HandlingPath, end.Outcome, end.Decision, end.Facts, end.Tasks
			if !end.StartedAt.IsZero() {
				in.Start = end.StartedAt
			}
		}
		out = append(out, in)
	}
	return out, nil
}
