package auditstore_test

import (
	"context"
	"encoding/hex"
	"encoding/json"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/batonhq/baton/audit"

	"github.com/batonhq/baton/internal/auditstore"
)

// An entry without Data hashes exactly as before Data existed: the hash
// below was computed by the version-1 code (commit 75a491f), so chains
// written then still verify.
func TestEntryWithoutDataHashesAsBefore(t *testing.T) {
	e := audit.Entry{WorkflowID: "loan-A-1", RunID: "r1", Seq: 7, EventID: 42, Process: "loan", BusinessKey: "loan-A-1",
		Time: time.Date(2026, 11, 20, 9, 7, 0, 123456789, time.UTC), Actor: "system", Action: "completed",
		Details: "approved", PolicyVersion: "sha256:abc", Source: audit.SourceWorkflow}
	const v1 = "d0d53b8a46c69897ce4e691d0cf4dd6806f29e141976866f02ab7f498c856caf"
	if got := hex.EncodeToString(audit.ChainHash(audit.GenesisHash, 7, e)); got != v1 {
		t.Errorf("an entry without data hashes to %s, version 1 gave %s", got, v1)
	}
	e.Data = json.RawMessage(`{"facts":{"score":"780"}}`)
	if got := hex.EncodeToString(audit.ChainHash(audit.GenesisHash, 7, e)); got == v1 {
		t.Error("data is not covered by the hash")
	}
	if c := string(e.Canonical()); !strings.HasPrefix(c, "baton-audit/v2") || !strings.HasSuffix(c, `{"facts":{"score":"780"}}`) {
		t.Errorf("canonical encoding with data: %q", c)
	}
	other := e
	other.Data = json.RawMessage(`{"facts":{"score":"781"}}`)
	if audit.SameFact(e, other) {
		t.Error("a terminal entry whose facts differ is the same fact (see TestPlantedDataIsAConflictNotADuplicate)")
	}
}

// dataTrail is trail with data on its terminal entry.
func dataTrail(id string, n int, data string) []audit.Entry {
	tr := trail(id, "r1", n)
	tr[n-1].Data = json.RawMessage(data)
	return tr
}

func TestDataIsStoredHashedAndVerified(t *testing.T) {
	s, dsn := open(t)
	ctx := context.Background()
	const data = `{"handlingPath":"manual","facts":{"amount":"40000","score":"780"}}`
	mustAppend(t, s, dataTrail("loan-D-1", 7, data))
	// A retried write of the same entries is stored once.
	if res := mustAppend(t, s, dataTrail("loan-D-1", 7, data)); res.Stored != 0 || res.Duplicates != 7 {
		t.Errorf("retried write: %+v", res)
	}
	recs, err := s.Trail(ctx, "loan-D-1")
	if err != nil {
		t.Fatal(err)
	}
	if string(recs[6].Data) != data || recs[5].Data != nil {
		t.Errorf("data read back: terminal %q, previous %q", recs[6].Data, recs[5].Data)
	}
	if rep, err := s.Verify(ctx, "loan-D-1"); err != nil || !rep.OK() {
		t.Fatalf("untouched chain with data: %v %+v", err, rep.Problems)
	}
	tamper(t, dsn, `UPDATE audit_entries SET data = replace(data, '780', '790') WHERE pos = 7`)
	rep, err := s.Verify(ctx, "loan-D-1")
	if err != nil {
		t.Fatal(err)
	}
	if len(rep.Problems) != 1 || rep.Problems[0].Kind != auditstore.ProblemHash || rep.Problems[0].Pos != 7 {
		t.Errorf("edited data: %+v", rep.Problems)
	}
	// Data added to an entry that had none breaks it too.
	tamper(t, dsn, `UPDATE audit_entries SET data = '{}' WHERE pos = 3`)
	if rep, _ := s.Verify(ctx, "loan-D-1"); len(rep.Problems) != 2 {
		t.Errorf("data added to entry 3: %+v", rep.Problems)
	}
}

func TestDataIsBoundedAndJSON(t *testing.T) {
	s, _ := open(t)
	for _, tc := range []struct{ name, data, want string }{
		{"not JSON", `{"facts":`, "data is not valid JSON"},
		{"too large", `"` + strings.Repeat("x", audit.MaxDataBytes) + `"`, "over the bound of 32768"},
	} {
		_, err := s.Append(context.Background(), dataTrail("loan-D-2", 3, tc.data))
		if !errors.Is(err, audit.ErrInvalid) || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%s: %v", tc.name, err)
		}
	}
}

func TestEndedListsInstancesByTheirTerminalEntry(t *testing.T) {
	s, _ := open(t)
	ctx := context.Background()
	// trail(n=7): started at t0+1m, completed at t0+7m.
	mustAppend(t, s, dataTrail("loan-E-1", 7, `{"facts":{}}`))
	mustAppend(t, s, trail("loan-E-2", "r1", 7)) // ended before data existed
	mustAppend(t, s, trail("loan-E-3", "r1", 3)) // still running
	failed := trail("loan-E-4", "r1", 3)
	failed[2].Action, failed[2].Time = "failed", t0.Add(10*time.Minute)
	mustAppend(t, s, failed)
	late := dataTrail("loan-E-5", 7, `{"facts":{}}`)
	for i := range late {
		late[i].Time = late[i].Time.Add(time.Hour)
	}
	mustAppend(t, s, late)
	order := trail("order-E-6", "r1", 7)
	for i := range order {
		order[i].Process = "order"
	}
	mustAppend(t, s, order)
	// A reset run of loan-E-7 ended again later: it counts once, by its
	// latest end.
	reset := trail("loan-E-7", "r1", 7)
	again := trail("loan-E-7", "r2", 7)
	for i := range again {
		again[i].Time = again[i].Time.Add(3 * time.Minute)
	}
	again[6].Data = json.RawMessage(`{"outcome":"approved"}`)
	mustAppend(t, s, reset)
	mustAppend(t, s, again)

	f := auditstore.EndedFilter{Process: "loan", Since: t0.Add(7 * time.Minute), Until: t0.Add(30 * time.Minute),
		StartAction: "started", EndActions: []string{"completed", "failed"}}
	got, err := s.Ended(ctx, f)
	if err != nil {
		t.Fatal(err)
	}
	var ids []string
	for _, e := range got {
		ids = append(ids, e.WorkflowID)
	}
	if strings.Join(ids, " ") != "loan-E-1 loan-E-2 loan-E-4 loan-E-7" {
		t.Fatalf("ended in the window: %v, want loan-E-1 loan-E-2 (t0+7m, by ID), loan-E-4 and loan-E-7 (t0+10m, run r2)", ids)
	}
	first := got[0]
	want := t0.Truncate(time.Microsecond)
	if !first.Started.Equal(want.Add(time.Minute)) || !first.Closed.Equal(want.Add(7*time.Minute)) || first.EndAction != "completed" ||
		string(first.Data) != `{"facts":{}}` || first.RunID != "r1" || first.Process != "loan" {
		t.Errorf("loan-E-1: %+v", first)
	}
	if got[1].Data != nil {
		t.Errorf("loan-E-2 ended before data existed: data %q", got[1].Data)
	}
	if e := got[3]; e.RunID != "r2" || string(e.Data) != `{"outcome":"approved"}` || !e.Started.Equal(want.Add(time.Minute)) {
		t.Errorf("reset instance: %+v", e)
	}
	if got[2].EndAction != "failed" {
		t.Errorf("failed instance: %+v", got[2])
	}
	// The bounds are inclusive; an open bound lists everything.
	f.Until = t0.Add(7 * time.Minute)
	if got, _ := s.Ended(ctx, f); len(got) != 2 {
		t.Errorf("until the first end: %d instances, want 2", len(got))
	}
	f.Process, f.Since, f.Until = "", time.Time{}, time.Time{}
	if got, _ := s.Ended(ctx, f); len(got) != 6 {
		t.Errorf("every process, no bounds: %d instances, want 6", len(got))
	}
}

// A completed entry written first by someone holding the worker's
// database role (INSERT on the entries, the head moving forward), with
// facts of their choosing: when the instance's own write of that entry
// arrives, it must be a conflict (the sink stops, --verify reports it), not
// a duplicate that leaves the planted facts as the record. Only timestamps
// at the entry's own time may differ (a task closed as the instance ended,
// in a workflow task that was retried).
func TestPlantedDataIsAConflictNotADuplicate(t *testing.T) {
	s, _ := open(t)
	ctx := context.Background()
	const real = `{"startedAt":"2026-11-20T09:01:00.123456789Z","handlingPath":"manual","outcome":"rejected","decision":"manual","facts":{"amount":"45000","score":"780"}}`
	const planted = `{"startedAt":"2026-11-20T09:01:00.123456789Z","handlingPath":"manual","outcome":"rejected","decision":"manual","facts":{"amount":"45000","score":"300"}}`
	mustAppend(t, s, trail("loan-P-1", "r1", 6))
	mustAppend(t, s, dataTrail("loan-P-1", 7, planted)[6:])
	_, err := s.Append(ctx, dataTrail("loan-P-1", 7, real)[6:])
	if !errors.Is(err, auditstore.ErrConflict) {
		t.Errorf("the instance's completed entry after a planted one with other facts: %v, want ErrConflict", err)
	}
	// A retried workflow task makes the entry again at its own, later
	// time; a task it closed carries that time too: the same fact.
	entry := func(at time.Time, closed time.Time, score string) audit.Entry {
		e := dataTrail("loan-P-2", 7, "{}")[6]
		e.Time = at
		e.Data = json.RawMessage(`{"facts":{"score":"` + score + `"},"tasks":[{"id":"underwriting","openedAt":"2026-11-20T09:02:00Z","closedAt":"` +
			closed.Format(time.RFC3339Nano) + `"}]}`)
		return e
	}
	first, retry := t0.Add(7*time.Minute), t0.Add(7*time.Minute+3*time.Second)
	if !audit.SameFact(entry(first, first, "780"), entry(retry, retry, "780")) {
		t.Error("a retried terminal entry whose task closed at the retry's time is a conflict")
	}
	if audit.SameFact(entry(first, first, "780"), entry(retry, retry, "300")) {
		t.Error("a retried terminal entry with other facts is the same fact")
	}
	if audit.SameFact(entry(first, first.Add(-time.Hour), "780"), entry(retry, retry.Add(-2*time.Hour), "780")) {
		t.Error("a task closed an hour earlier than recorded is the same fact")
	}
	noData := entry(first, first, "780")
	noData.Data = nil
	if audit.SameFact(noData, entry(first, first, "780")) {
		t.Error("an entry without data and one with data are the same fact")
	}
}
