package insight

import (
	"context"
	"encoding/json"
	"os"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/batonhq/baton/audit"
	"github.com/batonhq/baton/humantask"
	"github.com/batonhq/baton/policy"
	"github.com/batonhq/baton/record"
	"github.com/batonhq/baton/workflows"
)

func conform(t *testing.T, trails []*Trail, pols ...*policy.Policy) Conformance {
	t.Helper()
	return Conform(context.Background(), trails, NewPolicySet(append(pols, devPolicy(t))...), &Described{Catalog: workflows.Catalog()})
}

func TestRecordedTrailsConform(t *testing.T) {
	c := conform(t, allTrails(t))
	if c.Instances != 8 || c.Checked != 8 || len(c.Breaches) != 0 {
		t.Fatalf("clean trails: %d instances, %d checked, breaches %+v", c.Instances, c.Checked, c.Breaches)
	}
	if v := devPolicy(t).Version; !c.Policies[v] {
		t.Errorf("policies = %v, want %s readable", c.Policies, v)
	}
}

// find returns the index of the first entry matching.
func find(t *testing.T, trail []audit.Entry, action, actor string) int {
	t.Helper()
	for i, e := range trail {
		if e.Action == action && (actor == "" || e.Actor == actor) {
			return i
		}
	}
	t.Fatalf("no %s by %q in the trail", action, actor)
	return -1
}

func drop(trail []audit.Entry, keep func(audit.Entry) bool) []audit.Entry {
	var out []audit.Entry
	for _, e := range trail {
		if keep(e) {
			out = append(out, e)
		}
	}
	return out
}

// editData rewrites the completed entry's data.
func editData(t *testing.T, trail []audit.Entry, edit func(d *record.EndData)) {
	t.Helper()
	i := find(t, trail, audit.ActionCompleted, "")
	var d record.EndData
	if err := json.Unmarshal(trail[i].Data, &d); err != nil {
		t.Fatal(err)
	}
	edit(&d)
	b, err := json.Marshal(d)
	if err != nil {
		t.Fatal(err)
	}
	trail[i].Data = b
}

// laterPolicy is the development policy without ana: the version in force
// once an instance pinned it.
func laterPolicy(t *testing.T) *policy.Policy {
	t.Helper()
	b, err := os.ReadFile("../../config/policy.yaml")
	if err != nil {
		t.Fatal(err)
	}
	text := strings.Replace(string(b), "  ana: {name: Ana Alves,     roles: [underwriter]}\n", "", 1)
	if text == string(b) {
		t.Fatal("config/policy.yaml no longer lists ana as this test expects")
	}
	p, err := policy.Parse([]byte(text))
	if err != nil {
		t.Fatal(err)
	}
	return p
}

// plant is one breach planted in a copy of a recorded trail.
type plant struct {
	kind, key, from string
	plant           func(t *testing.T, tr []audit.Entry) []audit.Entry
	proof           string // an action among the evidence
}

// plants are one breach of each kind (the revoked one needs laterPolicy
// in force: the "later" trail pinned to it).
func plants() []plant {
	return []plant{
		{BreachSeparation, "sod", "expense", func(t *testing.T, tr []audit.Entry) []audit.Entry {
			// The manager-level approver also approves the finance level.
			tr[find(t, tr, audit.ActionDecisionAccepted, "fin")].Actor = "mia"
			return tr
		}, audit.ActionDecisionAccepted},
		{BreachQuorum, "quorum", "four-eyes", func(t *testing.T, tr []audit.Entry) []audit.Entry {
			// The second underwriter's approval is gone: one pair of eyes.
			i := find(t, tr, audit.ActionDecisionAccepted, "ben")
			return slices.Delete(tr, i, i+1)
		}, audit.ActionTaskClosed},
		{BreachLevels, "levels", "expense", func(t *testing.T, tr []audit.Entry) []audit.Entry {
			// Reimbursed without the director's level.
			return drop(tr, func(e audit.Entry) bool { return e.TaskID != "director-approval" })
		}, audit.ActionCompleted},
		{BreachCandidate, "candidate", "manual", func(t *testing.T, tr []audit.Entry) []audit.Entry {
			// A fraud analyst approves the underwriting.
			tr[find(t, tr, audit.ActionDecisionAccepted, "ana")].Actor = "fay"
			return tr
		}, audit.ActionDecisionAccepted},
		{BreachDeadline, "deadline", "manual", func(t *testing.T, tr []audit.Entry) []audit.Entry {
			// The approval came three days after the task opened (48 h).
			i := find(t, tr, audit.ActionDecisionAccepted, "ana")
			tr[i].Time = tr[find(t, tr, audit.ActionTaskOpened, "")].Time.Add(72 * time.Hour)
			return tr
		}, audit.ActionDecisionAccepted},
		{BreachAfterClose, "after-close", "manual", func(t *testing.T, tr []audit.Entry) []audit.Entry {
			// ben's approval, recorded after the task closed.
			i := find(t, tr, audit.ActionTaskClosed, "")
			late := tr[find(t, tr, audit.ActionDecisionAccepted, "ana")]
			late.Actor, late.Time = "ben", tr[i].Time.Add(time.Minute)
			return slices.Insert(tr, i+1, late)
		}, audit.ActionTaskClosed},
		{BreachRouting, "routing", "auto", func(t *testing.T, tr []audit.Entry) []audit.Entry {
			// Approved automatically on a risk score the rule declines.
			editData(t, tr, func(d *record.EndData) { d.Facts["riskScore"] = "500" })
			return tr
		}, audit.ActionRouted},
		{BreachRevoked, "revoked", "manual", func(t *testing.T, tr []audit.Entry) []audit.Entry {
			// ana decides nine days on, after the policy without her came
			// in force (the "later" instance pinned it on day eight).
			for i := range tr {
				tr[i].Time = tr[i].Time.AddDate(0, 0, 9)
			}
			editData(t, tr, func(d *record.EndData) { d.StartedAt = d.StartedAt.AddDate(0, 0, 9) })
			return tr
		}, audit.ActionDecisionAccepted},
	}
}

// TestPlantedBreachesAreFound plants one breach of each kind in copies of
// real trails, among the clean ones, and expects every one found, on the
// instance it was planted in, with the entries that prove it.
func TestPlantedBreachesAreFound(t *testing.T) {
	later := laterPolicy(t)
	plants := plants()
	trails := allTrails(t)
	// The later instance ran under the policy without ana.
	for _, tr := range trails {
		if tr.WorkflowID == "later" {
			for i := range tr.Entries {
				tr.Entries[i].PolicyVersion = later.Version
			}
			tr.PolicyVersion = later.Version
		}
	}
	for _, p := range plants {
		trails = append(trails, NewTrail(p.plant(t, trailCopy(t, p.from, p.key))))
	}
	c := conform(t, trails, later)
	for _, p := range plants {
		found := false
		for _, b := range c.Breaches {
			if b.WorkflowID != p.key || b.Kind != p.kind {
				continue
			}
			found = true
			if !slices.ContainsFunc(b.Evidence, func(e Evidence) bool { return e.Action == p.proof }) {
				t.Errorf("%s: evidence %+v lacks a %s entry", p.kind, b.Evidence, p.proof)
			}
		}
		if !found {
			t.Errorf("planted %s breach in %s not found; breaches: %+v", p.kind, p.key, c.Breaches)
		}
	}
	for _, b := range c.Breaches {
		if !slices.ContainsFunc(plants, func(p plant) bool { return p.key == b.WorkflowID }) {
			t.Errorf("breach on a clean instance: %+v", b)
		}
	}
	for _, kind := range BreachKinds() {
		if c.ByKind[kind] == 0 {
			t.Errorf("no %s breach counted: %v", kind, c.ByKind)
		}
	}
}

// TestUnknownPolicyIsSaidNotSkippedSilently: an instance whose pinned
// policy cannot be read is counted as checked for what needs no policy,
// and the rules that need it are listed as not checked, with why.
func TestUnknownPolicyIsSaidNotSkippedSilently(t *testing.T) {
	tr := trailCopy(t, "manual", "other-policy")
	for i := range tr {
		tr[i].PolicyVersion = "sha256:000000000000"
	}
	c := conform(t, []*Trail{NewTrail(tr)})
	if len(c.Breaches) != 0 || c.Policies["sha256:000000000000"] {
		t.Fatalf("breaches %+v, policies %v", c.Breaches, c.Policies)
	}
	rules := map[string]bool{}
	for _, u := range c.Unchecked {
		if strings.Contains(u.Why, "sha256:000000000000 is not known") {
			rules[u.Rule] = true
		}
	}
	for _, r := range []string{BreachRouting, BreachQuorum, BreachLevels, BreachCandidate, BreachRevoked} {
		if !rules[r] {
			t.Errorf("%s not listed as unchecked: %+v", r, c.Unchecked)
		}
	}
}

// TestOldTrailsSayWhatCannotBeChecked: a completed entry without data (a
// trail from before Baton recorded facts) cannot be held to the routing
// rule or the required tasks; the report says so.
func TestOldTrailsSayWhatCannotBeChecked(t *testing.T) {
	tr := trailCopy(t, "four-eyes", "old")
	tr[find(t, tr, audit.ActionCompleted, "")].Data = nil
	i := find(t, tr, audit.ActionDecisionAccepted, "ben")
	tr = slices.Delete(tr, i, i+1) // a breach this trail cannot show
	c := conform(t, []*Trail{NewTrail(tr)})
	if len(c.Breaches) != 0 {
		t.Fatalf("breaches %+v", c.Breaches)
	}
	if !slices.ContainsFunc(c.Unchecked, func(u Unchecked) bool {
		return u.Rule == BreachQuorum && strings.Contains(u.Why, "older than the recorded facts")
	}) {
		t.Errorf("unchecked = %+v", c.Unchecked)
	}
}

// Trails record each task's spec when it opens: the requester's exclusion
// from their own expense is then checked, and an approval by the requester
// (planted) is a separation-of-duties breach naming the exclusion.
func TestRequesterExclusionFromTheRecordedSpec(t *testing.T) {
	clean := NewTrail(trailCopy(t, "expense", "spec"))
	if k := clean.Tasks[0]; k.Spec == nil || len(k.Spec.Exclusions) == 0 || k.Spec.Exclusions[0].User != "max" || k.Decisions[0].Verdict != humantask.Approve {
		t.Fatalf("the recorded spec and decision are not read: %+v", k)
	}
	tr := trailCopy(t, "expense", "requester")
	tr[find(t, tr, audit.ActionDecisionAccepted, "mia")].Actor = "max"
	c := conform(t, []*Trail{clean, NewTrail(tr)})
	if len(c.Breaches) == 0 {
		t.Fatal("no breach")
	}
	for _, b := range c.Breaches {
		if b.WorkflowID != "requester" {
			t.Errorf("breach on the clean trail: %+v", b)
		}
	}
	if !slices.ContainsFunc(c.Breaches, func(b Breach) bool {
		return b.Kind == BreachSeparation && strings.Contains(b.Detail, "max decided task manager-approval although excluded (the requester)")
	}) {
		t.Errorf("breaches %+v", c.Breaches)
	}
	if slices.ContainsFunc(c.Unchecked, func(u Unchecked) bool { return u.Rule == BreachSeparation }) {
		t.Errorf("separation of duties said unchecked on trails with specs: %+v", c.Unchecked)
	}
}

// Trails written before tasks recorded their spec and decisions their
// data are read from the entries' details: clean ones conform, a planted
// quorum breach is found, and the exclusions they cannot show are said
// not checked.
func TestTrailsWithoutTaskDataAreReadFromDetails(t *testing.T) {
	strip := func(tr []audit.Entry) []audit.Entry {
		for i := range tr {
			if tr[i].Action != audit.ActionCompleted {
				tr[i].Data = nil
			}
		}
		return tr
	}
	var trails []*Trail
	for name := range realTrails(t) {
		trails = append(trails, NewTrail(strip(trailCopy(t, name, name))))
	}
	if c := conform(t, trails); len(c.Breaches) != 0 || !slices.ContainsFunc(c.Unchecked, func(u Unchecked) bool { return u.Rule == BreachSeparation }) {
		t.Fatalf("old-format trails: breaches %+v, unchecked %+v", c.Breaches, c.Unchecked)
	}
	tr := strip(trailCopy(t, "four-eyes", "old-quorum"))
	i := find(t, tr, audit.ActionDecisionAccepted, "ben")
	k := NewTrail(slices.Delete(tr, i, i+1))
	if task := k.Tasks[0]; task.Quorum != 2 || task.Due.IsZero() || !slices.Equal(task.Roles, []string{"underwriter"}) {
		t.Fatalf("task read from its details: %+v", task)
	}
	c := conform(t, []*Trail{k})
	if !slices.ContainsFunc(c.Breaches, func(b Breach) bool { return b.Kind == BreachQuorum }) {
		t.Errorf("quorum breach not found on an old-format trail: %+v", c.Breaches)
	}
}
