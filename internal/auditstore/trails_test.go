package auditstore_test

import (
	"context"
	"encoding/json"
	"strings"
	"testing"
	"time"

	"github.com/batonhq/baton/audit"

	"github.com/batonhq/baton/internal/auditstore"
)

func TestTrailsStreamsWholeTrailsOfTheWindow(t *testing.T) {
	s, _ := open(t)
	ctx := context.Background()
	mustAppend(t, s, trail("loan-T-1", "r1", 7)) // ended at t0+7m
	mustAppend(t, s, trail("loan-T-2", "r1", 3)) // running, started t0+1m
	late := trail("loan-T-3", "r1", 7)
	for i := range late {
		late[i].Time = late[i].Time.Add(time.Hour)
	}
	mustAppend(t, s, late)
	order := trail("order-T-4", "r1", 7)
	for i := range order {
		order[i].Process = "order"
	}
	mustAppend(t, s, order)
	read := func(f auditstore.TrailFilter) string {
		t.Helper()
		var got []string
		err := s.Trails(ctx, f, func(tr []audit.Entry) error {
			for i, e := range tr {
				if e.WorkflowID != tr[0].WorkflowID || e.Seq != int64(i+1) {
					t.Errorf("%s: entry %d is %s #%d", tr[0].WorkflowID, i, e.WorkflowID, e.Seq)
				}
			}
			got = append(got, tr[0].WorkflowID+"/"+string(rune('0'+len(tr))))
			return nil
		})
		if err != nil {
			t.Fatal(err)
		}
		return strings.Join(got, " ")
	}
	ended := auditstore.TrailFilter{Process: "loan", Since: t0, Until: t0.Add(30 * time.Minute), StartAction: "started", EndActions: []string{"completed", "failed"}}
	if got := read(ended); got != "loan-T-1/7" {
		t.Errorf("loans ended in the window: %s", got)
	}
	started := ended
	started.ByStart = true
	if got := read(started); got != "loan-T-1/7 loan-T-2/3" {
		t.Errorf("loans started in the window: %s", got)
	}
	all := auditstore.TrailFilter{StartAction: "started", EndActions: []string{"completed", "failed"}}
	if got := read(all); got != "loan-T-1/7 loan-T-3/7 order-T-4/7" {
		t.Errorf("every ended instance: %s", got)
	}

	// DataOf: only the named actions' entries come with their data.
	withData := dataTrail("loan-T-5", 7, `{"outcome":"approved"}`)
	withData[2].Data = json.RawMessage(`{"spec":{"quorum":2}}`) // task-opened
	mustAppend(t, s, withData)
	for _, tc := range []struct {
		dataOf []string
		want   string
	}{{nil, "task-opened completed"}, {[]string{"completed"}, "completed"}, {[]string{}, ""}} {
		f := all
		f.Process, f.DataOf = "loan", tc.dataOf
		var got []string
		if err := s.Trails(ctx, f, func(tr []audit.Entry) error {
			for _, e := range tr {
				if e.WorkflowID == "loan-T-5" && len(e.Data) > 0 {
					got = append(got, e.Action)
				}
			}
			return nil
		}); err != nil {
			t.Fatal(err)
		}
		if strings.Join(got, " ") != tc.want {
			t.Errorf("data of %v: entries with data %v, want %s", tc.dataOf, got, tc.want)
		}
	}
}
