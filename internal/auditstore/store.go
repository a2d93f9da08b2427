// Package auditstore is Baton's durable audit trail: a PostgreSQL table
// that outlives workflow histories, written exactly once per entry,
// append-only (triggers refuse UPDATE, DELETE and TRUNCATE) and hash-chained
// per instance (each row carries the previous row's hash), so a deleted,
// inserted or edited row is detected by Verify.
//
// An instance's chain spans its runs: a reset's new run appends to the same
// chain, so what the old run recorded stays, and a comparison with the
// history shows what the reset dropped.
package auditstore

import (
	"context"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"net"
	"slices"
	"strings"
	"time"

	"github.com/batonhq/baton/audit"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
	"github.com/jackc/pgx/v5/pgxpool"
)

// Store is a connection pool to the audit database.
type Store struct {
	pool *pgxpool.Pool
	host string
	// attestor signs each entry's hash as it is appended (the worker's
	// writer key); nil stores entries unattested.
	attestor Attestor
}

// Open connects to the database at dsn and checks that it answers within
// the context's deadline. It does not migrate: call Migrate.
func Open(ctx context.Context, dsn string) (*Store, error) {
	cfg, err := pgxpool.ParseConfig(dsn)
	if err != nil {
		return nil, fmt.Errorf("audit.dsn: %s", strings.TrimPrefix(err.Error(), "cannot parse `"+dsn+"`: "))
	}
	cfg.MaxConns = max(cfg.MaxConns, 8)
	host := net.JoinHostPort(cfg.ConnConfig.Host, fmt.Sprint(cfg.ConnConfig.Port))
	if strings.HasPrefix(cfg.ConnConfig.Host, "/") {
		host = cfg.ConnConfig.Host
	}
	pool, err := pgxpool.NewWithConfig(ctx, cfg)
	if err != nil {
		return nil, fmt.Errorf("audit.dsn: %w", err)
	}
	s := &Store{pool: pool, host: host}
	if err := pool.Ping(ctx); err != nil {
		pool.Close()
		return nil, s.connErr(err)
	}
	return s, nil
}

// Close releases the pool.
func (s *Store) Close() { s.pool.Close() }

// Host is where the store is (host:port or socket folder), for messages.
func (s *Store) Host() string { return s.host }

// connErr turns a connection failure into one line that says what to do.
func (s *Store) connErr(err error) error {
	var pe *pgconn.PgError
	if errors.As(err, &pe) {
		return fmt.Errorf("audit store at %s: %s (SQLSTATE %s): check audit.dsn / BATON_AUDIT_DSN", s.host, pe.Message, pe.Code)
	}
	msg := err.Error()
	if i := strings.LastIndex(msg, ": "); i >= 0 && strings.Contains(msg, "dial") {
		msg = msg[i+2:]
	}
	return fmt.Errorf("cannot reach the audit store (PostgreSQL) at %s: %s: is it running? try: make dev, or set audit.dsn / BATON_AUDIT_DSN", s.host, msg)
}

// Transient reports whether err is worth retrying later: the database could
// not be reached, dropped the connection, was shutting down or starting,
// or rolled the transaction back (serialization, deadlock). A conflict, an
// invalid entry or any other refusal by the database is not.
func Transient(err error) bool {
	if err == nil || errors.Is(err, ErrConflict) || errors.Is(err, audit.ErrInvalid) || errors.Is(err, ErrCapped) {
		return false
	}
	var pe *pgconn.PgError
	if errors.As(err, &pe) {
		// 08: connection exception; 57P: shutdown, crash, cannot connect
		// now; 40: transaction rollback; 53: insufficient resources.
		for _, class := range []string{"08", "57P", "40", "53"} {
			if strings.HasPrefix(pe.Code, class) {
				return true
			}
		}
		return false
	}
	return true
}

// ErrConflict is returned when an entry's key is already stored with
// different content: the writer is not deterministic, or the row was
// changed. It is never retried.
var ErrConflict = errors.New("audit entry conflicts with the stored one")

func hexHash(b []byte) string { return hex.EncodeToString(b) }

// Append stores entries, each exactly once: an entry whose key is already
// stored with the same content counts as a duplicate (a retried write);
// with different content it is ErrConflict, except for a validator refusal,
// where a retried update is validated again later (another time, another
// history length) and the first refusal stays the record. The whole batch commits or
// nothing does.
func (s *Store) Append(ctx context.Context, entries []audit.Entry) (audit.AppendResult, error) {
	res := audit.AppendResult{Heads: map[string]string{}}
	if len(entries) == 0 {
		return res, nil
	}
	byWorkflow := map[string][]audit.Entry{}
	for _, e := range entries {
		if err := e.Validate(); err != nil {
			return res, err
		}
		byWorkflow[e.WorkflowID] = append(byWorkflow[e.WorkflowID], e.Normalize())
	}
	tx, err := s.pool.Begin(ctx)
	if err != nil {
		return res, s.connErr(err)
	}
	defer func() { _ = tx.Rollback(ctx) }()
	// Lock heads in a fixed order so that two batches never deadlock.
	ids := make([]string, 0, len(byWorkflow))
	for id := range byWorkflow {
		ids = append(ids, id)
	}
	slices.Sort(ids)
	for _, id := range ids {
		stored, dup, head, err := appendChain(ctx, tx, id, byWorkflow[id], s.attestor)
		if err != nil {
			return res, err
		}
		res.Stored += stored
		res.Duplicates += dup
		res.Heads[id] = head
	}
	if err := tx.Commit(ctx); err != nil {
		return audit.AppendResult{}, fmt.Errorf("audit store: commit: %w", err)
	}
	return res, nil
}

const entryColumns = `workflow_id, run_id, seq, update_id, event_id, process, business_key, at,
	actor, action, task_id, details, reason, via, signature, policy_version, source, data`

// appendChain appends one instance's entries under its head's row lock.
func appendChain(ctx context.Context, tx pgx.Tx, id string, entries []audit.Entry, attestor Attestor) (stored, dup int, head string, err error) {
	if _, err := tx.Exec(ctx, `INSERT INTO audit_heads (workflow_id, pos, hash) VALUES ($1, 0, $2) ON CONFLICT DO NOTHING`, id, audit.GenesisHash); err != nil {
		return 0, 0, "", fmt.Errorf("audit store: head of %s: %w", id, err)
	}
	var pos int64
	var prev []byte
	if err := tx.QueryRow(ctx, `SELECT pos, hash FROM audit_heads WHERE workflow_id = $1 FOR UPDATE`, id).Scan(&pos, &prev); err != nil {
		return 0, 0, "", fmt.Errorf("audit store: lock head of %s: %w", id, err)
	}
	// What is already stored under these entries' keys.
	var runs, keys []string
	for _, e := range entries {
		runs = append(runs, e.RunID)
		keys = append(keys, e.DedupKey())
	}
	rows, err := tx.Query(ctx, `SELECT `+entryColumns+` FROM audit_entries
		WHERE workflow_id = $1 AND run_id = ANY($2) AND dedup_key = ANY($3)`, id, runs, keys)
	if err != nil {
		return 0, 0, "", fmt.Errorf("audit store: read %s: %w", id, err)
	}
	existing := map[[2]string]audit.Entry{}
	for rows.Next() {
		var e audit.Entry
		if err := scanEntry(rows, &e); err != nil {
			rows.Close()
			return 0, 0, "", err
		}
		existing[[2]string{e.RunID, e.DedupKey()}] = e
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return 0, 0, "", fmt.Errorf("audit store: read %s: %w", id, err)
	}
	batch := &pgx.Batch{}
	var inserted []audit.Entry
	for _, e := range entries {
		k := [2]string{e.RunID, e.DedupKey()}
		if old, ok := existing[k]; ok {
			// A refused update that the caller sends again is validated
			// again, at a later time: the first refusal is the record.
			if e.Source != audit.SourceValidator && !audit.SameFact(old, e) {
				return 0, 0, "", fmt.Errorf("%w: %s run %s %s", ErrConflict, id, e.RunID, e.DedupKey())
			}
			dup++
			continue
		}
		existing[k] = e
		pos++
		h := audit.ChainHash(prev, pos, e)
		att, err := attest(attestor, id, pos, h)
		if err != nil {
			return 0, 0, "", err
		}
		batch.Queue(`INSERT INTO audit_entries (pos, prev_hash, hash, attestation, `+entryColumns+`)
			VALUES ($1, $2, $3, $22, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16, $17, $18, $19, $20, $21)`,
			pos, prev, h, e.WorkflowID, e.RunID, e.Seq, e.UpdateID, e.EventID, e.Process, e.BusinessKey, e.Time,
			e.Actor, e.Action, e.TaskID, e.Details, e.Reason, e.Via, e.Signature, e.PolicyVersion, e.Source, string(e.Data), att)
		prev = h
		stored++
		inserted = append(inserted, e)
	}
	if stored > 0 {
		batch.Queue(`UPDATE audit_heads SET pos = $2, hash = $3, updated_at = now() WHERE workflow_id = $1`, id, pos, prev)
		if err := tx.SendBatch(ctx, batch).Close(); err != nil {
			return 0, 0, "", fmt.Errorf("audit store: append to %s: %w", id, err)
		}
		// The task read model follows in the same transaction.
		if err := projectInbox(ctx, tx, id, inserted); err != nil {
			return 0, 0, "", err
		}
	}
	return stored, dup, hexHash(prev), nil
}

// scanEntry scans a row that selects entryColumns after the columns extra
// receives (a record's position and hashes) into extra and e.
func scanEntry(rows pgx.Rows, e *audit.Entry, extra ...any) error {
	var data string
	err := rows.Scan(append(extra, &e.WorkflowID, &e.RunID, &e.Seq, &e.UpdateID, &e.EventID, &e.Process, &e.BusinessKey, &e.Time,
		&e.Actor, &e.Action, &e.TaskID, &e.Details, &e.Reason, &e.Via, &e.Signature, &e.PolicyVersion, &e.Source, &data)...)
	if err != nil {
		return fmt.Errorf("audit store: read entry: %w", err)
	}
	e.Time, e.Data = e.Time.UTC(), rawData(data)
	return nil
}

// rawData is a data column as an entry's Data (nil when empty).
func rawData(s string) json.RawMessage {
	if s == "" {
		return nil
	}
	return json.RawMessage(s)
}

const recordColumns = `pos, prev_hash, hash, recorded_at, attestation, ` + entryColumns

func scanRecord(rows pgx.Rows, extra ...any) (audit.Stored, error) {
	var r audit.Stored
	var prev, h []byte
	if err := scanEntry(rows, &r.Entry, append(extra, &r.Pos, &prev, &h, &r.RecordedAt, &r.Attestation)...); err != nil {
		return r, err
	}
	r.RecordedAt = r.RecordedAt.UTC()
	r.PrevHash, r.Hash = hexHash(prev), hexHash(h)
	return r, nil
}

// Trail is an instance's chain in order, across its runs (nil when the
// store has nothing for it).
func (s *Store) Trail(ctx context.Context, workflowID string) ([]audit.Stored, error) {
	rows, err := s.pool.Query(ctx, `SELECT `+recordColumns+` FROM audit_entries WHERE workflow_id = $1 ORDER BY pos`, workflowID)
	if err != nil {
		return nil, s.queryErr(err)
	}
	return collect(rows)
}

func collect(rows pgx.Rows) ([]audit.Stored, error) {
	defer rows.Close()
	var out []audit.Stored
	for rows.Next() {
		r, err := scanRecord(rows)
		if err != nil {
			return nil, err
		}
		out = append(out, r)
	}
	return out, rows.Err()
}

// Filter selects entries for export.
type Filter struct {
	Process string    // empty: every process
	Since   time.Time // entry time >= Since (zero: no bound)
	Until   time.Time // entry time < Until (zero: no bound)
}

// Export calls fn for each entry matching f, ordered by instance and
// position, streaming (an export may be large).
func (s *Store) Export(ctx context.Context, f Filter, fn func(audit.Stored) error) error {
	q := `SELECT ` + recordColumns + ` FROM audit_entries WHERE ($1 = '' OR process = $1)
		AND ($2::timestamptz IS NULL OR at >= $2) AND ($3::timestamptz IS NULL OR at < $3)
		ORDER BY workflow_id, pos`
	rows, err := s.pool.Query(ctx, q, f.Process, nullTime(f.Since), nullTime(f.Until))
	if err != nil {
		return s.queryErr(err)
	}
	defer rows.Close()
	for rows.Next() {
		r, err := scanRecord(rows)
		if err != nil {
			return err
		}
		if err := fn(r); err != nil {
			return err
		}
	}
	return rows.Err()
}

func nullTime(t time.Time) *time.Time {
	if t.IsZero() {
		return nil
	}
	return &t
}

// Head is an instance's chain head: its length and last hash (hex); 0 and
// "" when the store has nothing for it.
func (s *Store) Head(ctx context.Context, workflowID string) (int64, string, error) {
	var pos int64
	var h []byte
	err := s.pool.QueryRow(ctx, `SELECT pos, hash FROM audit_heads WHERE workflow_id = $1`, workflowID).Scan(&pos, &h)
	if errors.Is(err, pgx.ErrNoRows) {
		return 0, "", nil
	}
	if err != nil {
		return 0, "", s.queryErr(err)
	}
	return pos, hexHash(h), nil
}

func (s *Store) queryErr(err error) error {
	var pe *pgconn.PgError
	if errors.As(err, &pe) && pe.Code == "42P01" { // undefined_table
		return fmt.Errorf("audit store at %s has no schema yet: start a worker (it applies the migrations)", s.host)
	}
	if Transient(err) {
		return s.connErr(err)
	}
	return fmt.Errorf("audit store: %w", err)
}

// prefixed qualifies each of a list of columns with a table alias.
func prefixed(alias, columns string) string {
	parts := strings.Split(columns, ",")
	for i, p := range parts {
		parts[i] = alias + strings.TrimSpace(p)
	}
	return strings.Join(parts, ", ")
}

// Ended is an instance that ended: its last terminal entry (the action,
// its time and Data) and when its first start entry was made.
type Ended struct {
	WorkflowID  string          `json:"workflowId"`
	RunID       string          `json:"runId"`
	Process     string          `json:"process"`
	BusinessKey string          `json:"businessKey"`
	Started     time.Time       `json:"started,omitzero"`
	Closed      time.Time       `json:"closed"`
	EndAction   string          `json:"endAction"`
	Data        json.RawMessage `json:"data,omitempty"`
	// Stored is the terminal entry as stored, for checking its
	// attestation.
	Stored audit.Stored `json:"-"`
}

// EndedFilter selects instances by their last terminal entry: one of
// EndActions, at a time in [Since, Until] (a zero bound is open), of
// Process (every process when empty). StartAction names the entry whose
// first time is Started. Action names are the caller's (the store does not
// know them).
type EndedFilter struct {
	Process      string
	Since, Until time.Time
	StartAction  string
	EndActions   []string
}

// Ended lists, in one query, the instances whose last terminal entry falls
// in the window, oldest first: an instance reset after it ended counts
// once, by the end of its latest run.
func (s *Store) Ended(ctx context.Context, f EndedFilter) ([]Ended, error) {
	rows, err := s.pool.Query(ctx, `
		SELECT (SELECT min(st.at) FROM audit_entries st WHERE st.workflow_id = e.workflow_id AND st.source = $6 AND st.action = $5),
			`+prefixed("e.", recordColumns)+`
		FROM audit_entries e
		WHERE e.source = $6 AND e.action = ANY($4) AND ($1 = '' OR e.process = $1)
			AND ($2::timestamptz IS NULL OR e.at >= $2) AND ($3::timestamptz IS NULL OR e.at <= $3)
			AND NOT EXISTS (SELECT 1 FROM audit_entries l WHERE l.workflow_id = e.workflow_id AND l.pos > e.pos
				AND l.source = $6 AND l.action = ANY($4))
		ORDER BY e.at, e.workflow_id`,
		f.Process, nullTime(f.Since), nullTime(f.Until), f.EndActions, f.StartAction, audit.SourceWorkflow)
	if err != nil {
		return nil, s.queryErr(err)
	}
	defer rows.Close()
	var out []Ended
	for rows.Next() {
		var started *time.Time
		r, err := scanRecord(rows, &started)
		if err != nil {
			return nil, fmt.Errorf("audit store: read ended instance: %w", err)
		}
		e := Ended{WorkflowID: r.WorkflowID, RunID: r.RunID, Process: r.Process, BusinessKey: r.BusinessKey,
			Closed: r.Time, EndAction: r.Action, Data: r.Data, Stored: r}
		if started != nil {
			e.Started = started.UTC()
		}
		out = append(out, e)
	}
	return out, rows.Err()
}

// TrailFilter selects instances whose whole trails Trails reads: by their
// terminal entry (one of EndActions) in [Since, Until], or, with ByStart,
// by their StartAction entry in it (ended or still running). A zero bound
// is open; Process empty is every process. Action names are the caller's.
type TrailFilter struct {
	Process      string
	Since, Until time.Time
	ByStart      bool
	StartAction  string
	EndActions   []string
	// Part of Parts (when Parts > 1) reads only that share of the
	// instances (by a hash of the workflow ID): the parts read in
	// parallel cover the window once.
	Part, Parts int
	// DataOf, when set, names the actions whose entries' Data is read;
	// the others come without it (a reader that needs little reads
	// less).
	DataOf []string
	// IDs, when set, selects these instances instead (Records only).
	IDs []string
}

// Trails calls fn with each selected instance's entries, in chain order,
// instance by instance (ordered by workflow ID), streaming: a window of a
// hundred thousand instances is read in one query. Each call gets a slice
// of its own, which fn may keep.
func (s *Store) Trails(ctx context.Context, f TrailFilter, fn func([]audit.Entry) error) error {
	columns := entryColumns
	dataOf := ` AND ($9::text[] IS NULL OR true)`
	if f.DataOf != nil {
		columns = strings.TrimSuffix(entryColumns, "data") + `CASE WHEN action = ANY($9::text[]) THEN data ELSE '' END`
		dataOf = ""
	}
	q := `SELECT ` + columns + ` FROM audit_entries WHERE workflow_id IN (` + windowInstances(f) + dataOf + `) ORDER BY workflow_id, pos`
	rows, err := s.pool.Query(ctx, q, f.Process, nullTime(f.Since), nullTime(f.Until), f.StartAction, f.EndActions, audit.SourceWorkflow, f.Parts, f.Part, f.DataOf)
	if err != nil {
		return s.queryErr(err)
	}
	defer rows.Close()
	// One scan destination for every row: no per-row allocation of it.
	var e audit.Entry
	var data string
	dest := []any{&e.WorkflowID, &e.RunID, &e.Seq, &e.UpdateID, &e.EventID, &e.Process, &e.BusinessKey, &e.Time,
		&e.Actor, &e.Action, &e.TaskID, &e.Details, &e.Reason, &e.Via, &e.Signature, &e.PolicyVersion, &e.Source, &data}
	var trail []audit.Entry
	for rows.Next() {
		if err := rows.Scan(dest...); err != nil {
			return fmt.Errorf("audit store: read entry: %w", err)
		}
		e.Time, e.Data = e.Time.UTC(), rawData(data)
		if len(trail) > 0 {
			// Strings repeated within an instance are shared.
			first := &trail[0]
			e.WorkflowID, e.Process, e.BusinessKey = sameString(first.WorkflowID, e.WorkflowID), sameString(first.Process, e.Process), sameString(first.BusinessKey, e.BusinessKey)
			e.RunID, e.PolicyVersion, e.Source = sameString(first.RunID, e.RunID), sameString(first.PolicyVersion, e.PolicyVersion), sameString(first.Source, e.Source)
		}
		if len(trail) > 0 && trail[0].WorkflowID != e.WorkflowID {
			if err := fn(trail); err != nil {
				return err
			}
			trail = make([]audit.Entry, 0, cap(trail))
		}
		trail = append(trail, e)
	}
	if err := rows.Err(); err != nil {
		return s.queryErr(err)
	}
	if len(trail) > 0 {
		return fn(trail)
	}
	return nil
}

// sameString is a when it equals b (so b's copy can be collected).
func sameString(a, b string) string {
	if a == b {
		return a
	}
	return b
}

// Records calls fn with each selected instance's records (entries with
// their positions, hashes and attestations, data in full, so that each
// can be verified), in chain order, instance by instance, streaming. It
// selects as Trails does (DataOf aside), or, with IDs, those instances
// whatever the window.
func (s *Store) Records(ctx context.Context, f TrailFilter, fn func([]audit.Stored) error) error {
	var rows pgx.Rows
	var err error
	if f.IDs != nil {
		rows, err = s.pool.Query(ctx, `SELECT `+recordColumns+` FROM audit_entries WHERE workflow_id = ANY($1) ORDER BY workflow_id, pos`, f.IDs)
	} else {
		rows, err = s.pool.Query(ctx, `SELECT `+recordColumns+` FROM audit_entries WHERE workflow_id IN (`+windowInstances(f)+`) ORDER BY workflow_id, pos`,
			f.Process, nullTime(f.Since), nullTime(f.Until), f.StartAction, f.EndActions, audit.SourceWorkflow, f.Parts, f.Part)
	}
	if err != nil {
		return s.queryErr(err)
	}
	return s.streamRecords(rows, fn)
}

// Endings calls fn with each terminal entry (one of f.EndActions, written
// by its workflow) in [f.Since, f.Until] (of f.Process, and of f.Part of
// f.Parts), streaming, one row per instance: the terminal entry's data
// carries the run's course (record.Course), so its other entries are not
// read. more says the instance has entries after it (a later run, a late
// refusal) or entries its workflow did not write (validator refusals): a
// reader needs its whole trail (Records) then; such instances are few.
// Case views (case-viewed entries, written beside the workflow like
// refusals) are not part of the course and do not count: every manual
// instance whose case file was opened has them.
func (s *Store) Endings(ctx context.Context, f TrailFilter, fn func(r audit.Stored, more bool) error) error {
	// 'workflow' is written out so that the planner can use the partial
	// index of the entries the workflow did not write.
	rows, err := s.pool.Query(ctx, `SELECT
			(SELECT max(l.pos) FROM audit_entries l WHERE l.workflow_id = e.workflow_id) > e.pos
			OR EXISTS (SELECT 1 FROM audit_entries v WHERE v.workflow_id = e.workflow_id AND v.source <> 'workflow'
				AND v.action <> '`+audit.ActionCaseViewed+`'),
			`+prefixed("e.", recordColumns)+`
		FROM audit_entries e
		WHERE e.source = 'workflow' AND e.action = ANY($4) AND ($1 = '' OR e.process = $1)
			AND ($2::timestamptz IS NULL OR e.at >= $2) AND ($3::timestamptz IS NULL OR e.at <= $3)
			AND ($5::int <= 1 OR abs(hashtext(e.workflow_id)) % $5::int = $6::int)`,
		f.Process, nullTime(f.Since), nullTime(f.Until), f.EndActions, f.Parts, f.Part)
	if err != nil {
		return s.queryErr(err)
	}
	defer rows.Close()
	for rows.Next() {
		var more bool
		r, err := scanRecord(rows, &more)
		if err != nil {
			return err
		}
		if err := fn(r, more); err != nil {
			return err
		}
	}
	if err := rows.Err(); err != nil {
		return s.queryErr(err)
	}
	return nil
}

// windowInstances selects the workflow IDs of f's window: $1 process, $2
// and $3 the window, $4 the start action, $5 the end actions, $6 the
// workflow source, $7 and $8 the parts.
func windowInstances(f TrailFilter) string {
	selectBy := `action = ANY($5::text[]) AND ($4::text IS NULL OR true)`
	if f.ByStart {
		selectBy = `action = $4::text AND ($5::text[] IS NULL OR true)`
	}
	return `SELECT workflow_id FROM audit_entries
		WHERE source = $6 AND ` + selectBy + ` AND ($1 = '' OR process = $1)
			AND ($2::timestamptz IS NULL OR at >= $2) AND ($3::timestamptz IS NULL OR at <= $3)
			AND ($7::int <= 1 OR abs(hashtext(workflow_id)) % $7::int = $8::int)`
}

// streamRecords groups rows of recordColumns, ordered by workflow ID and
// position, into instances for fn.
func (s *Store) streamRecords(rows pgx.Rows, fn func([]audit.Stored) error) error {
	defer rows.Close()
	var recs []audit.Stored
	for rows.Next() {
		r, err := scanRecord(rows)
		if err != nil {
			return err
		}
		if len(recs) > 0 && recs[0].WorkflowID != r.WorkflowID {
			if err := fn(recs); err != nil {
				return err
			}
			recs = nil
		}
		recs = append(recs, r)
	}
	if err := rows.Err(); err != nil {
		return s.queryErr(err)
	}
	if len(recs) > 0 {
		return fn(recs)
	}
	return nil
}
