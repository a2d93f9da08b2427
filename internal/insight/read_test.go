package insight

import (
	"context"
	"crypto/ed25519"
	"crypto/rand"
	"encoding/base64"
	"encoding/binary"
	"encoding/hex"
	"encoding/json"
	"slices"
	"testing"
	"time"

	"github.com/batonhq/baton/audit"
	"github.com/batonhq/baton/internal/auditlog"
	"github.com/batonhq/baton/internal/auditstore"
	"github.com/batonhq/baton/internal/insight/insighttest"
	"github.com/batonhq/baton/internal/pgtest"
	"github.com/batonhq/baton/record"
	"github.com/batonhq/baton/workflows"
)

// attestedStore is a fresh store whose appends are attested with a new
// writer key, and the verifier of that key.
func attestedStore(t *testing.T) (*auditstore.Store, Verify) {
	t.Helper()
	ctx := context.Background()
	st, err := auditstore.Open(ctx, pgtest.Start(t).DB(t, "read"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(st.Close)
	if _, err := st.Migrate(ctx); err != nil {
		t.Fatal(err)
	}
	w, writers := insighttest.Writer(t)
	st.SetAttestor(w)
	return st, func(r audit.Stored) (string, string) { return auditlog.Attested(r, writers) }
}

// stored is tr as a workflow that did what tr says would have stored it:
// numbered from 1, its terminal entry's course recomputed from the
// entries before it (a planted change is then in both).
func stored(t *testing.T, tr []audit.Entry) []audit.Entry {
	t.Helper()
	for i := range tr {
		tr[i].Seq = int64(i + 1)
	}
	insighttest.WithCourse(t, tr)
	return tr
}

func mustAppend(t *testing.T, st *auditstore.Store, tr []audit.Entry) {
	t.Helper()
	if _, err := st.Append(context.Background(), tr); err != nil {
		t.Fatalf("%s: %v", tr[0].WorkflowID, err)
	}
}

// same fails unless a and b encode to the same JSON.
func same(t *testing.T, what string, a, b any) {
	t.Helper()
	ja, _ := json.MarshalIndent(a, "", " ")
	jb, _ := json.MarshalIndent(b, "", " ")
	if string(ja) != string(jb) {
		t.Errorf("%s differ between the course and the whole trail:\ncourse: %s\nwhole:  %s", what, ja, jb)
	}
}

// Discovery, conformance (breaches with their evidence, what could not be
// checked) and the figures are the same whether the trails are read from
// their terminal entry's course (one row each) or whole, on the recorded
// trails and on copies with one breach of each kind planted; an instance
// whose completed entry carries no course is read whole.
func TestCourseAndWholeTrailGiveTheSameAnswers(t *testing.T) {
	ctx := context.Background()
	st, verify := attestedStore(t)
	later := laterPolicy(t)
	n := 0
	for name := range realTrails(t) {
		tr := stored(t, trailCopy(t, name, name))
		if name == "later" {
			for i := range tr {
				tr[i].PolicyVersion = later.Version
			}
		}
		mustAppend(t, st, tr)
		n++
	}
	for _, p := range plants() {
		mustAppend(t, st, stored(t, p.plant(t, trailCopy(t, p.from, p.key))))
		n++
	}
	// Recorded before the course existed: read whole.
	old := trailCopy(t, "manual", "manual-before-course")
	editData(t, old, func(d *record.EndData) { d.Course = nil })
	mustAppend(t, st, old)
	n++

	// A refused update, recorded by the worker's validator after the end:
	// read whole, its refusal counted as rework either way.
	refused := stored(t, trailCopy(t, "four-eyes", "four-eyes-refused"))
	mustAppend(t, st, refused)
	late := refused[len(refused)-1]
	late.Seq, late.UpdateID, late.Source, late.Data = 0, "update-1", audit.SourceValidator, nil
	late.Action, late.Actor, late.TaskID, late.Details, late.Reason = audit.ActionDecisionRefused, "fay", "underwriting", "approve refused: not a candidate", "no-role"
	late.Time = late.Time.Add(time.Minute)
	mustAppend(t, st, []audit.Entry{late})
	n++

	// A case file opened during the run (the worker's case-viewed entry,
	// beside the workflow's): read from its course all the same.
	viewed := stored(t, trailCopy(t, "manual", "manual-viewed"))
	at := slices.IndexFunc(viewed, func(e audit.Entry) bool { return e.Action == audit.ActionTaskOpened }) + 1
	view := viewed[at-1]
	view.Seq, view.UpdateID, view.Source, view.Data, view.Reason = 0, "view-1", audit.SourceValidator, nil, ""
	view.Action, view.Actor, view.Details = audit.ActionCaseViewed, "ana", "opened the case file of task "+view.TaskID+" with its personal data"
	view.Time = view.Time.Add(time.Second)
	mustAppend(t, st, viewed[:at])
	mustAppend(t, st, []audit.Entry{view})
	mustAppend(t, st, viewed[at:])
	n++

	got, err := ReadVerified(ctx, st, Window{}, verify)
	if err != nil {
		t.Fatal(err)
	}
	if len(got.Trails) != n || got.FromCourse != n-2 || got.Whole != 2 || len(got.LeftOut) != 0 {
		t.Fatalf("read %d trails (%d from their course, %d whole), left out %+v; want %d, two whole", len(got.Trails), got.FromCourse, got.Whole, got.LeftOut, n)
	}
	whole, err := ReadTrails(ctx, st, Window{})
	if err != nil {
		t.Fatal(err)
	}
	pols := NewPolicySet(devPolicy(t), later)
	same(t, "discoveries", Discover(got.Trails, pols), Discover(whole, pols))
	c := Conform(ctx, got.Trails, pols, &Described{Catalog: workflows.Catalog()})
	same(t, "conformance", c, Conform(ctx, whole, pols, &Described{Catalog: workflows.Catalog()}))
	var runs, wholeRuns []Run
	for i := range whole {
		runs, wholeRuns = append(runs, got.Trails[i].Run()), append(wholeRuns, whole[i].Run())
	}
	same(t, "figures", Measure(runs, 24, workflows.Catalog().Names()), Measure(wholeRuns, 24, workflows.Catalog().Names()))
	if len(c.Breaches) < len(plants()) || len(c.Incomplete) > 0 {
		t.Errorf("breaches %d, incomplete evidence %v", len(c.Breaches), c.Incomplete)
	}
	for _, b := range c.Breaches {
		for _, e := range b.Evidence {
			if e.Details == "" {
				t.Errorf("%s %s: evidence #%d (%s) without its details", b.WorkflowID, b.Kind, e.Seq, e.Action)
			}
		}
	}
}

// forger attests with a key no writer key list holds.
type forger struct{ key ed25519.PrivateKey }

func (f forger) Attest(hash []byte) (string, error) {
	sig := ed25519.Sign(f.key, []byte("baton-audit-entry/v1\n"+hex.EncodeToString(hash)+"\n"))
	return "baton-audit-writer " + base64.StdEncoding.EncodeToString(append(binary.BigEndian.AppendUint32(nil, 1), sig...)), nil
}

// Rows inserted with the worker's database rights but not its key move no
// figure in silence: an instance a row read of which fails verification is
// left out and listed, whether it is read from its course or whole.
func TestForgedRowsLeaveTheirInstanceOut(t *testing.T) {
	ctx := context.Background()
	st, verify := attestedStore(t)
	for _, name := range []string{"auto", "manual", "expense"} {
		mustAppend(t, st, trailCopy(t, name, name))
	}
	_, key, _ := ed25519.GenerateKey(rand.Reader)
	st.SetAttestor(forger{key})
	// A completed instance made up whole, and a second completed entry
	// appended to a real one.
	made := trailCopy(t, "auto", "made-up")
	mustAppend(t, st, made)
	again := trailCopy(t, "manual", "manual")
	last := again[len(again)-1]
	last.Seq, last.Time = last.Seq+1, last.Time.Add(time.Minute)
	mustAppend(t, st, []audit.Entry{last})
	for _, w := range []Window{{}, {Started: true}} {
		got, err := ReadVerified(ctx, st, w, verify)
		if err != nil {
			t.Fatal(err)
		}
		var ids, out []string
		for _, tr := range got.Trails {
			ids = append(ids, tr.WorkflowID)
		}
		for _, l := range got.LeftOut {
			out = append(out, l.WorkflowID)
			// From the course, the completed entry is read (and fails); whole,
			// the made-up instance's first entry already does.
			if l.Kind != auditlog.ProblemForged || (!w.Started && l.Action != audit.ActionCompleted) {
				t.Errorf("started %v: %s left out for %s %s: %s", w.Started, l.WorkflowID, l.Kind, l.Action, l.Detail)
			}
		}
		if !slices.Equal(ids, []string{"auto", "expense"}) || !slices.Equal(out, []string{"made-up", "manual"}) {
			t.Errorf("started %v: trails %v, left out %v", w.Started, ids, out)
		}
	}
}
