package auditstore

import (
	"context"
	"fmt"
)

// migration is one versioned step of the schema. Versions are applied in
// order, each once, in one transaction under an advisory lock, so two
// workers starting together do not race. A released migration is never
// edited: a change is a new version.
type migration struct {
	version int
	name    string
	sql     string
}

var migrations = []migration{
	{1, "audit entries, chain heads, append-only triggers", `
CREATE TABLE audit_entries (
	workflow_id    text        NOT NULL,
	pos            bigint      NOT NULL CHECK (pos > 0),
	run_id         text        NOT NULL,
	seq            bigint      NOT NULL DEFAULT 0 CHECK (seq >= 0),
	update_id      text        NOT NULL DEFAULT '',
	event_id       bigint      NOT NULL DEFAULT 0,
	process        text        NOT NULL,
	business_key   text        NOT NULL,
	at             timestamptz NOT NULL,
	actor          text        NOT NULL,
	action         text        NOT NULL,
	task_id        text        NOT NULL DEFAULT '',
	details        text        NOT NULL DEFAULT '',
	reason         text        NOT NULL DEFAULT '',
	via            text        NOT NULL DEFAULT '',
	signature      text        NOT NULL DEFAULT '',
	policy_version text        NOT NULL DEFAULT '',
	source         text        NOT NULL,
	prev_hash      bytea       NOT NULL,
	hash           bytea       NOT NULL,
	recorded_at    timestamptz NOT NULL DEFAULT now(),
	dedup_key      text        GENERATED ALWAYS AS (CASE WHEN seq > 0 THEN 's:' || seq ELSE 'u:' || update_id END) STORED,
	PRIMARY KEY (workflow_id, pos),
	UNIQUE (workflow_id, run_id, dedup_key),
	CHECK (seq > 0 OR update_id <> '')
);
CREATE INDEX audit_entries_process_at ON audit_entries (process, at);
CREATE INDEX audit_entries_at ON audit_entries (at);

-- The head of each instance's chain: its length and last hash. It detects
-- a truncated tail, which the chain alone cannot.
CREATE TABLE audit_heads (
	workflow_id text        PRIMARY KEY,
	pos         bigint      NOT NULL,
	hash        bytea       NOT NULL,
	updated_at  timestamptz NOT NULL DEFAULT now()
);

CREATE FUNCTION audit_refuse_change() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
	RAISE EXCEPTION 'audit store is append-only: % on % refused', TG_OP, TG_TABLE_NAME
		USING ERRCODE = 'insufficient_privilege';
END $$;
CREATE TRIGGER audit_entries_append_only BEFORE UPDATE OR DELETE ON audit_entries
	FOR EACH ROW EXECUTE FUNCTION audit_refuse_change();
CREATE TRIGGER audit_entries_no_truncate BEFORE TRUNCATE ON audit_entries
	FOR EACH STATEMENT EXECUTE FUNCTION audit_refuse_change();

CREATE FUNCTION audit_head_forward() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
	IF TG_OP = 'UPDATE' AND NEW.workflow_id = OLD.workflow_id AND NEW.pos > OLD.pos THEN
		RETURN NEW;
	END IF;
	RAISE EXCEPTION 'audit chain heads only move forward: % on % refused', TG_OP, TG_TABLE_NAME
		USING ERRCODE = 'insufficient_privilege';
END $$;
CREATE TRIGGER audit_heads_forward BEFORE UPDATE OR DELETE ON audit_heads
	FOR EACH ROW EXECUTE FUNCTION audit_head_forward();
CREATE TRIGGER audit_heads_no_truncate BEFORE TRUNCATE ON audit_heads
	FOR EACH STATEMENT EXECUTE FUNCTION audit_refuse_change();
`},
	{2, "structured data of an entry (a terminal entry's what-if facts)", `
-- Compact JSON as the writer sent it, kept as text: the hash covers these
-- exact bytes (jsonb would reorder them). Empty on entries without data.
ALTER TABLE audit_entries ADD COLUMN data text NOT NULL DEFAULT '';
-- whatif lists the instances whose terminal entry is in a window.
CREATE INDEX audit_entries_action_at ON audit_entries (action, at);
`},
	{3, "entry attestation, commit order for the anchor, pinned policy texts", `
-- The writer's signature over each entry's hash (auditlog.Writer): a row
-- inserted by anyone without the worker's key fails it. Not hashed: it
-- signs the hash. Rows written before attestation keep ''.
ALTER TABLE audit_entries ADD COLUMN attestation text NOT NULL DEFAULT '';
-- The inserting transaction's id, set by a trigger whatever the writer
-- sends: the anchor reads rows in this order, only below the oldest
-- transaction still running (pg_snapshot_xmin), so a transaction that
-- commits after a later one is never skipped.
ALTER TABLE audit_entries ADD COLUMN txid xid8 NOT NULL DEFAULT '0';
CREATE FUNCTION audit_stamp_txid() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
	NEW.txid := pg_current_xact_id();
	RETURN NEW;
END $$;
CREATE TRIGGER audit_entries_txid BEFORE INSERT ON audit_entries
	FOR EACH ROW EXECUTE FUNCTION audit_stamp_txid();
CREATE INDEX audit_entries_txid ON audit_entries (txid, workflow_id, pos);

-- The text of every policy an instance pinned, by version (a content
-- hash, so the text proves itself): an evidence pack carries it.
CREATE TABLE audit_policies (
	version     text        PRIMARY KEY,
	body        bytea       NOT NULL,
	recorded_at timestamptz NOT NULL DEFAULT now()
);
CREATE TRIGGER audit_policies_append_only BEFORE UPDATE OR DELETE ON audit_policies
	FOR EACH ROW EXECUTE FUNCTION audit_refuse_change();
CREATE TRIGGER audit_policies_no_truncate BEFORE TRUNCATE ON audit_policies
	FOR EACH STATEMENT EXECUTE FUNCTION audit_refuse_change();

-- Nobody but the owner and the roles Grant names reaches the trail.
REVOKE ALL ON audit_entries, audit_heads, audit_policies, audit_schema_migrations FROM PUBLIC;
`},
	{4, "the entries the workflow did not write, by instance (reading ended instances from their terminal entry)", `
-- Discovery and conformance read an ended instance from its terminal
-- entry (its course) and the few entries its workflow did not write
-- (validator refusals): this index finds those without reading the rest.
CREATE INDEX audit_entries_not_workflow ON audit_entries (workflow_id, pos) WHERE source <> 'workflow';
`},
	{5, "the task read model: open tasks and substitutions, kept from the trail", `
-- Open tasks as people list them, kept by Append in the transaction that
-- stores the entries they come from (inbox.go), and rebuilt from the trail
-- by RebuildInbox. Not evidence: a view of the entries, which stay the
-- record. One row per open task of an instance's current run.
CREATE TABLE inbox_tasks (
	workflow_id     text             NOT NULL,
	task_id         text             NOT NULL,
	run_id          text             NOT NULL,
	occurrence      integer          NOT NULL,
	process         text             NOT NULL,
	business_key    text             NOT NULL,
	process_title   text             NOT NULL DEFAULT '',
	title           text             NOT NULL DEFAULT '',
	summary         text             NOT NULL DEFAULT '',
	stage           text             NOT NULL DEFAULT '',
	amount          double precision,
	roles           text[]           NOT NULL DEFAULT '{}',
	users           text[]           NOT NULL DEFAULT '{}',
	excluded        text[]           NOT NULL DEFAULT '{}',
	voted           text[]           NOT NULL DEFAULT '{}',
	delegates       text[]           NOT NULL DEFAULT '{}',
	delegate_roles  text[]           NOT NULL DEFAULT '{}',
	quorum          integer          NOT NULL,
	approvals       integer          NOT NULL DEFAULT 0,
	opened_at       timestamptz      NOT NULL,
	deadline        timestamptz      NOT NULL,
	escalated       boolean          NOT NULL DEFAULT false,
	priority        smallint         NOT NULL DEFAULT 2,
	follow_up       timestamptz,
	claimed_by      text,
	claimed_at      timestamptz,
	claim_exclusive boolean          NOT NULL DEFAULT false,
	comments        integer          NOT NULL DEFAULT 0,
	last_comment    text             NOT NULL DEFAULT '',
	last_comment_by text             NOT NULL DEFAULT '',
	last_comment_at timestamptz,
	form            text[]           NOT NULL DEFAULT '{}',
	-- The id after the process prefix ("A-17" of "loan-A-17"), for search.
	key_id          text             GENERATED ALWAYS AS (lower(substr(business_key, strpos(business_key, '-') + 1))) STORED,
	PRIMARY KEY (workflow_id, task_id)
);
-- One index per sort, its keyset (the sort's value, then workflow and
-- task id) in order, so the first page of any filter reads an index.
CREATE INDEX inbox_tasks_by_deadline ON inbox_tasks (deadline, workflow_id, task_id);
CREATE INDEX inbox_tasks_by_priority ON inbox_tasks ((-priority), deadline, workflow_id, task_id);
CREATE INDEX inbox_tasks_by_age ON inbox_tasks (opened_at, workflow_id, task_id);
CREATE INDEX inbox_tasks_by_amount ON inbox_tasks ((-coalesce(amount, -1)), workflow_id, task_id);
CREATE INDEX inbox_tasks_roles ON inbox_tasks USING gin (roles);
CREATE INDEX inbox_tasks_users ON inbox_tasks USING gin (users);
CREATE INDEX inbox_tasks_delegates ON inbox_tasks USING gin (delegates);
CREATE INDEX inbox_tasks_key ON inbox_tasks (lower(business_key) text_pattern_ops);
CREATE INDEX inbox_tasks_key_id ON inbox_tasks (key_id text_pattern_ops);
CREATE INDEX inbox_tasks_claimed ON inbox_tasks (claimed_by) WHERE claimed_by IS NOT NULL;

-- Substitutions not yet ended, kept from the substitutes trail the same way.
CREATE TABLE inbox_substitutes (
	id         text        PRIMARY KEY,
	principal  text        NOT NULL,
	substitute text        NOT NULL,
	roles      text[]      NOT NULL DEFAULT '{}',
	from_at    timestamptz NOT NULL,
	until_at   timestamptz NOT NULL,
	set_by     text        NOT NULL,
	set_at     timestamptz NOT NULL
);
CREATE INDEX inbox_substitutes_substitute ON inbox_substitutes (substitute, until_at);
CREATE INDEX inbox_substitutes_principal ON inbox_substitutes (principal, until_at);
REVOKE ALL ON inbox_tasks, inbox_substitutes FROM PUBLIC;
`},
}

// InboxMigration is the migration that made the task read model: when
// worker --migrate applies it, it fills the read model from the trail.
const InboxMigration = 5

// SchemaVersion is the newest schema this binary knows.
func SchemaVersion() int { return migrations[len(migrations)-1].version }

// migrateLock is the advisory lock key that serialises migrations.
const migrateLock = 0x6261746f6e41 // "batonA"

// Migrate applies the missing migrations. A database whose schema is newer
// than this binary is refused: an old binary must not write to it.
func (s *Store) Migrate(ctx context.Context) (applied []int, err error) {
	tx, err := s.pool.Begin(ctx)
	if err != nil {
		return nil, s.connErr(err)
	}
	defer func() { _ = tx.Rollback(ctx) }()
	if _, err := tx.Exec(ctx, `SELECT pg_advisory_xact_lock($1)`, int64(migrateLock)); err != nil {
		return nil, fmt.Errorf("audit store: lock for migration: %w", err)
	}
	if _, err := tx.Exec(ctx, `CREATE TABLE IF NOT EXISTS audit_schema_migrations (
		version    integer     PRIMARY KEY,
		name       text        NOT NULL,
		applied_at timestamptz NOT NULL DEFAULT now())`); err != nil {
		return nil, fmt.Errorf("audit store: migrations table: %w", err)
	}
	var current int
	if err := tx.QueryRow(ctx, `SELECT coalesce(max(version), 0) FROM audit_schema_migrations`).Scan(&current); err != nil {
		return nil, fmt.Errorf("audit store: read schema version: %w", err)
	}
	if current > SchemaVersion() {
		return nil, fmt.Errorf("audit store schema is version %d, newer than this binary's %d: upgrade Baton", current, SchemaVersion())
	}
	for _, m := range migrations {
		if m.version <= current {
			continue
		}
		if _, err := tx.Exec(ctx, m.sql); err != nil {
			return nil, fmt.Errorf("audit store migration %d (%s): %w", m.version, m.name, err)
		}
		if _, err := tx.Exec(ctx, `INSERT INTO audit_schema_migrations (version, name) VALUES ($1, $2)`, m.version, m.name); err != nil {
			return nil, fmt.Errorf("audit store migration %d: %w", m.version, err)
		}
		applied = append(applied, m.version)
	}
	if err := tx.Commit(ctx); err != nil {
		return nil, fmt.Errorf("audit store: commit migrations: %w", err)
	}
	return applied, nil
}

// CheckSchema is for readers (the starter): it checks, without changing
// anything or needing more than SELECT, that the database's schema is the
// one this binary reads. Only the worker migrates: the people who read the
// trail need no right to alter it.
func (s *Store) CheckSchema(ctx context.Context) error {
	v, err := s.Version(ctx)
	switch want := SchemaVersion(); {
	case err != nil:
		return err
	case v == want:
		return nil
	case v == 0:
		return fmt.Errorf("audit store at %s holds no audit trail (no schema): run `worker --migrate` with audit.owner_dsn / BATON_AUDIT_OWNER_DSN (the owner role) to create it, or point audit.dsn at the worker's store", s.host)
	case v > want:
		return fmt.Errorf("audit store schema is version %d, newer than this binary's %d: upgrade Baton", v, want)
	default:
		return fmt.Errorf("audit store schema is version %d, this binary needs version %d: run `worker --migrate` with audit.owner_dsn / BATON_AUDIT_OWNER_DSN (the owner role) first", v, want)
	}
}

// Version reads the schema version of the database (0 before Migrate).
func (s *Store) Version(ctx context.Context) (int, error) {
	var v int
	err := s.pool.QueryRow(ctx, `SELECT coalesce(max(version), 0) FROM audit_schema_migrations`).Scan(&v)
	if err != nil {
		var exists bool
		if e := s.pool.QueryRow(ctx, `SELECT to_regclass('audit_schema_migrations') IS NOT NULL`).Scan(&exists); e == nil && !exists {
			return 0, nil
		}
		return 0, s.connErr(err)
	}
	return v, nil
}
