package starter

import (
	"fmt"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/spf13/cobra"

	"github.com/batonhq/baton/config"
	"github.com/batonhq/baton/humantask"
	"github.com/batonhq/baton/internal/taskinbox"
	"github.com/batonhq/baton/policy"
	"github.com/batonhq/baton/textsafe"
)

// taskRows are an instance's open tasks (from its status query) as the
// inbox lists them.
func taskRows(id string, tasks []humantask.TaskView) []taskinbox.Task {
	var rows []taskinbox.Task
	now := time.Now()
	for _, t := range tasks {
		if t.State != humantask.StateOpen {
			continue
		}
		rows = append(rows, taskinbox.Task{
			WorkflowID: id, TaskID: t.ID, Title: t.Title, Approvals: t.Approvals, Quorum: t.Quorum,
			WhoMayAct: t.WhoMayAct(), OpenedAt: t.OpenedAt, Deadline: t.Deadline, Overdue: now.After(t.Deadline), Escalated: t.Escalated,
			Form: t.Form.Names(),
		})
	}
	return rows
}

// lister is the inbox's read path: visibility only, memo decoded with the
// client's data converter.
func (a *app) lister(pol *policy.Policy) (*taskinbox.Visibility, error) {
	cl, err := a.connect()
	if err != nil {
		return nil, err
	}
	// Memos are encrypted by the payload codec: decode with the client's.
	dc, err := a.dataConverter()
	if err != nil {
		return nil, err
	}
	return &taskinbox.Visibility{Client: cl, Namespace: a.cfg.Temporal.Namespace, Policy: pol, DataConverter: dc,
		Source: taskinbox.Baton(a.catalog, a.cfg.TaskQueue, a.cfg.Temporal.Codec)}, nil
}

func (a *app) tasksCommand() *cobra.Command {
	var role, user, process, cursor string
	var overdue bool
	var limit int
	cmd := &cobra.Command{
		Use:   "tasks [--role R] [--user U] [--process P] [--overdue] [--limit N [--cursor C]]",
		Short: "The inbox: open human tasks across instances",
		Long: `List open human tasks from visibility alone: each instance keeps its open
tasks in its memo and who may act in the PendingRoles search attribute, so the
listing asks no instance and needs no running worker. A task decided a moment
ago may show until visibility catches up (usually well under a second).

--user shows what that user may decide according to the directory: their
roles, tasks named to them, minus tasks they are excluded from or already
decided. Without --limit every task is listed, earliest deadline first; with
--limit N one page of at most N tasks is listed in visibility's order (newest
instance first) and the command to list the next page is printed (with -o json:
{"tasks": [...], "next": "<cursor>"}).`,
		Example: "  starter tasks --user ana\n  starter tasks --role underwriter --overdue\n  starter tasks --process expense -o json\n  starter tasks --user ana --limit 50 --cursor <from the previous page>",
		Args:    cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			cfg, err := a.config()
			if err != nil {
				return err
			}
			if limit < 0 {
				return usageErr("--limit: %d is negative", limit)
			}
			if cursor != "" && limit == 0 {
				return usageErr("--cursor: needs --limit (the page size)")
			}
			var pol *policy.Policy
			if user != "" {
				if pol, err = config.LoadPolicy(cfg.Policy.File, a.catalog.CheckPolicy); err != nil {
					return fmt.Errorf("--user needs the directory: %v", err)
				}
				if _, ok := pol.Users[user]; !ok {
					return usageErr("--user: %q is not in the directory", user)
				}
			}
			if err := a.checkProcessFlag(process); err != nil {
				return err
			}
			l, err := a.lister(pol)
			if err != nil {
				return err
			}
			f := taskinbox.Filter{User: user, Role: role, Process: process, Overdue: overdue, Limit: limit, Cursor: cursor}
			var page taskinbox.Page
			if limit == 0 {
				page.Tasks, err = l.All(cmd.Context(), f)
			} else {
				page, err = l.List(cmd.Context(), f)
			}
			if err != nil {
				if strings.HasPrefix(err.Error(), "cursor:") {
					return usageErr("--%v", err)
				}
				return fmt.Errorf("%v", rootMessage(err))
			}
			if page.Tasks == nil {
				page.Tasks = []taskinbox.Task{}
			}
			if a.jsonOutput() {
				if limit == 0 {
					return a.printJSON(page.Tasks)
				}
				return a.printJSON(map[string]any{"tasks": page.Tasks, "next": page.Next})
			}
			if len(page.Tasks) == 0 {
				fmt.Fprintln(a.out, "no open tasks")
			} else if err := a.printTasks(page.Tasks, time.Now()); err != nil {
				return err
			}
			if page.Next != "" {
				_, err = fmt.Fprintf(a.out, "next page: --limit %d --cursor %s\n", limit, page.Next)
			}
			return err
		},
	}
	f := cmd.Flags()
	f.StringVar(&role, "role", "", "only tasks this role may act on")
	f.StringVar(&user, "user", "", "only tasks this user may decide")
	f.StringVar(&process, "process", "", "only this process")
	f.BoolVar(&overdue, "overdue", false, "only tasks past their deadline")
	f.IntVar(&limit, "limit", 0, "list one page of at most this many tasks (0: all)")
	f.StringVar(&cursor, "cursor", "", "continue from the page that printed this cursor")
	return cmd
}

func (a *app) printTasks(rows []taskinbox.Task, now time.Time) error {
	w := tabwriter.NewWriter(a.out, 0, 0, 2, ' ', 0)
	fmt.Fprintln(w, "WORKFLOW\tTASK\tAPPROVALS\tWHO MAY ACT\tDUE\t\tFORM")
	for _, r := range rows {
		mark := ""
		if now.After(r.Deadline) {
			mark = "OVERDUE"
		} else if r.Escalated {
			mark = "escalated"
		}
		fmt.Fprint(w, tabRow(r.WorkflowID, r.TaskID, fmt.Sprintf("%d of %d", r.Approvals, r.Quorum),
			truncate(textsafe.Clean(strings.Join(r.WhoMayAct, ",")), 32), taskinbox.Due(r.Deadline, now, "ago"), mark,
			truncate(textsafe.Clean(dash(strings.Join(r.Form, ","))), 24)))
	}
	return w.Flush()
}

func truncate(s string, n int) string {
	if len(s) <= n {
		return s
	}
	return s[:n-1] + "…"
}
