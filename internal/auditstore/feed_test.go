package auditstore_test

import (
	"context"
	"testing"
	"time"

	"github.com/batonhq/baton/audit"

	"github.com/jackc/pgx/v5"

	"github.com/batonhq/baton/internal/auditstore"
	"github.com/batonhq/baton/internal/auditstore/auditstoretest"
)

// The anchor's feed never passes over a transaction that commits after a
// later one: rows appear in it only once every older transaction ended.
func TestCommittedFeedWaitsForOlderTransactions(t *testing.T) {
	ctx := context.Background()
	st, _, dsn := auditstoretest.StartDSN(t)
	conn, err := pgx.Connect(ctx, dsn)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close(ctx)
	// Transaction A takes its id first and stays open.
	txA, err := conn.Begin(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := txA.Exec(ctx, `INSERT INTO audit_entries (workflow_id, pos, run_id, seq, process, business_key, at, actor, action, source, prev_hash, hash)
		VALUES ('loan-A', 1, 'r', 1, 'loan', 'A', now(), 'system', 'started', 'workflow', '\x00', '\x01')`); err != nil {
		t.Fatal(err)
	}
	// B starts later and commits first (through the store).
	b := audit.Entry{WorkflowID: "loan-B", RunID: "r", Seq: 1, Process: "loan", Time: time.Now(), Actor: "system", Action: "started", Source: audit.SourceWorkflow}
	if _, err := st.Append(ctx, []audit.Entry{b}); err != nil {
		t.Fatal(err)
	}
	got, err := st.Committed(ctx, auditstore.Cursor{}, 100)
	if err != nil {
		t.Fatal(err)
	}
	if len(got) != 0 {
		t.Fatalf("the feed passed the open transaction: %+v", got)
	}
	if err := txA.Commit(ctx); err != nil {
		t.Fatal(err)
	}
	got, err = st.Committed(ctx, auditstore.Cursor{}, 100)
	if err != nil {
		t.Fatal(err)
	}
	if len(got) != 2 || got[0].WorkflowID != "loan-A" || got[1].WorkflowID != "loan-B" || got[0].Cursor.TxID >= got[1].Cursor.TxID {
		t.Fatalf("feed after A commits: %+v", got)
	}
	rest, err := st.Committed(ctx, got[1].Cursor, 100)
	if err != nil || len(rest) != 0 {
		t.Fatalf("after the cursor: %+v %v", rest, err)
	}
}
