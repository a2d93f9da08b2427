// Package taskinbox is the read path of a user's inbox: the open human
// tasks a user may decide, by the same rules as `starter tasks --user` (their
// roles, tasks named to them, minus tasks they are excluded from or have
// already decided).
//
// Lister is the seam: the web inbox depends on it only. QueryLister, today's
// implementation, finds candidate instances through the PendingRoles search
// attribute and asks each for its tasks (the starter's approach); a
// visibility-only read model can replace it without touching its callers.
package taskinbox

import (
	"context"
	"fmt"
	"slices"
	"sort"
	"strings"
	"sync"
	"time"

	"go.temporal.io/api/workflowservice/v1"
	"go.temporal.io/sdk/client"

	"baton/policy"
	"baton/workflows/humantask"
)

// Task is one open task a user may decide.
type Task struct {
	WorkflowID string    `json:"workflowId"`
	TaskID     string    `json:"taskId"`
	Title      string    `json:"title"`
	Approvals  int       `json:"approvals"`
	Quorum     int       `json:"quorum"`
	WhoMayAct  []string  `json:"whoMayAct"`
	Deadline   time.Time `json:"deadline"`
	Escalated  bool      `json:"escalated"`
}

// Overdue reports whether the task is past its deadline at now.
func (t Task) Overdue(now time.Time) bool { return now.After(t.Deadline) }

// Lister lists the open tasks a user may decide, earliest deadline first.
type Lister interface {
	OpenTasksFor(ctx context.Context, user string) ([]Task, error)
}

// IsCandidate reports whether user is among t's candidates (named, or by
// role), whatever their exclusions and earlier votes.
func IsCandidate(p *policy.Policy, user string, t humantask.TaskView) bool {
	if slices.Contains(t.Users, user) {
		return true
	}
	for _, r := range t.Roles {
		if p.HasRole(user, r) {
			return true
		}
	}
	return false
}

// PendingFor is what PendingRoles holds for tasks user may act on: their
// roles and "user:<id>".
func PendingFor(p *policy.Policy, user string) []string {
	return append(slices.Clone(p.Users[user].Roles), humantask.UserCandidate(user))
}

// QueryLister finds instances through visibility (PendingRoles) and queries
// each for its tasks, eight at a time. It needs a running worker and costs
// one query per instance; Limit caps the instances considered.
type QueryLister struct {
	Client    client.Client
	Namespace string
	Policy    *policy.Policy
	// Limit is the most instances read from visibility (default 500).
	Limit int
}

// OpenTasksFor implements Lister.
func (l *QueryLister) OpenTasksFor(ctx context.Context, user string) ([]Task, error) {
	if _, ok := l.Policy.Users[user]; !ok {
		return nil, fmt.Errorf("user %q is not in the directory", user)
	}
	ids, err := l.instances(ctx, PendingFor(l.Policy, user))
	if err != nil {
		return nil, err
	}
	perInstance, err := l.queryTasks(ctx, ids)
	if err != nil {
		return nil, err
	}
	var out []Task
	for i, id := range ids {
		for _, t := range perInstance[i] {
			if t.State != humantask.StateOpen || humantask.MayAct(l.Policy, user, t) != "" {
				continue
			}
			out = append(out, Task{
				WorkflowID: id, TaskID: t.ID, Title: t.Title, Approvals: t.Approvals, Quorum: t.Quorum,
				WhoMayAct: t.WhoMayAct(), Deadline: t.Deadline, Escalated: t.Escalated,
			})
		}
	}
	sort.SliceStable(out, func(i, j int) bool { return out[i].Deadline.Before(out[j].Deadline) })
	return out, nil
}

func (l *QueryLister) instances(ctx context.Context, pending []string) ([]string, error) {
	quoted := make([]string, len(pending))
	for i, w := range pending {
		quoted[i] = "'" + strings.ReplaceAll(w, "'", "") + "'"
	}
	query := "ExecutionStatus = 'Running' AND PendingRoles IN (" + strings.Join(quoted, ", ") + ")"
	limit := l.Limit
	if limit <= 0 {
		limit = 500
	}
	var ids []string
	var token []byte
	for len(ids) < limit {
		resp, err := l.Client.ListWorkflow(ctx, &workflowservice.ListWorkflowExecutionsRequest{
			Namespace: l.Namespace, Query: query, PageSize: int32(min(limit, 1000)), NextPageToken: token,
		})
		if err != nil {
			return nil, fmt.Errorf("list instances: %w", err)
		}
		for _, e := range resp.GetExecutions() {
			if len(ids) < limit {
				ids = append(ids, e.GetExecution().GetWorkflowId())
			}
		}
		if token = resp.GetNextPageToken(); len(token) == 0 {
			break
		}
	}
	return ids, nil
}

// queryTasks asks each instance for its tasks, eight at a time. A failure
// fails the listing rather than silently hide tasks.
func (l *QueryLister) queryTasks(ctx context.Context, ids []string) ([][]humantask.TaskView, error) {
	out := make([][]humantask.TaskView, len(ids))
	errs := make([]error, len(ids))
	sem := make(chan struct{}, 8)
	var wg sync.WaitGroup
	for i, id := range ids {
		wg.Add(1)
		sem <- struct{}{}
		go func() {
			defer wg.Done()
			defer func() { <-sem }()
			qctx, cancel := context.WithTimeout(ctx, 15*time.Second)
			defer cancel()
			v, err := l.Client.QueryWorkflow(qctx, id, "", humantask.QueryTasks)
			if err == nil {
				err = v.Get(&out[i])
			}
			if err != nil {
				errs[i] = fmt.Errorf("%s: tasks query: %w", id, err)
			}
		}()
	}
	wg.Wait()
	for _, err := range errs {
		if err != nil {
			return nil, err
		}
	}
	return out, nil
}
