package main

import (
	"fmt"
	"slices"
	"sort"
	"strings"
	"sync"
	"text/tabwriter"
	"time"

	"github.com/spf13/cobra"

	"baton/policy"
	"baton/workflows"
	"baton/workflows/humantask"
	"baton/workflows/record"
)

// taskRow is one open task in the inbox.
type taskRow struct {
	WorkflowID string    `json:"workflowId"`
	TaskID     string    `json:"taskId"`
	Title      string    `json:"title"`
	Approvals  int       `json:"approvals"`
	Quorum     int       `json:"quorum"`
	WhoMayAct  []string  `json:"whoMayAct"`
	Deadline   time.Time `json:"deadline"`
	Overdue    bool      `json:"overdue"`
	Escalated  bool      `json:"escalated"`
}

func taskRows(id string, tasks []humantask.TaskView) []taskRow {
	var rows []taskRow
	now := time.Now()
	for _, t := range tasks {
		if t.State != humantask.StateOpen {
			continue
		}
		who := t.WhoMayAct()
		rows = append(rows, taskRow{
			WorkflowID: id, TaskID: t.ID, Title: t.Title, Approvals: t.Approvals, Quorum: t.Quorum,
			WhoMayAct: who, Deadline: t.Deadline, Overdue: now.After(t.Deadline), Escalated: t.Escalated,
		})
	}
	return rows
}

func (a *app) tasksCommand() *cobra.Command {
	var role, user, process string
	var overdue bool
	cmd := &cobra.Command{
		Use:   "tasks [--role R] [--user U] [--process P] [--overdue]",
		Short: "The inbox: open human tasks across instances",
		Long: `List open human tasks. Instances are found through the PendingRoles search
attribute and each is asked for its tasks, so a task closed a moment ago is not
shown. --user shows what that user may decide according to the directory: their
roles, tasks named to them, minus tasks they are excluded from or already decided.`,
		Example: "  starter tasks --user ana\n  starter tasks --role underwriter --overdue\n  starter tasks --process expense -o json",
		Args:    cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			cfg, err := a.config()
			if err != nil {
				return err
			}
			var pol *policy.Policy
			var wanted []string
			switch {
			case user != "":
				if pol, err = workflows.LoadPolicy(cfg.Policy.File); err != nil {
					return fmt.Errorf("--user needs the directory: %v", err)
				}
				u, ok := pol.Users[user]
				if !ok {
					return usageErr("--user: %q is not in the directory", user)
				}
				wanted = append(append(wanted, u.Roles...), humantask.UserCandidate(user))
				if role != "" {
					wanted = []string{role}
				}
			case role != "":
				wanted = []string{role}
			}
			pending := record.SAPendingRoles.GetName()
			q := []string{"ExecutionStatus = 'Running'", pending + " IS NOT NULL"}
			if len(wanted) > 0 {
				quoted := make([]string, len(wanted))
				for i, w := range wanted {
					quoted[i] = "'" + strings.ReplaceAll(w, "'", "") + "'"
				}
				q = append(q, pending+" IN ("+strings.Join(quoted, ", ")+")")
			}
			if process != "" {
				if _, ok := workflows.Lookup(process); !ok {
					return usageErr("--process: unknown process %q", process)
				}
				q = append(q, is(record.SAProcessType.GetName(), process))
			}
			instances, err := a.visibility(cmd, strings.Join(q, " AND "), 500)
			if err != nil {
				return err
			}
			perInstance := a.queryTasks(cmd, instances)
			var rows []taskRow
			for i, inst := range instances {
				var keep []humantask.TaskView
				for _, t := range perInstance[i] {
					switch {
					case t.State != humantask.StateOpen:
					case user != "" && humantask.MayAct(pol, user, t) != "":
					case role != "" && !slices.Contains(t.Roles, role):
					default:
						keep = append(keep, t)
					}
				}
				for _, r := range taskRows(inst.WorkflowID, keep) {
					if !overdue || r.Overdue {
						rows = append(rows, r)
					}
				}
			}
			sort.SliceStable(rows, func(i, j int) bool { return rows[i].Deadline.Before(rows[j].Deadline) })
			if a.jsonOutput() {
				if rows == nil {
					rows = []taskRow{}
				}
				return a.printJSON(rows)
			}
			if len(rows) == 0 {
				_, err := fmt.Fprintln(a.out, "no open tasks")
				return err
			}
			return a.printTasks(rows, time.Now())
		},
	}
	f := cmd.Flags()
	f.StringVar(&role, "role", "", "only tasks this role may act on")
	f.StringVar(&user, "user", "", "only tasks this user may decide")
	f.StringVar(&process, "process", "", "only this process")
	f.BoolVar(&overdue, "overdue", false, "only tasks past their deadline")
	return cmd
}

func (a *app) printTasks(rows []taskRow, now time.Time) error {
	w := tabwriter.NewWriter(a.out, 0, 0, 2, ' ', 0)
	fmt.Fprintln(w, "WORKFLOW\tTASK\tAPPROVALS\tWHO MAY ACT\tDUE\t")
	for _, r := range rows {
		mark := ""
		if r.Overdue {
			mark = "OVERDUE"
		} else if r.Escalated {
			mark = "escalated"
		}
		fmt.Fprintf(w, "%s\t%s\t%d of %d\t%s\t%s\t%s\n", r.WorkflowID, r.TaskID, r.Approvals, r.Quorum,
			truncate(strings.Join(r.WhoMayAct, ","), 32), due(r.Deadline, now), mark)
	}
	return w.Flush()
}

// due renders a deadline relative to now ("in 47h", "3h ago").
func due(t, now time.Time) string {
	d := t.Sub(now).Round(time.Minute)
	switch {
	case d >= 0 && d < time.Hour:
		return fmt.Sprintf("in %dm", int(d.Minutes()))
	case d >= 0:
		return fmt.Sprintf("in %dh%02dm", int(d.Hours()), int(d.Minutes())%60)
	default:
		return fmt.Sprintf("%dh%02dm ago", int(-d.Hours()), int(-d.Minutes())%60)
	}
}

func truncate(s string, n int) string {
	if len(s) <= n {
		return s
	}
	return s[:n-1] + "…"
}

// queryTasks asks each instance for its tasks, eight at a time; an instance
// that does not answer is reported on stderr and skipped.
func (a *app) queryTasks(cmd *cobra.Command, instances []listRow) [][]humantask.TaskView {
	out := make([][]humantask.TaskView, len(instances))
	errs := make([]error, len(instances))
	sem := make(chan struct{}, 8)
	var wg sync.WaitGroup
	for i, inst := range instances {
		wg.Add(1)
		sem <- struct{}{}
		go func() {
			defer wg.Done()
			defer func() { <-sem }()
			errs[i] = a.query(cmd, inst.WorkflowID, humantask.QueryTasks, &out[i])
		}()
	}
	wg.Wait()
	for _, err := range errs {
		if err != nil {
			fmt.Fprintf(a.errOut, "starter: skipping %v\n", err)
		}
	}
	return out
}
