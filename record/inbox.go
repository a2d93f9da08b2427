package record

import (
	"encoding/json"

	"go.temporal.io/sdk/workflow"

	"github.com/batonhq/baton/humantask"
)

// MemoOpenTasks is the memo key of the instance's open tasks
// ([]humantask.Summary), what the inbox lists from visibility alone without
// asking the instance. Absent when no task is open.
const MemoOpenTasks = "openTasks"

// flushInbox writes the open tasks to the memo when they changed since the
// last write (at most one memo upsert per turn, beside the search
// attributes). The memo goes through the data converter, so a payload codec
// encrypts it; search attributes stay the only plain-text index.
func (r *Record) flushInbox(ctx workflow.Context, open []humantask.TaskView) {
	summaries := make([]humantask.Summary, len(open))
	for i, t := range open {
		summaries[i] = t.Summary()
	}
	v := ""
	if len(summaries) > 0 {
		b, err := json.Marshal(summaries)
		if err != nil {
			r.log.Warn("open tasks memo not encoded", "Error", err)
			return
		}
		v = string(b)
	}
	// lastSA remembers the memo's last value too, under the memo key.
	if !r.changedSA(MemoOpenTasks, v) {
		return
	}
	var memo any // nil removes the key
	if v != "" {
		memo = summaries
	}
	if err := workflow.UpsertMemo(ctx, map[string]any{MemoOpenTasks: memo}); err != nil {
		r.log.Warn("open tasks memo not updated", "Error", err)
	}
}
