package insight

import (
	"context"
	"encoding/json"
	"fmt"
	"path/filepath"
	"slices"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/batonhq/baton/audit"
	"github.com/batonhq/baton/internal/auditlog"
	"github.com/batonhq/baton/internal/auditstore"
	"github.com/batonhq/baton/internal/insight/insighttest"
	"github.com/batonhq/baton/internal/pgtest"
	"github.com/batonhq/baton/policy"
	"github.com/batonhq/baton/record"
	"github.com/batonhq/baton/workflows"
)

// benchInstances is how many ended instances the benchmark seeds.
const benchInstances = 100_000

// seed writes n ended instances into the store directly (COPY, with their
// chain hashes and heads, as Append would), copies of the recorded trails
// spread over 19 days: each one's times, and those its completed entry's
// data holds (its start, its course), moved together; the completed entry
// attested by writer, as the worker attests it (the other entries are not:
// a reader of the course does not read them).
func seed(b *testing.B, dsn string, n int, writer auditstore.Attestor) {
	ctx := context.Background()
	conn, err := pgx.Connect(ctx, dsn)
	if err != nil {
		b.Fatal(err)
	}
	defer conn.Close(ctx)
	var names []string
	ends := map[string]record.EndData{}
	for name, tr := range realTrails(b) {
		names = append(names, name)
		var d record.EndData
		if err := json.Unmarshal(tr[len(tr)-1].Data, &d); err != nil || d.Course == nil {
			b.Fatalf("%s: the completed entry carries no course (%v)", name, err)
		}
		ends[name] = d
	}
	slices.Sort(names)
	var rows, heads [][]any
	flush := func() {
		cols := []string{"pos", "prev_hash", "hash", "attestation", "workflow_id", "run_id", "seq", "update_id", "event_id", "process", "business_key", "at",
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
		name := names[i%len(names)]
		src := realTrails(b)[name]
		id := fmt.Sprintf("%s-B-%06d", src[0].Process, i)
		shift := span/time.Duration(n)*time.Duration(i) - 29*24*time.Hour + time.Since(testStart)
		at := func(t time.Time) time.Time { return t.Add(shift).UTC().Truncate(time.Microsecond) }
		prev := audit.GenesisHash
		for j, e := range src {
			e.WorkflowID, e.BusinessKey, e.RunID, e.Time = id, id, "run-"+id, at(e.Time)
			att := ""
			if j == len(src)-1 {
				d := ends[name]
				c := *d.Course
				c.Entries = slices.Clone(c.Entries)
				for k := range c.Entries {
					c.Entries[k].At = at(c.Entries[k].At)
				}
				d.StartedAt, d.Course = at(d.StartedAt), &c
				if e.Data, err = json.Marshal(d); err != nil {
					b.Fatal(err)
				}
			}
			h := audit.ChainHash(prev, int64(j+1), e)
			if j == len(src)-1 {
				if att, err = writer.Attest(h); err != nil {
					b.Fatal(err)
				}
			}
			rows = append(rows, []any{int64(j + 1), prev, h, att, e.WorkflowID, e.RunID, e.Seq, e.UpdateID, e.EventID, e.Process, e.BusinessKey, e.Time,
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
	// As a store that has been running is: vacuumed (hint bits and the
	// visibility map set; a COPY leaves them for the first reader).
	if _, err := conn.Exec(ctx, "VACUUM (ANALYZE) audit_entries"); err != nil {
		b.Fatal(err)
	}
}

// BenchmarkInsight100k measures discovery and conformance over 100,000
// ended instances in the store, each from the read of the store to the
// answer, as starter discover and starter conformance run them with
// writer keys configured: each instance read from its completed entry's
// course, that entry verified (make bench prints it; the goal is under 5 s
// each). discover-s and conform-s are a verifier reading the window again
// (signatures it verified before are not checked again, every entry's hash
// is); -first-read-s one that verifies every signature. It also logs where
// the time goes, and what reading the whole trails (the fallback, and the
// only way before the course) costs.
func BenchmarkInsight100k(b *testing.B) {
	pg := pgtest.Start(b)
	ctx := context.Background()
	// A production server's cache: the default 128 MB holds a tenth of
	// the seeded table, so every read would come from the OS's page cache.
	if conn, err := pgx.Connect(ctx, pg.DSN("postgres")); err != nil {
		b.Fatal(err)
	} else if _, err := conn.Exec(ctx, "ALTER SYSTEM SET shared_buffers = '1GB'"); err != nil {
		b.Fatal(err)
	} else {
		_ = conn.Close(ctx)
	}
	if err := pg.Stop(ctx, "fast"); err != nil {
		b.Fatal(err)
	}
	if err := pg.StartServer(ctx); err != nil {
		b.Fatal(err)
	}
	dsn := pg.DB(b, "bench")
	st, err := auditstore.Open(ctx, dsn)
	if err != nil {
		b.Fatal(err)
	}
	defer st.Close()
	if _, err := st.Migrate(ctx); err != nil {
		b.Fatal(err)
	}
	writer, writers := insighttest.Writer(b)
	verify := func(r audit.Stored) (string, string) { return auditlog.Attested(r, writers) }
	// What a verifier remembers of the entries it verified (the starter's
	// auditlog.Verified beside its checkpoint): opened afresh for each read.
	remembered := filepath.Join(b.TempDir(), "verified")
	rememberedVerify := func() (Verify, func()) {
		v, err := auditlog.OpenVerified(remembered, writers)
		if err != nil {
			b.Fatal(err)
		}
		return v.Check, func() {
			if err := v.Save(); err != nil {
				b.Fatal(err)
			}
		}
	}
	began := time.Now()
	seed(b, dsn, benchInstances, writer)
	b.Logf("seeded %d instances in %s", benchInstances, time.Since(began).Round(time.Second))
	pol := devPolicy(b)
	window := Window{Since: time.Now().Add(-30 * 24 * time.Hour), Until: time.Now()}
	filter := auditstore.TrailFilter{Since: window.Since, Until: window.Until,
		StartAction: audit.ActionStarted, EndActions: []string{audit.ActionCompleted, audit.ActionFailed}, DataOf: NeedSpecs.dataOf()}
	read := func(v Verify) []*Trail {
		got, err := ReadVerified(ctx, st, window, v)
		if err != nil {
			b.Fatal(err)
		}
		if len(got.Trails) != benchInstances || got.FromCourse != benchInstances || len(got.LeftOut) != 0 {
			b.Fatalf("read %d instances (%d from their course), %d left out; want %d from their course", len(got.Trails), got.FromCourse, len(got.LeftOut), benchInstances)
		}
		return got.Trails
	}
	since := func(t0 time.Time) time.Duration { return time.Since(t0).Round(time.Millisecond) }
	// Where the time goes, once.
	{
		t0 := time.Now()
		n := 0
		if err := st.Endings(ctx, filter, func(audit.Stored, bool) error { n++; return nil }); err != nil {
			b.Fatal(err)
		}
		b.Logf("the store's read of the %d completed entries (one query): %s", n, since(t0))
		t0 = time.Now()
		read(nil)
		b.Logf("read in two parts and parsed from their course, unverified: %s", since(t0))
		t0 = time.Now()
		tr := read(verify)
		b.Logf("the same, each completed entry's hash and attestation verified: %s", since(t0))
		t0 = time.Now()
		v, save := rememberedVerify()
		read(v)
		save()
		b.Logf("the same, remembering what was verified (a verifier's first read of the window): %s", since(t0))
		t0 = time.Now()
		v, _ = rememberedVerify()
		read(v)
		b.Logf("the same again, each entry's hash checked, signatures verified before not checked again: %s", since(t0))
		t0 = time.Now()
		Discover(tr, map[string]*policy.Policy{pol.Version: pol})
		b.Logf("discovery on trails in memory: %s", since(t0))
		t0 = time.Now()
		Conform(ctx, tr, NewPolicySet(pol), &Described{Catalog: workflows.Catalog()})
		b.Logf("conformance on trails in memory: %s", since(t0))
		t0 = time.Now()
		whole, err := ReadTrails(ctx, st, Window{Since: window.Since, Until: window.Until, Need: NeedSpecs})
		if err != nil || len(whole) != benchInstances {
			b.Fatalf("whole trails: %d, %v", len(whole), err)
		}
		b.Logf("the whole trails, read and parsed, unverified (the fallback; before the course, the only way): %s", since(t0))
	}
	// Timed: as starter discover and conformance run with writer keys
	// configured: a verifier reading the window again (what it verified
	// before remembered, every entry's hash checked), and one reading it
	// for the first time (every completed entry's signature verified).
	var discover, conform, discoverFirst, conformFirst time.Duration
	b.ResetTimer()
	for range b.N {
		for _, m := range []struct {
			verify            func() Verify
			discover, conform *time.Duration
		}{
			{func() Verify { v, _ := rememberedVerify(); return v }, &discover, &conform},
			{func() Verify { return verify }, &discoverFirst, &conformFirst},
		} {
			t0 := time.Now()
			ds := Discover(read(m.verify()), map[string]*policy.Policy{pol.Version: pol})
			*m.discover += time.Since(t0)
			t1 := time.Now()
			c := Conform(ctx, read(m.verify()), NewPolicySet(pol), &Described{Catalog: workflows.Catalog()})
			*m.conform += time.Since(t1)
			if len(ds) != 2 || c.Checked != benchInstances || len(c.Breaches) != 0 {
				b.Fatalf("discoveries %d, checked %d, breaches %d", len(ds), c.Checked, len(c.Breaches))
			}
		}
	}
	b.StopTimer()
	per := func(d time.Duration) float64 { return d.Seconds() / float64(b.N) }
	b.ReportMetric(per(discover), "discover-s")
	b.ReportMetric(per(conform), "conform-s")
	b.ReportMetric(per(discoverFirst), "discover-first-read-s")
	b.ReportMetric(per(conformFirst), "conform-first-read-s")
	b.ReportMetric(float64(benchInstances), "instances")
}
