package starter

import (
	"context"
	"encoding/json"
	"fmt"
	"slices"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/batonhq/baton/audit"

	"github.com/spf13/cobra"

	"github.com/batonhq/baton/config"
	"github.com/batonhq/baton/internal/auditstore"
	"github.com/batonhq/baton/record"
	"github.com/batonhq/baton/textsafe"
)

// exitVerifyFailed: --verify found a broken chain or a divergence.
const exitVerifyFailed = 5

// Where an audit trail came from.
const (
	sourceStore    = "store"          // the durable audit store
	sourceWorkflow = "workflow"       // the instance's audit query (needs its history and a worker)
	sourceBoth     = "store+workflow" // the query's trail, with the validator's refusals from the store
)

func (a *app) auditCommand() *cobra.Command {
	var verify bool
	var since, process, evidence string
	cmd := &cobra.Command{
		Use:   "audit <workflow-id> | --verify <workflow-id> | --since 7d [--process P]",
		Short: "Show an instance's audit trail, verify it, or export the store",
		Long: `audit reads the durable audit store (PostgreSQL, audit.dsn) first, so it
works for finished instances after the history's retention and with no worker
running. Instances whose trail is not in the store yet are read from the
workflow (their audit query), with the refusals the store holds.

--verify checks the instance's hash chain in the store (a deleted, inserted or
edited entry breaks it) and, while the history exists, compares the store with
the entries the history wrote: an entry the store holds for the instance's
runs that the current history lacks (e.g. a reset dropped an accepted
decision) is a divergence. Exit code 5 when anything is wrong.

--verify also checks each entry's writer attestation (a row inserted with the
worker's database rights but without its key is a forgery) and compares the
store with the audit log outside the database (audit.log_url): an entry the
log anchored that the store lacks or holds changed is named; the log's
checkpoint must be cosigned by the witness and consistent with the last one
this user saw (kept in the user's config dir).

--since exports every entry in the window (optionally of one process) for a
compliance system, with each instance's chain head; with --verify it checks
every instance of the window instead, those only the log still knows too.

--evidence FILE writes everything an auditor needs to check the instance with
no server and no database: starter verify-evidence FILE.`,
		Example: "  starter audit loan-A-17\n  starter audit --verify loan-A-17\n  starter audit --verify --since 30d\n  starter audit loan-A-17 --evidence loan-A-17.evidence.json\n  starter audit --since 7d --process loan -o json > loan-audit.json",
		RunE: func(cmd *cobra.Command, args []string) error {
			switch {
			case since != "" && len(args) > 0:
				return usageErr("--since exports a window: give no workflow ID")
			case since != "" && evidence != "":
				return usageErr("--evidence packs one instance: give a workflow ID, not --since")
			case since != "":
				if verify {
					return a.auditSweep(cmd, since, process)
				}
				return a.auditExport(cmd, since, process)
			case process != "":
				return usageErr("--process: only with --since")
			}
			if err := exactlyOneID(cmd, args); err != nil {
				return err
			}
			if evidence != "" {
				return a.auditEvidence(cmd, args[0], evidence)
			}
			if verify {
				return a.auditVerify(cmd, args[0])
			}
			return a.auditShow(cmd, args[0])
		},
	}
	f := cmd.Flags()
	f.BoolVar(&verify, "verify", false, "check the instance's hash chain and compare it with its history")
	f.StringVar(&since, "since", "", "export entries of this window (e.g. 24h, 7d)")
	f.StringVar(&process, "process", "", "with --since: only this process")
	f.StringVar(&evidence, "evidence", "", "write the instance's evidence pack to FILE (check it offline with starter verify-evidence FILE)")
	config.AddFlags(f, "audit.dsn")
	return cmd
}

// auditStore opens the store and checks its schema (it does not migrate:
// the worker does).
func (a *app) auditStore(cmd *cobra.Command) (*auditstore.Store, error) {
	cfg, err := a.config()
	if err != nil {
		return nil, err
	}
	ctx, cancel := context.WithTimeout(cmd.Context(), 10*time.Second)
	defer cancel()
	st, err := auditstore.Open(ctx, cfg.Audit.DSN)
	if err != nil {
		return nil, err
	}
	// The worker migrates; a reader only checks (no DDL right needed).
	if err := st.CheckSchema(ctx); err != nil {
		st.Close()
		return nil, err
	}
	return st, nil
}

// auditDoc is the -o json form of one instance's trail.
type auditDoc struct {
	WorkflowID string         `json:"workflowId"`
	Source     string         `json:"source"`
	HeadHash   string         `json:"headHash,omitempty"`
	Entries    []audit.Stored `json:"entries"`
	// Failure is how an instance that ended before its record started
	// (input refused at validation) ended: it has no trail.
	Failure string `json:"failure,omitempty"`
}

func (a *app) auditShow(cmd *cobra.Command, id string) error {
	doc, err := a.readTrail(cmd, id)
	if err != nil {
		return err
	}
	if a.jsonOutput() {
		return a.printJSON(doc)
	}
	if doc.Failure != "" && len(doc.Entries) == 0 {
		_, err = fmt.Fprintf(a.out, "no audit trail: %s ended before its record started: %s\n", id, textsafe.Clean(doc.Failure))
		return err
	}
	rows := [][]string{{"TIME", "ACTOR", "ACTION", "TASK", "DETAILS"}}
	for _, e := range doc.Entries {
		details := e.Details
		if e.Source == audit.SourceValidator && e.Reason != "" {
			details += " [" + e.Reason + "]"
		}
		rows = append(rows, cleanRow(e.Time.Local().Format("01-02 15:04:05"), e.Actor, e.Action, dash(e.TaskID), details))
	}
	writeWrapped(a.out, rows, 100)
	if len(doc.Entries) > 0 {
		fmt.Fprintf(a.out, "\npolicy %s · source: %s", textsafe.Clean(doc.Entries[len(doc.Entries)-1].PolicyVersion), doc.Source)
		if doc.HeadHash != "" {
			fmt.Fprintf(a.out, " · chain head %s", doc.HeadHash[:16])
		}
		fmt.Fprintln(a.out)
	}
	return nil
}

// readTrail reads the store first; an instance whose own entries are not
// in the store yet is read from its audit query, merged with the store's
// refusals. An unreachable store falls back to the query with a warning.
func (a *app) readTrail(cmd *cobra.Command, id string) (auditDoc, error) {
	doc := auditDoc{WorkflowID: id, Source: sourceStore}
	var stored []audit.Stored
	st, err := a.auditStore(cmd)
	if err != nil {
		fmt.Fprintf(a.errOut, "starter: %v; reading the workflow's own trail\n", err)
	} else {
		defer st.Close()
		if stored, err = st.Trail(cmd.Context(), id); err != nil {
			return doc, err
		}
		_, doc.HeadHash, _ = st.Head(cmd.Context(), id)
	}
	if slices.ContainsFunc(stored, func(r audit.Stored) bool { return r.Source == audit.SourceWorkflow }) {
		doc.Entries = stored
		return doc, nil
	}
	var trail []audit.Entry
	if err := a.query(cmd, id, record.QueryAudit, &trail); err != nil {
		if len(stored) > 0 {
			doc.Entries = stored
			return doc, nil
		}
		if !noRecord(err) {
			return doc, err
		}
		// No record, so no trail: say how the instance ended.
		failure, cerr := a.closing(cmd.Context(), id)
		if cerr != nil {
			return doc, cerr
		}
		doc.Source, doc.Failure = sourceWorkflow, failure
		return doc, nil
	}
	doc.Source = sourceWorkflow
	if len(stored) > 0 {
		doc.Source = sourceBoth
	}
	doc.Entries = mergeTrail(trail, stored)
	return doc, nil
}

// mergeTrail places the store's entries (the validator's refusals) among
// the query's trail by time.
func mergeTrail(trail []audit.Entry, stored []audit.Stored) []audit.Stored {
	out := make([]audit.Stored, 0, len(trail)+len(stored))
	for _, e := range trail {
		out = append(out, audit.Stored{Entry: e})
	}
	out = append(out, stored...)
	slices.SortStableFunc(out, func(x, y audit.Stored) int { return x.Time.Compare(y.Time) })
	return out
}

func (a *app) auditExport(cmd *cobra.Command, since, process string) error {
	from, until, err := a.sinceWindow(since, process)
	if err != nil {
		return err
	}
	st, err := a.auditStore(cmd)
	if err != nil {
		return err
	}
	defer st.Close()
	f := auditstore.Filter{Process: process, Since: from, Until: until}
	heads := map[string]string{}
	n := 0
	if a.jsonOutput() {
		// One document, streamed: an export may be large.
		head, _ := json.Marshal(map[string]any{"since": f.Since, "until": f.Until, "process": process})
		fmt.Fprintf(a.out, "%s,\n  \"entries\": [", strings.TrimSuffix(string(head), "}"))
		err = st.Export(cmd.Context(), f, func(r audit.Stored) error {
			b, err := json.Marshal(r)
			if err != nil {
				return err
			}
			sep := ","
			if n == 0 {
				sep = ""
			}
			n++
			heads[r.WorkflowID] = r.Hash
			_, err = fmt.Fprintf(a.out, "%s\n    %s", sep, b)
			return err
		})
		if err != nil {
			return err
		}
		hb, _ := json.Marshal(heads)
		fmt.Fprintf(a.out, "\n  ],\n  \"count\": %d,\n  \"heads\": %s\n}\n", n, hb)
		return nil
	}
	w := tabwriter.NewWriter(a.out, 0, 0, 2, ' ', 0)
	fmt.Fprintln(w, "TIME\tWORKFLOW\tACTOR\tACTION\tTASK\tDETAILS")
	err = st.Export(cmd.Context(), f, func(r audit.Stored) error {
		n++
		heads[r.WorkflowID] = r.Hash
		_, err := fmt.Fprint(w, tabRow(r.Time.Local().Format("01-02 15:04:05"), r.WorkflowID, r.Actor, r.Action, dash(r.TaskID), r.Details))
		return err
	})
	if err != nil {
		return err
	}
	if err := w.Flush(); err != nil {
		return err
	}
	fmt.Fprintf(a.out, "\n%d entries of %d instances since %s\n", n, len(heads), f.Since.Local().Format(time.RFC3339))
	return nil
}
