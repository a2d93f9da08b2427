package taskinbox

import (
	"context"
	"fmt"
	"math/rand/v2"
	"slices"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/batonhq/baton/config"
	"github.com/batonhq/baton/internal/auditstore"
	"github.com/batonhq/baton/internal/pgtest"
)

// benchTasks is how many open tasks the benchmark seeds: 10,000 for each
// of the development directory's ten roles.
const benchTasks = 100_000

var benchRoles = []struct{ role, process, task, title string }{
	{"underwriter", "loan", "underwriting", "Underwriting decision"},
	{"senior-underwriter", "loan", "senior-review", "Senior underwriting review"},
	{"fraud-analyst", "claim", "fraud-review", "Fraud review"},
	{"manager", "expense", "manager-approval", "Manager approval"},
	{"finance", "expense", "finance-approval", "Finance approval"},
	{"director", "loan", "director-approval", "Director approval"},
	{"hr", "onboarding", "hr-review", "HR review"},
	{"it-admin", "onboarding", "accounts", "Accounts and equipment"},
	{"adjuster", "claim", "assessment", "Claim assessment"},
	{"senior-adjuster", "claim", "settlement", "Settlement approval"},
}

// seedInbox writes n open tasks into the read model directly (COPY), as
// Append leaves them: task i for role i mod 10; amounts up to 500,000;
// opened over the last 5 days, deadlines from 2 days ago (overdue) to 10
// days ahead; one in five of high or urgent priority, one in ten claimed,
// one in twenty waiting for a follow-up date, one in fifty excluding a
// user (the requester) and one in a hundred named to a user; a quorum of
// two above 100,000, one vote cast on half of those.
func seedInbox(b *testing.B, dsn string, n int, now time.Time) {
	ctx := context.Background()
	conn, err := pgx.Connect(ctx, dsn)
	if err != nil {
		b.Fatal(err)
	}
	defer conn.Close(ctx)
	users := []string{"ana", "ben", "sam", "fay", "mia", "max", "fin", "dan", "hal", "ivy", "ada", "abe", "sue"}
	rnd := rand.New(rand.NewPCG(7, 11))
	cols := []string{"workflow_id", "task_id", "run_id", "occurrence", "process", "business_key", "process_title", "title", "summary", "stage", "amount",
		"roles", "users", "excluded", "voted", "delegates", "delegate_roles", "quorum", "approvals", "opened_at", "deadline", "escalated", "priority",
		"follow_up", "claimed_by", "claimed_at", "claim_exclusive", "comments", "last_comment", "last_comment_by", "last_comment_at"}
	var rows [][]any
	flush := func() {
		if _, err := conn.CopyFrom(ctx, pgx.Identifier{"inbox_tasks"}, cols, pgx.CopyFromRows(rows)); err != nil {
			b.Fatal(err)
		}
		rows = rows[:0]
	}
	for i := range n {
		r := benchRoles[i%len(benchRoles)]
		key := fmt.Sprintf("%s-B-%06d", r.process, i)
		amount := float64(1000 + rnd.IntN(500)*1000)
		opened := now.Add(-time.Duration(rnd.IntN(5*24*60)) * time.Minute).UTC()
		deadline := now.Add(time.Duration(rnd.IntN(12*24*60)-2*24*60) * time.Minute).UTC()
		priority := 2
		if p := rnd.IntN(10); p == 0 {
			priority = 4
		} else if p == 1 {
			priority = 3
		} else if p == 2 {
			priority = 1
		}
		quorum, approvals, voted := 1, 0, []string{}
		if amount > 100000 {
			quorum = 2
			if rnd.IntN(2) == 0 {
				voted, approvals = []string{users[rnd.IntN(len(users))]}, 1
			}
		}
		excluded, named := []string{}, []string{}
		if rnd.IntN(50) == 0 {
			excluded = []string{users[rnd.IntN(len(users))]}
		}
		if rnd.IntN(100) == 0 {
			named = []string{users[rnd.IntN(len(users))]}
		}
		var followUp, claimedAt, commentAt *time.Time
		var claimedBy *string
		if rnd.IntN(20) == 0 {
			f := now.Add(time.Duration(1+rnd.IntN(48)) * time.Hour).UTC()
			followUp = &f
		}
		if rnd.IntN(10) == 0 {
			u, at := users[rnd.IntN(len(users))], opened.Add(time.Minute)
			claimedBy, claimedAt = &u, &at
		}
		comments, comment, commentBy := 0, "", ""
		if rnd.IntN(8) == 0 {
			at := opened.Add(2 * time.Minute)
			comments, comment, commentBy, commentAt = 1+rnd.IntN(3), "documents requested from the customer", users[rnd.IntN(len(users))], &at
		}
		rows = append(rows, []any{key, r.task, "run-" + key, 1, r.process, key, r.process, r.title + " for " + key,
			fmt.Sprintf("%s: %.2f", key, amount), "3 of 5: awaiting " + r.role, amount,
			[]string{r.role}, named, excluded, voted, []string{}, []string{}, quorum, approvals, opened, deadline, false, priority,
			followUp, claimedBy, claimedAt, claimedBy != nil && rnd.IntN(2) == 0, comments, comment, commentBy, commentAt})
		if len(rows) == 5000 {
			flush()
		}
	}
	if len(rows) > 0 {
		flush()
	}
	// As a running store is: vacuumed and analysed.
	if _, err := conn.Exec(ctx, "VACUUM (ANALYZE) inbox_tasks"); err != nil {
		b.Fatal(err)
	}
}

// timings runs f reps times and returns the median and the slowest run.
func timings(b *testing.B, reps int, f func() error) (median, slowest time.Duration) {
	ds := make([]time.Duration, 0, reps)
	for range reps {
		t0 := time.Now()
		if err := f(); err != nil {
			b.Fatal(err)
		}
		ds = append(ds, time.Since(t0))
	}
	slices.Sort(ds)
	return ds[len(ds)/2], ds[len(ds)-1]
}

// logf prints a line of the benchmark's figures (b.Logf's are cut to a
// few lines without -v).
func logf(format string, args ...any) { fmt.Printf("  "+format+"\n", args...) }

func ms(d time.Duration) float64 { return float64(d.Microseconds()) / 1000 }

// BenchmarkInbox100k measures the task read model with 100,000 open tasks
// (10,000 per role) through Store, the lister the web inbox and starter
// tasks use: a user's first page of 50 in each sort and with filters, the
// counts and facets the list shows beside it, a whole list page's queries,
// and paging through the 10,000 tasks of one role 50 at a time. Goals
// (make bench prints them): first page under 50 ms, counts under 100 ms,
// the role's 10,000 tasks paged through in under 500 ms.
func BenchmarkInbox100k(b *testing.B) {
	pg := pgtest.Start(b)
	ctx := context.Background()
	dsn, err := pg.CreateDB(ctx, "bench")
	if err != nil {
		b.Fatal(err)
	}
	st, err := auditstore.Open(ctx, dsn)
	if err != nil {
		b.Fatal(err)
	}
	defer st.Close()
	if _, err := st.Migrate(ctx); err != nil {
		b.Fatal(err)
	}
	pol, err := config.LoadPolicy("../../config/policy.yaml", nil)
	if err != nil {
		b.Fatal(err)
	}
	now := time.Now()
	began := time.Now()
	seedInbox(b, dsn, benchTasks, now)
	logf("seeded %d open tasks in %s", benchTasks, time.Since(began).Round(time.Millisecond))
	l := &Store{Store: st, Policy: pol}
	ana := Filter{User: "ana", Now: now}
	const reps = 21
	var first, count, page, paged time.Duration
	for range b.N {
		// Ana (underwriter) sees her 10,000-odd tasks.
		c, err := l.Count(ctx, ana)
		if err != nil {
			b.Fatal(err)
		}
		if c.Tasks < 9000 || c.Tasks > 10200 || c.Overdue == 0 || c.Later == 0 {
			b.Fatalf("ana's counts %+v: the seed drifted", c)
		}
		min := 200000.0
		cases := []struct {
			name string
			f    Filter
		}{
			{"by deadline", Filter{}},
			{"by priority", Filter{Sort: auditstore.SortPriority}},
			{"by age", Filter{Sort: auditstore.SortAge}},
			{"by amount", Filter{Sort: auditstore.SortAmount}},
			{"high or urgent, overdue", Filter{MinPriority: 3, Overdue: true}},
			{"unclaimed, amount >= 200,000, by amount", Filter{Claimed: auditstore.Unclaimed, AmountMin: &min, Sort: auditstore.SortAmount}},
			{"search a business key", Filter{Search: "B-0420"}},
			{"waiting for follow-up", Filter{FollowUp: auditstore.FollowUpLater}},
		}
		first = 0
		for _, cs := range cases {
			f := cs.f
			f.User, f.Now, f.Limit = "ana", now, 50
			var n int
			med, worst := timings(b, reps, func() error {
				p, err := l.List(ctx, f)
				n = len(p.Tasks)
				return err
			})
			if n == 0 {
				b.Fatalf("%s: an empty first page", cs.name)
			}
			logf("first page of ana's tasks, %-40s %3d tasks: median %6.2f ms, slowest %6.2f ms", cs.name, n, ms(med), ms(worst))
			first = max(first, med)
		}
		count, _ = timings(b, reps, func() error { _, err := l.Count(ctx, ana); return err })
		facets, _ := timings(b, reps, func() error {
			_, err := l.Facets(ctx, Filter{User: "ana", Now: now, FollowUp: auditstore.FollowUpAll})
			return err
		})
		logf("ana's counts (%d tasks, %d overdue, %d later): median %.2f ms; facets (process and task): %.2f ms", c.Tasks, c.Overdue, c.Later, ms(count), ms(facets))
		// A list page as the web inbox asks for it: the page, the counts,
		// the facets.
		page, _ = timings(b, reps, func() error {
			f := ana
			f.Limit = 50
			if _, err := l.List(ctx, f); err != nil {
				return err
			}
			if _, err := l.Count(ctx, ana); err != nil {
				return err
			}
			_, err := l.Facets(ctx, Filter{User: "ana", Now: now, FollowUp: auditstore.FollowUpAll})
			return err
		})
		logf("a whole list page (page, counts, facets): median %.2f ms", ms(page))
		// Paging through one role's 10,000 tasks: 50 at a time (the web
		// inbox's pages), 1,000 at a time, all at once (starter tasks
		// --role underwriter without --limit).
		paged = 0
		for _, who := range []struct {
			name  string
			f     Filter
			limit int
		}{
			{"role underwriter's", Filter{Role: "underwriter", FollowUp: auditstore.FollowUpAll}, 50},
			{"ana's", Filter{User: "ana", FollowUp: auditstore.FollowUpAll}, 50},
			{"role underwriter's", Filter{Role: "underwriter", FollowUp: auditstore.FollowUpAll}, 1000},
			{"role underwriter's", Filter{Role: "underwriter", FollowUp: auditstore.FollowUpAll}, 0},
		} {
			var seen, pages int
			med, worst := timings(b, 5, func() error {
				f := who.f
				f.Now, f.Limit, f.Cursor = now, who.limit, ""
				seen, pages = 0, 0
				for {
					p, err := l.List(ctx, f)
					if err != nil {
						return err
					}
					seen += len(p.Tasks)
					pages++
					if p.Next == "" {
						return nil
					}
					f.Cursor = p.Next
				}
			})
			if seen < 9000 {
				b.Fatalf("paging %s: %d tasks", who.name, seen)
			}
			size := fmt.Sprintf("%d pages of %d", pages, who.limit)
			if who.limit == 0 {
				size = "one query"
			}
			logf("all of %s %d tasks, %s: median %.0f ms, slowest %.0f ms", who.name, seen, size, ms(med), ms(worst))
			if who.f.Role != "" && who.limit == 50 {
				paged = med
			}
		}
	}
	b.ReportMetric(ms(first), "first-page-ms")
	b.ReportMetric(ms(count), "count-ms")
	b.ReportMetric(ms(page), "list-page-ms")
	b.ReportMetric(ms(paged), "page-10k-ms")
}
