package auditstore

import (
	"context"
	"errors"
	"fmt"
	"strconv"
	"time"

	"github.com/batonhq/baton/audit"

	"github.com/jackc/pgx/v5"
)

// Cursor is a place in the commit-ordered feed of entries: the inserting
// transaction's id, then the instance and position within it.
type Cursor struct {
	TxID       uint64 `json:"txid"`
	WorkflowID string `json:"workflowId"`
	Pos        int64  `json:"pos"`
}

// Committed is an entry of the feed with its place in it.
type Committed struct {
	audit.Stored
	Cursor Cursor
}

// Committed returns up to limit entries after c in commit order: ordered by
// the inserting transaction's id, and only from transactions older than
// every transaction still running (pg_snapshot_xmin). A transaction with a
// smaller id that commits after a larger one is therefore never passed
// over: its rows are read once it has ended. An open transaction holds the
// feed back, it never loses rows.
func (s *Store) Committed(ctx context.Context, after Cursor, limit int) ([]Committed, error) {
	rows, err := s.pool.Query(ctx, `SELECT txid::text, `+recordColumns+` FROM audit_entries
		WHERE txid < pg_snapshot_xmin(pg_current_snapshot())
			AND (txid, workflow_id, pos) > ($1::text::xid8, $2, $3)
		ORDER BY txid, workflow_id, pos LIMIT $4`, strconv.FormatUint(after.TxID, 10), after.WorkflowID, after.Pos, limit)
	if err != nil {
		return nil, s.queryErr(err)
	}
	defer rows.Close()
	var out []Committed
	for rows.Next() {
		var txid string
		r, err := scanRecord(rows, &txid)
		if err != nil {
			return nil, err
		}
		n, err := strconv.ParseUint(txid, 10, 64)
		if err != nil {
			return nil, fmt.Errorf("audit store: transaction id %q: %w", txid, err)
		}
		out = append(out, Committed{Stored: r, Cursor: Cursor{TxID: n, WorkflowID: r.WorkflowID, Pos: r.Pos}})
	}
	return out, rows.Err()
}

// Instances lists the workflow IDs with an entry at or after since (every
// instance when since is zero), for a sweep.
func (s *Store) Instances(ctx context.Context, since time.Time) ([]string, error) {
	rows, err := s.pool.Query(ctx, `SELECT DISTINCT workflow_id FROM audit_entries
		WHERE $1::timestamptz IS NULL OR at >= $1 ORDER BY workflow_id`, nullTime(since))
	if err != nil {
		return nil, s.queryErr(err)
	}
	return pgx.CollectRows(rows, pgx.RowTo[string])
}

// PutPolicy stores a policy's text under its version, once: the table is
// append-only, a version already stored is left as it is.
func (s *Store) PutPolicy(ctx context.Context, version string, body []byte) error {
	if _, err := s.pool.Exec(ctx, `INSERT INTO audit_policies (version, body) VALUES ($1, $2) ON CONFLICT (version) DO NOTHING`, version, body); err != nil {
		return s.queryErr(err)
	}
	return nil
}

// Policy is the text stored for version (nil when none is).
func (s *Store) Policy(ctx context.Context, version string) ([]byte, error) {
	var body []byte
	err := s.pool.QueryRow(ctx, `SELECT body FROM audit_policies WHERE version = $1`, version).Scan(&body)
	if errors.Is(err, pgx.ErrNoRows) {
		return nil, nil
	}
	if err != nil {
		return nil, s.queryErr(err)
	}
	return body, nil
}

// Count stores the number of entries in n.
func (s *Store) Count(ctx context.Context, n *int64) error {
	if err := s.pool.QueryRow(ctx, `SELECT count(*) FROM audit_entries`).Scan(n); err != nil {
		return s.queryErr(err)
	}
	return nil
}
