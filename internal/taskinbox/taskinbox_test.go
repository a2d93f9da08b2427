package taskinbox

import (
	"testing"

	"baton/policy"
	"baton/workflows/humantask"
)

// The inbox's rule is the starter's: roles or a name make a candidate;
// an exclusion or an earlier vote takes the task out of their list.
func TestMayAct(t *testing.T) {
	p, err := policy.Load("../../config/policy.yaml")
	if err != nil {
		t.Fatal(err)
	}
	task := humantask.TaskView{
		Roles: []string{"underwriter"}, Users: []string{"sam"},
		Exclusions: []humantask.Exclusion{{User: "ben", Reason: "the applicant"}},
		Votes:      []humantask.Vote{{Actor: "ana", Verdict: humantask.Approve}},
	}
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
	}
	if got := PendingFor(p, "ana"); len(got) != 2 || got[0] != "underwriter" || got[1] != "user:ana" {
		t.Errorf("PendingFor(ana) = %v", got)
	}
}
