package starter

import (
	"fmt"
	"slices"

	"github.com/spf13/cobra"

	"github.com/batonhq/baton/internal/auditstore"
	"github.com/batonhq/baton/textsafe"
)

// sweepDoc is --verify --since's answer.
type sweepDoc struct {
	Since   string `json:"since"`
	Checked int    `json:"checked"`
	// Log says whether the log was read for the instances it anchored.
	Log    string        `json:"log"`
	Failed []sweepResult `json:"failed"`
}

type sweepResult struct {
	WorkflowID string               `json:"workflowId"`
	Problems   []auditstore.Problem `json:"problems"`
}

// auditSweep verifies every instance with an entry in the window, as the
// store lists them and as the log does (an instance whose whole trail was
// deleted is known to the log only): its chain, its attestations and its
// anchoring. Histories are not read (--verify ID compares one).
func (a *app) auditSweep(cmd *cobra.Command, since, process string) error {
	from, _, err := a.sinceWindow(since, process)
	if err != nil {
		return err
	}
	st, err := a.auditStore(cmd)
	if err != nil {
		return err
	}
	defer st.Close()
	tr, err := a.trust(cmd.Context())
	if err != nil {
		return err
	}
	ctx := cmd.Context()
	ids, err := st.Instances(ctx, from)
	if err != nil {
		return err
	}
	doc := sweepDoc{Since: from.Format("2006-01-02T15:04:05Z07:00"), Log: "checked"}
	if tr.log != nil {
		logged, err := tr.log.Instances(ctx, from)
		if err != nil {
			return anchoringErr("sweep", err)
		}
		for _, id := range logged {
			if !slices.Contains(ids, id) {
				ids = append(ids, id)
			}
		}
		slices.Sort(ids)
	} else {
		doc.Log = "not checked: " + tr.logWhy
	}
	for _, id := range ids {
		chain, err := st.Verify(ctx, id)
		if err != nil {
			return err
		}
		if process != "" && len(chain.Records) > 0 && chain.Records[0].Process != process {
			continue
		}
		doc.Checked++
		an, _, err := tr.checkAnchoring(ctx, id, chain.Records)
		if err != nil {
			return anchoringErr(id, err)
		}
		problems := append(slices.Clone(chain.Problems), an.Problems...)
		if len(problems) > 0 {
			doc.Failed = append(doc.Failed, sweepResult{WorkflowID: id, Problems: problems})
		}
	}
	if a.jsonOutput() {
		if err := a.printJSON(doc); err != nil {
			return err
		}
	} else {
		for _, f := range doc.Failed {
			for _, p := range f.Problems {
				fmt.Fprintf(a.out, "%s: %s at %d: %s\n", textsafe.Clean(f.WorkflowID), p.Kind, p.Pos, textsafe.Clean(p.Detail))
			}
		}
		if doc.Log != "checked" {
			fmt.Fprintf(a.out, "log: %s\n", doc.Log)
		}
		fmt.Fprintf(a.out, "%d instances checked since %s, %d do not verify\n", doc.Checked, doc.Since, len(doc.Failed))
	}
	if len(doc.Failed) > 0 {
		return &codedError{exitVerifyFailed, fmt.Errorf("%d of %d instances do not verify", len(doc.Failed), doc.Checked)}
	}
	return nil
}
