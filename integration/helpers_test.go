package integration

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"go.temporal.io/api/workflowservice/v1"

	"github.com/batonhq/baton/audit"
	"github.com/batonhq/baton/internal/simulator"
)

// uniq makes a business id unique within this test run.
func uniq(prefix string) string {
	return fmt.Sprintf("%s-%d", prefix, time.Now().UnixNano()%1_000_000_000)
}

// starter runs the starter binary and fails the test on a non-zero exit.
func starter(t *testing.T, args ...string) string {
	t.Helper()
	return starterEnv(t, nil, args...)
}

// starterEnv is starter with extra environment variables.
func starterEnv(t *testing.T, extraEnv []string, args ...string) string {
	t.Helper()
	r := runBinEnv(t, "starter", extraEnv, args...)
	if r.code != 0 {
		t.Fatalf("starter %s: exit %d\n%s%s", strings.Join(args, " "), r.code, r.stdout, r.stderr)
	}
	return r.stdout
}

// outcomeOf waits for an instance to end and returns its result fields.
func outcomeOf(t *testing.T, id string) map[string]any {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 90*time.Second)
	defer cancel()
	var res map[string]any
	if err := env.client.GetWorkflow(ctx, id, "").Get(ctx, &res); err != nil {
		t.Fatalf("%s: %v", id, err)
	}
	return res
}

// auditTrail exports the trail through the starter, as a user would, with
// extra flags (e.g. --namespace).
func auditTrail(t *testing.T, id string, extra ...string) []audit.Entry {
	t.Helper()
	var doc struct {
		Entries []audit.Entry `json:"entries"`
	}
	if err := json.Unmarshal([]byte(starter(t, append([]string{"audit", id, "-o", "json"}, extra...)...)), &doc); err != nil {
		t.Fatal(err)
	}
	return doc.Entries
}

func hasEntry(trail []audit.Entry, actor, action, detail string) bool {
	for _, e := range trail {
		if e.Actor == actor && e.Action == action && strings.Contains(e.Details, detail) {
			return true
		}
	}
	return false
}

// eventually polls cond for up to 15s: visibility is eventually consistent.
func eventually(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(15 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(200 * time.Millisecond)
	}
}

// listIDs runs a visibility query through the client.
func listIDs(t *testing.T, query string) []string {
	t.Helper()
	resp, err := env.client.ListWorkflow(context.Background(), &workflowservice.ListWorkflowExecutionsRequest{Namespace: env.namespace, Query: query})
	if err != nil {
		t.Fatalf("list %q: %v", query, err)
	}
	var ids []string
	for _, e := range resp.GetExecutions() {
		ids = append(ids, e.GetExecution().GetWorkflowId())
	}
	return ids
}

// ledger reads the simulator's side effects.
type ledgerDoc struct {
	Entries    []simulator.LedgerEntry `json:"entries"`
	Repeats    int                     `json:"repeats"`
	Duplicates map[string]int          `json:"duplicates"`
}

func ledger(t *testing.T, ref string) ledgerDoc {
	t.Helper()
	resp, err := http.Get(env.simURL + "/ledger?ref=" + ref)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var doc ledgerDoc
	if err := json.NewDecoder(resp.Body).Decode(&doc); err != nil {
		t.Fatal(err)
	}
	return doc
}

// kinds lists the ledger's side-effect kinds in order.
func (d ledgerDoc) kinds() string {
	var k []string
	for _, e := range d.Entries {
		k = append(k, e.Kind)
	}
	return strings.Join(k, " ")
}

func setFaults(t *testing.T, faults string) {
	t.Helper()
	req, _ := http.NewRequest(http.MethodPut, env.simURL+"/admin/faults", strings.NewReader(faults))
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("set faults: %d", resp.StatusCode)
	}
}

// temporalCLI runs the official temporal CLI against the test server,
// decoding and encoding payloads through Baton's codec server.
func temporalCLI(t *testing.T, args ...string) (string, error) {
	t.Helper()
	return temporalCLIRaw(t, append(args, "--codec-endpoint", env.codecURL, "--codec-auth", "Bearer "+env.codecToken)...)
}

// temporalCLIRaw runs the official temporal CLI without the codec: what
// anyone who can read the namespace sees.
func temporalCLIRaw(t *testing.T, args ...string) (string, error) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	args = append(args, "--address", env.address, "--namespace", env.namespace)
	out, err := exec.CommandContext(ctx, env.temporal, args...).CombinedOutput()
	return string(out), err
}

func writeTemp(t *testing.T, content string) string {
	t.Helper()
	f, err := os.CreateTemp(t.TempDir(), "*.json")
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	if _, err := f.WriteString(content); err != nil {
		t.Fatal(err)
	}
	return f.Name()
}

func httpGetJSON(url string) (map[string]any, error) {
	resp, err := http.Get(url)
	if err != nil {
		return nil, err
	}
	defer resp.Body.Close()
	var out map[string]any
	return out, json.NewDecoder(resp.Body).Decode(&out)
}

// saveHistory exports a finished instance's history into $BATON_RECORD_HISTORIES
// (make histories) with the official CLI, for the replay tests. Normal runs
// leave the committed histories alone. The export does not go through the
// codec server: the history is stored as the server holds it, encrypted
// with the committed test-only key the harness runs on while recording
// (workflows/testdata/test.keys), and the replay test decodes it with that key.
func saveHistory(t *testing.T, name, workflowID string) {
	t.Helper()
	dir := os.Getenv("BATON_RECORD_HISTORIES")
	if dir == "" {
		return
	}
	out, err := temporalCLIRaw(t, "workflow", "show", "--workflow-id", workflowID, "--output", "json")
	if err != nil {
		t.Fatalf("export %s: %v\n%s", workflowID, err, out)
	}
	if err := os.WriteFile(filepath.Join(dir, name+".json"), []byte(out), 0o644); err != nil {
		t.Fatal(err)
	}
}
