package starter

import (
	"fmt"
	"testing"
	"time"

	"github.com/batonhq/baton/audit"
)

func entry(run string, seq int64, actor, action string) audit.Entry {
	return audit.Entry{WorkflowID: "loan-A-1", RunID: run, Seq: seq, Process: "loan", BusinessKey: "A-1",
		Time: time.Date(2026, 11, 20, 9, 0, int(seq), 0, time.UTC), Actor: actor, Action: action,
		Details: fmt.Sprintf("%s %d", action, seq), Source: audit.SourceWorkflow}
}

func records(es ...audit.Entry) []audit.Stored {
	var out []audit.Stored
	for i, e := range es {
		out = append(out, audit.Stored{Entry: e, Pos: int64(i + 1), Hash: fmt.Sprintf("%064d", i+1)})
	}
	return out
}

func histAudit(run string, base []string, committed bool, heads []string, es ...audit.Entry) historyAudit {
	h := historyAudit{RunID: run, BaseRuns: base, Entries: map[string]audit.Entry{}, Committed: map[string]bool{}, Heads: heads}
	for _, e := range es {
		h.Entries[e.Key()] = e
		h.Committed[e.Key()] = committed
	}
	return h
}

func kinds(ds []Divergence) map[string][]string {
	out := map[string][]string{}
	for _, d := range ds {
		out[d.Kind] = append(out[d.Kind], d.Key)
	}
	return out
}

func TestCompareHistory(t *testing.T) {
	started, opened := entry("r1", 1, "system", "started"), entry("r1", 2, "system", "task-opened")
	accepted := entry("r1", 3, "ana", "decision-accepted")
	closedR1 := entry("r1", 4, "system", "completed")
	declined := entry("r2", 3, "system", "task-closed") // the reset run's version of seq 3
	refusal := audit.Entry{WorkflowID: "loan-A-1", RunID: "r1", UpdateID: "u1", Process: "loan", Time: started.Time,
		Actor: "eve", Action: "decision-refused", Source: audit.SourceValidator}

	t.Run("reset that dropped an accepted decision", func(t *testing.T) {
		store := records(started, opened, refusal, accepted, closedR1, declined)
		// Run r2 was reset from r1 after seq 2: its history holds r1's first
		// two entries (copied events) and its own.
		h := histAudit("r2", []string{"r1"}, true, nil, started, opened, declined)
		got := kinds(compareHistory(store, h))
		if want := []string{accepted.Key(), closedR1.Key()}; fmt.Sprint(got[divDropped]) != fmt.Sprint(want) {
			t.Errorf("dropped = %v, want %v (all: %v)", got[divDropped], want, got)
		}
		if len(got) != 1 {
			t.Errorf("unexpected divergences: %v", got)
		}
	})
	t.Run("matching store and history", func(t *testing.T) {
		store := records(started, opened, refusal, accepted, closedR1)
		h := histAudit("r1", nil, true, []string{store[4].Hash}, started, opened, accepted, closedR1)
		if ds := compareHistory(store, h); len(ds) != 0 {
			t.Errorf("divergences: %v", ds)
		}
	})
	t.Run("every run the store holds is compared, however many resets", func(t *testing.T) {
		// r1 decided and ended; r2 was reset from it to the start and, 25
		// ms later, r3 from r2: r3's history names only r2 as its base,
		// and r2 wrote nothing before it was reset away.
		mine := func(e audit.Entry, run string) audit.Entry { e.RunID = run; return e }
		store := records(started, opened, accepted, closedR1, mine(started, "r3"), mine(opened, "r3"))
		h := histAudit("r3", []string{"r2"}, true, nil, mine(started, "r3"), mine(opened, "r3"))
		got := kinds(compareHistory(store, h))
		if want := []string{started.Key(), opened.Key(), accepted.Key(), closedR1.Key()}; fmt.Sprint(got[divDropped]) != fmt.Sprint(want) {
			t.Errorf("dropped = %v, want %v (all: %v)", got[divDropped], want, got)
		}
	})
	t.Run("a refused start is its own run, not compared", func(t *testing.T) {
		refused := entry("r9", 1, "system", "start-refused")
		store := records(started, opened, accepted, closedR1, refused)
		h := histAudit("r1", nil, true, nil, started, opened, accepted, closedR1)
		if ds := compareHistory(store, h); len(ds) != 0 {
			t.Errorf("divergences: %v", ds)
		}
	})
	t.Run("pending, missing, edited and a recomputed chain", func(t *testing.T) {
		edited := accepted
		edited.Actor = "ben"
		store := records(started, edited)
		pendingH := histAudit("r1", nil, false, nil, opened)
		h := histAudit("r1", nil, true, []string{"f00d" + fmt.Sprintf("%060d", 0)}, started, accepted, closedR1)
		for k, e := range pendingH.Entries {
			h.Entries[k], h.Committed[k] = e, false
		}
		got := kinds(compareHistory(store, h))
		if len(got[divPending]) != 1 || len(got[divMissing]) != 1 || len(got[divDiffers]) != 1 || len(got[divReanchor]) != 1 {
			t.Errorf("got %v", got)
		}
		if (Divergence{Kind: divPending}).problem() || !(Divergence{Kind: divDropped}).problem() {
			t.Error("pending writes are not a problem; dropped entries are")
		}
	})
}
