package record

import (
	"cmp"
	"fmt"
	"strconv"

	"github.com/batonhq/baton/humantask"
)

// FactAmount is the fact that holds an instance's amount (routing records
// it): task lists show it, filter and sort by it.
const FactAmount = "amount"

// SetCase says what the instance is about, for the people who list its
// tasks: the process's title and the instance's one-line summary (the
// input's, which names the business key and facts only). The frame sets
// it at the start.
func (r *Record) SetCase(title, summary string) {
	r.caseTitle, r.caseSummary = title, summary
}

// Case implements humantask.Host: the process, its title, the summary,
// the stage as it stands and the recorded amount fact, if any.
func (r *Record) Case() humantask.CaseData {
	c := humantask.CaseData{Process: r.opts.Process, Title: r.caseTitle, Summary: r.caseSummary, Stage: cmp.Or(r.stageText, r.stage)}
	if r.stageIdx > 0 && r.opts.Stages > 0 {
		c.Stage = fmt.Sprintf("%d of %d: %s", r.stageIdx, r.opts.Stages, c.Stage)
	}
	if v, err := strconv.ParseFloat(r.facts[FactAmount], 64); err == nil {
		c.Amount = &v
	}
	return c
}
