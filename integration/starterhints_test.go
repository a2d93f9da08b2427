package integration

import (
	"context"
	"encoding/json"
	"strings"
	"testing"
	"time"

	"go.temporal.io/sdk/client"
)

// A list cut at its limit says so, and --all lists everything; the JSON
// stays one document (the note goes to standard error).
func TestListSaysWhenMoreExist(t *testing.T) {
	for i := 0; i < 3; i++ {
		starter(t, "start", "expense", "--requester", "max", "--amount", "12", "--category", "travel", "--description", "taxi")
	}
	r := runBinEnv(t, "starter", nil, "list", "--limit", "2")
	if r.code != 0 || strings.Count(r.stdout, "\n") != 3 || !strings.Contains(r.stderr, "showing 2 of more; --limit N or --all") {
		t.Errorf("list --limit 2: exit %d\n%s\nstderr %q", r.code, r.stdout, r.stderr)
	}
	r = runBinEnv(t, "starter", nil, "list", "--limit", "2", "-o", "json")
	var rows []map[string]any
	if err := json.Unmarshal([]byte(r.stdout), &rows); err != nil || len(rows) != 2 || !strings.Contains(r.stderr, "showing 2 of more") {
		t.Errorf("list --limit 2 -o json: %v, %d rows, stderr %q", err, len(rows), r.stderr)
	}
	r = runBinEnv(t, "starter", nil, "list", "--all", "-o", "json")
	if err := json.Unmarshal([]byte(r.stdout), &rows); err != nil || len(rows) < 3 || r.stderr != "" {
		t.Errorf("list --all: %v, %d rows, stderr %q", err, len(rows), r.stderr)
	}
	r = runBinEnv(t, "starter", nil, "list", "--limit", "1000000")
	if r.code != 0 || r.stderr != "" {
		t.Errorf("a list that fits its limit: exit %d, stderr %q", r.code, r.stderr)
	}
}

// A status query nobody answers in time (no worker on the instance's task
// queue, or one too busy) says what timed out and what to try, not
// "context deadline exceeded".
func TestStatusWithoutAnAnswerSaysWhatToTry(t *testing.T) {
	app := uniq("NW")
	id := "loan-" + app
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	_, err := env.client.ExecuteWorkflow(ctx, client.StartWorkflowOptions{ID: id, TaskQueue: "nobody-polls-" + app},
		"loan", map[string]any{"applicationId": app, "applicantId": "C-1002", "amount": 40000, "termMonths": 36})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = env.client.TerminateWorkflow(context.Background(), id, "", "test done") })
	r := runBinEnv(t, "starter", nil, "status", id, "--timeout", "2s")
	if r.code != 1 {
		t.Fatalf("status with no worker: exit %d\n%s%s", r.code, r.stdout, r.stderr)
	}
	for _, want := range []string{id + ": no answer to the status query within 2s", "starter ping", "retry with --timeout 1m"} {
		if !strings.Contains(r.stderr, want) {
			t.Errorf("status with no worker: %q lacks %q", r.stderr, want)
		}
	}
	if strings.Contains(r.stderr, "context deadline exceeded") || strings.Count(strings.TrimSpace(r.stderr), "\n") > 0 {
		t.Errorf("not one plain line: %q", r.stderr)
	}
}
