package integration

import (
	"context"
	"encoding/json"
	"net/http"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"go.temporal.io/api/enums/v1"
	"go.temporal.io/api/operatorservice/v1"
	"go.temporal.io/api/workflowservice/v1"
	"google.golang.org/protobuf/types/known/durationpb"

	"github.com/batonhq/baton/config"
	"github.com/batonhq/baton/process"
	"github.com/batonhq/baton/record"
	"github.com/batonhq/baton/tclient"
)

func TestWorkerIsHealthyAndAnswersPing(t *testing.T) {
	resp, err := http.Get(env.healthURL)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("/healthz = %d", resp.StatusCode)
	}

	r := runBin(t, "starter", "ping", "-o", "json")
	if r.code != 0 {
		t.Fatalf("starter ping exit %d: %s", r.code, r.stderr)
	}
	var res process.PingResult
	if err := json.Unmarshal([]byte(r.stdout), &res); err != nil {
		t.Fatalf("ping output %q: %v", r.stdout, err)
	}
	dev, err := config.LoadPolicy("../config/policy.yaml", nil)
	if err != nil {
		t.Fatal(err)
	}
	if res.PolicyVersion != dev.Version || res.Users != len(dev.Users) {
		t.Errorf("ping = %+v, want the development policy's version %s and %d users", res, dev.Version, len(dev.Users))
	}
	mustContain(t, "worker log", env.workerLog.String(), `"policyVersion":"`+res.PolicyVersion+`"`, "worker polling")
}

func TestSearchAttributesRegistered(t *testing.T) {
	ctx := context.Background()
	resp, err := env.client.OperatorService().ListSearchAttributes(ctx, &operatorservice.ListSearchAttributesRequest{Namespace: env.namespace})
	if err != nil {
		t.Fatal(err)
	}
	for name, typ := range record.SearchAttributes() {
		if got, ok := resp.GetCustomAttributes()[name]; !ok || got != typ {
			t.Errorf("%s: got %v (present %v), want %v", name, got, ok, typ)
		}
	}
}

// The worker creates missing attributes on a namespace that lacks them (a
// real cluster), and a second run changes nothing.
func TestEnsureSearchAttributesCreatesMissingOnes(t *testing.T) {
	ctx := context.Background()
	ns := uniq("ensure-sa")
	_, err := env.client.WorkflowService().RegisterNamespace(ctx, &workflowservice.RegisterNamespaceRequest{
		Namespace: ns, WorkflowExecutionRetentionPeriod: durationpb.New(24 * time.Hour),
	})
	if err != nil {
		t.Fatal(err)
	}
	cl, err := tclient.Dial(ctx, config.Temporal{Address: env.address, Namespace: ns, Codec: config.Codec{KeyFile: env.keyFile}}, tclient.Options{Logger: quiet{}})
	if err != nil {
		t.Fatal(err)
	}
	defer cl.Close()
	want := map[string]enums.IndexedValueType{
		"BatonProbeKeyword": enums.INDEXED_VALUE_TYPE_KEYWORD,
		"BatonProbeList":    enums.INDEXED_VALUE_TYPE_KEYWORD_LIST,
	}
	added, err := tclient.EnsureSearchAttributes(ctx, cl, ns, want)
	if err != nil || len(added) != 2 {
		t.Fatalf("first ensure: added %v, err %v", added, err)
	}
	added, err = tclient.EnsureSearchAttributes(ctx, cl, ns, want)
	if err != nil || len(added) != 0 {
		t.Fatalf("second ensure: added %v, err %v; want nothing added", added, err)
	}
	clash := map[string]enums.IndexedValueType{"BatonProbeKeyword": enums.INDEXED_VALUE_TYPE_DATETIME}
	if _, err := tclient.EnsureSearchAttributes(ctx, cl, ns, clash); err == nil {
		t.Error("a type clash must be reported")
	}
}

func TestWorkerExitsWithOneLineOnBadConfigOrServer(t *testing.T) {
	cases := []struct {
		env  []string
		want string
	}{
		{[]string{"BATON_LOG_LEVEL=loud"}, `worker: log.level: "loud" is not one of debug, info, warn, error` + "\n"},
		{[]string{"TEMPORAL_ADDRESS=" + freePort(), "BATON_METRICS_ADDRESS="}, "cannot reach Temporal at"},
		{[]string{"BATON_POLICY_FILE=/nonexistent/policy.yaml"}, "policy: read /nonexistent/policy.yaml"},
	}
	for _, tc := range cases {
		r := runWorkerOnce(t, tc.env...)
		if r.code == 0 {
			t.Errorf("%v: exit 0, want failure", tc.env)
		}
		mustContain(t, "stderr", r.stderr, tc.want)
	}
}

func TestStarterUnreachableServerIsOneClearLine(t *testing.T) {
	r := runBin(t, "starter", "ping", "--address", freePort())
	if r.code != 1 {
		t.Errorf("exit %d, want 1", r.code)
	}
	mustContain(t, "stderr", r.stderr, "cannot reach Temporal at", "try: make dev")
	if len(r.stderr) > 200 {
		t.Errorf("stderr is not one short line: %q", r.stderr)
	}
}

// SIGTERM stops a worker cleanly: exit 0, after saying so.
func TestWorkerStopsGracefullyOnSIGTERM(t *testing.T) {
	metrics := freePort()
	log := &lockedBuffer{}
	cmd := exec.Command(filepath.Join(env.bin, "worker"))
	cmd.Env = append(baseEnv(), "BATON_METRICS_ADDRESS="+metrics)
	cmd.Dir = env.root
	cmd.Stdout, cmd.Stderr = log, log
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	if err := waitHealthy(ctx, "http://"+metrics+"/healthz", log); err != nil {
		t.Fatal(err)
	}
	_ = cmd.Process.Signal(syscall.SIGTERM)
	done := make(chan error, 1)
	go func() { done <- cmd.Wait() }()
	select {
	case err := <-done:
		if err != nil {
			t.Fatalf("exit: %v\n%s", err, log.String())
		}
	case <-time.After(20 * time.Second):
		_ = cmd.Process.Kill()
		t.Fatal("the worker did not stop within 20s of SIGTERM")
	}
	mustContain(t, "worker log", log.String(), "stopping worker", "worker stopped")
}

// --wait for a process that waits for people can be given up; the
// instance goes on.
func TestStartWaitTimeoutLeavesTheInstanceRunning(t *testing.T) {
	id := uniq("W")
	r := runBin(t, "starter", "start", "loan", "--file", "examples/loan-manual.json", "--id", id, "--wait", "--wait-timeout", "2s")
	if r.code != 1 || !strings.Contains(r.stderr, "stopped waiting; loan-"+id+" goes on") {
		t.Fatalf("exit %d: %s", r.code, r.stderr)
	}
	starter(t, "withdraw", "loan-"+id, "--by", "C-1002")
}
