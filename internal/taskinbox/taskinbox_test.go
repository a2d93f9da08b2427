package taskinbox

import (
	"strings"
	"testing"
	"time"

	"github.com/batonhq/baton/audit"
	"github.com/batonhq/baton/config"

	commonpb "go.temporal.io/api/common/v1"
	"go.temporal.io/sdk/converter"

	"github.com/batonhq/baton/codec"
	"github.com/batonhq/baton/humantask"
	"github.com/batonhq/baton/policy"
)

func devPolicy(t *testing.T) *policy.Policy {
	t.Helper()
	p, err := config.LoadPolicy("../../config/policy.yaml", nil)
	if err != nil {
		t.Fatal(err)
	}
	return p
}

// A task page is for its candidates; deciding follows humantask.MayAct on
// the memo's summary exactly as on the workflow's own view: an exclusion or
// an earlier vote takes the task out of a candidate's list.
func TestCandidatesAndTheSummaryRule(t *testing.T) {
	p := devPolicy(t)
	task := humantask.TaskView{
		ID: "underwriting", State: humantask.StateOpen, Roles: []string{"underwriter"}, Users: []string{"sam"},
		Exclusions: []humantask.Exclusion{{User: "ben", Reason: "the applicant"}},
		Votes:      []audit.Vote{{Actor: "ana", Verdict: humantask.Approve}},
	}
	l := &Visibility{Policy: p}
	now := time.Now()
	for _, c := range []struct {
		user            string
		candidate, acts bool
	}{
		{"ana", true, false}, // decided already
		{"ben", true, false}, // excluded
		{"sam", true, true},  // named
		{"fay", false, false},
	} {
		if got := IsCandidate(p, c.user, task); got != c.candidate {
			t.Errorf("IsCandidate(%s) = %v", c.user, got)
		}
		if got := humantask.MayAct(p, c.user, task) == ""; got != c.acts {
			t.Errorf("MayAct(%s) = %v", c.user, got)
		}
		if got := l.keep(Filter{User: c.user}, task.Summary(), now); got != c.acts {
			t.Errorf("listing %s's tasks from the memo: kept = %v, want %v", c.user, got, c.acts)
		}
	}
}

// The visibility query narrows instances by PendingRoles, process and the
// earliest deadline; tasks are then filtered one by one from the memo.
func TestQueryAndTaskFilters(t *testing.T) {
	l := &Visibility{Policy: devPolicy(t)}
	now := time.Date(2026, 11, 26, 2, 0, 0, 0, time.UTC)
	for _, c := range []struct {
		f    Filter
		want string
	}{
		{Filter{}, "ExecutionStatus = 'Running' AND PendingRoles IS NOT NULL"},
		{Filter{User: "ana"}, "PendingRoles IN ('underwriter', 'user:ana')"},
		{Filter{Role: "finance", Process: "expense"}, "PendingRoles IN ('finance') AND ProcessType = 'expense'"},
		{Filter{Overdue: true, Now: now}, "TaskDeadline < '2026-11-26T02:00:00Z'"},
		{Filter{Process: "x' OR 'a'='a"}, "ProcessType = 'x OR a=a'"},
	} {
		q, err := l.Query(c.f)
		if err != nil || !strings.Contains(q, c.want) {
			t.Errorf("Query(%+v) = %q, %v; want it to contain %q", c.f, q, err, c.want)
		}
	}
	if _, err := l.Query(Filter{User: "zed"}); err == nil || !strings.Contains(err.Error(), `user: "zed" is not in the directory`) {
		t.Errorf("unknown user: %v", err)
	}
	s := humantask.Summary{ID: "finance-approval", Roles: []string{"finance"}, Deadline: now.Add(time.Hour)}
	if l.keep(Filter{Role: "manager"}, s, now) || !l.keep(Filter{Role: "finance"}, s, now) {
		t.Error("role filter")
	}
	if l.keep(Filter{Overdue: true}, s, now) || !l.keep(Filter{Overdue: true}, s, now.Add(2*time.Hour)) {
		t.Error("overdue filter")
	}
}

func TestCursorRoundTripAndRefusal(t *testing.T) {
	c := cursor{Token: []byte{1, 2, 3}, Skip: 7}
	got, err := decodeCursor(c.encode())
	if err != nil || got.Skip != 7 || string(got.Token) != string(c.Token) {
		t.Fatalf("round trip: %+v %v", got, err)
	}
	for _, bad := range []string{"not base64!", "e30K-garbage", cursor{Skip: -1}.encode()} {
		if _, err := decodeCursor(bad); err == nil || !strings.Contains(err.Error(), "cursor: not a cursor from an earlier page") {
			t.Errorf("decodeCursor(%q) = %v", bad, err)
		}
	}
}

// Only Baton's own instances are listed: its types on its task queue, and,
// with a codec, memos the codec encrypted.
func TestSourceKeepsToBatonsInstances(t *testing.T) {
	l := &Visibility{Source: Source{TaskQueue: "baton", Types: []string{"loan", "order"}, Encrypted: true}}
	q, err := l.Query(Filter{Role: "underwriter"})
	if err != nil || !strings.Contains(q, "WorkflowType IN ('loan', 'order')") || !strings.Contains(q, "TaskQueue = 'baton'") {
		t.Errorf("query = %s, %v", q, err)
	}
	if !l.Source.Owns("loan", "baton") || l.Source.Owns("phish", "baton") || l.Source.Owns("loan", "elsewhere") {
		t.Error("Owns does not keep to the types on the task queue")
	}
	plain := &commonpb.Payload{Metadata: map[string][]byte{converter.MetadataEncoding: []byte(converter.MetadataEncodingJSON)}}
	sealed := &commonpb.Payload{Metadata: map[string][]byte{converter.MetadataEncoding: []byte(codec.MetadataEncoding)}}
	if l.Source.trusted(plain) || !l.Source.trusted(sealed) || !(Source{}).trusted(plain) {
		t.Error("with a codec only encrypted memos are trusted; without one, any")
	}
}
