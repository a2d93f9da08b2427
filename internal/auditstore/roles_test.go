package auditstore_test

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/batonhq/baton/audit"

	"github.com/jackc/pgx/v5"

	"github.com/batonhq/baton/internal/auditstore"
	"github.com/batonhq/baton/internal/pgtest"
)

// The worker's role appends and nothing else: every way to change or
// remove what is stored, or the rules that keep it, is refused to it by
// PostgreSQL itself (not only by the triggers an owner could disable).
func TestWriterRoleCanOnlyAppend(t *testing.T) {
	ctx := context.Background()
	pg := pgtest.Start(t)
	dsns, err := pg.CreateAuditDB(ctx, "roles")
	if err != nil {
		t.Fatal(err)
	}
	owner, err := auditstore.Open(ctx, dsns.Owner)
	if err != nil {
		t.Fatal(err)
	}
	defer owner.Close()
	if _, err := owner.Migrate(ctx); err != nil {
		t.Fatal(err)
	}
	if err := owner.Grant(ctx, pgtest.AuditWriter, []string{pgtest.AuditReader}); err != nil {
		t.Fatal(err)
	}
	w, err := auditstore.Open(ctx, dsns.Writer)
	if err != nil {
		t.Fatal(err)
	}
	defer w.Close()
	if err := w.CheckSchema(ctx); err != nil {
		t.Fatalf("the writer cannot read the schema version: %v", err)
	}
	role, err := w.Role(ctx)
	if err != nil || !role.AppendOnly() {
		t.Fatalf("writer role: %+v %v", role, err)
	}
	if r, _ := owner.Role(ctx); r.AppendOnly() || !r.Owner {
		t.Errorf("owner role reads as %+v", r)
	}
	e := audit.Entry{WorkflowID: "loan-R", RunID: "r", Seq: 1, Process: "loan", Time: time.Now(), Actor: "system", Action: "started", Source: audit.SourceWorkflow}
	if _, err := w.Append(ctx, []audit.Entry{e}); err != nil {
		t.Fatalf("the writer cannot append: %v", err)
	}
	e.Seq = 2
	if _, err := w.Append(ctx, []audit.Entry{e}); err != nil {
		t.Fatalf("the writer cannot move the head forward: %v", err)
	}
	if err := w.PutPolicy(ctx, "sha256:0123456789ab", []byte("policy")); err != nil {
		t.Fatalf("the writer cannot store a policy text: %v", err)
	}
	conn, err := pgx.Connect(ctx, dsns.Writer)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close(ctx)
	for _, q := range []string{
		`UPDATE audit_entries SET details = 'forged' WHERE pos = 1`,
		`DELETE FROM audit_entries WHERE pos = 2`,
		`TRUNCATE audit_entries`,
		`ALTER TABLE audit_entries DISABLE TRIGGER audit_entries_append_only`,
		`ALTER TABLE audit_entries DISABLE TRIGGER ALL`,
		`ALTER TABLE audit_entries DROP COLUMN attestation`,
		`DROP TRIGGER audit_entries_txid ON audit_entries`,
		`DELETE FROM audit_heads`,
		`UPDATE audit_heads SET workflow_id = 'other'`,
		`TRUNCATE audit_heads`,
		`UPDATE audit_policies SET body = 'other'`,
		`DELETE FROM audit_policies`,
		`DELETE FROM audit_schema_migrations`,
		`CREATE TABLE audit_shadow (x int)`,
		`CREATE OR REPLACE FUNCTION audit_refuse_change() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN RETURN NEW; END $$`,
		`SET session_replication_role = replica`,
	} {
		if _, err := conn.Exec(ctx, q); err == nil {
			t.Errorf("the writer could: %s", q)
		} else if !strings.Contains(err.Error(), "denied") && !strings.Contains(err.Error(), "must be owner") && !strings.Contains(err.Error(), "append-only") && !strings.Contains(err.Error(), "only move forward") {
			t.Logf("%s: %v", q, err)
		}
	}
	// A row the writer inserts by hand gets the commit order its
	// transaction has, whatever it sends.
	if _, err := conn.Exec(ctx, `INSERT INTO audit_entries (workflow_id, pos, run_id, seq, process, business_key, at, actor, action, source, prev_hash, hash, txid)
		VALUES ('loan-R', 3, 'r', 3, 'loan', 'R', now(), 'mallory', 'completed', 'workflow', '\x00', '\x00', '1')`); err != nil {
		t.Fatal(err)
	}
	var txid string
	if err := conn.QueryRow(ctx, `SELECT txid::text FROM audit_entries WHERE pos = 3`).Scan(&txid); err != nil || txid == "1" {
		t.Errorf("a hand-set commit order stood: %s %v", txid, err)
	}
	r, err := auditstore.Open(ctx, dsns.Reader)
	if err != nil {
		t.Fatal(err)
	}
	defer r.Close()
	if recs, err := r.Trail(ctx, "loan-R"); err != nil || len(recs) != 3 {
		t.Errorf("the reader reads %d entries: %v", len(recs), err)
	}
	if _, err := r.Append(ctx, []audit.Entry{{WorkflowID: "loan-S", RunID: "r", Seq: 1, Process: "loan", Time: time.Now(), Actor: "system", Action: "started", Source: audit.SourceWorkflow}}); err == nil {
		t.Error("the reader could append")
	}
}
