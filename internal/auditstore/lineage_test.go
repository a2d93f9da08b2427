package auditstore_test

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"testing"
	"time"

	"github.com/batonhq/baton/audit"

	"github.com/batonhq/baton/internal/auditstore"
)

var ends = []string{"completed", "failed"}

// A key's state: the first start entry (its owner), the last terminal
// entry and the last entry's time; refusals by the validator do not count,
// and a key nothing started under has no owner.
func TestKeyStateNamesTheOwnerAndTheEnd(t *testing.T) {
	s, _ := open(t)
	ctx := context.Background()
	if k, err := s.KeyState(ctx, "loan-K-0", "started", ends); err != nil || k.Start != nil || k.End != nil {
		t.Fatalf("an unknown key: %+v %v", k, err)
	}
	mustAppend(t, s, trail("loan-K-1", "r1", 7))
	refusal := audit.Entry{WorkflowID: "loan-K-1", RunID: "r2", UpdateID: "u-1", Process: "loan", Time: t0.Add(time.Hour),
		Actor: "fay", Action: "decision-refused", Source: audit.SourceValidator}
	mustAppend(t, s, []audit.Entry{refusal})
	refused := audit.Entry{WorkflowID: "loan-K-1", RunID: "r2", Seq: 1, Process: "loan", Time: t0.Add(2 * time.Hour),
		Actor: "system", Action: "start-refused", Source: audit.SourceWorkflow}
	mustAppend(t, s, []audit.Entry{refused})
	k, err := s.KeyState(ctx, "loan-K-1", "started", ends)
	if err != nil {
		t.Fatal(err)
	}
	if k.Start == nil || k.Start.RunID != "r1" || k.Start.Pos != 1 || k.End == nil || k.End.Action != "completed" || k.End.RunID != "r1" ||
		!k.LastAt.Equal(refused.Time.Truncate(time.Microsecond)) {
		t.Errorf("key state = start %+v end %+v last %v", k.Start, k.End, k.LastAt)
	}
	// A key whose instance was terminated has a start and no end.
	mustAppend(t, s, trail("loan-K-2", "r1", 4))
	if k, err := s.KeyState(ctx, "loan-K-2", "started", ends); err != nil || k.Start == nil || k.End != nil || !k.LastAt.Equal(t0.Add(4*time.Minute).Truncate(time.Microsecond)) {
		t.Errorf("a terminated instance: %+v %v", k, err)
	}
}

// Earlier lists what other runs of an instance recorded with data, in
// chain order, of the actions asked for.
func TestEarlierListsOtherRunsEntries(t *testing.T) {
	s, _ := open(t)
	ctx := context.Background()
	withData := func(e audit.Entry) audit.Entry {
		e.Data = json.RawMessage(fmt.Sprintf(`{"seq":%d}`, e.Seq))
		return e
	}
	r1 := trail("loan-E-1", "r1", 5)
	r1[2], r1[3] = withData(r1[2]), withData(r1[3])
	r2 := trail("loan-E-1", "r2", 4)
	r2[3] = withData(r2[3])
	mustAppend(t, s, r1)
	mustAppend(t, s, r2)
	got, err := s.Earlier(ctx, "loan-E-1", "r2", []string{"task-opened", "decision-accepted"})
	if err != nil {
		t.Fatal(err)
	}
	if len(got) != 2 || got[0].Action != "task-opened" || got[1].Action != "decision-accepted" || got[1].RunID != "r1" || got[1].Pos != 4 {
		t.Errorf("earlier = %+v", got)
	}
}

// A run's validator refusals are stored up to the cap; beyond it nothing
// is stored (ErrCapped), a retried update already stored still counts as
// stored, and the chain stays intact.
func TestAppendCappedStoresAtMostTheCap(t *testing.T) {
	s, _ := open(t)
	ctx := context.Background()
	refusal := func(run, update string) audit.Entry {
		return audit.Entry{WorkflowID: "loan-C-1", RunID: run, UpdateID: update, Process: "loan", Time: t0,
			Actor: "fay", Action: "decision-refused", Source: audit.SourceValidator}
	}
	var capped int
	for i := range 5 {
		err := s.AppendCapped(ctx, refusal("r1", fmt.Sprint("u-", i)), 3)
		switch {
		case errors.Is(err, auditstore.ErrCapped):
			capped++
		case err != nil:
			t.Fatal(err)
		}
	}
	if capped != 2 {
		t.Errorf("%d refusals capped, want 2", capped)
	}
	if err := s.AppendCapped(ctx, refusal("r1", "u-1"), 3); err != nil {
		t.Errorf("a retried update already stored: %v", err)
	}
	if err := s.AppendCapped(ctx, refusal("r2", "u-9"), 3); err != nil {
		t.Errorf("another run's first refusal: %v", err)
	}
	if auditstore.Transient(auditstore.ErrCapped) {
		t.Error("a capped refusal is retried")
	}
	rep, err := s.Verify(ctx, "loan-C-1")
	if err != nil || !rep.OK() || rep.Entries != 4 {
		t.Errorf("chain: %d entries, %+v %v", rep.Entries, rep.Problems, err)
	}
}
