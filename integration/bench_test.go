package integration

import (
	"context"
	"fmt"
	"sort"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"go.temporal.io/sdk/client"

	"baton/workflows"
	"baton/workflows/humantask"
	"baton/workflows/record"
)

// Benchmarks print figures (make bench); they assert no speed.

var benchSeq atomic.Int64

func benchLoan(b *testing.B, applicant string, amount float64) string {
	b.Helper()
	in := workflows.LoanInput{ApplicationID: fmt.Sprintf("B%d-%d", time.Now().UnixNano()%1e9, benchSeq.Add(1)), ApplicantID: applicant, Amount: amount, TermMonths: 36}
	_, err := env.client.ExecuteWorkflow(context.Background(), client.StartWorkflowOptions{
		ID: in.Key(), TaskQueue: workflows.DefaultTaskQueue, StaticSummary: in.Summary(),
		TypedSearchAttributes: record.StartAttributes(workflows.ProcessLoan, in.Key()),
	}, workflows.ProcessLoan, in)
	if err != nil {
		b.Fatal(err)
	}
	return in.Key()
}

func benchWait(b *testing.B, id string) {
	b.Helper()
	if err := env.client.GetWorkflow(context.Background(), id, "").Get(context.Background(), nil); err != nil {
		b.Fatal(err)
	}
}

func benchOpenTask(b *testing.B, id string) {
	b.Helper()
	for {
		v, err := env.client.QueryWorkflow(context.Background(), id, "", humantask.QueryTasks)
		var tasks []humantask.TaskView
		if err == nil && v.Get(&tasks) == nil && len(tasks) > 0 {
			return
		}
		time.Sleep(20 * time.Millisecond)
	}
}

func decide(id string, d humantask.Decision) error {
	h, err := env.client.UpdateWorkflow(context.Background(), client.UpdateWorkflowOptions{
		WorkflowID: id, UpdateName: humantask.UpdateDecide, Args: []any{d}, WaitForStage: client.WorkflowUpdateStageCompleted,
	})
	if err != nil {
		return err
	}
	return h.Get(context.Background(), nil)
}

func report(b *testing.B, name string, d []time.Duration) {
	sort.Slice(d, func(i, j int) bool { return d[i] < d[j] })
	if len(d) == 0 {
		return
	}
	p := func(q float64) float64 { return float64(d[int(q*float64(len(d)-1))].Microseconds()) / 1000 }
	b.ReportMetric(p(0.5), name+"-p50-ms")
	b.ReportMetric(p(0.99), name+"-p99-ms")
}

// An automated loan end to end: KYC, credit, routing, offer, disbursement
// and the mail, over real HTTP to the simulator, eight at a time.
func BenchmarkAutomatedLoanEndToEnd(b *testing.B) {
	var mu sync.Mutex
	var lat []time.Duration
	start := time.Now()
	b.SetParallelism(8)
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			t0 := time.Now()
			benchWait(b, benchLoan(b, "C-1001", 10000))
			mu.Lock()
			lat = append(lat, time.Since(t0))
			mu.Unlock()
		}
	})
	b.ReportMetric(float64(b.N)/time.Since(start).Seconds(), "instances/s")
	report(b, "end-to-end", lat)
}

// Automated loans with and without the audit store writes, side by side in
// one run: the same concurrency, the worker restarted with
// BATON_AUDIT_WRITES=activity (the writer on a regular activity, the
// alternative to its local one), then =off, then back. Each variant runs
// in two halves placed symmetrically (with, regular, without, without,
// regular, with), so a drift in the machine's load weighs on all alike. The cost is the relative loss of
// throughput (issue 11's goal: under 10%).
func BenchmarkAutomatedLoanAuditCost(b *testing.B) {
	run := func(n int) time.Duration {
		var wg sync.WaitGroup
		next := atomic.Int64{}
		start := time.Now()
		for range 8 {
			wg.Add(1)
			go func() {
				defer wg.Done()
				for next.Add(1) <= int64(n) {
					benchWait(b, benchLoan(b, "C-1001", 10000))
				}
			}()
		}
		wg.Wait()
		return time.Since(start)
	}
	restart := func(extra ...string) {
		ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
		defer cancel()
		stopWorker()
		workerExtraEnv = extra
		if err := startWorker(ctx, b.TempDir()); err != nil {
			b.Fatal(err)
		}
	}
	first, second := b.N/2, b.N-b.N/2
	b.ResetTimer()
	tWith := run(first)
	restart("BATON_AUDIT_WRITES=activity")
	tActivity := run(first)
	restart("BATON_AUDIT_WRITES=off")
	tWithout := run(second) + run(first)
	restart("BATON_AUDIT_WRITES=activity")
	tActivity += run(second)
	restart()
	tWith += run(second)
	with, regular, without := float64(b.N)/tWith.Seconds(), float64(b.N)/tActivity.Seconds(), float64(b.N)/tWithout.Seconds()
	cost := 100 * (without - with) / without
	b.ReportMetric(with, "with-audit-instances/s")
	b.ReportMetric(without, "without-audit-instances/s")
	b.ReportMetric(cost, "audit-cost-%")
	fmt.Printf("automated loans, %d each, 8 at a time: %.2f/s with audit writes, %.2f/s without: audit costs %.1f%% of throughput (the writer's local activity; %.2f/s through a regular activity: %.1f%%)\n",
		b.N, with, without, cost, regular, 100*(without-regular)/without)
}

// A decision the policy refuses: answered by the update validator, nothing
// written to history.
func BenchmarkDecideRefused(b *testing.B) {
	id := benchLoan(b, "C-1002", 40000)
	benchOpenTask(b, id)
	lat := make([]time.Duration, 0, b.N)
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		t0 := time.Now()
		if err := decide(id, humantask.Decision{Verdict: humantask.Approve, Actor: "fay"}); err == nil {
			b.Fatal("fay's approval was accepted")
		}
		lat = append(lat, time.Since(t0))
	}
	report(b, "refusal", lat)
}

// An accepted decision that closes a task (the instance then disburses).
func BenchmarkDecideAccepted(b *testing.B) {
	lat := make([]time.Duration, 0, b.N)
	for i := 0; i < b.N; i++ {
		b.StopTimer()
		id := benchLoan(b, "C-1002", 40000)
		benchOpenTask(b, id)
		b.StartTimer()
		t0 := time.Now()
		if err := decide(id, humantask.Decision{Verdict: humantask.Approve, Actor: "ana"}); err != nil {
			b.Fatal(err)
		}
		lat = append(lat, time.Since(t0))
	}
	report(b, "accept", lat)
}
