package starter

import (
	"errors"
	"fmt"
	"slices"

	"github.com/batonhq/baton/audit"
	"github.com/batonhq/baton/record"

	"github.com/spf13/cobra"
	"go.temporal.io/api/enums/v1"
	"go.temporal.io/api/history/v1"
	"go.temporal.io/api/serviceerror"
	"go.temporal.io/sdk/converter"

	"github.com/batonhq/baton/internal/auditstore"
)

// historyAudit is what an instance's current history says about its audit:
// the entries it handed to the audit activity and the chain heads the
// activity answered.
type historyAudit struct {
	RunID string
	// BaseRuns are the runs this one was reset from.
	BaseRuns []string
	// Entries by key (run/seq), and whether the write completed.
	Entries   map[string]audit.Entry
	Committed map[string]bool
	// Heads are the chain heads recorded in history after each write.
	Heads []string
}

// localActivityMarker is the Go SDK's marker name for a local activity's
// result in history.
const localActivityMarker = "LocalActivity"

// Divergence is a difference between the store and the history.
type Divergence struct {
	Kind   string `json:"kind"`
	Key    string `json:"key,omitempty"`
	Detail string `json:"detail"`
}

// Divergence kinds.
const (
	divDropped  = "dropped-by-history" // in the store, gone from the history (e.g. a reset)
	divMissing  = "missing-from-store" // written according to history, absent from the store
	divPending  = "pending"            // handed to the audit activity, not yet written
	divDiffers  = "differs"            // same key, different content
	divReanchor = "head-not-in-chain"  // a head the history recorded is not in the store's chain
)

// problem reports whether a divergence means the audit cannot be trusted
// (pending writes are normal while an instance runs).
func (d Divergence) problem() bool { return d.Kind != divPending }

// refusedStarts are the runs whose only entries are a refused start: runs
// of a business key that had ended (record.ClaimKey), each its own run,
// not part of the instance.
func refusedStarts(recs []audit.Stored) map[string]bool {
	refused := map[string]bool{}
	for _, r := range recs {
		if r.Source != audit.SourceWorkflow {
			continue
		}
		if ok, seen := refused[r.RunID]; ok || !seen {
			refused[r.RunID] = r.Action == audit.ActionStartRefused
		}
	}
	for run, only := range refused {
		if !only {
			delete(refused, run)
		}
	}
	return refused
}

// compareHistory compares an instance's store records with its current
// history. Every entry that any run of the instance wrote must be in the
// history: the store holds every run, so however many resets came, and
// however fast, an entry a reset dropped is reported (its run need not be
// named by the current history's reset events). Refused starts (their own
// runs) and the validator's refusals (never in history) are not compared.
// A dropped decision that the current run honoured says so.
func compareHistory(recs []audit.Stored, h historyAudit) []Divergence {
	var out []Divergence
	refused := refusedStarts(recs)
	honoured := map[string]string{} // a decision's data -> the entry that honoured it
	for k, e := range h.Entries {
		if e.Action == audit.ActionDecisionHonoured {
			honoured[e.Actor+"\x00"+string(e.Data)] = k
		}
	}
	stored := map[string]audit.Stored{}
	hashes := map[string]bool{}
	for _, r := range recs {
		hashes[r.Hash] = true
		if r.Source != audit.SourceWorkflow || refused[r.RunID] && r.RunID != h.RunID {
			continue
		}
		stored[r.Key()] = r
		if _, ok := h.Entries[r.Key()]; !ok {
			detail := fmt.Sprintf("%s by %s at %s (%s) is in the store (run %s, entry %d) but not in the current history (run %s): a reset or a rewrite dropped it",
				r.Action, r.Actor, r.Time.Format("2006-01-02 15:04:05"), r.Details, r.RunID, r.Pos, h.RunID)
			if k, ok := honoured[r.Actor+"\x00"+string(r.Data)]; ok && len(r.Data) > 0 {
				detail += "; the current run honoured it (" + k + ")"
			}
			out = append(out, Divergence{divDropped, r.Key(), detail})
		}
	}
	keys := make([]string, 0, len(h.Entries))
	for k := range h.Entries {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	for _, k := range keys {
		e := h.Entries[k]
		r, ok := stored[k]
		switch {
		case !ok && h.Committed[k]:
			out = append(out, Divergence{divMissing, k, fmt.Sprintf("%s by %s was written according to the history but is not in the store", e.Action, e.Actor)})
		case !ok:
			out = append(out, Divergence{divPending, k, fmt.Sprintf("%s by %s is not written yet (the audit activity is pending or retrying)", e.Action, e.Actor)})
		case !audit.SameFact(r.Entry, e):
			out = append(out, Divergence{divDiffers, k, fmt.Sprintf("the store's %s by %s differs from the history's", r.Action, r.Actor)})
		}
	}
	for _, hh := range h.Heads {
		if hh != "" && !hashes[hh] {
			out = append(out, Divergence{divReanchor, "", fmt.Sprintf("chain head %s recorded in history is not in the store's chain: the chain was recomputed", hh[:16])})
		}
	}
	return out
}

// readHistoryAudit reads the history of the instance's current run: the
// latest run of the workflow ID, or, when that is a refused start (in
// refused), the last run of the instance the store holds. ok is false when
// the history is gone (retention) or the instance is unknown to the server.
func (a *app) readHistoryAudit(cmd *cobra.Command, id string, recs []audit.Stored) (h historyAudit, ok bool, err error) {
	cl, err := a.connect()
	if err != nil {
		return h, false, err
	}
	h.Entries, h.Committed = map[string]audit.Entry{}, map[string]bool{}
	desc, err := cl.DescribeWorkflowExecution(cmd.Context(), id, "")
	if refused := refusedStarts(recs); err == nil && refused[desc.GetWorkflowExecutionInfo().GetExecution().GetRunId()] {
		last := ""
		for _, r := range recs {
			if r.Source == audit.SourceWorkflow && !refused[r.RunID] {
				last = r.RunID
			}
		}
		if last != "" {
			desc, err = cl.DescribeWorkflowExecution(cmd.Context(), id, last)
		}
	}
	if err != nil {
		var nf *serviceerror.NotFound
		if errors.As(err, &nf) {
			return h, false, nil
		}
		return h, false, instanceErr(id, err)
	}
	h.RunID = desc.GetWorkflowExecutionInfo().GetExecution().GetRunId()
	// Inputs, results and markers are encrypted by the payload codec.
	dc, err := a.dataConverter()
	if err != nil {
		return h, false, err
	}
	scheduled := map[int64][]string{}
	it := cl.GetWorkflowHistory(cmd.Context(), id, h.RunID, false, enums.HISTORY_EVENT_FILTER_TYPE_ALL_EVENT)
	for it.HasNext() {
		ev, err := it.Next()
		if err != nil {
			var nf *serviceerror.NotFound
			if errors.As(err, &nf) {
				return h, false, nil
			}
			return h, false, fmt.Errorf("%s: read history: %v", id, rootMessage(err))
		}
		readEvent(ev, dc, &h, scheduled)
	}
	return h, true, nil
}

func readEvent(ev *history.HistoryEvent, dc converter.DataConverter, h *historyAudit, scheduled map[int64][]string) {
	switch ev.GetEventType() {
	case enums.EVENT_TYPE_WORKFLOW_TASK_FAILED:
		at := ev.GetWorkflowTaskFailedEventAttributes()
		if at.GetCause() == enums.WORKFLOW_TASK_FAILED_CAUSE_RESET_WORKFLOW && at.GetBaseRunId() != "" {
			h.BaseRuns = append(h.BaseRuns, at.GetBaseRunId())
		}
	case enums.EVENT_TYPE_ACTIVITY_TASK_SCHEDULED:
		at := ev.GetActivityTaskScheduledEventAttributes()
		if at.GetActivityType().GetName() != record.ActivityAppendAudit {
			return
		}
		var in record.AppendAuditInput
		if p := at.GetInput().GetPayloads(); len(p) > 0 && dc.FromPayload(p[0], &in) == nil {
			for _, e := range in.Entries {
				h.Entries[e.Key()] = e
				scheduled[ev.GetEventId()] = append(scheduled[ev.GetEventId()], e.Key())
			}
		}
	case enums.EVENT_TYPE_MARKER_RECORDED:
		// The record's writer is a local activity: its marker holds the
		// result, which carries the entries it wrote.
		at := ev.GetMarkerRecordedEventAttributes()
		if at.GetMarkerName() != localActivityMarker || at.GetFailure() != nil {
			return
		}
		var data struct{ ActivityType string }
		if p := at.GetDetails()["data"].GetPayloads(); len(p) == 0 || dc.FromPayload(p[0], &data) != nil || data.ActivityType != record.ActivityAppendAudit {
			return
		}
		var res record.AppendAuditResult
		if p := at.GetDetails()["result"].GetPayloads(); len(p) > 0 && dc.FromPayload(p[0], &res) == nil {
			for _, e := range res.Entries {
				h.Entries[e.Key()] = e
				h.Committed[e.Key()] = true
			}
			for _, hh := range res.Heads {
				h.Heads = append(h.Heads, hh)
			}
		}
	case enums.EVENT_TYPE_ACTIVITY_TASK_COMPLETED:
		at := ev.GetActivityTaskCompletedEventAttributes()
		keys, ok := scheduled[at.GetScheduledEventId()]
		if !ok {
			return
		}
		for _, k := range keys {
			h.Committed[k] = true
		}
		var res audit.AppendResult
		if p := at.GetResult().GetPayloads(); len(p) > 0 && dc.FromPayload(p[0], &res) == nil {
			for _, hh := range res.Heads {
				h.Heads = append(h.Heads, hh)
			}
		}
	}
}

// verifyDoc is --verify's answer.
type verifyDoc struct {
	WorkflowID   string                 `json:"workflowId"`
	OK           bool                   `json:"ok"`
	Chain        auditstore.ChainReport `json:"chain"`
	History      string                 `json:"history"` // compared | gone | no-audit-writes | unreachable
	HistoryError string                 `json:"historyError,omitempty"`
	RunID        string                 `json:"runId,omitempty"`
	ResetFrom    []string               `json:"resetFrom,omitempty"`
	Divergences  []Divergence           `json:"divergences,omitempty"`
	// Anchoring: the writers' attestations and the log outside the
	// database (auditanchor.go).
	Anchoring anchoring `json:"anchoring"`
}

func (a *app) auditVerify(cmd *cobra.Command, id string) error {
	st, err := a.auditStore(cmd)
	if err != nil {
		return err
	}
	defer st.Close()
	chain, err := st.Verify(cmd.Context(), id)
	if err != nil {
		return err
	}
	doc := verifyDoc{WorkflowID: id, Chain: chain, OK: chain.OK()}
	tr, err := a.trust(cmd.Context())
	if err != nil {
		return err
	}
	if doc.Anchoring, _, err = tr.checkAnchoring(cmd.Context(), id, chain.Records); err != nil {
		return anchoringErr(id, err)
	}
	doc.OK = doc.OK && doc.Anchoring.OK()
	gone := chain.Entries == 0 && doc.Anchoring.OK() // nothing stored, nothing anchored
	h, ok, err := a.readHistoryAudit(cmd, id, chain.Records)
	switch {
	case err != nil && gone:
		return err
	case err != nil:
		// The chain stands on its own; say why nothing was compared.
		doc.History, doc.HistoryError = "unreachable", err.Error()
	case !ok && gone:
		return &codedError{exitNotFound, fmt.Errorf("%s: no such workflow, and nothing in the audit store", id)}
	case !ok:
		doc.History = "gone"
	case len(h.Entries) == 0:
		doc.History = "no-audit-writes"
		doc.RunID, doc.ResetFrom = h.RunID, h.BaseRuns
	default:
		doc.History = "compared"
		doc.RunID, doc.ResetFrom = h.RunID, h.BaseRuns
		doc.Divergences = compareHistory(chain.Records, h)
		for _, d := range doc.Divergences {
			if d.problem() {
				doc.OK = false
			}
		}
	}
	if a.jsonOutput() {
		if err := a.printJSON(doc); err != nil {
			return err
		}
	} else {
		a.printVerify(doc)
	}
	if !doc.OK {
		return &codedError{exitVerifyFailed, fmt.Errorf("%s: the audit trail does not verify", id)}
	}
	return nil
}

func (a *app) printVerify(d verifyDoc) {
	c := d.Chain
	if c.OK() {
		head := "-"
		if c.HeadHash != "" {
			head = c.HeadHash[:16]
		}
		fmt.Fprintf(a.out, "chain:   intact, %d entries, head %s\n", c.Entries, head)
	} else {
		fmt.Fprintf(a.out, "chain:   BROKEN, %d entries\n", c.Entries)
		for _, p := range c.Problems {
			fmt.Fprintf(a.out, "  - %s at %d: %s\n", p.Kind, p.Pos, p.Detail)
		}
	}
	a.printAnchoring(d.Anchoring)
	switch d.History {
	case "unreachable":
		fmt.Fprintf(a.out, "history: not compared (%s)\n", d.HistoryError)
	case "gone":
		fmt.Fprintln(a.out, "history: gone (retention); the store is the only copy")
	case "no-audit-writes":
		fmt.Fprintln(a.out, "history: present, but it wrote no entries through the audit activity (nothing to compare)")
	default:
		reset := ""
		if len(d.ResetFrom) > 0 {
			reset = fmt.Sprintf(", reset from %v", d.ResetFrom)
		}
		var problems, pending []Divergence
		for _, v := range d.Divergences {
			if v.problem() {
				problems = append(problems, v)
			} else {
				pending = append(pending, v)
			}
		}
		if len(problems) == 0 {
			fmt.Fprintf(a.out, "history: matches the store (run %s%s)", d.RunID, reset)
			if len(pending) > 0 {
				fmt.Fprintf(a.out, "; %d entries not written yet", len(pending))
			}
			fmt.Fprintln(a.out)
		} else {
			fmt.Fprintf(a.out, "history: DIVERGES from the store (run %s%s)\n", d.RunID, reset)
			for _, v := range problems {
				fmt.Fprintf(a.out, "  - %s: %s\n", v.Kind, v.Detail)
			}
		}
	}
	if d.OK {
		fmt.Fprintln(a.out, "verified")
	}
}
