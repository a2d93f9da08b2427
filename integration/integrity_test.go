// Governance integrity (issue 20): a business key that has ended never runs
// again, a reset never acts against a decision the trail recorded, a revoked
// delegate no longer decides, nobody can put a task into someone's inbox,
// and refusals leave a bounded trace.
package integration

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/cookiejar"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/batonhq/baton/audit"

	commonpb "go.temporal.io/api/common/v1"
	"go.temporal.io/api/enums/v1"
	"go.temporal.io/api/workflowservice/v1"
	"go.temporal.io/sdk/client"

	"github.com/batonhq/baton/humantask"
	"github.com/batonhq/baton/internal/auditstore"
	"github.com/batonhq/baton/record"
)

// runIDOf is the current run of a workflow ID.
func runIDOf(t *testing.T, id string) string {
	t.Helper()
	d, err := env.client.DescribeWorkflowExecution(context.Background(), id, "")
	if err != nil {
		t.Fatal(err)
	}
	return d.GetWorkflowExecutionInfo().GetExecution().GetRunId()
}

// statusOf is the status of a workflow ID's current run and its run ID.
func statusOf(id string) (enums.WorkflowExecutionStatus, string) {
	d, err := env.client.DescribeWorkflowExecution(context.Background(), id, "")
	if err != nil {
		return 0, ""
	}
	return d.GetWorkflowExecutionInfo().GetStatus(), d.GetWorkflowExecutionInfo().GetExecution().GetRunId()
}

// storeTrail is an instance's chain in the audit store.
func storeTrail(t *testing.T, st *auditstore.Store, id string) []audit.Stored {
	t.Helper()
	recs, err := st.Trail(context.Background(), id)
	if err != nil {
		t.Fatal(err)
	}
	return recs
}

// declinedLoan is a manual loan ana rejected: its business id and key.
func declinedLoan(t *testing.T, prefix string) (app, id string) {
	t.Helper()
	app = uniq(prefix)
	id = "loan-" + app
	starter(t, "start", "loan", "--id", app, "--applicant", "C-1002", "--amount", "40000", "--term-months", "36")
	waitTask(t, id)
	starter(t, "reject", id, "--as", "ana", "--reason", "income not verified")
	if res := outcomeOf(t, id); res["outcome"] != "declined" {
		t.Fatalf("result = %v", res)
	}
	return app, id
}

// A rejected loan started again under its business key with the official
// CLI (any reuse policy): the new run refuses at once, before any side
// effect, and records the refused start; starter start says the same
// before starting. A key whose first run failed validation wrote nothing,
// so it runs.
func TestEndedBusinessKeyNeverRunsAgain(t *testing.T) {
	app, id := declinedLoan(t, "EK")
	first := runIDOf(t, id)

	input := `{"applicationId":"` + app + `","applicantId":"C-1001","amount":20000,"termMonths":36}`
	if out, err := temporalCLI(t, "workflow", "start", "--type", "loan", "--task-queue", "baton", "--workflow-id", id,
		"--id-reuse-policy", "AllowDuplicate", "--input", input); err != nil {
		t.Fatalf("temporal workflow start: %v\n%s", err, out)
	}
	var again string
	eventually(t, "the new run of "+id+" to fail", func() bool {
		s, run := statusOf(id)
		again = run
		return run != first && s == enums.WORKFLOW_EXECUTION_STATUS_FAILED
	})
	err := env.client.GetWorkflow(context.Background(), id, again).Get(context.Background(), nil)
	if err == nil || !strings.Contains(err.Error(), id+" has ended (declined") || !strings.Contains(err.Error(), "never runs again") {
		t.Errorf("the refused run's failure: %v", err)
	}
	if k := noDuplicates(t, app).kinds(); strings.Contains(k, "offer") || strings.Contains(k, "disbursement") {
		t.Errorf("ledger = %q: the refused run had side effects", k)
	}
	refused := false
	for _, r := range storeTrail(t, auditStore(t), id) {
		if r.Action == audit.ActionStartRefused && r.RunID == again && strings.Contains(r.Details, "never runs again") {
			refused = true
		}
	}
	if !refused {
		t.Errorf("the store has no start-refused entry of run %s", again)
	}
	wantExit(t, runBin(t, "starter", "start", "loan", "--file", "examples/loan-auto-approve.json", "--id", app), 1, id+" has ended (declined")

	// A first run refused at validation wrote nothing: the key is free.
	v := uniq("EV")
	if out, err := temporalCLI(t, "workflow", "start", "--type", "loan", "--task-queue", "baton", "--workflow-id", "loan-"+v,
		"--input", `{"applicationId":"`+v+`","applicantId":"C-1001","amount":0.001,"termMonths":36}`); err != nil {
		t.Fatalf("temporal workflow start: %v\n%s", err, out)
	}
	eventually(t, "the invalid start to fail", func() bool {
		s, _ := statusOf("loan-" + v)
		return s == enums.WORKFLOW_EXECUTION_STATUS_FAILED
	})
	if res := startWait(t, "loan", "loan-auto-approve.json", v); res["outcome"] != "approved" {
		t.Errorf("a key whose first run failed validation: %v", res)
	}
}

// reset resets a run to a workflow task's event without reapplying
// signals or updates, and returns the new run's ID.
func reset(t *testing.T, id, runID string, event int64) string {
	t.Helper()
	r, err := env.client.ResetWorkflowExecution(context.Background(), &workflowservice.ResetWorkflowExecutionRequest{
		Namespace:                 env.namespace,
		WorkflowExecution:         &commonpb.WorkflowExecution{WorkflowId: id, RunId: runID},
		Reason:                    "test: rewrite the history",
		WorkflowTaskFinishEventId: event,
		RequestId:                 fmt.Sprint(time.Now().UnixNano()),
		ResetReapplyExcludeTypes:  []enums.ResetReapplyExcludeType{enums.RESET_REAPPLY_EXCLUDE_TYPE_SIGNAL, enums.RESET_REAPPLY_EXCLUDE_TYPE_UPDATE},
	})
	if err != nil {
		t.Fatalf("reset %s to %d: %v", id, event, err)
	}
	return r.GetRunId()
}

// Reject a manual loan, then reset it twice to event 3 in quick
// succession: the reset run honours the recorded rejection (another
// underwriter's approval cannot disburse), and --verify reports the
// decision entry the resets dropped from the history (exit 5), however
// fast the resets came.
func TestTwoFastResetsCannotUndoARejection(t *testing.T) {
	app, id := declinedLoan(t, "R2")
	r1 := reset(t, id, runIDOf(t, id), 3)
	time.Sleep(25 * time.Millisecond)
	r2 := reset(t, id, r1, 3)

	eventually(t, "the second reset run to close its task or wait on it", func() bool {
		s, run := statusOf(id)
		if run != r2 {
			return false
		}
		if s == enums.WORKFLOW_EXECUTION_STATUS_COMPLETED {
			return true
		}
		var st record.Status
		return json.Unmarshal([]byte(runBin(t, "starter", "status", id, "-o", "json").stdout), &st) == nil && len(st.OpenTasks) > 0
	})
	ben := runBin(t, "starter", "approve", id, "--as", "ben", "--comment", "looks fine to me")
	res := outcomeOf(t, id)
	if res["outcome"] != "declined" || !strings.Contains(fmt.Sprint(res["reason"]), "ana: income not verified") {
		t.Errorf("after two resets and ben's approval (exit %d %s): %v", ben.code, ben.stderr, res)
	}
	if k := noDuplicates(t, app).kinds(); strings.Contains(k, "disbursement") {
		t.Errorf("ledger = %q: the rejected loan disbursed", k)
	}
	// A reset run's history replays: what it replayed from the runs before
	// it and what it did itself (the lookup, the honoured rejection).
	saveHistory(t, "loan-reset-honours-rejection", id)
	trail := auditTrail(t, id)
	if !hasEntry(trail, "ana", audit.ActionDecisionHonoured, "income not verified") {
		t.Errorf("no decision-honoured entry for ana's rejection")
	}

	r := runBin(t, "starter", "audit", "--verify", id, "-o", "json")
	if r.code != 5 {
		t.Fatalf("--verify after two resets: exit %d, want 5\n%s%s", r.code, r.stdout, r.stderr)
	}
	var doc struct {
		Divergences []struct{ Kind, Detail string } `json:"divergences"`
	}
	if err := json.Unmarshal([]byte(r.stdout), &doc); err != nil {
		t.Fatal(err)
	}
	if !droppedReported(doc.Divergences, "decision-accepted by ana") {
		t.Errorf("the rejection the resets dropped is not reported: %+v", doc.Divergences)
	}
}

// droppedReported reports whether --verify's divergences report an entry
// the history dropped, described by what.
func droppedReported(ds []struct{ Kind, Detail string }, what string) bool {
	return slices.ContainsFunc(ds, func(d struct{ Kind, Detail string }) bool {
		return d.Kind == "dropped-by-history" && strings.Contains(d.Detail, what)
	})
}

// A reset run whose task is not the one the trail records a decision for
// (the policy now asks two approvals where one rejection ended it) does not
// guess: the task is held for an operator, says why, and refuses
// decisions.
func TestResetOntoAChangedTaskHoldsIt(t *testing.T) {
	r := newNamespaceWorker(t, "hold")
	app := uniq("HO")
	id := "loan-" + app
	r.starter(t, "start", "loan", "--id", app, "--applicant", "C-1002", "--amount", "40000", "--term-months", "36")
	waitTask(t, id, "--namespace", r.ns)
	r.starter(t, "reject", id, "--as", "ana", "--reason", "income not verified")
	r.wait(t, id)
	r.stopWorker()
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	r.worker = spawnWorker(t, ctx, r.ns, &r.log, "BATON_AUDIT_DSN="+r.dsn, "BATON_POLICY_FILE="+policyWith(t, "quorum: 1", "quorum: 2"))
	d, err := r.client.DescribeWorkflowExecution(ctx, id, "")
	if err != nil {
		t.Fatal(err)
	}
	if _, err := r.client.ResetWorkflowExecution(ctx, &workflowservice.ResetWorkflowExecutionRequest{
		Namespace: r.ns, WorkflowExecution: &commonpb.WorkflowExecution{WorkflowId: id, RunId: d.GetWorkflowExecutionInfo().GetExecution().GetRunId()},
		Reason: "test: reset onto another policy", WorkflowTaskFinishEventId: 3, RequestId: uniq("reset"),
		ResetReapplyExcludeTypes: []enums.ResetReapplyExcludeType{enums.RESET_REAPPLY_EXCLUDE_TYPE_SIGNAL, enums.RESET_REAPPLY_EXCLUDE_TYPE_UPDATE},
	}); err != nil {
		t.Fatal(err)
	}
	var st record.Status
	eventually(t, "the reset run's task to be held", func() bool {
		st = record.Status{}
		_ = json.Unmarshal([]byte(r.starter(t, "status", id, "-o", "json")), &st)
		return len(st.OpenTasks) == 1 && st.OpenTasks[0].Held != ""
	})
	if !strings.Contains(st.OpenTasks[0].Held, "reject by ana") || !strings.Contains(st.OpenTasks[0].Held, "quorum was 1") {
		t.Errorf("held because %q", st.OpenTasks[0].Held)
	}
	wantExit(t, runBinEnv(t, "starter", []string{"BATON_AUDIT_DSN=" + r.dsn}, "approve", id, "--as", "ben", "--namespace", r.ns), 3, "held for an operator")
	if !hasEntry(auditTrail(t, id, "--namespace", r.ns), audit.SystemActor, audit.ActionTaskHeld, "quorum was 1") {
		t.Errorf("the trail does not say why the task is held")
	}
	r.starter(t, "withdraw", id, "--by", "C-1002", "--reason", "test cleanup")
}

// policyWith writes a copy of the development policy with one line
// replaced, and returns its path.
func policyWith(t *testing.T, from, to string) string {
	t.Helper()
	src, err := os.ReadFile(env.policyFile)
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(string(src), from) {
		t.Fatalf("policy fixture drifted from config/policy.yaml: %q", from)
	}
	path := filepath.Join(t.TempDir(), "policy.yaml")
	if err := os.WriteFile(path, []byte(strings.Replace(string(src), from, to, 1)), 0o644); err != nil {
		t.Fatal(err)
	}
	return path
}

// ana delegates to ben; ben loses the underwriter role and the worker
// restarts with that directory: ben's decision is refused.
func TestRevokedDelegateNoLongerDecides(t *testing.T) {
	r := newNamespaceWorker(t, "revoke")
	app := uniq("RD")
	wf := "loan-" + app
	r.starter(t, "start", "loan", "--file", "examples/loan-manual.json", "--id", app)
	waitTask(t, wf, "--namespace", r.ns)
	if out := r.starter(t, "delegate", wf, "--as", "ana", "--to", "ben"); !strings.Contains(out, "accepted: delegated to ben") {
		t.Fatalf("delegate: %s", out)
	}
	r.stopWorker()
	revoked := policyWith(t, "ben: {name: Ben Brandt,    roles: [underwriter]}", "ben: {name: Ben Brandt,    roles: [finance]}")
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	r.worker = spawnWorker(t, ctx, r.ns, &r.log, "BATON_AUDIT_DSN="+r.dsn, "BATON_POLICY_FILE="+revoked)
	wantExit(t, runBinEnv(t, "starter", []string{"BATON_AUDIT_DSN=" + r.dsn}, "approve", wf, "--as", "ben", "--namespace", r.ns), 3,
		`ben may not decide task "underwriting"`)
	r.starter(t, "withdraw", wf, "--by", "C-1002", "--reason", "test cleanup")
}

// temporalCLIIn runs the official CLI without the codec (an attacker who
// may start workflows but has no key) in namespace ns.
func temporalCLIIn(t *testing.T, ns string, args ...string) (string, error) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	out, err := exec.CommandContext(ctx, env.temporal, append(args, "--address", env.address, "--namespace", ns)...).CombinedOutput()
	return string(out), err
}

// devInbox runs the web inbox with the development sign-in in namespace ns
// (and extra environment: its audit store) and returns its URL.
func devInbox(t *testing.T, ns string, extraEnv ...string) string {
	t.Helper()
	dir := t.TempDir()
	key := filepath.Join(dir, "inbox.key")
	polFile := filepath.Join(dir, "policy.yaml")
	if r := runBin(t, "inbox", "trust", "--key", key, "--create-key", "--policy", env.policyFile, "--out", polFile); r.code != 0 {
		t.Fatalf("inbox trust: %d %s", r.code, r.stderr)
	}
	return devInboxBin(t, "inbox", key, append([]string{"TEMPORAL_NAMESPACE=" + ns, "BATON_POLICY_FILE=" + polFile}, extraEnv...)...)
}

// devInboxBin runs the inbox binary bin of env.bin with the development
// sign-in, signing with key, in the environment extraEnv adds (namespace,
// a policy that trusts key), and returns its URL.
func devInboxBin(t *testing.T, bin, key string, extraEnv ...string) string {
	t.Helper()
	listen := freePort()
	cmd := exec.Command(filepath.Join(env.bin, bin))
	cmd.Env = append(append(baseEnv(), extraEnv...), "BATON_INBOX_LISTEN="+listen,
		"BATON_INBOX_PUBLIC_URL=http://"+listen, "BATON_INBOX_SIGNING_KEY="+key, "BATON_INBOX_DEV_SIGN_IN=true")
	cmd.Env = append(cmd.Env, extraEnv...)
	cmd.Dir = env.root
	var log lockedBuffer
	cmd.Stdout, cmd.Stderr = &log, &log
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = cmd.Process.Signal(syscall.SIGTERM); _ = cmd.Wait() })
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	if err := waitHealthy(ctx, "http://"+listen+"/healthz", &log); err != nil {
		t.Fatal(err)
	}
	return "http://" + listen
}

var csrfField = regexp.MustCompile(`name="csrf_token" value="([^"]+)"`)

// signedInClient signs in to the inbox at base as user (development sign-in).
func signedInClient(t *testing.T, base, user string) *http.Client {
	t.Helper()
	jar, _ := cookiejar.New(nil)
	c := &http.Client{Jar: jar, Timeout: 30 * time.Second}
	resp, err := c.Get(base + "/login")
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	m := csrfField.FindSubmatch(body)
	if m == nil {
		t.Fatalf("no CSRF token on the login page:\n%s", body)
	}
	req, _ := http.NewRequest(http.MethodPost, base+"/dev/sign-in", strings.NewReader(url.Values{"user": {user}, "csrf_token": {string(m[1])}}.Encode()))
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	req.Header.Set("Origin", base)
	req.Header.Set("Referer", base+"/login")
	if resp, err = c.Do(req); err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("dev sign-in as %s: %s", user, resp.Status)
	}
	return c
}

func get(t *testing.T, c *http.Client, u string) (int, string) {
	t.Helper()
	resp, err := c.Get(u)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(b)
}

// Someone who may start workflows but holds no key starts one of another
// type on another task queue, and a loan, each with an openTasks memo and
// PendingRoles of their own: neither forged task is listed in ana's inbox,
// the starter's tasks, or the report's backlog, and opening the forged one
// in the web inbox is a 404 page.
func TestForgedTasksAreNotListed(t *testing.T) {
	r := newNamespaceWorker(t, "phish")
	phish := "phish-" + uniq("x")
	forged := `[{"id":"verify","title":"URGENT: re-confirm your credentials at https://evil.example","roles":["underwriter"],"users":["ana"],` +
		`"opened":"2026-01-01T00:00:00Z","deadline":"2026-01-02T00:00:00Z","approvals":0,"quorum":1}]`
	if out, err := temporalCLIIn(t, r.ns, "workflow", "start", "--type", "phish", "--task-queue", "elsewhere", "--workflow-id", phish,
		"--memo", "openTasks="+forged, "--search-attribute", `PendingRoles=["underwriter","user:ana"]`,
		"--search-attribute", `TaskDeadline="2026-01-02T00:00:00Z"`, "--search-attribute", `ProcessType="loan"`); err != nil {
		t.Fatalf("temporal workflow start: %v\n%s", err, out)
	}
	app := uniq("PH")
	if out, err := temporalCLIIn(t, r.ns, "workflow", "start", "--type", "loan", "--task-queue", "baton", "--workflow-id", "loan-"+app,
		"--input", `{"applicationId":"`+app+`","applicantId":"C-1002","amount":40000,"termMonths":36}`,
		"--memo", "openTasks="+forged, "--search-attribute", `PendingRoles=["user:ana"]`); err != nil {
		t.Fatalf("temporal workflow start: %v\n%s", err, out)
	}
	var tasks []map[string]any
	eventually(t, "the loan's own task in ana's inbox", func() bool {
		tasks = nil
		_ = json.Unmarshal([]byte(r.starter(t, "tasks", "--user", "ana", "-o", "json")), &tasks)
		for _, task := range tasks {
			if task["workflowId"] == "loan-"+app && task["taskId"] == "underwriting" {
				return true
			}
		}
		return false
	})
	for _, task := range tasks {
		if strings.Contains(fmt.Sprint(task["title"]), "URGENT") || task["workflowId"] == phish {
			t.Errorf("a forged task is listed: %v", task)
		}
	}
	var rep struct {
		Backlog []struct {
			Role      string `json:"role"`
			OpenTasks int    `json:"openTasks"`
		} `json:"backlog"`
	}
	if err := json.Unmarshal([]byte(r.starter(t, "report", "--since", "1h", "-o", "json")), &rep); err != nil {
		t.Fatal(err)
	}
	for _, b := range rep.Backlog {
		if b.Role != "underwriter" || b.OpenTasks != 1 {
			t.Errorf("backlog %s: %d open tasks; want only the loan's underwriting task", b.Role, b.OpenTasks)
		}
	}

	inbox := devInbox(t, r.ns, "BATON_AUDIT_DSN="+r.dsn)
	c := signedInClient(t, inbox, "ana")
	if code, body := get(t, c, inbox+"/"); code != http.StatusOK || strings.Contains(body, "URGENT") || !strings.Contains(body, "loan-"+app) {
		t.Errorf("ana's inbox (%d) lists a forged task or misses the loan:\n%.2000s", code, body)
	}
	if code, body := get(t, c, inbox+"/tasks/"+phish+"/verify"); code != http.StatusNotFound || !strings.Contains(body, "No such task") {
		t.Errorf("the forged task's page: %d\n%.1000s", code, body)
	}
	r.starter(t, "withdraw", "loan-"+app, "--by", "C-1002", "--reason", "test cleanup")
}

// A decision signal whose payload does not decode is recorded as a refused
// decision naming the field, not dropped.
func TestMalformedDecisionSignalIsRecorded(t *testing.T) {
	id := startOpen(t, "loan", "loan-manual.json", uniq("MS"))
	waitTask(t, id)
	if out, err := temporalCLI(t, "workflow", "signal", "--workflow-id", id, "--name", humantask.SignalDecision, "--input", `{"verdict":123}`); err != nil {
		t.Fatalf("signal: %v\n%s", err, out)
	}
	eventually(t, "the malformed signal in the trail", func() bool {
		for _, e := range auditTrail(t, id) {
			if e.Action == audit.ActionDecisionRefused && strings.Contains(e.Details, "verdict:") {
				return true
			}
		}
		return false
	})
	starter(t, "withdraw", id, "--by", "C-1002", "--reason", "test cleanup")
}

// 120 refused updates store at most the cap one by one; the rest are
// counted, and the count shows in the trail.
func TestRefusedUpdatesAreCapped(t *testing.T) {
	id := startOpen(t, "loan", "loan-manual.json", uniq("RU"))
	waitTask(t, id)
	const n = 120
	for i := range n {
		h, err := env.client.UpdateWorkflow(context.Background(), client.UpdateWorkflowOptions{
			WorkflowID: id, UpdateID: fmt.Sprintf("fay-%d", i), UpdateName: humantask.UpdateDecide,
			Args: []any{humantask.Decision{Verdict: humantask.Approve, Actor: "fay"}}, WaitForStage: client.WorkflowUpdateStageCompleted,
		})
		if err == nil {
			err = h.Get(context.Background(), nil)
		}
		if err == nil || !strings.Contains(err.Error(), "needs role underwriter") {
			t.Fatalf("update %d: %v", i, err)
		}
	}
	st := auditStore(t)
	var rows []audit.Stored
	eventually(t, "the refusals to reach the store", func() bool {
		rows = refusals(t, st, id)
		return len(rows) >= record.MaxRefusedAudited
	})
	time.Sleep(time.Second) // nothing more arrives
	rows = refusals(t, st, id)
	if len(rows) > record.MaxRefusedAudited+10 {
		t.Errorf("%d refused updates stored %d rows; want at most %d one by one and a few summaries", n, len(rows), record.MaxRefusedAudited)
	}
	counted := false
	for _, r := range rows {
		if r.Action == audit.ActionRefusedSummary && strings.Contains(r.Details, "refused updates") {
			counted = true
		}
	}
	if !counted {
		t.Errorf("the refusals beyond the cap are not counted in the trail")
	}
	starter(t, "withdraw", id, "--by", "C-1002", "--reason", "test cleanup")
}
