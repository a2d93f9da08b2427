package integration

import (
	"context"
	"encoding/json"
	"fmt"
	"slices"
	"strings"
	"testing"
	"time"

	"go.temporal.io/sdk/client"

	"github.com/batonhq/baton/codec"
	"github.com/batonhq/baton/internal/taskinbox"
	"github.com/batonhq/baton/process"
	"github.com/batonhq/baton/record"
	"github.com/batonhq/baton/workflows"
)

// startExpense starts a small expense claim (one manager-level task, the
// requester excluded) in the namespace cl serves.
func startExpense(ctx context.Context, cl client.Client, id, requester string) (string, error) {
	in := workflows.ExpenseInput{ExpenseID: id, Requester: requester, Amount: 320, Category: "travel"}
	_, err := cl.ExecuteWorkflow(ctx, client.StartWorkflowOptions{
		ID: in.Key(), TaskQueue: process.DefaultTaskQueue, StaticSummary: in.Summary(),
		TypedSearchAttributes: record.StartAttributes(workflows.ProcessExpense, in.Key()),
	}, workflows.ProcessExpense, in)
	return in.Key(), err
}

type taskPage struct {
	Tasks []taskinbox.Task `json:"tasks"`
	Next  string           `json:"next"`
}

func workflowIDs(tasks []taskinbox.Task) []string {
	var ids []string
	for _, t := range tasks {
		ids = append(ids, t.WorkflowID)
	}
	slices.Sort(ids)
	return ids
}

// The inbox lists from visibility alone: pages with a cursor over more than
// one page, the filters, a decided task gone once visibility catches up, and
// the same answers with no worker running.
func TestInboxListsFromVisibility(t *testing.T) {
	r := newNamespaceWorker(t, "list")
	ctx := context.Background()
	var byMax, byMia []string // expenses claimed by max (mia may decide) and by mia (max may)
	for i := range 7 {
		requester := "max"
		if i%2 == 1 {
			requester = "mia"
		}
		id, err := startExpense(ctx, r.client, uniq(fmt.Sprintf("L%d", i)), requester)
		if err != nil {
			t.Fatal(err)
		}
		if requester == "max" {
			byMax = append(byMax, id)
		} else {
			byMia = append(byMia, id)
		}
	}
	all := slices.Sorted(slices.Values(append(slices.Clone(byMax), byMia...)))
	list := func(args ...string) []taskinbox.Task {
		t.Helper()
		var rows []taskinbox.Task
		if err := json.Unmarshal([]byte(r.starter(t, append([]string{"tasks", "-o", "json", "--source", "visibility"}, args...)...)), &rows); err != nil {
			t.Fatal(err)
		}
		return rows
	}
	eventually(t, "seven open tasks listed", func() bool { return len(list()) == 7 })

	// Pages of three: 3 + 3 + 1, each cursor continuing where the last
	// page ended, no task twice, none missing.
	var seen []taskinbox.Task
	var pages []int
	cursor := ""
	for {
		args := []string{"tasks", "-o", "json", "--source", "visibility", "--role", "manager", "--limit", "3"}
		if cursor != "" {
			args = append(args, "--cursor", cursor)
		}
		var p taskPage
		if err := json.Unmarshal([]byte(r.starter(t, args...)), &p); err != nil {
			t.Fatal(err)
		}
		seen, pages = append(seen, p.Tasks...), append(pages, len(p.Tasks))
		if cursor = p.Next; cursor == "" || len(pages) > 5 {
			break
		}
	}
	if got := workflowIDs(seen); !slices.Equal(got, all) || !slices.Equal(pages, []int{3, 3, 1}) {
		t.Errorf("pages of 3 = %v with %v, want %v", pages, got, all)
	}
	text := r.starter(t, "tasks", "--source", "visibility", "--user", "mia", "--limit", "2")
	mustContain(t, "a page in text", text, "WORKFLOW", "next page: --limit 2 --cursor ")

	// Filters: the requester is excluded from their own claim.
	if got := workflowIDs(list("--user", "mia")); !slices.Equal(got, slices.Sorted(slices.Values(byMax))) {
		t.Errorf("mia's tasks = %v, want the claims by max %v", got, byMax)
	}
	if got := workflowIDs(list("--user", "max", "--process", "expense")); !slices.Equal(got, slices.Sorted(slices.Values(byMia))) {
		t.Errorf("max's tasks = %v, want the claims by mia %v", got, byMia)
	}
	if got := list("--role", "finance"); len(got) != 0 {
		t.Errorf("finance has %d tasks, want none", len(got))
	}
	if got := list("--process", "loan"); len(got) != 0 {
		t.Errorf("loan tasks = %v, want none", got)
	}
	if got := list("--overdue"); len(got) != 0 {
		t.Errorf("overdue tasks = %v, want none (deadlines are 72h away)", got)
	}
	res := runBin(t, "starter", "tasks", "--source", "visibility", "--limit", "2", "--cursor", "bogus", "--namespace", r.ns)
	if res.code != 2 || !strings.Contains(res.stderr, "--cursor: not a cursor from an earlier page") {
		t.Errorf("a bad cursor: exit %d, %s", res.code, res.stderr)
	}

	// A decided task leaves the list once visibility catches up.
	r.starter(t, "approve", byMax[0], "--as", "mia")
	eventually(t, "the approved task gone from mia's list", func() bool { return len(list("--user", "mia")) == len(byMax)-1 })

	// No worker: the list needs none, and asks no instance.
	r.stopWorker()
	l := &taskinbox.Visibility{Client: r.client, Namespace: r.ns, Policy: nil, PageSize: 2, DataConverter: codec.DataConverter(env.keyring)}
	start := time.Now()
	tasks, err := l.All(ctx, taskinbox.Filter{})
	if err != nil {
		t.Fatal(err)
	}
	// Pages of two: three full pages, and perhaps an empty fourth (a full
	// page comes with a token).
	if len(tasks) != 6 || l.Calls() < 3 || l.Calls() > 4 || time.Since(start) > 10*time.Second {
		t.Errorf("with no worker: %d tasks in %d visibility calls (%v), want 6 in 3 or 4", len(tasks), l.Calls(), time.Since(start))
	}
	for i := 1; i < len(tasks); i++ {
		if tasks[i].Deadline.Before(tasks[i-1].Deadline) {
			t.Errorf("not sorted by deadline: %v", tasks)
		}
	}
	if got := workflowIDs(list("--user", "max")); !slices.Equal(got, slices.Sorted(slices.Values(byMia))) {
		t.Errorf("with no worker, max's tasks = %v, want %v", got, byMia)
	}
}
