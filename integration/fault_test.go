package integration

import (
	"context"
	"encoding/json"
	"os"
	"syscall"
	"testing"
	"time"
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
