package auditstore_test

import (
	"context"
	"errors"
	"fmt"
	"os"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/batonhq/baton/audit"

	"github.com/jackc/pgx/v5"

	"github.com/batonhq/baton/internal/auditstore"
	"github.com/batonhq/baton/internal/pgtest"
)

// server is one PostgreSQL for the package; each test gets its own database.
var server *pgtest.Server

func TestMain(m *testing.M) {
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	s, err := pgtest.New(ctx)
	cancel()
	if err != nil {
		fmt.Fprintln(os.Stderr, "auditstore tests:", err)
		os.Exit(1)
	}
	server = s
	code := m.Run()
	s.Close()
	os.Exit(code)
}

var dbs atomic.Int32

// open creates a fresh migrated store.
func open(t *testing.T) (*auditstore.Store, string) {
	t.Helper()
	dsn := server.DB(t, fmt.Sprintf("audit_%d", dbs.Add(1)))
	return openDSN(t, dsn), dsn
}

func openDSN(t *testing.T, dsn string) *auditstore.Store {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	s, err := auditstore.Open(ctx, dsn)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(s.Close)
	if _, err := s.Migrate(ctx); err != nil {
		t.Fatal(err)
	}
	return s
}

var t0 = time.Date(2026, 11, 20, 9, 0, 0, 123456789, time.UTC)

// trail is n workflow entries of one instance, as its record would write them.
func trail(id, run string, n int) []audit.Entry {
	actions := []string{"started", "step-completed", "task-opened", "decision-accepted", "decision-accepted", "task-closed", "completed"}
	var out []audit.Entry
	for i := 1; i <= n; i++ {
		e := audit.Entry{
			WorkflowID: id, RunID: run, Seq: int64(i), EventID: int64(5 * i), Process: "loan", BusinessKey: strings.TrimPrefix(id, "loan-"),
			Time: t0.Add(time.Duration(i) * time.Minute), Actor: "system", Action: actions[(i-1)%len(actions)],
			Details: fmt.Sprintf("entry %d", i), PolicyVersion: "p-1", Source: audit.SourceWorkflow,
		}
		if e.Action == "decision-accepted" {
			e.Actor, e.TaskID, e.Via, e.Signature = "ana", "underwriting", "update", "c2lnbmF0dXJl"
		}
		out = append(out, e)
	}
	return out
}

func mustAppend(t *testing.T, s *auditstore.Store, entries []audit.Entry) audit.AppendResult {
	t.Helper()
	res, err := s.Append(context.Background(), entries)
	if err != nil {
		t.Fatal(err)
	}
	return res
}

func TestAppendChainsEachInstanceAndVerifies(t *testing.T) {
	s, _ := open(t)
	ctx := context.Background()
	a, b := trail("loan-A-1", "r1", 7), trail("loan-A-2", "r9", 3)
	// Interleaved batches of two instances, as concurrent workflows write.
	mustAppend(t, s, append(a[:3:3], b[:2]...))
	res := mustAppend(t, s, append(a[3:], b[2:]...))
	if res.Stored != 5 || res.Duplicates != 0 {
		t.Fatalf("second batch: %+v, want 5 stored", res)
	}
	recs, err := s.Trail(ctx, "loan-A-1")
	if err != nil {
		t.Fatal(err)
	}
	if len(recs) != 7 {
		t.Fatalf("trail has %d entries, want 7", len(recs))
	}
	for i, r := range recs {
		if r.Pos != int64(i+1) || r.Seq != int64(i+1) || !r.Time.Equal(t0.Add(time.Duration(i+1)*time.Minute).Truncate(time.Microsecond)) {
			t.Errorf("entry %d: pos %d seq %d time %s", i, r.Pos, r.Seq, r.Time)
		}
		if i > 0 && r.PrevHash != recs[i-1].Hash {
			t.Errorf("entry %d does not link to entry %d", r.Pos, recs[i-1].Pos)
		}
	}
	if recs[3].Actor != "ana" || recs[3].Signature != "c2lnbmF0dXJl" || recs[3].Via != "update" || recs[3].EventID != 20 {
		t.Errorf("decision entry lost fields: %+v", recs[3].Entry)
	}
	if res.Heads["loan-A-1"] != recs[6].Hash {
		t.Errorf("append returned head %s, chain ends at %s", res.Heads["loan-A-1"], recs[6].Hash)
	}
	for _, id := range []string{"loan-A-1", "loan-A-2"} {
		rep, err := s.Verify(ctx, id)
		if err != nil {
			t.Fatal(err)
		}
		if !rep.OK() {
			t.Errorf("%s: untouched chain reported %+v", id, rep.Problems)
		}
	}
	if rep, _ := s.Verify(ctx, "loan-unknown"); rep.Entries != 0 || !rep.OK() {
		t.Errorf("unknown instance: %+v", rep)
	}
}

func TestRetriedAppendIsStoredOnce(t *testing.T) {
	s, _ := open(t)
	ctx := context.Background()
	es := trail("loan-A-3", "r1", 5)
	mustAppend(t, s, es[:3])
	// A retry of the same batch, and a batch that overlaps it, as an
	// activity retried after its first attempt committed would send.
	if res := mustAppend(t, s, es[:3]); res.Stored != 0 || res.Duplicates != 3 {
		t.Errorf("retry: %+v, want 3 duplicates", res)
	}
	if res := mustAppend(t, s, es[1:]); res.Stored != 2 || res.Duplicates != 2 {
		t.Errorf("overlap: %+v, want 2 stored 2 duplicates", res)
	}
	// The same entry twice in one batch is stored once.
	if res := mustAppend(t, s, []audit.Entry{es[4], es[4]}); res.Stored != 0 || res.Duplicates != 2 {
		t.Errorf("repeat within a batch: %+v", res)
	}
	// Refusals by the validator are keyed by update ID.
	ref := audit.Entry{WorkflowID: "loan-A-3", RunID: "r1", UpdateID: "u-77", Process: "loan", BusinessKey: "A-3",
		Time: t0, Actor: "eve", Action: "decision-refused", TaskID: "underwriting", Reason: "not-a-candidate",
		Via: "update", Details: "approve refused: eve holds none of underwriter", Source: audit.SourceValidator}
	mustAppend(t, s, []audit.Entry{ref})
	again := ref
	again.Time, again.EventID = ref.Time.Add(3*time.Second), 42 // validated again, later
	if res := mustAppend(t, s, []audit.Entry{again}); res.Duplicates != 1 || res.Stored != 0 {
		t.Errorf("refusal retried: %+v", res)
	}
	recs, _ := s.Trail(ctx, "loan-A-3")
	if len(recs) != 6 {
		t.Fatalf("trail has %d entries, want 6 (5 + 1 refusal)", len(recs))
	}
	// Same key, different content: never silently accepted.
	changed := es[2]
	changed.Details = "something else"
	_, err := s.Append(ctx, []audit.Entry{changed})
	if !errors.Is(err, auditstore.ErrConflict) {
		t.Errorf("changed entry under a stored key: %v, want ErrConflict", err)
	}
	// The conflicting batch wrote nothing, not even its other entries.
	extra := trail("loan-A-3", "r1", 6)[5]
	if _, err := s.Append(ctx, []audit.Entry{extra, changed}); !errors.Is(err, auditstore.ErrConflict) {
		t.Errorf("batch with a conflict: %v", err)
	}
	if recs, _ := s.Trail(ctx, "loan-A-3"); len(recs) != 6 {
		t.Errorf("a failed batch left %d entries, want 6", len(recs))
	}
	if rep, _ := s.Verify(ctx, "loan-A-3"); !rep.OK() {
		t.Errorf("chain: %+v", rep.Problems)
	}
}

func TestAppendValidatesEntries(t *testing.T) {
	s, _ := open(t)
	e := trail("loan-A-4", "r1", 1)[0]
	for name, mutate := range map[string]func(*audit.Entry){
		"actor":              func(e *audit.Entry) { e.Actor = "" },
		"runId":              func(e *audit.Entry) { e.RunID = "" },
		"seq or an updateId": func(e *audit.Entry) { e.Seq = 0 },
		"time":               func(e *audit.Entry) { e.Time = time.Time{} },
	} {
		bad := e
		mutate(&bad)
		if _, err := s.Append(context.Background(), []audit.Entry{bad}); err == nil || !strings.Contains(err.Error(), name) {
			t.Errorf("missing %s: %v", name, err)
		}
	}
}

func TestStoreRefusesUpdateDeleteTruncate(t *testing.T) {
	s, dsn := open(t)
	mustAppend(t, s, trail("loan-A-5", "r1", 3))
	conn := connect(t, dsn)
	for _, stmt := range []string{
		`UPDATE audit_entries SET details = 'forged' WHERE pos = 2`,
		`DELETE FROM audit_entries WHERE pos = 3`,
		`TRUNCATE audit_entries`,
		`UPDATE audit_heads SET pos = 1`,
		`DELETE FROM audit_heads`,
	} {
		_, err := conn.Exec(context.Background(), stmt)
		if err == nil || !strings.Contains(err.Error(), "refused") {
			t.Errorf("%s: %v, want refused", stmt, err)
		}
	}
	if rep, _ := s.Verify(context.Background(), "loan-A-5"); !rep.OK() || rep.Entries != 3 {
		t.Errorf("after refused changes: %+v", rep)
	}
}

func connect(t *testing.T, dsn string) *pgx.Conn {
	t.Helper()
	conn, err := pgx.Connect(context.Background(), dsn)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { conn.Close(context.Background()) })
	return conn
}

// tamper runs statements as a superuser with the append-only triggers
// bypassed: what a database administrator could do.
func tamper(t *testing.T, dsn string, stmts ...string) {
	t.Helper()
	conn := connect(t, dsn)
	ctx := context.Background()
	if _, err := conn.Exec(ctx, `SET session_replication_role = replica`); err != nil {
		t.Fatal(err)
	}
	for _, q := range stmts {
		if _, err := conn.Exec(ctx, q); err != nil {
			t.Fatalf("%s: %v", q, err)
		}
	}
}

func TestVerifyDetectsTampering(t *testing.T) {
	const id = "loan-A-6"
	for _, tc := range []struct {
		name  string
		stmts func(recs []audit.Stored) []string
		kind  string
		pos   int64
	}{
		{"edited details", func([]audit.Stored) []string {
			return []string{`UPDATE audit_entries SET details = 'declined: no decision by the deadline' WHERE pos = 4`}
		}, auditstore.ProblemHash, 4},
		{"edited actor", func([]audit.Stored) []string {
			return []string{`UPDATE audit_entries SET actor = 'ben' WHERE pos = 5`}
		}, auditstore.ProblemHash, 5},
		{"deleted decision", func([]audit.Stored) []string {
			return []string{`DELETE FROM audit_entries WHERE pos = 4`}
		}, auditstore.ProblemGap, 4},
		{"deleted and renumbered", func([]audit.Stored) []string {
			return []string{`DELETE FROM audit_entries WHERE pos = 4`, `UPDATE audit_entries SET pos = pos - 1 WHERE pos > 4`,
				`UPDATE audit_heads SET pos = pos - 1`}
		}, auditstore.ProblemLink, 4},
		{"deleted tail", func([]audit.Stored) []string {
			return []string{`DELETE FROM audit_entries WHERE pos >= 6`}
		}, auditstore.ProblemHead, 6},
		{"inserted at the end", func(recs []audit.Stored) []string {
			return []string{fmt.Sprintf(`INSERT INTO audit_entries (workflow_id, pos, run_id, seq, process, business_key, at, actor, action, source, prev_hash, hash)
				VALUES ('%s', 8, 'r1', 8, 'loan', 'A-6', now(), 'ana', 'decision-accepted', 'workflow', '\x%s', '\x00')`, id, recs[6].Hash)}
		}, auditstore.ProblemHash, 8},
		{"inserted in the middle with a recomputed hash", func(recs []audit.Stored) []string {
			forged := recs[2].Entry
			forged.Seq, forged.Action, forged.Actor, forged.Details = 100, "decision-accepted", "sam", "approve via update"
			prev := recs[2].Hash
			h := fmt.Sprintf("%x", audit.ChainHash(mustHex(prev), 4, forged))
			return []string{
				`UPDATE audit_entries SET pos = pos + 100 WHERE pos > 3`,
				`UPDATE audit_entries SET pos = pos - 99 WHERE pos > 100`,
				fmt.Sprintf(`INSERT INTO audit_entries (workflow_id, pos, run_id, seq, process, business_key, at, actor, action, details, policy_version, source, prev_hash, hash)
					VALUES ('%s', 4, 'r1', 100, 'loan', 'A-6', '%s', 'sam', 'decision-accepted', 'approve via update', 'p-1', 'workflow', '\x%s', '\x%s')`,
					id, forged.Time.Format(time.RFC3339Nano), prev, h),
			}
		}, auditstore.ProblemLink, 5},
	} {
		t.Run(tc.name, func(t *testing.T) {
			s, dsn := open(t)
			mustAppend(t, s, trail(id, "r1", 7))
			recs, _ := s.Trail(context.Background(), id)
			tamper(t, dsn, tc.stmts(recs)...)
			rep, err := s.Verify(context.Background(), id)
			if err != nil {
				t.Fatal(err)
			}
			if rep.OK() {
				t.Fatalf("tampering not detected")
			}
			found := false
			for _, p := range rep.Problems {
				if p.Kind == tc.kind && p.Pos == tc.pos {
					found = true
				}
			}
			if !found {
				t.Errorf("want a %s problem at %d, got %+v", tc.kind, tc.pos, rep.Problems)
			}
		})
	}
}

func mustHex(s string) []byte {
	var b []byte
	if _, err := fmt.Sscanf(s, "%x", &b); err != nil {
		panic(err)
	}
	return b
}

func TestMigrateIsVersionedIdempotentAndConcurrent(t *testing.T) {
	dsn := server.DB(t, fmt.Sprintf("audit_migrate_%d", dbs.Add(1)))
	ctx := context.Background()
	var wg sync.WaitGroup
	applied := make([][]int, 3)
	errs := make([]error, 3)
	for i := range 3 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			s, err := auditstore.Open(ctx, dsn)
			if err != nil {
				errs[i] = err
				return
			}
			defer s.Close()
			applied[i], errs[i] = s.Migrate(ctx)
		}()
	}
	wg.Wait()
	total := 0
	for i := range 3 {
		if errs[i] != nil {
			t.Fatalf("worker %d: %v", i, errs[i])
		}
		total += len(applied[i])
	}
	if total != auditstore.SchemaVersion() {
		t.Errorf("three concurrent starts applied %d migrations in all, want %d", total, auditstore.SchemaVersion())
	}
	s := openDSN(t, dsn)
	if v, err := s.Version(ctx); err != nil || v != auditstore.SchemaVersion() {
		t.Errorf("version %d, %v", v, err)
	}
	conn := connect(t, dsn)
	if _, err := conn.Exec(ctx, `INSERT INTO audit_schema_migrations (version, name) VALUES (999, 'from the future')`); err != nil {
		t.Fatal(err)
	}
	if _, err := s.Migrate(ctx); err == nil || !strings.Contains(err.Error(), "newer than this binary") {
		t.Errorf("newer schema: %v", err)
	}
}

func TestExportByProcessAndWindow(t *testing.T) {
	s, _ := open(t)
	mustAppend(t, s, trail("loan-A-7", "r1", 7))
	order := trail("order-O-1", "r1", 3)
	for i := range order {
		order[i].Process = "order"
	}
	mustAppend(t, s, order)
	var got []audit.Stored
	err := s.Export(context.Background(), auditstore.Filter{Process: "loan", Since: t0.Add(2 * time.Minute), Until: t0.Add(5 * time.Minute)},
		func(r audit.Stored) error { got = append(got, r); return nil })
	if err != nil {
		t.Fatal(err)
	}
	if len(got) != 3 || got[0].Seq != 2 || got[2].Seq != 4 {
		t.Errorf("loan entries in [t0+2m, t0+5m): %d entries %+v", len(got), got)
	}
	n := 0
	_ = s.Export(context.Background(), auditstore.Filter{}, func(audit.Stored) error { n++; return nil })
	if n != 10 {
		t.Errorf("unfiltered export: %d entries, want 10", n)
	}
}

func TestOpenUnreachableIsOneClearLine(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	_, err := auditstore.Open(ctx, "postgres://postgres@127.0.0.1:1/baton?sslmode=disable&connect_timeout=2")
	if err == nil {
		t.Fatal("opened a store on port 1")
	}
	msg := err.Error()
	if !strings.Contains(msg, "cannot reach the audit store (PostgreSQL) at 127.0.0.1:1") || strings.Contains(msg, "\n") {
		t.Errorf("message: %q", msg)
	}
	if _, err := auditstore.Open(ctx, "postgres://[::1"); err == nil || !strings.HasPrefix(err.Error(), "audit.dsn:") {
		t.Errorf("bad dsn: %v", err)
	}
}

// A server that answers but refuses the connection (no such database,
// wrong password) is one line naming the setting to check.
func TestOpenRefusedNamesTheSetting(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	_, err := auditstore.Open(ctx, server.DSN("no_such_db"))
	if err == nil {
		t.Fatal("opened a store in a database that does not exist")
	}
	msg := err.Error()
	if !strings.Contains(msg, `database "no_such_db" does not exist`) || !strings.HasSuffix(msg, "check audit.dsn / BATON_AUDIT_DSN") || strings.Contains(msg, "\n") {
		t.Errorf("message: %q", msg)
	}
}

// A PostgreSQL crash and restart while entries are being written: the
// writer retries as the audit activity does, and in the end every entry is
// stored exactly once and the chain verifies.
func TestPostgresRestartMidWriteLosesAndDuplicatesNothing(t *testing.T) {
	pg := pgtest.Start(t)
	dsn := pg.DB(t, "audit")
	s := openDSN(t, dsn)
	const id, n = "loan-A-8", 120
	entries := trail(id, "r1", n)
	var failures atomic.Int32
	done := make(chan error, 1)
	go func() {
		for i := 0; i < n; i += 2 {
			batch := entries[i:min(i+2, n)]
			deadline := time.Now().Add(90 * time.Second)
			for {
				ctx, cancel := context.WithTimeout(context.Background(), 3*time.Second)
				_, err := s.Append(ctx, batch)
				cancel()
				if err == nil {
					break
				}
				if !auditstore.Transient(err) || time.Now().After(deadline) {
					done <- fmt.Errorf("batch at %d: %w", i, err)
					return
				}
				failures.Add(1)
				time.Sleep(50 * time.Millisecond)
			}
			time.Sleep(5 * time.Millisecond)
		}
		done <- nil
	}()
	// Crash PostgreSQL once writing is under way, then start it again.
	ctx := context.Background()
	for {
		if recs, _ := s.Trail(ctx, id); len(recs) >= 20 {
			break
		}
		time.Sleep(10 * time.Millisecond)
	}
	if err := pg.Stop(ctx, "immediate"); err != nil {
		t.Fatal(err)
	}
	time.Sleep(300 * time.Millisecond)
	if err := pg.StartServer(ctx); err != nil {
		t.Fatal(err)
	}
	if err := <-done; err != nil {
		t.Fatal(err)
	}
	if failures.Load() == 0 {
		t.Fatal("no write failed: the restart did not happen mid-write")
	}
	recs, err := s.Trail(ctx, id)
	if err != nil {
		t.Fatal(err)
	}
	if len(recs) != n {
		t.Fatalf("%d entries stored, want %d (lost or duplicated)", len(recs), n)
	}
	for i, r := range recs {
		if r.Seq != int64(i+1) {
			t.Fatalf("entry at position %d has seq %d", r.Pos, r.Seq)
		}
	}
	if rep, _ := s.Verify(ctx, id); !rep.OK() {
		t.Errorf("chain after the restart: %+v", rep.Problems)
	}
	t.Logf("%d writes failed during the restart and were retried", failures.Load())
}

func TestCheckSchemaChangesNothing(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	dsn := server.DB(t, fmt.Sprintf("audit_%d", dbs.Add(1)))
	s, err := auditstore.Open(ctx, dsn)
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	if err := s.CheckSchema(ctx); err == nil || !strings.Contains(err.Error(), "holds no audit trail (no schema): run `worker --migrate` with audit.owner_dsn") {
		t.Fatalf("empty database: %v", err)
	}
	if v, err := s.Version(ctx); err != nil || v != 0 {
		t.Fatalf("the check created a schema: version %d, %v", v, err)
	}
	if _, err := s.Migrate(ctx); err != nil {
		t.Fatal(err)
	}
	if err := s.CheckSchema(ctx); err != nil {
		t.Fatalf("current schema: %v", err)
	}
	conn, err := pgx.Connect(ctx, dsn)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close(ctx)
	if _, err := conn.Exec(ctx, `INSERT INTO audit_schema_migrations (version, name) VALUES ($1, 'from the future')`, auditstore.SchemaVersion()+1); err != nil {
		t.Fatal(err)
	}
	if err := s.CheckSchema(ctx); err == nil || !strings.Contains(err.Error(), "newer than this binary's") {
		t.Fatalf("newer schema: %v", err)
	}
	if _, err := conn.Exec(ctx, `DELETE FROM audit_schema_migrations WHERE version >= $1`, auditstore.SchemaVersion()); err != nil {
		t.Fatal(err)
	}
	if err := s.CheckSchema(ctx); err == nil || !strings.Contains(err.Error(), "run `worker --migrate` with audit.owner_dsn / BATON_AUDIT_OWNER_DSN (the owner role) first") {
		t.Fatalf("older schema: %v", err)
	}
}
