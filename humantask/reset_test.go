package humantask

import (
	"encoding/json"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/batonhq/baton/audit"
)

// recorded builds an earlier run's entries for the underwriting task's
// first occurrence: it opened with spec and digest, then the decisions.
func recorded(t *testing.T, run string, spec SpecData, digest string, ds ...Decision) []Recorded {
	t.Helper()
	s := Subject{WorkflowID: "loan-A-1", RunID: run, TaskID: "underwriting", Occurrence: 1, Digest: digest}
	b, err := json.Marshal(OpenedData{Occurrence: 1, Subject: s, Spec: spec})
	if err != nil {
		t.Fatal(err)
	}
	out := []Recorded{{RunID: run, Pos: 5, Action: audit.ActionTaskOpened, Actor: audit.SystemActor, TaskID: "underwriting", Data: b}}
	for i, d := range ds {
		action := audit.ActionDecisionAccepted
		if d.Verdict == Delegate {
			action = audit.ActionDelegated
		}
		out = append(out, Recorded{RunID: run, Pos: int64(6 + i), Action: action, Actor: d.Actor, TaskID: "underwriting", Data: decisionData(d, s)})
	}
	return out
}

// A reset run's task, occurrence 1 of underwriting, quorum 2.
func resetTask() *task {
	return &task{
		spec:  Spec{ID: "underwriting", Roles: []string{"underwriter"}, Quorum: 2, Exclusions: []Exclusion{{User: "C-1002", Reason: "the applicant"}}, Deadline: 48 * time.Hour},
		state: StateOpen, roles: []string{"underwriter"},
		subject: Subject{WorkflowID: "loan-A-1", RunID: "r3", TaskID: "underwriting", Occurrence: 1, Digest: "d1"},
	}
}

// What an earlier run recorded for the same task occurrence is honoured in
// its order, one decision per actor, without those this run already has;
// a task that differs from the one decided (facts, quorum, candidates,
// exclusions), or one whose opening the trail lacks, is held with why.
func TestRecordedDecisionsHonouredOrHeld(t *testing.T) {
	spec := SpecData{Roles: []string{"underwriter"}, Quorum: 2, Rejections: 1, Exclusions: []Exclusion{{User: "C-1002", Reason: "the applicant"}}}
	ana := Decision{Verdict: Approve, Actor: "ana", Comment: "ok"}
	ben := Decision{Verdict: Reject, Actor: "ben", Comment: "no"}

	tk := resetTask()
	tk.votes = []audit.Vote{{Actor: "ana", Verdict: Approve}} // replayed from before the reset point
	earlier := append(recorded(t, "r1", spec, "d1", ana, ben), recorded(t, "r2", spec, "d1", ben)[1:]...)
	todo, why := tk.recordedDecisions(earlier)
	if why != "" || len(todo) != 1 || !reflect.DeepEqual(todo[0].data.Decision, ben) || todo[0].rec.RunID != "r1" || todo[0].rec.Pos != 7 {
		t.Fatalf("honoured %+v, held %q", todo, why)
	}
	if got := todo[0].rec.ref(); got != "run r1, entry 7" {
		t.Errorf("ref = %q", got)
	}

	other := func(change func(*SpecData), digest string) string {
		s := spec
		s.Exclusions = append([]Exclusion(nil), spec.Exclusions...)
		if change != nil {
			change(&s)
		}
		_, why := resetTask().recordedDecisions(recorded(t, "r1", s, digest, ana))
		return why
	}
	for name, c := range map[string]struct {
		why  string
		want string
	}{
		"other facts":      {other(nil, "d0"), "the trail records approve by ana (run r1, entry 6) for task underwriting on other facts than this run's"},
		"another quorum":   {other(func(s *SpecData) { s.Quorum = 1 }, "d1"), "when its quorum was 1; this run's task differs"},
		"other candidates": {other(func(s *SpecData) { s.Roles = []string{"senior-underwriter"} }, "d1"), "when its candidates were senior-underwriter"},
		"other exclusions": {other(func(s *SpecData) { s.Exclusions = nil }, "d1"), "when its exclusions were none"},
	} {
		if !strings.Contains(c.why, c.want) {
			t.Errorf("%s: held %q, want %q", name, c.why, c.want)
		}
	}
	if _, why := resetTask().recordedDecisions(recorded(t, "r1", spec, "d1", ana)[1:]); !strings.Contains(why, "no record of the task it decided") {
		t.Errorf("no task-opened entry: held %q", why)
	}
	if todo, why := resetTask().recordedDecisions(nil); len(todo) != 0 || why != "" {
		t.Errorf("nothing recorded: %+v %q", todo, why)
	}
}
