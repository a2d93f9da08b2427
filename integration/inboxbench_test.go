package integration

import (
	"context"
	"fmt"
	"os"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"go.temporal.io/api/workflowservice/v1"
	"go.temporal.io/sdk/client"
	"google.golang.org/grpc"

	"github.com/batonhq/baton/codec"
	"github.com/batonhq/baton/internal/taskinbox"
	"github.com/batonhq/baton/record"
)

// callCounter counts the gRPC calls a client makes, by method.
type callCounter struct {
	mu    sync.Mutex
	calls map[string]int
}

func (c *callCounter) intercept(ctx context.Context, method string, req, reply any, cc *grpc.ClientConn, invoker grpc.UnaryInvoker, opts ...grpc.CallOption) error {
	c.mu.Lock()
	c.calls[method[strings.LastIndex(method, "/")+1:]]++
	c.mu.Unlock()
	return invoker(ctx, method, req, reply, cc, opts...)
}

func (c *callCounter) take() map[string]int {
	c.mu.Lock()
	defer c.mu.Unlock()
	out := c.calls
	c.calls = map[string]int{}
	return out
}

// seedOpenTasks starts n small expense claims (one open task each), 32 at a
// time, and waits until visibility lists them all.
func seedOpenTasks(b *testing.B, n int) {
	ctx := context.Background()
	start := time.Now()
	var next atomic.Int64
	var wg sync.WaitGroup
	errs := make(chan error, 32)
	for range 32 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := next.Add(1); i <= int64(n); i = next.Add(1) {
				if _, err := startExpense(ctx, env.client, fmt.Sprintf("S%d-%d", start.UnixNano()%1e9, i), []string{"max", "mia"}[i%2]); err != nil {
					errs <- err
					return
				}
			}
		}()
	}
	wg.Wait()
	close(errs)
	if err := <-errs; err != nil {
		b.Fatal(err)
	}
	started := time.Since(start)
	query := "ExecutionStatus = 'Running' AND " + record.SAPendingRoles.GetName() + " IS NOT NULL"
	for last := time.Now(); ; time.Sleep(2 * time.Second) {
		resp, err := env.client.CountWorkflow(ctx, &workflowservice.CountWorkflowExecutionsRequest{Namespace: env.namespace, Query: query})
		if err != nil {
			b.Fatal(err)
		}
		if resp.GetCount() >= int64(n) {
			break
		}
		if time.Since(last) > 30*time.Second {
			fmt.Printf("inbox bench: %d of %d tasks open after %v\n", resp.GetCount(), n, time.Since(start).Round(time.Second))
			last = time.Now()
		}
		if time.Since(start) > 30*time.Minute {
			b.Fatalf("only %d of %d tasks open after %v", resp.GetCount(), n, time.Since(start))
		}
	}
	fmt.Printf("inbox bench: seeded %d open tasks (started in %v, all open in %v)\n", n, started.Round(time.Millisecond), time.Since(start).Round(time.Second))
}

var inboxBench struct {
	once   sync.Once
	seeded bool
}

// BenchmarkInboxList seeds BATON_BENCH_INBOX_TASKS (default 10,000) open
// tasks in the default namespace (run it alone: it counts every open task
// there), stops the worker, and lists the first page (50) and all of them
// from visibility, counting the calls: the inbox asks no instance. Run with
// BATON_IT_SA_CACHE=production (make bench does) so that the dev server
// caches search-attribute metadata as a production server does.
func BenchmarkInboxList(b *testing.B) {
	n := 10_000
	if v := os.Getenv("BATON_BENCH_INBOX_TASKS"); v != "" {
		var err error
		if n, err = strconv.Atoi(v); err != nil || n <= 0 {
			b.Fatalf("BATON_BENCH_INBOX_TASKS: %q is not a positive number", v)
		}
	}
	// The benchmark function runs more than once (b.N = 1 first): seed once.
	inboxBench.once.Do(func() {
		seedOpenTasks(b, n)
		inboxBench.seeded = true
	})
	if !inboxBench.seeded {
		b.Fatal("seeding failed")
	}
	stopWorker() // a query would now fail or hang: the listing must not need one
	defer func() {
		ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
		defer cancel()
		tmp, _ := os.MkdirTemp("", "baton-worker-")
		if err := startWorker(ctx, tmp); err != nil {
			b.Errorf("restart the worker: %v", err)
		}
	}()

	counter := &callCounter{calls: map[string]int{}}
	cl, err := client.Dial(client.Options{
		HostPort: env.address, Namespace: env.namespace, Logger: quiet{},
		ConnectionOptions: client.ConnectionOptions{DialOptions: []grpc.DialOption{grpc.WithChainUnaryInterceptor(counter.intercept)}},
	})
	if err != nil {
		b.Fatal(err)
	}
	defer cl.Close()
	counter.take() // the dial's own calls
	ctx := context.Background()
	var first, all []time.Duration
	var firstCalls, allCalls map[string]int
	b.ResetTimer()
	for range b.N {
		l := &taskinbox.Visibility{Client: cl, Namespace: env.namespace, DataConverter: codec.DataConverter(env.keyring)}
		t0 := time.Now()
		p, err := l.List(ctx, taskinbox.Filter{Limit: 50})
		if err != nil {
			b.Fatal(err)
		}
		first = append(first, time.Since(t0))
		firstCalls = counter.take()
		if len(p.Tasks) != 50 || p.Next == "" {
			b.Fatalf("first page: %d tasks, next %q", len(p.Tasks), p.Next)
		}
		t0 = time.Now()
		tasks, err := l.All(ctx, taskinbox.Filter{})
		if err != nil {
			b.Fatal(err)
		}
		all = append(all, time.Since(t0))
		allCalls = counter.take()
		if len(tasks) != n {
			b.Fatalf("listed %d tasks, want %d", len(tasks), n)
		}
	}
	b.StopTimer()
	for what, calls := range map[string]map[string]int{"first page": firstCalls, "all": allCalls} {
		for method, k := range calls {
			if method != "ListWorkflowExecutions" {
				b.Errorf("%s: %d %s calls; the listing may call ListWorkflowExecutions only", what, k, method)
			}
		}
	}
	report(b, "first-page", first)
	report(b, "all", all)
	fmt.Printf("inbox bench: %d open tasks, no worker running; first page (50 tasks): p50 %s in %d ListWorkflowExecutions call(s); all %d: p50 %s in %d call(s); other calls: none\n",
		n, median(first), firstCalls["ListWorkflowExecutions"], n, median(all), allCalls["ListWorkflowExecutions"])
}

func median(d []time.Duration) time.Duration {
	s := slices.Clone(d)
	slices.Sort(s)
	return s[len(s)/2].Round(100 * time.Microsecond)
}
