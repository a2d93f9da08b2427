package starter

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/spf13/cobra"
	"github.com/spf13/pflag"

	"github.com/batonhq/baton/config"
	"github.com/batonhq/baton/humantask"
	"github.com/batonhq/baton/internal/auditstore"
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

// Sources of starter tasks (beside sourceStore, the audit store).
const (
	sourceAuto       = "auto"
	sourceVisibility = "visibility"
)

// taskLister is where starter tasks lists from: the task read model in the
// audit store when it answers (every filter, sort and count), else
// visibility (--source visibility, or auto with make dev's default
// audit.dsn down), which knows the basic filters only.
func (a *app) taskLister(cmd *cobra.Command, source string, pol *policy.Policy) (taskinbox.Lister, func(), error) {
	switch source {
	case sourceAuto, sourceStore:
		st, err := a.auditStore(cmd)
		if err == nil {
			return &taskinbox.Store{Store: st, Policy: pol}, st.Close, nil
		}
		if source == sourceStore || a.auditDSNConfigured() {
			return nil, nil, fmt.Errorf("%v (or --source visibility: the open tasks from Temporal visibility, without the read model's filters)", err)
		}
		fmt.Fprintf(a.errOut, "starter: %v; the open tasks from visibility\n", err)
	case sourceVisibility:
	default:
		return nil, nil, usageErr("--source: %q is not auto, store or visibility", source)
	}
	l, err := a.lister(pol)
	return l, func() {}, err
}

// taskFlags are starter tasks' filters.
type taskFlags struct {
	role, user, process, task, priority, search, followUp, sort, source string
	overdue, mine, unclaimed                                            bool
	amountMin, amountMax                                                float64
}

func (tf *taskFlags) add(f *pflag.FlagSet) {
	f.StringVar(&tf.role, "role", "", "only tasks this role may act on")
	f.StringVar(&tf.user, "user", "", "only tasks this user may decide (substitutions in force included)")
	f.StringVar(&tf.process, "process", "", "only this process")
	f.BoolVar(&tf.overdue, "overdue", false, "only tasks past their deadline")
	f.StringVar(&tf.task, "task", "", "only this kind of task (its id, e.g. underwriting)")
	f.StringVar(&tf.priority, "priority", "", "only tasks of at least this priority: low, normal, high, urgent")
	f.BoolVar(&tf.mine, "mine", false, "only tasks --user has claimed")
	f.BoolVar(&tf.unclaimed, "unclaimed", false, "only tasks nobody has claimed")
	f.Float64Var(&tf.amountMin, "amount-min", 0, "only tasks whose amount is at least this")
	f.Float64Var(&tf.amountMax, "amount-max", 0, "only tasks whose amount is at most this")
	f.StringVar(&tf.search, "search", "", "only tasks whose business key (or its id) starts with this, e.g. A-17")
	f.StringVar(&tf.followUp, "follow-up", "", "all: also tasks waiting for their follow-up date; later: only those (default: tasks due now)")
	f.StringVar(&tf.sort, "sort", "", "deadline (default), priority, age or amount")
	f.StringVar(&tf.source, "source", sourceAuto, "auto: the audit store's task read model, visibility when make dev's store is down; store; visibility")
}

// filter checks the flags and makes the listing's filter.
func (tf *taskFlags) filter(cmd *cobra.Command) (taskinbox.Filter, error) {
	f := taskinbox.Filter{User: tf.user, Role: tf.role, Process: tf.process, Overdue: tf.overdue, Task: tf.task, Search: tf.search, Sort: tf.sort}
	if tf.priority != "" {
		p, err := policy.ParsePriority(tf.priority)
		if err != nil {
			return f, usageErr("--priority: %v", err)
		}
		f.MinPriority = p
	}
	switch {
	case tf.mine && tf.unclaimed:
		return f, usageErr("--mine and --unclaimed: pick one")
	case tf.mine && tf.user == "":
		return f, usageErr("--mine: needs --user (whose claims)")
	case tf.mine:
		f.Claimed = auditstore.ClaimedByMe
	case tf.unclaimed:
		f.Claimed = auditstore.Unclaimed
	}
	if cmd.Flags().Changed("amount-min") {
		f.AmountMin = &tf.amountMin
	}
	if cmd.Flags().Changed("amount-max") {
		f.AmountMax = &tf.amountMax
	}
	switch tf.followUp {
	case "", auditstore.FollowUpAll, auditstore.FollowUpLater:
		f.FollowUp = tf.followUp
	default:
		return f, usageErr("--follow-up: %q is not all or later", tf.followUp)
	}
	if tf.sort != "" && !slices.Contains(auditstore.Sorts, tf.sort) {
		return f, usageErr("--sort: %q is not one of %s", tf.sort, strings.Join(auditstore.Sorts, ", "))
	}
	return f, nil
}

func (a *app) tasksCommand() *cobra.Command {
	var tf taskFlags
	var cursor string
	var limit int
	var count bool
	cmd := &cobra.Command{
		Use:   "tasks [filters] [--sort S] [--count] [--limit N [--cursor C]]",
		Short: "The inbox: open human tasks across instances",
		Long: `List open human tasks without asking any instance or needing a worker: from
the task read model in the audit store (kept from the audit trail as it is
written), or from Temporal visibility when no store answers (--source).

--user shows what that user may decide: their roles, tasks named to them,
tasks of the users they stand in for while those are away, minus tasks they
are excluded from or already decided. The read model also filters by kind of
task, priority, claim (--mine, --unclaimed), amount, business key (--search)
and follow-up date (tasks waiting for theirs are left out unless
--follow-up all or later), and sorts by deadline, priority, age or amount.
--count prints the counts of the filter ("412 tasks, 37 overdue").

Without --limit every task is listed; with --limit N one page of at most N
tasks is listed and the command for the next page printed (with -o json:
{"tasks": [...], "next": "<cursor>"}). Cursors are stable: a task opening
meanwhile does not shift the pages.`,
		Example: "  starter tasks --user ana\n  starter tasks --user ana --count\n  starter tasks --role underwriter --overdue --sort priority\n" +
			"  starter tasks --user ana --unclaimed --amount-min 100000 --sort amount\n  starter tasks --search A-17\n  starter tasks --user ana --limit 50 --cursor <from the previous page>",
		Args: cobra.NoArgs,
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
			f, err := tf.filter(cmd)
			if err != nil {
				return err
			}
			f.Limit, f.Cursor = limit, cursor
			var pol *policy.Policy
			if tf.user != "" {
				if pol, err = config.LoadPolicy(cfg.Policy.File, a.catalog.CheckPolicy); err != nil {
					return fmt.Errorf("--user needs the directory: %v", err)
				}
				if _, ok := pol.Users[tf.user]; !ok {
					return usageErr("--user: %q is not in the directory", tf.user)
				}
			}
			if err := a.checkProcessFlag(tf.process); err != nil {
				return err
			}
			l, done, err := a.taskLister(cmd, tf.source, pol)
			if err != nil {
				return err
			}
			defer done()
			if count {
				return a.printCounts(cmd, l, f)
			}
			var page taskinbox.Page
			if limit == 0 {
				if v, ok := l.(*taskinbox.Visibility); ok {
					page.Tasks, err = v.All(cmd.Context(), f)
				} else {
					page, err = l.List(cmd.Context(), f)
				}
			} else {
				page, err = l.List(cmd.Context(), f)
			}
			if err != nil {
				var name string
				switch {
				case strings.HasPrefix(err.Error(), "cursor:"):
					return usageErr("--%v", err)
				case errors.Is(err, taskinbox.ErrNeedsStore):
					name, _, _ = strings.Cut(err.Error(), ":")
					return usageErr("--%s: %v", name, taskinbox.ErrNeedsStore)
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
	tf.add(f)
	f.IntVar(&limit, "limit", 0, "list one page of at most this many tasks (0: all)")
	f.StringVar(&cursor, "cursor", "", "continue from the page that printed this cursor")
	f.BoolVar(&count, "count", false, "print the filter's counts: tasks, overdue, waiting for their follow-up date")
	return cmd
}

// printCounts prints the counts of f (the read model's).
func (a *app) printCounts(cmd *cobra.Command, l taskinbox.Lister, f taskinbox.Filter) error {
	c, ok := l.(interface {
		Count(context.Context, taskinbox.Filter) (taskinbox.Counts, error)
	})
	if !ok {
		return usageErr("--count: %v", taskinbox.ErrNeedsStore)
	}
	n, err := c.Count(cmd.Context(), f)
	if err != nil {
		return fmt.Errorf("%v", rootMessage(err))
	}
	if a.jsonOutput() {
		return a.printJSON(n)
	}
	_, err = fmt.Fprintln(a.out, CountsText(n))
	return err
}

// CountsText is a filter's counts for people: "412 tasks, 37 overdue; 5
// waiting for their follow-up date".
func CountsText(c taskinbox.Counts) string {
	s := plural(c.Tasks, "task") + ", " + fmt.Sprint(c.Overdue) + " overdue"
	if c.Later > 0 {
		s += "; " + fmt.Sprint(c.Later) + " waiting for their follow-up date"
	}
	return s
}

func plural(n int, what string) string {
	if n == 1 {
		return "1 " + what
	}
	return fmt.Sprintf("%d %ss", n, what)
}

func (a *app) printTasks(rows []taskinbox.Task, now time.Time) error {
	w := tabwriter.NewWriter(a.out, 0, 0, 2, ' ', 0)
	// At most 100 columns (bytes) for a usual row: VOTES are the
	// approvals so far of those needed; the priority (when not normal),
	// the claim's holder and what is late share the unnamed column; -o
	// json has every field (the amount, the claim's time).
	fmt.Fprintln(w, "WORKFLOW\tTASK\tVOTES\tWHO MAY ACT\tDUE\t\tFORM")
	for _, r := range rows {
		mark := ""
		if now.After(r.Deadline) {
			mark = "OVERDUE"
		} else if r.Escalated {
			mark = "escalated"
		}
		var note []string
		if r.Priority != "" && r.Priority != "normal" {
			note = append(note, r.Priority)
		}
		if r.ClaimedBy != "" {
			note = append(note, "@"+r.ClaimedBy)
		}
		if mark != "" {
			note = append(note, mark)
		}
		fmt.Fprint(w, tabRow(r.WorkflowID, r.TaskID, fmt.Sprintf("%d of %d", r.Approvals, r.Quorum),
			truncate(textsafe.Clean(strings.Join(r.WhoMayAct, ",")), 32), taskinbox.Due(r.Deadline, now, "ago"), strings.Join(note, " "),
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
