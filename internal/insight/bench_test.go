package insight

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/batonhq/baton/audit"
	"github.com/batonhq/baton/workflows"

	"github.com/jackc/pgx/v5"

	"github.com/batonhq/baton/internal/auditstore"
	"github.com/batonhq/baton/internal/pgtest"
	"github.com/batonhq/baton/policy"
)

// benchInstances is how many ended instances the benchmark seeds.
const benchInstances = 100_000

// seed writes n ended instances into the store directly (COPY, with their
// chain hashes and heads, as Append would), copies of the recorded trails
// spread over 30 days.
func seed(b *testing.B, dsn string, n int) {
	ctx := context.Background()
	conn, err := pgx.Connect(ctx, dsn)
	if err != nil {
		b.Fatal(err)
	}
	defer conn.Close(ctx)
	var names []string
	for name := range realTrails(b) {
		names = append(names, name)
	}
	var rows, heads [][]any
	flush := func() {
		cols := []string{"pos", "prev_hash", "hash", "workflow_id", "run_id", "seq", "update_id", "event_id", "process", "business_key", "at",
			"actor", "action", "task_id", "details", "reason", "via", "signature", "policy_version", "source", "data"}
		if _, err := conn.CopyFrom(ctx, pgx.Identifier{"audit_entries"}, cols, pgx.CopyFromRows(rows)); err != nil {
			b.Fatal(err)
		}
		if _, err := conn.CopyFrom(ctx, pgx.Identifier{"audit_heads"}, []string{"workflow_id", "pos", "hash"}, pgx.CopyFromRows(heads)); err != nil {
			b.Fatal(err)
		}
		rows, heads = rows[:0], heads[:0]
	}
	// Starts spread over 19 days from 29 days ago: every instance (the
	// latest ends 9 days after its start) ends inside the 30-day window.
	span := 19 * 24 * time.Hour
	for i := range n {
		src := realTrails(b)[names[i%len(names)]]
		id := fmt.Sprintf("%s-B-%06d", src[0].Process, i)
		shift := span/time.Duration(n)*time.Duration(i) - 29*24*time.Hour + time.Since(testStart)
		prev := audit.GenesisHash
		for j, e := range src {
			e.WorkflowID, e.BusinessKey, e.RunID, e.Time = id, id, "run-"+id, e.Time.Add(shift).UTC().Truncate(time.Microsecond)
			h := audit.ChainHash(prev, int64(j+1), e)
			rows = append(rows, []any{int64(j + 1), prev, h, e.WorkflowID, e.RunID, e.Seq, e.UpdateID, e.EventID, e.Process, e.BusinessKey, e.Time,
				e.Actor, e.Action, e.TaskID, e.Details, e.Reason, e.Via, e.Signature, e.PolicyVersion, e.Source, string(e.Data)})
			prev = h
		}
		heads = append(heads, []any{id, int64(len(src)), prev})
		if len(heads) == 5000 {
			flush()
		}
	}
	if len(heads) > 0 {
		flush()
	}
	if _, err := conn.Exec(ctx, "ANALYZE audit_entries"); err != nil {
		b.Fatal(err)
	}
}

// BenchmarkInsight100k measures discovery and conformance over 100,000
// ended instances in the store, each from the read of the store to the
// answer (make bench prints it; the goal is under 5 s each).
func BenchmarkInsight100k(b *testing.B) {
	pg := pgtest.Start(b)
	dsn := pg.DB(b, "bench")
	ctx := context.Background()
	st, err := auditstore.Open(ctx, dsn)
	if err != nil {
		b.Fatal(err)
	}
	defer st.Close()
	if _, err := st.Migrate(ctx); err != nil {
		b.Fatal(err)
	}
	began := time.Now()
	seed(b, dsn, benchInstances)
	b.Logf("seeded %d instances in %s", benchInstances, time.Since(began).Round(time.Second))
	pol := devPolicy(b)
	filter := auditstore.TrailFilter{Since: time.Now().Add(-30 * 24 * time.Hour), Until: time.Now(),
		StartAction: audit.ActionStarted, EndActions: []string{audit.ActionCompleted, audit.ActionFailed}, DataOf: NeedSpecs.dataOf()}
	read := func(need Need) []*Trail {
		trails, err := ReadTrails(ctx, st, Window{Since: filter.Since, Until: filter.Until, Need: need})
		if err != nil {
			b.Fatal(err)
		}
		if len(trails) != benchInstances {
			b.Fatalf("read %d instances, want %d", len(trails), benchInstances)
		}
		return trails
	}
	// Where the time goes, once: the store's read alone, read and parse,
	// then each analysis on trails in memory.
	{
		t0 := time.Now()
		n := 0
		if err := st.Trails(ctx, filter, func(entries []audit.Entry) error { n += len(entries); return nil }); err != nil {
			b.Fatal(err)
		}
		b.Logf("the store's read of %d entries: %s", n, time.Since(t0).Round(time.Millisecond))
		t0 = time.Now()
		tr := read(NeedSpecs)
		b.Logf("read and parsed into trails: %s", time.Since(t0).Round(time.Millisecond))
		t0 = time.Now()
		Discover(tr, map[string]*policy.Policy{pol.Version: pol})
		b.Logf("discovery on trails in memory: %s", time.Since(t0).Round(time.Millisecond))
		t0 = time.Now()
		Conform(ctx, tr, NewPolicySet(pol), &Described{Catalog: workflows.Catalog()})
		b.Logf("conformance on trails in memory: %s", time.Since(t0).Round(time.Millisecond))
	}
	var discover, conform time.Duration
	b.ResetTimer()
	for range b.N {
		t0 := time.Now()
		ds := Discover(read(NeedEnd), map[string]*policy.Policy{pol.Version: pol})
		discover += time.Since(t0)
		t1 := time.Now()
		c := Conform(ctx, read(NeedSpecs), NewPolicySet(pol), &Described{Catalog: workflows.Catalog()})
		conform += time.Since(t1)
		if len(ds) != 2 || c.Checked != benchInstances || len(c.Breaches) != 0 {
			b.Fatalf("discoveries %d, checked %d, breaches %d", len(ds), c.Checked, len(c.Breaches))
		}
	}
	b.StopTimer()
	b.ReportMetric(discover.Seconds()/float64(b.N), "discover-s")
	b.ReportMetric(conform.Seconds()/float64(b.N), "conform-s")
	b.ReportMetric(float64(benchInstances), "instances")
}
