package integration

import (
	"context"
	"encoding/json"
	"fmt"
	"maps"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"syscall"
	"testing"
	"time"

	"go.temporal.io/api/workflowservice/v1"
	"go.temporal.io/sdk/client"
	"google.golang.org/protobuf/types/known/durationpb"

	"github.com/batonhq/baton/record"
)

// clusterCtl runs scripts/cluster.sh on the cluster under test.
func clusterCtl(t *testing.T, command string) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, filepath.Join(env.root, "scripts", "cluster.sh"), command)
	cmd.Env = append(os.Environ(), "BATON_CLUSTER_DIR="+env.clusterDir)
	cmd.Dir = env.root
	start := time.Now()
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("cluster.sh %s: %v\n%s", command, err, out)
	}
	t.Logf("cluster.sh %s: %s", command, time.Since(start).Round(time.Millisecond))
}

func needCluster(t *testing.T) {
	t.Helper()
	if env.clusterDir == "" {
		t.Skip("needs a PostgreSQL-backed cluster it may restart: make test-cluster")
	}
}

// On the PostgreSQL-backed cluster, with two worker replicas: the Temporal
// server restarted, PostgreSQL itself restarted and one replica killed, all
// while orders are in flight. Every order completes and the simulated
// systems' ledger shows each side effect once.
func TestClusterSurvivesRestartsAndAKilledReplica(t *testing.T) {
	needCluster(t)
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	defer cancel()
	second := &lockedBuffer{}
	spawnWorker(t, ctx, env.namespace, second)
	// The first replica is killed below: the tests after this one get a
	// fresh one.
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
		defer cancel()
		tmp, _ := os.MkdirTemp("", "baton-worker-")
		if err := startWorker(ctx, tmp); err != nil {
			t.Errorf("restart the first replica: %v", err)
		}
	})

	setFaults(t, `{"shipping":{"latency":"3s"}}`)
	defer setFaults(t, `{}`)
	var ids []string
	for i := range 6 {
		id := uniq(fmt.Sprintf("CF%d", i))
		startOpen(t, "order", "order-straight-through.json", id)
		ids = append(ids, id)
	}
	eventually(t, "an order to reach the shipment", func() bool {
		for _, id := range ids {
			var st struct{ Stage string }
			_ = json.Unmarshal([]byte(runBin(t, "starter", "status", "order-"+id, "-o", "json").stdout), &st)
			if st.Stage == "shipment" {
				return true
			}
		}
		return false
	})

	if err := env.worker.Process.Signal(syscall.SIGKILL); err != nil {
		t.Fatal(err)
	}
	_ = env.worker.Wait()
	env.worker = nil
	clusterCtl(t, "restart-server")
	clusterCtl(t, "restart-postgres")

	for _, id := range ids {
		if res := outcomeOf(t, "order-"+id); res["outcome"] != "fulfilled" {
			t.Errorf("order-%s: result = %v", id, res)
			continue
		}
		if k := noDuplicates(t, id).kinds(); k != "reservation charge shipment" {
			t.Errorf("order-%s: ledger = %s, want each side effect once", id, k)
		}
	}
	if t.Failed() {
		t.Logf("second replica's log (tail):\n%s", tail(second.String(), 3000))
	}
}

// Two replicas started together on a namespace registered a moment ago (a
// real server does not know it yet for about a second): both wait for it,
// every attribute is created and mapped once, and an instance that sets
// them starts as soon as either replica polls. A replica started later
// reports nothing created.
func TestReplicasStartedWithANewNamespace(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	ns := uniq("replicas")
	if _, err := env.client.WorkflowService().RegisterNamespace(ctx, &workflowservice.RegisterNamespaceRequest{
		Namespace: ns, WorkflowExecutionRetentionPeriod: durationpb.New(24 * time.Hour),
	}); err != nil {
		t.Fatal(err)
	}
	logs := []*lockedBuffer{{}, {}}
	var health []string
	for _, log := range logs {
		url, _ := launchWorker(t, ns, log)
		health = append(health, url)
	}
	for i, url := range health {
		if err := waitHealthy(ctx, url, logs[i]); err != nil {
			t.Fatalf("replica %d: %v", i+1, err)
		}
	}
	id := uniq("RN")
	if out := starter(t, "start", "loan", "--file", "examples/loan-auto-approve.json", "--id", id, "--namespace", ns, "--wait"); !strings.Contains(out, "approved") {
		t.Errorf("start --wait right after the replicas poll: %s", out)
	}

	var created []string
	for i, log := range logs {
		for _, line := range strings.Split(log.String(), "\n") {
			var entry struct {
				Msg   string   `json:"msg"`
				Names []string `json:"names"`
			}
			if json.Unmarshal([]byte(line), &entry) == nil && entry.Msg == "search attributes created" {
				t.Logf("replica %d created %v", i+1, entry.Names)
				created = append(created, entry.Names...)
			}
		}
	}
	// Both may report an attribute when their adds cross: the server
	// does not say which one it applied.
	slices.Sort(created)
	created = slices.Compact(created)
	want := slices.Sorted(maps.Keys(record.SearchAttributes()))
	if !slices.Equal(created, want) {
		t.Errorf("created between the replicas: %v\nwant every attribute: %v", created, want)
	}
	late := &lockedBuffer{}
	spawnWorker(t, ctx, ns, late)
	if strings.Contains(late.String(), "search attributes created") {
		t.Errorf("a replica started after the attributes exist reports creating them:\n%s", late.String())
	}
	cl, err := client.DialContext(ctx, client.Options{HostPort: env.address, Namespace: ns, Logger: quiet{}})
	if err != nil {
		t.Fatal(err)
	}
	defer cl.Close()
	resp, err := cl.WorkflowService().DescribeNamespace(ctx, &workflowservice.DescribeNamespaceRequest{Namespace: ns})
	if err != nil {
		t.Fatal(err)
	}
	if aliases := resp.GetConfig().GetCustomSearchAttributeAliases(); len(aliases) > len(want) {
		t.Errorf("the namespace maps %d fields for %d attributes (crossed adds mapped one twice): %v", len(aliases), len(want), aliases)
	}
}
