// Package taskinbox is the read path of the inbox: the open human tasks
// across instances, from visibility alone. Each instance's record keeps its
// open tasks in the memo (record.MemoOpenTasks) and who may act in the
// PendingRoles search attribute, so one ListWorkflowExecutions call per page
// of instances answers a listing: no query to any instance, no running worker,
// no cap. The per-instance tasks query stays for one instance's detail.
//
// A user's tasks follow humantask.MayAct, the workflow's own rule: their
// roles, tasks named to them, minus tasks they are excluded from or have
// already decided.
//
// Only tasks a Baton workflow opened are listed (Source): anyone who may
// start workflows can set any memo and search attributes on one, so the
// listing keeps to Baton's process types on Baton's task queue (where the
// record overwrites what a starter set before it does anything) and, with
// a payload codec configured, to memos that went through it.
package taskinbox

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"sort"
	"strings"
	"sync/atomic"
	"time"

	commonpb "go.temporal.io/api/common/v1"
	"go.temporal.io/api/workflowservice/v1"
	"go.temporal.io/sdk/client"
	"go.temporal.io/sdk/converter"

	"github.com/batonhq/baton/codec"
	"github.com/batonhq/baton/config"
	"github.com/batonhq/baton/humantask"
	"github.com/batonhq/baton/internal/auditstore"
	"github.com/batonhq/baton/policy"
	"github.com/batonhq/baton/process"
	"github.com/batonhq/baton/record"
)

// Task is one open task in a listing.
type Task struct {
	WorkflowID string    `json:"workflowId"`
	Process    string    `json:"process,omitempty"`
	TaskID     string    `json:"taskId"`
	Title      string    `json:"title"`
	Approvals  int       `json:"approvals"`
	Quorum     int       `json:"quorum"`
	WhoMayAct  []string  `json:"whoMayAct"`
	OpenedAt   time.Time `json:"openedAt"`
	Deadline   time.Time `json:"deadline"`
	Overdue    bool      `json:"overdue"`
	Escalated  bool      `json:"escalated"`
	// What the task read model adds (Store); visibility knows the claim
	// and priority only.
	ProcessTitle string     `json:"processTitle,omitempty"`
	Summary      string     `json:"summary,omitempty"`
	Stage        string     `json:"stage,omitempty"`
	Amount       *float64   `json:"amount,omitempty"`
	Priority     string     `json:"priority"`
	ClaimedBy    string     `json:"claimedBy,omitempty"`
	ClaimedAt    *time.Time `json:"claimedAt,omitempty"`
	Exclusive    bool       `json:"exclusive,omitempty"`
	Comments     int        `json:"comments,omitempty"`
	LastComment  string     `json:"lastComment,omitempty"`
	LastBy       string     `json:"lastCommentBy,omitempty"`
	FollowUp     *time.Time `json:"followUp,omitempty"`
	// Form names the task form's fields ("*": required to approve).
	Form []string `json:"form,omitempty"`
}

// Filter selects tasks; the zero Filter lists every open task.
type Filter struct {
	// User lists what this user may decide (humantask.MayAct); it needs
	// the Lister's Policy.
	User string
	// Role lists tasks this role may act on.
	Role string
	// Process lists one process's tasks.
	Process string
	// Overdue lists tasks past their deadline at Now.
	Overdue bool
	// Now is the time deadlines are compared with (default time.Now()).
	Now time.Time
	// Limit is the most tasks in the page; 0 lists them all.
	Limit int
	// Cursor continues a listing where the previous page ended (its Next).
	Cursor string

	// The task read model's filters (Store; visibility refuses them):
	// Task is one kind of task; MinPriority at least this priority;
	// Claimed me, none or any; AmountMin/AmountMax bound the amount;
	// Search the start of the business key or its id; FollowUp all or
	// later (default: tasks whose follow-up date has come); Sort deadline,
	// priority, age or amount.
	Task                 string
	MinPriority          int
	Claimed              string
	AmountMin, AmountMax *float64
	Search               string
	FollowUp             string
	Sort                 string
}

// storeOnly names the first filter only the task read model applies.
func (f Filter) storeOnly() string {
	switch {
	case f.Task != "":
		return "task"
	case f.MinPriority > 0:
		return "priority"
	case f.Claimed != "":
		return "claimed"
	case f.AmountMin != nil || f.AmountMax != nil:
		return "amount"
	case f.Search != "":
		return "search"
	case f.FollowUp != "":
		return "follow-up"
	case f.Sort != "" && f.Sort != "deadline":
		return "sort"
	}
	return ""
}

// Page is one page of a listing.
type Page struct {
	Tasks []Task
	// Next continues the listing; empty when this was the last page.
	Next string
}

// Lister lists open tasks page by page.
type Lister interface {
	List(ctx context.Context, f Filter) (Page, error)
}

// Counts are the counts of a filter: its tasks, those overdue, and those
// waiting for their follow-up date.
type Counts = auditstore.InboxCounts

// ErrNeedsStore refuses a filter visibility cannot apply.
var ErrNeedsStore = errors.New("needs the task read model in the audit store (audit.dsn); visibility cannot filter on it")

// Source says which instances are Baton's own: its process types on its
// task queue, and, when a payload codec is configured (Encrypted), only
// those whose memo the codec encrypted, as the worker's is: a memo written
// by a client without the key is plain, and is not listed. The zero
// Source lists every instance with an open-tasks memo.
type Source struct {
	TaskQueue string
	Types     []string
	Encrypted bool
}

// Baton is the Source of a catalog's workers on taskQueue: its processes,
// and encrypted memos unless the codec is switched off
// (temporal.codec.plaintext).
func Baton(cat *process.Catalog, taskQueue string, c config.Codec) Source {
	return Source{TaskQueue: taskQueue, Types: cat.Names(), Encrypted: !c.Plaintext}
}

// Owns reports whether an instance of workflowType on taskQueue is one the
// source lists (the web inbox opens no other).
func (s Source) Owns(workflowType, taskQueue string) bool {
	return (s.TaskQueue == "" || taskQueue == s.TaskQueue) && (len(s.Types) == 0 || slices.Contains(s.Types, workflowType))
}

// trusted reports whether a memo payload may be decoded as Baton's.
func (s Source) trusted(p *commonpb.Payload) bool {
	return !s.Encrypted || string(p.GetMetadata()[converter.MetadataEncoding]) == codec.MetadataEncoding
}

// Visibility is the Lister that reads visibility only.
type Visibility struct {
	Client    client.Client
	Namespace string
	// Source keeps the listing to Baton's own instances.
	Source Source
	// Policy is the directory, needed for Filter.User.
	Policy *policy.Policy
	// DataConverter decodes the memo: it must be the client's own (a payload
	// codec encrypts memos). Nil means the default converter.
	DataConverter converter.DataConverter
	// PageSize is the most instances one visibility call returns (default
	// 1000, the server's usual maximum).
	PageSize int

	calls atomic.Int64
}

// Calls is the number of visibility calls made so far.
func (l *Visibility) Calls() int64 { return l.calls.Load() }

// cursor is where a page ends: the visibility page it ends in, and how many
// of that page's matching tasks were already listed.
type cursor struct {
	Token []byte `json:"t,omitempty"`
	Skip  int    `json:"s,omitempty"`
}

func (c cursor) encode() string {
	b, _ := json.Marshal(c)
	return base64.RawURLEncoding.EncodeToString(b)
}

func decodeCursor(s string) (cursor, error) {
	var c cursor
	if s == "" {
		return c, nil
	}
	b, err := base64.RawURLEncoding.DecodeString(s)
	if err == nil {
		err = json.Unmarshal(b, &c)
	}
	if err != nil || c.Skip < 0 {
		return c, fmt.Errorf("cursor: not a cursor from an earlier page")
	}
	return c, nil
}

// Query is the visibility query for f: running instances with an open task
// (PendingRoles set) that f's user or role may act on, of f's process, with
// a deadline passed when f asks for overdue tasks.
func (l *Visibility) Query(f Filter) (string, error) {
	pending := record.SAPendingRoles.GetName()
	q := []string{"ExecutionStatus = 'Running'", pending + " IS NOT NULL"}
	var wanted []string
	switch {
	case f.Role != "":
		wanted = []string{f.Role}
	case f.User != "":
		if l.Policy == nil {
			return "", fmt.Errorf("user: listing a user's tasks needs the directory")
		}
		u, ok := l.Policy.Users[f.User]
		if !ok {
			return "", fmt.Errorf("user: %q is not in the directory", f.User)
		}
		wanted = append(slices.Clone(u.Roles), humantask.UserCandidate(f.User))
	}
	if len(wanted) > 0 {
		q = append(q, pending+" IN ("+quoteAll(wanted)+")")
	}
	if f.Process != "" {
		q = append(q, record.SAProcessType.GetName()+" = "+quote(f.Process))
	}
	if len(l.Source.Types) > 0 {
		q = append(q, "WorkflowType IN ("+quoteAll(l.Source.Types)+")")
	}
	if l.Source.TaskQueue != "" {
		q = append(q, "TaskQueue = "+quote(l.Source.TaskQueue))
	}
	if f.Overdue {
		q = append(q, record.SATaskDeadline.GetName()+" < "+quote(f.now().UTC().Format(time.RFC3339Nano)))
	}
	return strings.Join(q, " AND "), nil
}

func (f Filter) now() time.Time {
	if f.Now.IsZero() {
		return time.Now()
	}
	return f.Now
}

// keep applies f to one task of an instance the query returned.
func (l *Visibility) keep(f Filter, s humantask.Summary, now time.Time) bool {
	switch {
	case f.User != "" && humantask.MayAct(l.Policy, f.User, s.View()) != "":
	case f.Role != "" && !slices.Contains(s.Roles, f.Role):
	case f.Overdue && !now.After(s.Deadline):
	default:
		return true
	}
	return false
}

// List implements Lister. Tasks come in visibility's order (instances most
// recently started first), an instance's tasks together.
func (l *Visibility) List(ctx context.Context, f Filter) (Page, error) {
	if name := f.storeOnly(); name != "" {
		return Page{}, fmt.Errorf("%s: %w", name, ErrNeedsStore)
	}
	if f.Limit < 0 {
		return Page{}, fmt.Errorf("limit: %d is negative", f.Limit)
	}
	query, err := l.Query(f)
	if err != nil {
		return Page{}, err
	}
	cur, err := decodeCursor(f.Cursor)
	if err != nil {
		return Page{}, err
	}
	dc := l.DataConverter
	if dc == nil {
		dc = converter.GetDefaultDataConverter()
	}
	size := l.PageSize
	if size <= 0 {
		size = 1000
	}
	if f.Limit > 0 {
		size = min(size, f.Limit)
	}
	now := f.now()
	page := Page{Tasks: []Task{}}
	fetch := func(token []byte) <-chan fetched {
		l.calls.Add(1)
		ch := make(chan fetched, 1) // the call ends even when List returns first
		go func() {
			resp, err := l.Client.ListWorkflow(ctx, &workflowservice.ListWorkflowExecutionsRequest{
				Namespace: l.Namespace, Query: query, PageSize: int32(size), NextPageToken: token,
			})
			ch <- fetched{resp, err}
		}()
		return ch
	}
	pending := fetch(cur.Token)
	for {
		r := <-pending
		if r.err != nil {
			return Page{}, fmt.Errorf("list open tasks: %w", r.err)
		}
		resp := r.resp
		token := resp.GetNextPageToken()
		// A listing of every task wants the next page whatever this one
		// holds: ask for it now, while this one is decoded.
		if f.Limit == 0 && len(token) > 0 {
			pending = fetch(token)
		}
		matched, full := 0, false
		for _, e := range resp.GetExecutions() {
			if !l.Source.Owns(e.GetType().GetName(), e.GetTaskQueue()) {
				continue
			}
			var open []humantask.Summary
			if p, ok := e.GetMemo().GetFields()[record.MemoOpenTasks]; ok {
				// A memo that is not the codec's, or does not decrypt
				// (another key, altered), is not Baton's: not listed,
				// and it does not stop the listing of the others.
				if !l.Source.trusted(p) || dc.FromPayload(p, &open) != nil {
					continue
				}
			}
			var process string
			if p, ok := e.GetSearchAttributes().GetIndexedFields()[record.SAProcessType.GetName()]; ok {
				_ = converter.GetDefaultDataConverter().FromPayload(p, &process)
			}
			for _, s := range open {
				if !l.keep(f, s, now) {
					continue
				}
				matched++
				if matched <= cur.Skip {
					continue
				}
				if full {
					// One more task than the page holds: the next page
					// starts with it, in this visibility page.
					page.Next = cursor{Token: cur.Token, Skip: matched - 1}.encode()
					return page, nil
				}
				page.Tasks = append(page.Tasks, taskOf(e.GetExecution().GetWorkflowId(), process, s, now))
				full = f.Limit > 0 && len(page.Tasks) == f.Limit
			}
		}
		if len(token) == 0 {
			return page, nil
		}
		cur = cursor{Token: token}
		if full {
			page.Next = cur.encode()
			return page, nil
		}
		if f.Limit > 0 {
			pending = fetch(token)
		}
	}
}

// fetched is one visibility page, or why there is none.
type fetched struct {
	resp *workflowservice.ListWorkflowExecutionsResponse
	err  error
}

// All lists every task f selects, earliest deadline first.
func (l *Visibility) All(ctx context.Context, f Filter) ([]Task, error) {
	f.Limit, f.Cursor = 0, ""
	p, err := l.List(ctx, f)
	if err != nil {
		return nil, err
	}
	SortByDeadline(p.Tasks)
	return p.Tasks, nil
}

// SortByDeadline orders tasks earliest deadline first (stable).
func SortByDeadline(tasks []Task) {
	sort.SliceStable(tasks, func(i, j int) bool { return tasks[i].Deadline.Before(tasks[j].Deadline) })
}

func taskOf(workflowID, process string, s humantask.Summary, now time.Time) Task {
	t := Task{
		WorkflowID: workflowID, Process: process, TaskID: s.ID, Title: s.Title, Approvals: s.Approvals, Quorum: s.Quorum,
		WhoMayAct: s.View().WhoMayAct(), OpenedAt: s.Opened, Deadline: s.Deadline, Overdue: now.After(s.Deadline), Escalated: s.Escalated,
		Priority: policy.PriorityName(s.Priority), FollowUp: s.FollowUp, Form: s.Fields,
	}
	if c := s.Claim; c != nil {
		at := c.At
		t.ClaimedBy, t.ClaimedAt, t.Exclusive = c.By, &at, c.Exclusive
	}
	return t
}

// IsCandidate reports whether user is among t's candidates (named, or by
// role), whatever their exclusions and earlier votes: who may see a task's
// page. Whether they may decide it is humantask.MayAct.
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

func quote(s string) string { return "'" + strings.ReplaceAll(s, "'", "") + "'" }

func quoteAll(ss []string) string {
	out := make([]string, len(ss))
	for i, s := range ss {
		out[i] = quote(s)
	}
	return strings.Join(out, ", ")
}

// Due renders a deadline relative to now: "in 45m", "in 47h05m", or, once
// passed, the time since followed by late ("3h00m ago", "3h00m overdue").
// The starter's table and the web inbox's list share it.
func Due(t, now time.Time, late string) string {
	d := t.Sub(now).Round(time.Minute)
	switch {
	case d >= 0 && d < time.Hour:
		return fmt.Sprintf("in %dm", int(d.Minutes()))
	case d >= 0:
		return fmt.Sprintf("in %dh%02dm", int(d.Hours()), int(d.Minutes())%60)
	default:
		return fmt.Sprintf("%dh%02dm %s", int(-d.Hours()), int(-d.Minutes())%60, late)
	}
}
