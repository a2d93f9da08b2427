package auditstore

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/batonhq/baton/audit"
)

// audit.KeyState reads who owns workflowID: its first startAction entry, its last
// endActions entry and the time of its last entry, among the entries its
// instances wrote (validator refusals left out). Action names are the
// caller's (the store does not know them).
func (s *Store) KeyState(ctx context.Context, workflowID, startAction string, endActions []string) (audit.KeyState, error) {
	var k audit.KeyState
	one := func(q string, args ...any) (*audit.Stored, error) {
		rows, err := s.pool.Query(ctx, `SELECT `+recordColumns+` FROM audit_entries WHERE workflow_id = $1 AND source = $2 AND `+q, args...)
		if err != nil {
			return nil, s.queryErr(err)
		}
		recs, err := collect(rows)
		if err != nil || len(recs) == 0 {
			return nil, err
		}
		return &recs[0], nil
	}
	var err error
	if k.Start, err = one(`action = $3 ORDER BY pos LIMIT 1`, workflowID, audit.SourceWorkflow, startAction); err != nil {
		return k, err
	}
	if k.Start == nil {
		return k, nil
	}
	if k.End, err = one(`action = ANY($3) ORDER BY pos DESC LIMIT 1`, workflowID, audit.SourceWorkflow, endActions); err != nil {
		return k, err
	}
	var last *time.Time
	if err := s.pool.QueryRow(ctx, `SELECT max(at) FROM audit_entries WHERE workflow_id = $1 AND source = $2`, workflowID, audit.SourceWorkflow).Scan(&last); err != nil {
		return k, s.queryErr(err)
	}
	if last != nil {
		k.LastAt = last.UTC()
	}
	return k, nil
}

// Earlier lists, in chain order, the entries with data of one of actions
// that runs of workflowID other than exceptRun wrote: what earlier runs of
// a reset instance recorded (decisions, the tasks they decided).
func (s *Store) Earlier(ctx context.Context, workflowID, exceptRun string, actions []string) ([]audit.Stored, error) {
	rows, err := s.pool.Query(ctx, `SELECT `+recordColumns+` FROM audit_entries
		WHERE workflow_id = $1 AND run_id <> $2 AND source = $3 AND action = ANY($4) AND data <> ''
		ORDER BY pos`, workflowID, exceptRun, audit.SourceWorkflow, actions)
	if err != nil {
		return nil, s.queryErr(err)
	}
	return collect(rows)
}

// ErrCapped: a run already has as many validator refusals stored as the cap
// allows; the refusal was not stored (AppendCapped).
var ErrCapped = errors.New("the run's refusals beyond the cap are counted, not stored")

// AppendCapped stores a validator refusal (source validator) unless its run
// already has max of them stored: then it stores nothing and returns
// ErrCapped. The count is read under the chain head's lock, so concurrent
// workers cannot pass the cap together. A refusal already stored under its
// key counts as stored (a retried update).
func (s *Store) AppendCapped(ctx context.Context, e audit.Entry, max int) error {
	if e.Source != audit.SourceValidator {
		return fmt.Errorf("%w: AppendCapped stores validator refusals only", audit.ErrInvalid)
	}
	if err := e.Validate(); err != nil {
		return err
	}
	e = e.Normalize()
	tx, err := s.pool.Begin(ctx)
	if err != nil {
		return s.connErr(err)
	}
	defer func() { _ = tx.Rollback(ctx) }()
	if _, err := tx.Exec(ctx, `INSERT INTO audit_heads (workflow_id, pos, hash) VALUES ($1, 0, $2) ON CONFLICT DO NOTHING`, e.WorkflowID, audit.GenesisHash); err != nil {
		return fmt.Errorf("audit store: head of %s: %w", e.WorkflowID, err)
	}
	if _, err := tx.Exec(ctx, `SELECT 1 FROM audit_heads WHERE workflow_id = $1 FOR UPDATE`, e.WorkflowID); err != nil {
		return fmt.Errorf("audit store: lock head of %s: %w", e.WorkflowID, err)
	}
	var stored int
	var again bool
	err = tx.QueryRow(ctx, `SELECT count(*), coalesce(bool_or(dedup_key = $3), false) FROM audit_entries WHERE workflow_id = $1 AND run_id = $2 AND source = $4`,
		e.WorkflowID, e.RunID, e.DedupKey(), audit.SourceValidator).Scan(&stored, &again)
	if err != nil {
		return fmt.Errorf("audit store: count refusals of %s: %w", e.WorkflowID, err)
	}
	if stored >= max && !again {
		return ErrCapped
	}
	if _, _, _, err := appendChain(ctx, tx, e.WorkflowID, []audit.Entry{e}, s.attestor); err != nil {
		return err
	}
	if err := tx.Commit(ctx); err != nil {
		return fmt.Errorf("audit store: commit: %w", err)
	}
	return nil
}
