package starter

// Work on tasks that decides nothing (claim, release, comment, priority,
// follow-up), substitutes while away, and bulk decisions: each goes
// through the workflow's gate (internal/taskwork sends it), signed with
// --key when given, and is audited there.

import (
	"crypto/ed25519"
	"errors"
	"fmt"
	"os"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/spf13/cobra"

	"github.com/batonhq/baton/humantask"
	"github.com/batonhq/baton/internal/taskwork"
	"github.com/batonhq/baton/policy"
	"github.com/batonhq/baton/substitutes"
	"github.com/batonhq/baton/textsafe"
)

// workErr turns what taskwork answers into the starter's exit codes.
func workErr(id string, err error) error {
	var r *taskwork.RefusedError
	switch {
	case errors.As(err, &r):
		return &codedError{exitRefused, fmt.Errorf("refused: %s", r.Reason)}
	case errors.Is(err, taskwork.ErrNotFound):
		return &codedError{exitNotFound, fmt.Errorf("%s: no such workflow, or it has ended", id)}
	case errors.Is(err, taskwork.ErrTaskNotOpen):
		return &codedError{exitRefused, fmt.Errorf("refused: no such task of %s is open", id)}
	}
	return instanceErr(id, err)
}

// act sends an action on workflow id's task, signed with keyFile if given.
func (a *app) act(cmd *cobra.Command, id, keyFile string, act humantask.Action) error {
	var key ed25519.PrivateKey
	if keyFile != "" {
		var err error
		if key, err = loadSigningKey(keyFile); err != nil {
			return err
		}
	}
	cl, err := a.connect()
	if err != nil {
		return err
	}
	s, err := taskwork.Subject(cmd.Context(), cl, id, act.TaskID)
	if err != nil {
		if strings.HasPrefix(err.Error(), "task: required") {
			return usageErr("--%v", err)
		}
		return workErr(id, err)
	}
	act.TaskID = s.TaskID
	if key != nil {
		act.Signature = sign(key, humantask.ActionSigningBytes(s, act))
	}
	res, err := taskwork.Act(cmd.Context(), cl, s, act)
	if err != nil {
		return workErr(id, err)
	}
	if a.jsonOutput() {
		return a.printJSON(res)
	}
	_, err = fmt.Fprintf(a.out, "%s (%s, task %s)\n", textsafe.Clean(res.Message), textsafe.Clean(id), textsafe.Clean(res.TaskID))
	return err
}

func sign(key ed25519.PrivateKey, msg []byte) string { return humantask.SignBytes(key, msg) }

// workCommands are claim, release, comment, priority and follow-up.
func (a *app) workCommands() []*cobra.Command {
	type spec struct {
		kind, use, short, example string
		text                      string // the flag that fills Action.Text ("" for none)
		args                      cobra.PositionalArgs
	}
	specs := []spec{
		{humantask.ActClaim, "claim <workflow-id> --as <user> [--task <id>]", "Claim a task: others see who works on it (and, when the policy makes claims exclusive, may not decide it meanwhile)",
			"  starter claim loan-A-17 --as ana", "", exactlyOneID},
		{humantask.ActRelease, "release <workflow-id> --as <user> [--task <id>] [--reason <text>]", "Release a claim: the holder's own, or anyone's for a role the policy names",
			"  starter release loan-A-17 --as ana\n  starter release loan-A-17 --as sam --reason 'ana is away'", "reason", exactlyOneID},
		{humantask.ActComment, "comment <workflow-id> --as <user> --text <text> [--task <id>]", "Comment on a task without deciding it (shown on the task and in the inbox, audited)",
			"  starter comment loan-A-17 --as ana --text 'waiting for the payslips'", "text", exactlyOneID},
		{humantask.ActPriority, "priority <workflow-id> <low|normal|high|urgent> --as <user> [--reason <text>] [--task <id>]", "Set a task's priority (roles the policy names)",
			"  starter priority loan-A-17 urgent --as sam --reason 'the applicant's offer expires Friday'", "reason", cobra.ExactArgs(2)},
		{humantask.ActFollowUp, "follow-up <workflow-id> --as <user> (--until <time> | --clear) [--task <id>]", "Keep a task out of the default view until a date (before its deadline)",
			"  starter follow-up loan-A-17 --as ana --until 2026-12-20T09:00:00Z\n  starter follow-up loan-A-17 --as ana --clear", "", exactlyOneID},
	}
	var cmds []*cobra.Command
	for _, s := range specs {
		var as, task, text, until, keyFile string
		var clear bool
		cmd := &cobra.Command{
			Use: s.use, Short: s.short, Example: s.example, Args: s.args,
			RunE: func(cmd *cobra.Command, args []string) error {
				if as == "" {
					return usageErr("--as: who acts is required (e.g. --as ana)")
				}
				act := humantask.Action{TaskID: task, Kind: s.kind, Actor: as, Text: text}
				switch s.kind {
				case humantask.ActComment:
					if strings.TrimSpace(text) == "" {
						return usageErr("--text: required")
					}
				case humantask.ActPriority:
					if _, err := policy.ParsePriority(args[1]); err != nil {
						return usageErr("priority: %v", err)
					}
					act.Priority = strings.ToLower(args[1])
				case humantask.ActFollowUp:
					switch {
					case clear == (until != ""):
						return usageErr("--until or --clear: one is required")
					case until != "":
						t, err := parseWhen(until)
						if err != nil {
							return usageErr("--until: %v", err)
						}
						act.Until = t.Format(time.RFC3339)
					}
				}
				return a.act(cmd, args[0], keyFile, act)
			},
		}
		f := cmd.Flags()
		f.StringVar(&as, "as", "", "the user acting (required)")
		f.StringVar(&task, "task", "", "task id (may be omitted when one task is open)")
		f.StringVar(&keyFile, "key", os.Getenv("BATON_SIGNING_KEY"), "sign with this key (starter keygen; also BATON_SIGNING_KEY)")
		if s.text != "" {
			f.StringVar(&text, s.text, "", "text for the trail")
		}
		if s.kind == humantask.ActFollowUp {
			f.StringVar(&until, "until", "", "follow up then: a date (2026-12-20, midnight UTC) or an RFC 3339 time")
			f.BoolVar(&clear, "clear", false, "clear the follow-up date")
		}
		cmds = append(cmds, cmd)
	}
	return cmds
}

// parseWhen reads a date (midnight UTC) or an RFC 3339 time.
func parseWhen(s string) (time.Time, error) {
	if t, err := time.Parse(time.DateOnly, s); err == nil {
		return t.UTC(), nil
	}
	t, err := time.Parse(time.RFC3339, s)
	if err != nil {
		return t, fmt.Errorf("%q is not a date (2026-12-20) or a time (2026-12-20T09:00:00Z)", s)
	}
	return t.UTC(), nil
}

func (a *app) substituteCommand() *cobra.Command {
	cmd := &cobra.Command{
		Use:   "substitute",
		Short: "Substitutes while away: who decides for whom, from when to when",
		Long: `A substitute decides, while a user is away, what that user may: for some or
all of their roles (and, for all, the tasks named to them). Separation of
duties applies to both people, the trail names both ("ben for ana, away
2026-12-20 to 2027-01-04"), and the substitution ends by itself when its
window closes. A user sets their own; holders of a role of the policy's
tasks.substitutes.setRoles set anyone's.`,
	}
	var as, forUser, by, from, until, roles, keyFile string
	set := &cobra.Command{
		Use:     "set --as <user> [--for <user>] --substitute <user> --from <date> --until <date> [--roles r1,r2]",
		Short:   "Set a substitute for a user while they are away",
		Example: "  starter substitute set --as ana --substitute ben --from 2026-12-20 --until 2027-01-04\n  starter substitute set --as mia --for max --substitute dan --from 2026-12-20 --until 2026-12-24 --roles manager",
		Args:    cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if as == "" || by == "" || from == "" || until == "" {
				return usageErr("--as, --substitute, --from and --until: required")
			}
			f, err := parseWhen(from)
			if err != nil {
				return usageErr("--from: %v", err)
			}
			u, err := parseWhen(until)
			if err != nil {
				return usageErr("--until: %v", err)
			}
			r := substitutes.Request{Op: substitutes.OpSet, ID: taskwork.NewSubstituteID(), Principal: forUser, Substitute: by, From: f.Format(time.RFC3339), Until: u.Format(time.RFC3339), Actor: as}
			if r.Principal == "" {
				r.Principal = as
			}
			if roles != "" {
				r.Roles = strings.Split(roles, ",")
			}
			return a.substitute(cmd, keyFile, r)
		},
	}
	end := &cobra.Command{
		Use:     "end <id> --as <user>",
		Short:   "End a substitution before its window closes",
		Example: "  starter substitute end sub-1a2b3c4d5e6f --as ana",
		Args:    cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			if as == "" {
				return usageErr("--as: required")
			}
			return a.substitute(cmd, keyFile, substitutes.Request{Op: substitutes.OpEnd, ID: args[0], Actor: as})
		},
	}
	var user string
	list := &cobra.Command{
		Use:     "list [--user <user>]",
		Short:   "The substitutions in force or to come (from the audit store)",
		Example: "  starter substitute list\n  starter substitute list --user ana",
		Args:    cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			st, err := a.auditStore(cmd)
			if err != nil {
				return err
			}
			defer st.Close()
			var users []string
			if user != "" {
				users = []string{user}
			}
			subs, err := st.Substitutes(cmd.Context(), users, time.Now())
			if err != nil {
				return err
			}
			if subs == nil {
				subs = []policy.Substitute{}
			}
			if a.jsonOutput() {
				return a.printJSON(subs)
			}
			if len(subs) == 0 {
				_, err := fmt.Fprintln(a.out, "no substitutions")
				return err
			}
			w := tabwriter.NewWriter(a.out, 0, 0, 2, ' ', 0)
			fmt.Fprintln(w, "ID\tSUBSTITUTION\tROLES\tSET BY\t")
			for _, s := range subs {
				fmt.Fprint(w, tabRow(s.ID, textsafe.Clean(s.Text()), orAll(s.Roles), s.SetBy))
			}
			return w.Flush()
		},
	}
	for _, c := range []*cobra.Command{set, end} {
		c.Flags().StringVar(&as, "as", "", "the user asking (required)")
		c.Flags().StringVar(&keyFile, "key", os.Getenv("BATON_SIGNING_KEY"), "sign with this key (starter keygen; also BATON_SIGNING_KEY)")
	}
	set.Flags().StringVar(&forUser, "for", "", "the user who is away (default: --as)")
	set.Flags().StringVar(&by, "substitute", "", "the user who decides for them meanwhile")
	set.Flags().StringVar(&from, "from", "", "from: a date (2026-12-20, midnight UTC) or an RFC 3339 time")
	set.Flags().StringVar(&until, "until", "", "until (not included): a date or an RFC 3339 time")
	set.Flags().StringVar(&roles, "roles", "", "only these of their roles, comma-separated (default: all, and the tasks named to them)")
	list.Flags().StringVar(&user, "user", "", "only substitutions for or by this user")
	cmd.AddCommand(set, end, list)
	return cmd
}

func orAll(roles []string) string {
	if len(roles) == 0 {
		return "all"
	}
	return strings.Join(roles, ",")
}

// substitute sends r to the substitutes workflow, signed with keyFile.
func (a *app) substitute(cmd *cobra.Command, keyFile string, r substitutes.Request) error {
	if keyFile != "" {
		key, err := loadSigningKey(keyFile)
		if err != nil {
			return err
		}
		r.Signature = sign(key, substitutes.SigningBytes(r))
	}
	cl, err := a.connect()
	if err != nil {
		return err
	}
	res, err := taskwork.Substitute(cmd.Context(), cl, a.cfg.TaskQueue, r)
	if err != nil {
		return workErr(substitutes.WorkflowID, err)
	}
	if a.jsonOutput() {
		return a.printJSON(res)
	}
	_, err = fmt.Fprintf(a.out, "%s (id %s)\n", textsafe.Clean(res.Message), res.Substitute.ID)
	return err
}

func (a *app) bulkCommand() *cobra.Command {
	var as, comment, keyFile string
	cmd := &cobra.Command{
		Use:   "bulk <approve|reject> <workflow-id[/task]>... --as <user> [--comment <text> | --reason <text>]",
		Short: "Approve or reject several tasks with one reason: each checked, signed and audited on its own",
		Long: `Decide several tasks at once: each is sent to its own instance as its own
decision (signed with --key over its own task), checked by that instance's
gate and audited there; one refused does not stop the others. The result lists
each task as accepted or refused, with the reason. Exit 3 when any was refused.`,
		Example: "  starter bulk approve loan-A-17 loan-A-18 expense-X-3/finance-approval --as ana --comment 'checked today'\n" +
			"  starter bulk reject loan-A-19 loan-A-20 --as ana --reason 'incomplete file'",
		Args: cobra.MinimumNArgs(2),
		RunE: func(cmd *cobra.Command, args []string) error {
			verdict := args[0]
			switch {
			case verdict != humantask.Approve && verdict != humantask.Reject:
				return usageErr("verdict: %q is not approve or reject", verdict)
			case as == "":
				return usageErr("--as: who decides is required")
			case verdict == humantask.Reject && strings.TrimSpace(comment) == "":
				return usageErr("--reason: required to reject")
			case len(args)-1 > taskwork.MaxBulk:
				return usageErr("at most %d tasks at once", taskwork.MaxBulk)
			}
			var key ed25519.PrivateKey
			if keyFile != "" {
				var err error
				if key, err = loadSigningKey(keyFile); err != nil {
					return err
				}
			}
			var items []taskwork.Item
			for _, arg := range args[1:] {
				wf, task, _ := strings.Cut(arg, "/")
				items = append(items, taskwork.Item{WorkflowID: wf, TaskID: task})
			}
			cl, err := a.connect()
			if err != nil {
				return err
			}
			out := taskwork.Bulk(cmd.Context(), cl, items, humantask.Decision{Verdict: verdict, Actor: as, Comment: comment},
				func(s humantask.Subject, d *humantask.Decision) error {
					if key != nil {
						humantask.Sign(key, s, d)
					}
					return nil
				})
			refused := 0
			for _, o := range out {
				if !o.Accepted {
					refused++
				}
			}
			if a.jsonOutput() {
				if err := a.printJSON(out); err != nil {
					return err
				}
			} else {
				w := tabwriter.NewWriter(a.out, 0, 0, 2, ' ', 0)
				fmt.Fprintln(w, "WORKFLOW\tTASK\tRESULT\t")
				for _, o := range out {
					res := "accepted: " + o.Message
					if !o.Accepted {
						res = "REFUSED: " + o.Reason
					}
					fmt.Fprint(w, tabRow(o.WorkflowID, o.TaskID, textsafe.Clean(res)))
				}
				if err := w.Flush(); err != nil {
					return err
				}
				fmt.Fprintf(a.out, "%d accepted, %d refused\n", len(out)-refused, refused)
			}
			if refused > 0 {
				return &codedError{exitRefused, fmt.Errorf("%d of %d refused", refused, len(out))}
			}
			return nil
		},
	}
	f := cmd.Flags()
	f.StringVar(&as, "as", "", "the user deciding (required)")
	f.StringVar(&comment, "comment", "", "the one reason for every decision")
	f.StringVar(&comment, "reason", "", "the same as --comment (required to reject)")
	f.StringVar(&keyFile, "key", os.Getenv("BATON_SIGNING_KEY"), "sign each decision with this key (starter keygen; also BATON_SIGNING_KEY)")
	return cmd
}
