package starter

import (
	"context"
	"fmt"
	"io"
	"math"
	"strings"
	"text/tabwriter"
	"time"
	"unicode/utf8"

	"github.com/spf13/cobra"
	"go.temporal.io/api/enums/v1"
	"go.temporal.io/api/workflowservice/v1"
	"go.temporal.io/sdk/converter"

	"github.com/batonhq/baton/audit"
	"github.com/batonhq/baton/codec"
	"github.com/batonhq/baton/humantask"
	"github.com/batonhq/baton/process"
	"github.com/batonhq/baton/record"
	"github.com/batonhq/baton/textsafe"
)

// query runs a query on one instance with a bounded wait. It is safe for
// concurrent use once the client is connected.
func (a *app) query(cmd *cobra.Command, id, name string, out any) error {
	cl, err := a.connect()
	if err != nil {
		return err
	}
	timeout := a.queryTimeout
	if timeout <= 0 {
		timeout = defaultQueryTimeout
	}
	ctx, cancel := context.WithTimeout(cmd.Context(), timeout)
	defer cancel()
	v, err := cl.QueryWorkflow(ctx, id, "", name)
	if err != nil {
		if timedOut(err) {
			retry := "retry"
			if cmd.Flags().Lookup("timeout") != nil {
				retry = "retry with --timeout 1m"
			}
			return fmt.Errorf("%s: no answer to the %s query within %s: a worker answers queries, is one polling task queue %q (starter ping checks)? A busy worker answers later: %s; starter list shows the instance without asking it",
				id, name, timeout, a.cfg.TaskQueue, retry)
		}
		return instanceErr(id, err)
	}
	return v.Get(out)
}

// defaultQueryTimeout is how long a query waits for the instance's worker.
const defaultQueryTimeout = 15 * time.Second

// statusView joins the status query with what the server knows.
type statusView struct {
	record.Status
	WorkflowID string `json:"workflowId"`
	Execution  string `json:"execution"`
	URL        string `json:"url"`
	// Failure is how an execution that did not complete ended, from its
	// history: the failure (an instance without a record failed at input
	// validation), or who terminated it and why.
	Failure string `json:"failure,omitempty"`
}

// noRecord reports a query the instance cannot answer because it has no
// record: it closed before registering its queries (it failed at input
// validation, or was started with input its workflow could not decode).
func noRecord(err error) bool {
	// a.query has already turned the server's QueryFailed into a message.
	return strings.Contains(err.Error(), "unknown queryType")
}

// closing reads how a closed instance ended from its history's close event:
// the failure message, the termination reason, or the timeout.
func (a *app) closing(ctx context.Context, id string) (string, error) {
	it := a.client.GetWorkflowHistory(ctx, id, "", false, enums.HISTORY_EVENT_FILTER_TYPE_CLOSE_EVENT)
	for it.HasNext() {
		ev, err := it.Next()
		if err != nil {
			return "", instanceErr(id, err)
		}
		switch {
		case ev.GetWorkflowExecutionFailedEventAttributes() != nil:
			// The message is encrypted ("Encoded failure"): decode it with
			// the client's failure converter.
			f := ev.GetWorkflowExecutionFailedEventAttributes().GetFailure()
			dc, err := a.dataConverter()
			if err != nil {
				return f.GetMessage(), nil
			}
			return codec.FailureConverter(dc).FailureToError(f).Error(), nil
		case ev.GetWorkflowExecutionTerminatedEventAttributes() != nil:
			at := ev.GetWorkflowExecutionTerminatedEventAttributes()
			return fmt.Sprintf("terminated by %s: %s", dash(at.GetIdentity()), dash(at.GetReason())), nil
		case ev.GetWorkflowExecutionTimedOutEventAttributes() != nil:
			return "timed out", nil
		case ev.GetWorkflowExecutionCanceledEventAttributes() != nil:
			return "cancelled", nil
		}
	}
	return "closed without a record", nil
}

// statusFromHistory is the status of an instance that has no record: what
// the server knows, and the failure from its history. The caller sets the
// workflow ID, URL and execution status, as for any instance.
func (a *app) statusFromHistory(ctx context.Context, id string, desc *workflowservice.DescribeWorkflowExecutionResponse) (statusView, error) {
	info := desc.GetWorkflowExecutionInfo()
	var st statusView
	st.Process = info.GetType().GetName()
	st.BusinessKey = id
	st.Stage = "-"
	st.Outcome = process.OutcomeFailed
	st.StartedAt = info.GetStartTime().AsTime()
	if info.GetCloseTime() != nil {
		closed := info.GetCloseTime().AsTime()
		st.ClosedAt = &closed
	}
	var err error
	st.Failure, err = a.closing(ctx, id)
	return st, err
}

func executionStatus(s enums.WorkflowExecutionStatus) string {
	return strings.ToLower(strings.TrimPrefix(s.String(), "WORKFLOW_EXECUTION_STATUS_"))
}

func (a *app) statusCommand() *cobra.Command {
	cmd := &cobra.Command{
		Use:     "status <workflow-id> [--timeout D]",
		Short:   "Show an instance: stage, handling path, open tasks, outcome, policy version",
		Long:    "Show an instance. A running instance answers through its worker (the status\nquery): --timeout is how long to wait for it.",
		Example: "  starter status loan-A-17\n  starter status order-O-4 -o json\n  starter status loan-A-17 --timeout 1m",
		Args:    exactlyOneID,
		RunE: func(cmd *cobra.Command, args []string) error {
			id := args[0]
			var st statusView
			qerr := a.query(cmd, id, record.QueryStatus, &st.Status)
			if qerr != nil && !noRecord(qerr) {
				return qerr
			}
			desc, err := a.client.DescribeWorkflowExecution(cmd.Context(), id, "")
			if err != nil {
				return instanceErr(id, err)
			}
			if qerr != nil {
				if st, err = a.statusFromHistory(cmd.Context(), id, desc); err != nil {
					return err
				}
			}
			st.WorkflowID, st.URL = id, a.workflowURL(id)
			state := desc.GetWorkflowExecutionInfo().GetStatus()
			st.Execution = executionStatus(state)
			switch state {
			case enums.WORKFLOW_EXECUTION_STATUS_FAILED, enums.WORKFLOW_EXECUTION_STATUS_TERMINATED,
				enums.WORKFLOW_EXECUTION_STATUS_TIMED_OUT, enums.WORKFLOW_EXECUTION_STATUS_CANCELED:
				// Also for an instance with a record: who terminated it,
				// and why, is only in the history.
				if st.Failure == "" {
					if st.Failure, err = a.closing(cmd.Context(), id); err != nil {
						return err
					}
				}
			}
			if a.jsonOutput() {
				return a.printJSON(st)
			}
			return a.printStatus(st)
		},
	}
	cmd.Flags().DurationVar(&a.queryTimeout, "timeout", defaultQueryTimeout, "how long to wait for the instance's worker to answer")
	return cmd
}

func (a *app) printStatus(st statusView) error {
	w := tabwriter.NewWriter(a.out, 0, 0, 2, ' ', 0)
	stage := st.Stage
	if st.StageTotal > 0 {
		stage = fmt.Sprintf("%s (%d/%d)", st.Stage, st.StageIndex, st.StageTotal)
	}
	closed := "-"
	if st.ClosedAt != nil {
		closed = st.ClosedAt.Format(time.RFC3339)
	}
	rows := [][2]string{
		{"Workflow", st.WorkflowID}, {"Process", st.Process}, {"Business key", st.BusinessKey},
		{"Execution", st.Execution}, {"Stage", stage}, {"Handling path", dash(st.HandlingPath)},
		{"Outcome", dash(st.Outcome)}, {"Started", st.StartedAt.Format(time.RFC3339)}, {"Closed", closed},
		{"Policy version", dash(st.PolicyVersion)}, {"UI", st.URL},
	}
	if st.Failure != "" {
		rows = append(rows[:7], append([][2]string{{"Failure", st.Failure}}, rows[7:]...)...)
	}
	for _, r := range rows {
		fmt.Fprintf(w, "%s:\t%s\n", r[0], textsafe.Clean(r[1]))
	}
	if len(st.OpenTasks) == 0 {
		fmt.Fprintf(w, "Open tasks:\tnone\n")
	}
	if err := w.Flush(); err != nil {
		return err
	}
	if len(st.OpenTasks) > 0 {
		fmt.Fprintln(a.out, "Open tasks:")
		if err := a.printTasks(taskRows(st.WorkflowID, st.OpenTasks), time.Now()); err != nil {
			return err
		}
	}
	for _, t := range st.OpenTasks {
		if err := a.printForm(st.WorkflowID, t); err != nil {
			return err
		}
	}
	return nil
}

// printForm shows an open task's form: each field's name (what --set
// takes), label, type, bounds, whether it is required, and the values an
// earlier approval entered (a further approval confirms them).
func (a *app) printForm(id string, t humantask.TaskView) error {
	if len(t.Form) == 0 {
		return nil
	}
	fmt.Fprintf(a.out, "\nForm of task %s (starter approve %s --task %s --set FIELD=VALUE ...):\n", textsafe.Clean(t.ID), textsafe.Clean(id), textsafe.Clean(t.ID))
	w := tabwriter.NewWriter(a.out, 0, 0, 2, ' ', 0)
	fmt.Fprintln(w, "  FIELD\tLABEL\tTYPE AND RULES\t")
	for _, f := range t.Form {
		rules := f.Describe()
		if v, ok := t.Entered[f.Name]; ok {
			rules += "; entered " + f.Display(v)
		}
		fmt.Fprint(w, tabRow("  "+f.Name, f.Label, rules))
	}
	return w.Flush()
}

func dash(s string) string {
	if s == "" {
		return "-"
	}
	return s
}

// printAudit prints a trail as a table 100 columns wide. Every field is
// free text someone sent (a comment, a reason, an actor): control
// characters are shown escaped, so an ANSI sequence or a carriage return in
// a comment cannot erase or forge a line.
func (a *app) printAudit(trail []audit.Entry) {
	rows := [][]string{{"TIME", "ACTOR", "ACTION", "TASK", "DETAILS"}}
	for _, e := range trail {
		rows = append(rows, cleanRow(e.Time.Format("01-02 15:04:05"), e.Actor, e.Action, dash(e.TaskID), e.Details))
	}
	writeWrapped(a.out, rows, 100)
	if len(trail) > 0 {
		fmt.Fprintf(a.out, "\npolicy %s\n", textsafe.Clean(trail[len(trail)-1].PolicyVersion))
	}
}

// cleanRow escapes the control characters of a table row's cells.
func cleanRow(cells ...string) []string {
	for i, c := range cells {
		cells[i] = textsafe.Clean(c)
	}
	return cells
}

// tabRow is one tab-separated line of a tabwriter table, its cells cleaned.
func tabRow(cells ...string) string { return strings.Join(cleanRow(cells...), "\t") + "\n" }

// listRow is one instance from visibility.
type listRow struct {
	WorkflowID   string    `json:"workflowId"`
	RunID        string    `json:"runId,omitempty"`
	Process      string    `json:"process"`
	Status       string    `json:"status"`
	Stage        string    `json:"stage"`
	HandlingPath string    `json:"handlingPath"`
	Outcome      string    `json:"outcome"`
	StartedAt    time.Time `json:"startedAt"`
	ClosedAt     time.Time `json:"closedAt,omitzero"`
	Summary      string    `json:"summary,omitempty"`
}

func (a *app) listCommand() *cobra.Command {
	var process string
	var open, closed, all bool
	var limit int
	cmd := &cobra.Command{
		Use:     "list [--process P] [--open|--closed] [--limit N | --all]",
		Short:   "List instances with stage and outcome",
		Long:    "List instances from visibility, newest first: the first 50 unless --limit or --all\nsays otherwise (when more exist, a line on standard error says so).",
		Example: "  starter list\n  starter list --process loan --open\n  starter list --all -o json",
		Args:    cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if open && closed {
				return usageErr("--open and --closed exclude each other")
			}
			if all && cmd.Flags().Changed("limit") {
				return usageErr("--limit and --all exclude each other")
			}
			if limit < 1 {
				return usageErr("--limit: %d must be at least 1", limit)
			}
			if all {
				limit = 0
			}
			if err := a.checkProcessFlag(process); err != nil {
				return err
			}
			var state []string
			if open {
				state = append(state, "ExecutionStatus = 'Running'")
			}
			if closed {
				state = append(state, "ExecutionStatus != 'Running'")
			}
			rows, _, more, err := a.listInstances(cmd, processQuery(process, state...), limit, false)
			if err != nil {
				return err
			}
			// Standard error, so that -o json stays one document.
			defer func() {
				if more {
					fmt.Fprintf(a.errOut, "showing %d of more; --limit N or --all\n", len(rows))
				}
			}()
			if a.jsonOutput() {
				return a.printJSON(rows)
			}
			w := tabwriter.NewWriter(a.out, 0, 0, 2, ' ', 0)
			fmt.Fprintln(w, "WORKFLOW\tPROCESS\tSTATUS\tSTAGE\tPATH\tOUTCOME\tSTARTED")
			for _, r := range rows {
				fmt.Fprint(w, tabRow(r.WorkflowID, r.Process, r.Status, dash(r.Stage), dash(r.HandlingPath), dash(r.Outcome), r.StartedAt.Local().Format("01-02 15:04")))
			}
			return w.Flush()
		},
	}
	f := cmd.Flags()
	f.StringVar(&process, "process", "", "only this process")
	f.BoolVar(&open, "open", false, "only running instances")
	f.BoolVar(&closed, "closed", false, "only closed instances")
	f.IntVar(&limit, "limit", 50, "at most this many, newest first")
	f.BoolVar(&all, "all", false, "every instance (however many)")
	return cmd
}

// processQuery is the visibility query of Baton's instances (of process,
// unless empty) that match every clause.
func processQuery(process string, clauses ...string) string {
	q := append([]string{record.SAProcessType.GetName() + " IS NOT NULL"}, clauses...)
	if process != "" {
		q = append(q, is(record.SAProcessType.GetName(), process))
	}
	return strings.Join(q, " AND ")
}

// is is a visibility query clause: attribute equals value (quotes dropped).
func is(attribute, value string) string {
	return attribute + " = '" + strings.ReplaceAll(value, "'", "") + "'"
}

// visibility lists instances matching query, newest first.
func (a *app) visibility(cmd *cobra.Command, query string, limit int) ([]listRow, error) {
	rows, _, _, err := a.listInstances(cmd, query, limit, false)
	return rows, err
}

// visibilityWithStats also returns each instance's task stats, decoded from
// its memo (zero when absent or unreadable).
func (a *app) visibilityWithStats(cmd *cobra.Command, query string, limit int) ([]listRow, []humantask.TaskStats, error) {
	rows, stats, _, err := a.listInstances(cmd, query, limit, true)
	return rows, stats, err
}

// listInstances lists at most limit instances matching query (every one
// when limit is 0), newest first, and with withStats their memos' task
// stats: only then are memos decoded. more reports that instances beyond
// the limit exist (one more is read to know).
func (a *app) listInstances(cmd *cobra.Command, query string, limit int, withStats bool) (rows []listRow, stats []humantask.TaskStats, more bool, err error) {
	cl, err := a.connect()
	if err != nil {
		return nil, nil, false, err
	}
	want := limit + 1 // one more than shown: do more exist?
	if limit == 0 {
		want = math.MaxInt
	}
	dc := converter.GetDefaultDataConverter()
	// Memos are encrypted by the payload codec; search attributes never are.
	var memoDC converter.DataConverter
	if withStats {
		if memoDC, err = a.dataConverter(); err != nil {
			return nil, nil, false, err
		}
	}
	var token []byte
	for len(rows) < want {
		resp, err := cl.ListWorkflow(cmd.Context(), &workflowservice.ListWorkflowExecutionsRequest{
			Namespace: a.cfg.Temporal.Namespace, Query: query, PageSize: int32(min(want, 1000)), NextPageToken: token,
		})
		if err != nil {
			return nil, nil, false, fmt.Errorf("list instances: %v", rootMessage(err))
		}
		for _, e := range resp.GetExecutions() {
			r := listRow{
				WorkflowID: e.GetExecution().GetWorkflowId(),
				RunID:      e.GetExecution().GetRunId(),
				Status:     executionStatus(e.GetStatus()),
				StartedAt:  e.GetStartTime().AsTime(),
			}
			if e.GetStatus() != enums.WORKFLOW_EXECUTION_STATUS_RUNNING && e.GetCloseTime() != nil {
				r.ClosedAt = e.GetCloseTime().AsTime()
			}
			fields := e.GetSearchAttributes().GetIndexedFields()
			for name, dst := range map[string]*string{record.SAProcessType.GetName(): &r.Process, record.SAProcessStage.GetName(): &r.Stage, record.SAHandlingPath.GetName(): &r.HandlingPath, record.SAOutcome.GetName(): &r.Outcome} {
				if p, ok := fields[name]; ok {
					_ = dc.FromPayload(p, dst)
				}
			}
			rows = append(rows, r)
			if withStats {
				var st humantask.TaskStats
				if p, ok := e.GetMemo().GetFields()[record.MemoTaskStats]; ok {
					_ = memoDC.FromPayload(p, &st)
				}
				stats = append(stats, st)
			}
			if len(rows) == want {
				break
			}
		}
		token = resp.GetNextPageToken()
		if len(token) == 0 {
			break
		}
	}
	if limit > 0 && len(rows) > limit {
		rows, more = rows[:limit], true
		if withStats {
			stats = stats[:limit]
		}
	}
	return rows, stats, more, nil
}

// writeWrapped prints an aligned table whose last column wraps at word
// boundaries so that lines stay within width (the full text is in -o json).
func writeWrapped(out io.Writer, rows [][]string, width int) {
	if len(rows) == 0 {
		return
	}
	cols := len(rows[0])
	widths := make([]int, cols-1)
	for _, r := range rows {
		for i := 0; i < cols-1; i++ {
			widths[i] = max(widths[i], utf8.RuneCountInString(r[i]))
		}
	}
	indent := 0
	for _, w := range widths {
		indent += w + 2
	}
	room := max(width-indent, 24)
	for _, r := range rows {
		var prefix strings.Builder
		for i := 0; i < cols-1; i++ {
			prefix.WriteString(r[i] + strings.Repeat(" ", widths[i]-utf8.RuneCountInString(r[i])+2))
		}
		lines := wrapWords(r[cols-1], room)
		fmt.Fprintln(out, strings.TrimRight(prefix.String()+lines[0], " "))
		for _, l := range lines[1:] {
			fmt.Fprintln(out, strings.Repeat(" ", indent)+l)
		}
	}
}

// wrapWords splits s into lines of at most n runes, breaking at spaces
// (a longer word is cut).
func wrapWords(s string, n int) []string {
	var lines []string
	var cur []rune
	for _, word := range strings.Fields(s) {
		w := []rune(word)
		for len(w) > n {
			if len(cur) > 0 {
				lines = append(lines, string(cur))
				cur = nil
			}
			lines = append(lines, string(w[:n]))
			w = w[n:]
		}
		switch {
		case len(cur) == 0:
			cur = w
		case len(cur)+1+len(w) <= n:
			cur = append(append(cur, ' '), w...)
		default:
			lines = append(lines, string(cur))
			cur = w
		}
	}
	if len(cur) > 0 || len(lines) == 0 {
		lines = append(lines, string(cur))
	}
	return lines
}
