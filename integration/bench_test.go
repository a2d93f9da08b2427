package integration

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"sort"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"go.temporal.io/sdk/client"

	"github.com/batonhq/baton/humantask"
	"github.com/batonhq/baton/internal/auditstore"
	"github.com/batonhq/baton/process"
	"github.com/batonhq/baton/record"
	"github.com/batonhq/baton/workflows"
)

// Benchmarks print figures (make bench); they assert no speed.

var benchSeq atomic.Int64

func benchLoan(b *testing.B, applicant string, amount float64) string {
	b.Helper()
	return benchLoanOn(b, env.client, process.DefaultTaskQueue, applicant, amount)
}

func benchLoanOn(b *testing.B, cl client.Client, queue, applicant string, amount float64) string {
	b.Helper()
	in := workflows.LoanInput{ApplicationID: fmt.Sprintf("B%d-%d", time.Now().UnixNano()%1e9, benchSeq.Add(1)), ApplicantID: applicant, Amount: amount, TermMonths: 36}
	_, err := cl.ExecuteWorkflow(context.Background(), client.StartWorkflowOptions{
		ID: in.Key(), TaskQueue: queue, StaticSummary: in.Summary(),
		TypedSearchAttributes: record.StartAttributes(workflows.ProcessLoan, in.Key()),
	}, workflows.ProcessLoan, in)
	if err != nil {
		b.Fatal(err)
	}
	return in.Key()
}

func benchWaitOn(b *testing.B, cl client.Client, id string) {
	b.Helper()
	if err := cl.GetWorkflow(context.Background(), id, "").Get(context.Background(), nil); err != nil {
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
// and the mail, over real HTTP to the simulator, eight at a time; with the
// payload codec (the worker and client every test uses) and without it (a
// second worker with BATON_CODEC_PLAINTEXT=true on its own task queue, and
// a plaintext client), in alternating rounds on the same server so that
// both see the same machine. Each mode runs b.N instances.
func BenchmarkAutomatedLoanEndToEnd(b *testing.B) {
	plain := plaintextWorker(b)
	type mode struct {
		cl      client.Client
		queue   string
		lat     []time.Duration
		elapsed time.Duration
		n       int
	}
	codec := &mode{cl: env.client, queue: process.DefaultTaskQueue}
	plainMode := &mode{cl: plain, queue: plaintextQueue}
	const rounds = 6
	run := func(m *mode, n int) {
		var mu sync.Mutex
		var next atomic.Int64
		start := time.Now()
		var wg sync.WaitGroup
		for w := 0; w < 8; w++ {
			wg.Add(1)
			go func() {
				defer wg.Done()
				for next.Add(1) <= int64(n) {
					t0 := time.Now()
					benchWaitOn(b, m.cl, benchLoanOn(b, m.cl, m.queue, "C-1001", 10000))
					mu.Lock()
					m.lat = append(m.lat, time.Since(t0))
					mu.Unlock()
				}
			}()
		}
		wg.Wait()
		m.elapsed += time.Since(start)
		m.n += n
	}
	b.ResetTimer()
	for r := 0; r < rounds; r++ {
		n := b.N / rounds
		if r == rounds-1 {
			n = b.N - (rounds-1)*(b.N/rounds)
		}
		if n == 0 {
			continue
		}
		// Alternate which mode goes first.
		if r%2 == 0 {
			run(codec, n)
			run(plainMode, n)
		} else {
			run(plainMode, n)
			run(codec, n)
		}
	}
	rate := func(m *mode) float64 { return float64(m.n) / m.elapsed.Seconds() }
	b.ReportMetric(rate(codec), "codec-instances/s")
	b.ReportMetric(rate(plainMode), "plaintext-instances/s")
	b.ReportMetric(100*(rate(plainMode)-rate(codec))/rate(plainMode), "codec-cost-%")
	report(b, "codec", codec.lat)
	report(b, "plaintext", plainMode.lat)
}

const plaintextQueue = "baton-plaintext"

var plainOnce struct {
	sync.Once
	cl  client.Client
	err error
}

// plaintextWorker starts, once per run, a worker without the codec on its
// own task queue, and returns a client without the codec.
func plaintextWorker(b *testing.B) client.Client {
	b.Helper()
	plainOnce.Do(func() {
		metrics := freePort()
		var log bytes.Buffer
		cmd := exec.Command(filepath.Join(env.bin, "worker"))
		cmd.Env = append(baseEnv(), "BATON_CODEC_PLAINTEXT=true", "BATON_TASK_QUEUE="+plaintextQueue, "BATON_METRICS_ADDRESS="+metrics)
		cmd.Dir = env.root
		cmd.Stdout, cmd.Stderr = &log, &log
		if plainOnce.err = cmd.Start(); plainOnce.err != nil {
			return
		}
		ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
		defer cancel()
		if plainOnce.err = waitHealthy(ctx, "http://"+metrics+"/healthz", &log); plainOnce.err != nil {
			return
		}
		benchCleanup = append(benchCleanup, func() { _ = cmd.Process.Signal(syscall.SIGTERM); _ = cmd.Wait() })
		plainOnce.cl, plainOnce.err = client.Dial(client.Options{HostPort: env.address, Namespace: env.namespace, Logger: quiet{}})
	})
	if plainOnce.err != nil {
		b.Fatal(plainOnce.err)
	}
	return plainOnce.cl
}

// automatedLoans runs n automated loans, 8 at a time, and returns how long
// they took.
func automatedLoans(b *testing.B, n int) time.Duration {
	var wg sync.WaitGroup
	next := atomic.Int64{}
	start := time.Now()
	for range 8 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for next.Add(1) <= int64(n) {
				benchWaitOn(b, env.client, benchLoan(b, "C-1001", 10000))
			}
		}()
	}
	wg.Wait()
	return time.Since(start)
}

// Automated loans with and without the audit store writes, side by side in
// one run: the same concurrency, the worker restarted with
// BATON_AUDIT_WRITES=activity (the writer on a regular activity, the
// alternative to its local one), then =off, then back. Each variant runs
// in two halves placed symmetrically (with, regular, without, without,
// regular, with), so a drift in the machine's load weighs on all alike. The cost is the relative loss of
// throughput (issue 11's goal: under 10%).
func BenchmarkAutomatedLoanAuditCost(b *testing.B) {
	run := func(n int) time.Duration { return automatedLoans(b, n) }
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

// Automated loans with the audit log anchoring the store (the anchor and
// the witness running beside the worker, as make dev runs them) and
// without (both stopped), in halves placed symmetrically (with, without,
// without, with). The worker attests every entry in both (its key is not
// optional; internal/auditlog's BenchmarkAttest measures that part). After
// the anchor is started again it first catches up with what was stored
// meanwhile, outside the timed runs. The cost is the relative loss of
// throughput (issue 20's goal: under 5%).
func BenchmarkAutomatedLoanAnchoringCost(b *testing.B) {
	run := func(n int) time.Duration { return automatedLoans(b, n) }
	ctx := context.Background()
	caughtUp := func() {
		st, err := auditstore.Open(ctx, env.auditDSN)
		if err != nil {
			b.Fatal(err)
		}
		defer st.Close()
		deadline := time.Now().Add(2 * time.Minute)
		for {
			var rows int64
			cerr := st.Count(ctx, &rows)
			size := checkpointSize(b)
			// Rows the anchor refused (forgeries other tests planted) are
			// never leaves.
			var refused []struct {
				Integrated bool `json:"integrated"`
			}
			if resp, err := http.Get(env.audit.logURL + "/baton/rejected"); err == nil {
				_ = json.NewDecoder(resp.Body).Decode(&refused)
				resp.Body.Close()
			}
			for _, r := range refused {
				if !r.Integrated {
					rows--
				}
			}
			if cerr == nil && size >= uint64(rows) {
				return
			}
			if time.Now().After(deadline) {
				b.Fatalf("the anchor did not catch up: %d leaves for %d entries", size, rows)
			}
			time.Sleep(200 * time.Millisecond)
		}
	}
	// CPU the anchor and the witness use while the loans of the timed
	// "with" runs go through, against the worker's: a figure the machine's
	// noise moves far less than throughput.
	var anchorCPU, stackCPU time.Duration
	withRun := func(n int) time.Duration {
		a0, s0 := procCPU(env.audit.anchor)+procCPU(env.audit.witness), harnessCPU()
		d := run(n)
		caughtUp() // the anchor's share of these loans is done
		anchorCPU += procCPU(env.audit.anchor) + procCPU(env.audit.witness) - a0
		stackCPU += harnessCPU() - s0
		return d
	}
	first, second := b.N/2, b.N-b.N/2
	run(16) // warm-up: the first loans of a run are slower whatever runs
	caughtUp()
	b.ResetTimer()
	tWith := withRun(first)
	stopAuditProcesses()
	tWithout := run(second) + run(first)
	b.StopTimer()
	sctx, cancel := context.WithTimeout(ctx, time.Minute)
	if err := startAuditProcesses(sctx); err != nil {
		b.Fatal(err)
	}
	cancel()
	caughtUp()
	b.StartTimer()
	tWith += withRun(second)
	with, without := float64(b.N)/tWith.Seconds(), float64(b.N)/tWithout.Seconds()
	cost := 100 * (without - with) / without
	perLoan := float64(anchorCPU.Microseconds()) / 1000 / float64(b.N)
	b.ReportMetric(with, "with-anchoring-instances/s")
	b.ReportMetric(without, "without-anchoring-instances/s")
	b.ReportMetric(cost, "anchoring-cost-%")
	b.ReportMetric(perLoan, "anchor+witness-cpu-ms/instance")
	share := 100 * float64(anchorCPU) / float64(max(stackCPU, 1))
	b.ReportMetric(share, "anchoring-cpu-share-%")
	fmt.Printf("automated loans, %d each, 8 at a time: %.2f/s with the audit log anchoring the store (anchor and witness running), %.2f/s without: anchoring costs %.1f%% of throughput; the anchor and witness used %.1f ms CPU per instance, %.1f%% of the whole stack's CPU (dev server, PostgreSQL, worker, simulator, clients)\n",
		b.N, with, without, cost, perLoan, share)
}

// harnessCPU is the CPU time used so far by everything the harness runs:
// this process (the benchmark's clients), its child processes (dev
// server, worker, simulator, codec server, anchor, witness) and the test
// PostgreSQL (its postmaster and backends).
func harnessCPU() time.Duration {
	self := os.Getpid()
	procs, _ := os.ReadDir("/proc")
	parents := map[int]int{}
	var pgMain []int
	for _, p := range procs {
		pid, err := strconv.Atoi(p.Name())
		if err != nil {
			continue
		}
		stat, err := os.ReadFile("/proc/" + p.Name() + "/stat")
		if err != nil {
			continue
		}
		f := strings.Fields(string(stat[bytes.LastIndexByte(stat, ')')+1:]))
		if len(f) > 1 {
			parents[pid], _ = strconv.Atoi(f[1])
		}
		if cmd, _ := os.ReadFile("/proc/" + p.Name() + "/cmdline"); env.pg != nil && bytes.Contains(cmd, []byte(env.pg.Dir)) {
			pgMain = append(pgMain, pid)
		}
	}
	var total time.Duration
	for pid, ppid := range parents {
		if pid == self || ppid == self || slices.Contains(pgMain, pid) || slices.Contains(pgMain, ppid) {
			total += pidCPU(pid)
		}
	}
	return total
}

func pidCPU(pid int) time.Duration {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		return 0
	}
	// Fields after the command (which may hold spaces) start after ')'.
	f := strings.Fields(string(b[bytes.LastIndexByte(b, ')')+1:]))
	if len(f) < 13 {
		return 0
	}
	utime, _ := strconv.ParseInt(f[11], 10, 64)
	stime, _ := strconv.ParseInt(f[12], 10, 64)
	return time.Duration(utime+stime) * time.Second / 100 // USER_HZ
}

// procCPU is the CPU time (user and system) a running process used so far,
// from /proc (0 when it is not running).
func procCPU(cmd *exec.Cmd) time.Duration {
	if cmd == nil || cmd.Process == nil {
		return 0
	}
	return pidCPU(cmd.Process.Pid)
}

// checkpointSize reads the size of the log's published checkpoint (0 when
// there is none yet).
func checkpointSize(b *testing.B) uint64 {
	resp, err := http.Get(env.audit.logURL + "/checkpoint")
	if err != nil {
		return 0
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(resp.Body)
	lines := strings.SplitN(string(body), "\n", 3)
	if resp.StatusCode != http.StatusOK || len(lines) < 2 {
		return 0
	}
	n, _ := strconv.ParseUint(lines[1], 10, 64)
	return n
}
