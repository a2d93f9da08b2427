package integration

import (
	"context"
	"encoding/json"
	"os"
	"os/exec"
	"path/filepath"
	"syscall"
	"testing"
	"time"

	"go.temporal.io/sdk/client"
	"go.temporal.io/sdk/testsuite"

	"github.com/batonhq/baton/record"
)

// A worker killed in the middle of a process: another worker takes over
// after the heartbeat timeout, the instance completes, and the ledger shows
// each side effect once.
func TestWorkerKilledMidProcess(t *testing.T) {
	setFaults(t, `{"shipping":{"latency":"3s"}}`)
	defer setFaults(t, `{}`)
	id := uniq("K")
	wf := startOpen(t, "order", "order-straight-through.json", id)
	eventually(t, wf+" to reach the shipment", func() bool {
		var st struct{ Stage string }
		_ = json.Unmarshal([]byte(runBin(t, "starter", "status", wf, "-o", "json").stdout), &st)
		return st.Stage == "shipment"
	})
	if err := env.worker.Process.Signal(syscall.SIGKILL); err != nil {
		t.Fatal(err)
	}
	_ = env.worker.Wait()
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	tmp, _ := os.MkdirTemp("", "baton-worker-")
	defer os.RemoveAll(tmp)
	if err := startWorker(ctx, tmp); err != nil {
		t.Fatalf("restart worker: %v", err)
	}
	if res := outcomeOf(t, wf); res["outcome"] != "fulfilled" {
		t.Fatalf("result = %v", res)
	}
	if k := noDuplicates(t, id).kinds(); k != "reservation charge shipment" {
		t.Errorf("ledger = %s, want each side effect once", k)
	}
}

// The Temporal server restarted in the middle of a process (a file-backed
// dev server, as make dev runs): the worker reconnects, the instance
// completes, each side effect happens once.
func TestServerRestartMidProcess(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	db := filepath.Join(t.TempDir(), "temporal.db")
	addr := freePort()
	serverLog := &lockedBuffer{}
	start := func() *testsuite.DevServer {
		s, err := testsuite.StartDevServer(ctx, testsuite.DevServerOptions{
			ExistingPath: env.temporal, DBFilename: db, LogLevel: "error",
			ExtraArgs: record.DevServerArgs(), Stdout: serverLog, Stderr: serverLog,
			ClientOptions: withCodec(&client.Options{HostPort: addr, Namespace: "default", Logger: quiet{}}),
		})
		if err != nil {
			t.Fatalf("start dev server: %v\n%s", err, serverLog.String())
		}
		return s
	}
	server := start()
	defer func() { _ = server.Stop() }()

	metrics := freePort()
	workerLog := &lockedBuffer{}
	w := exec.Command(filepath.Join(env.bin, "worker"))
	w.Env = append(baseEnv(), "TEMPORAL_ADDRESS="+addr, "TEMPORAL_NAMESPACE=default", "BATON_METRICS_ADDRESS="+metrics)
	w.Dir = env.root
	w.Stdout, w.Stderr = workerLog, workerLog
	if err := w.Start(); err != nil {
		t.Fatal(err)
	}
	defer func() { _ = w.Process.Signal(syscall.SIGTERM); _ = w.Wait() }()
	if err := waitHealthy(ctx, "http://"+metrics+"/healthz", workerLog); err != nil {
		t.Fatal(err)
	}

	setFaults(t, `{"shipping":{"latency":"3s"}}`)
	defer setFaults(t, `{}`)
	id := uniq("SR")
	wf := "order-" + id
	starter(t, "start", "order", "--file", "examples/order-straight-through.json", "--id", id, "--address", addr, "--namespace", "default")
	eventually(t, wf+" to reach the shipment", func() bool {
		var st struct{ Stage string }
		_ = json.Unmarshal([]byte(runBin(t, "starter", "status", wf, "-o", "json", "--address", addr, "--namespace", "default").stdout), &st)
		return st.Stage == "shipment"
	})
	if err := server.Stop(); err != nil {
		t.Fatalf("stop dev server: %v", err)
	}
	time.Sleep(2 * time.Second)
	server = start()

	var res map[string]any
	if err := server.Client().GetWorkflow(ctx, wf, "").Get(ctx, &res); err != nil {
		t.Fatalf("%s after the restart: %v\nworker:\n%s", wf, err, tail(workerLog.String(), 3000))
	}
	if res["outcome"] != "fulfilled" {
		t.Fatalf("result = %v", res)
	}
	if k := noDuplicates(t, id).kinds(); k != "reservation charge shipment" {
		t.Errorf("ledger = %s, want each side effect once", k)
	}
}
