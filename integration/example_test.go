package integration

import (
	"context"
	"encoding/json"
	"io"
	"net/http"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/batonhq/baton/audit"
)

// buildExample builds the example module's mains (examples/purchase, its
// own Go module on Baton's public packages) into env.bin as
// purchase-worker, purchase-starter and purchase-inbox.
func buildExample(t *testing.T) string {
	t.Helper()
	dir := filepath.Join(env.root, "examples", "purchase")
	for _, name := range []string{"worker", "starter", "inbox"} {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
		build := exec.CommandContext(ctx, "go", "build", "-o", filepath.Join(env.bin, "purchase-"+name), "./cmd/"+name)
		build.Dir = dir
		out, err := build.CombinedOutput()
		cancel()
		if err != nil {
			t.Fatalf("build examples/purchase/cmd/%s: %v\n%s", name, err, out)
		}
	}
	return dir
}

// decideInInbox signs in to the inbox at base as user and sends verdict on
// the task; it returns the page the inbox answers with.
func decideInInbox(t *testing.T, base, user, wf, task, verdict, comment string) string {
	t.Helper()
	c := signedInClient(t, base, user)
	page := base + "/tasks/" + wf + "/" + task
	code, body := get(t, c, page)
	m := csrfField.FindStringSubmatch(body)
	if code != http.StatusOK || m == nil {
		t.Fatalf("%s's task page %s: %d\n%s", user, page, code, body)
	}
	form := url.Values{"verdict": {verdict}, "comment": {comment}, "csrf_token": {m[1]}}
	req, _ := http.NewRequest(http.MethodPost, page+"/decide", strings.NewReader(form.Encode()))
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	req.Header.Set("Origin", base)
	req.Header.Set("Referer", page)
	resp, err := c.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return string(b)
}

// A team's own process in its own module (examples/purchase: one process
// file, its policy, mains of a few lines over the worker, starter and inbox
// packages) runs on the real stack: a small request is ordered
// automatically; a large one waits for a manager, whom the web inbox lets
// decide and the requester not; the audit trail verifies against the
// history; and the what-if replays a raised limit on what ran.
func TestPurchaseExampleModule(t *testing.T) {
	dir := buildExample(t)
	ns, dsn := newNamespace(t, "purchase")
	tmp := t.TempDir()
	key, polFile := filepath.Join(tmp, "inbox.key"), filepath.Join(tmp, "policy.yaml")
	if r := runBin(t, "purchase-inbox", "trust", "--key", key, "--create-key", "--policy", filepath.Join(dir, "policy.yaml"), "--out", polFile); r.code != 0 {
		t.Fatalf("purchase-inbox trust: %d %s", r.code, r.stderr)
	}
	team := []string{"TEMPORAL_NAMESPACE=" + ns, "BATON_AUDIT_DSN=" + dsn, "BATON_POLICY_FILE=" + polFile, "BATON_TASK_QUEUE=purchase"}
	var log lockedBuffer
	health, _ := launchWorkerBin(t, "purchase-worker", ns, &log, team...)
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	if err := waitHealthy(ctx, health, &log); err != nil {
		t.Fatal(err)
	}
	inbox := devInboxBin(t, "purchase-inbox", key, team...)
	starter := func(args ...string) string {
		t.Helper()
		r := runBinEnv(t, "purchase-starter", team, args...)
		if r.code != 0 {
			t.Fatalf("purchase-starter %v: exit %d\n%s%s", args, r.code, r.stdout, r.stderr)
		}
		return r.stdout
	}
	status := func(wf string) (st struct {
		Outcome      string           `json:"outcome"`
		HandlingPath string           `json:"handlingPath"`
		OpenTasks    []map[string]any `json:"openTasks"`
	}) {
		_ = json.Unmarshal([]byte(runBinEnv(t, "purchase-starter", team, "status", wf, "-o", "json").stdout), &st)
		return st
	}

	if out := starter("ping"); !strings.Contains(out, `worker answered on task queue "purchase"`) {
		t.Errorf("ping: %s", out)
	}
	small, large := uniq("PS"), uniq("PL")
	starter("start", "purchase", "--file", filepath.Join(dir, "examples", "small.json"), "--id", small)
	starter("start", "purchase", "--file", filepath.Join(dir, "examples", "large.json"), "--id", large)
	eventually(t, "the large request's task", func() bool { return len(status("purchase-"+large).OpenTasks) > 0 })

	if page := decideInInbox(t, inbox, "mo", "purchase-"+large, "manager-approval", "approve", ""); !strings.Contains(page, "separation of duties (the requester)") {
		t.Errorf("the requester's own approval in the inbox:\n%s", page)
	}
	if page := decideInInbox(t, inbox, "lu", "purchase-"+large, "manager-approval", "approve", "budgeted for Q3"); !strings.Contains(page, "accepted: approved") {
		t.Errorf("lu's approval in the inbox:\n%s", page)
	}
	for wf, path := range map[string]string{"purchase-" + small: "automated", "purchase-" + large: "manual"} {
		eventually(t, wf+" ordered", func() bool { st := status(wf); return st.Outcome == "ordered" && st.HandlingPath == path })
	}

	for _, wf := range []string{"purchase-" + small, "purchase-" + large} {
		if out := starter("audit", "--verify", wf); !strings.Contains(out, "chain:   intact") || !strings.Contains(out, "verified") {
			t.Errorf("audit --verify %s:\n%s", wf, out)
		}
	}
	var trail struct {
		Entries []audit.Entry `json:"entries"`
	}
	if err := json.Unmarshal([]byte(starter("audit", "purchase-"+large, "-o", "json")), &trail); err != nil {
		t.Fatal(err)
	}
	if !hasEntry(trail.Entries, "lu", audit.ActionDecisionAccepted, "signed by inbox (authenticated: dev sign-in): budgeted for Q3") ||
		!hasEntry(trail.Entries, "mo", audit.ActionDecisionRefused, "separation of duties (the requester)") {
		t.Errorf("the trail of the inbox's decisions: %+v", trail.Entries)
	}

	src, err := os.ReadFile(polFile)
	if err != nil {
		t.Fatal(err)
	}
	proposed := filepath.Join(tmp, "proposed.yaml")
	if err := os.WriteFile(proposed, []byte(strings.Replace(string(src), "autoApproveUpTo: 1000", "autoApproveUpTo: 5000", 1)), 0o644); err != nil {
		t.Fatal(err)
	}
	var rep struct {
		Processes []whatifProcess `json:"processes"`
	}
	if err := json.Unmarshal([]byte(starter("whatif", "--policy", proposed, "--since", "1h", "-o", "json")), &rep); err != nil {
		t.Fatal(err)
	}
	if len(rep.Processes) != 1 || rep.Processes[0].Process != "purchase" || rep.Processes[0].Evaluated != 2 ||
		len(rep.Processes[0].ToAutomated) != 1 || rep.Processes[0].ToAutomated[0] != "purchase-"+large {
		t.Errorf("whatif with a limit of 5,000: %+v", rep.Processes)
	}
}
