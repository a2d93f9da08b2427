package record_test

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"strings"
	"testing"
	"time"

	"github.com/batonhq/baton/audit"
	"github.com/batonhq/baton/config"
	"github.com/batonhq/baton/internal/frameact"

	"github.com/stretchr/testify/mock"
	"go.temporal.io/sdk/log"
	"go.temporal.io/sdk/temporal"
	"go.temporal.io/sdk/testsuite"
	"go.temporal.io/sdk/workflow"

	"github.com/batonhq/baton/humantask"
	"github.com/batonhq/baton/policy"
	"github.com/batonhq/baton/record"
)

// newEnv is a test environment, its log silenced, running wf with the
// development policy as the worker's current one (returned too).
// With a store, the audit activities write to it.
func newEnv(t *testing.T, wf any, store ...frameact.AuditStore) (*testsuite.TestWorkflowEnvironment, *policy.Policy) {
	t.Helper()
	var s testsuite.WorkflowTestSuite
	s.SetLogger(log.NewStructuredLogger(slog.New(slog.NewTextHandler(io.Discard, nil))))
	env := s.NewTestWorkflowEnvironment()
	env.RegisterWorkflow(wf)
	pol, err := config.LoadPolicy("../config/policy.yaml", nil)
	if err != nil {
		t.Fatal(err)
	}
	var st frameact.AuditStore
	if len(store) > 0 {
		st = store[0]
	}
	frameact.NewFrame(pol, st).Register(env)
	return env, pol
}

type outcome struct {
	Audit   []audit.Entry
	Stopped *record.Stop
	Upserts int
}

// testProcess starts, changes stage and handling path in one turn, listens
// for a stop message until the gate closes, and ends.
func testProcess(ctx workflow.Context) (*outcome, error) {
	r, err := record.New(ctx, record.Options{Process: "test", BusinessKey: "test-1", Stages: 2})
	if err != nil {
		return nil, err
	}
	open := true
	r.EndOn(ctx, "stop", record.Requesters{Owner: "customer"}, func() bool { return open }, "stopped", "stopped")
	if _, err := r.Start(ctx, "started for a test"); err != nil {
		return nil, err
	}
	r.SetStage(ctx, 1, "first", "the first stage")
	r.SetPath(ctx, record.PathAutomated, "straight through")
	_ = workflow.Sleep(ctx, time.Hour)
	out := &outcome{Stopped: r.Stopped()}
	open = false
	_ = workflow.Sleep(ctx, time.Hour)
	r.Finish(ctx, "done", "")
	out.Audit = r.AuditTrail()
	return out, nil
}

func TestAuditSequenceAndStopMessages(t *testing.T) {
	store := &memStore{failFirst: true}
	env, pol := newEnv(t, testProcess, store)
	upserts := 0
	env.OnUpsertTypedSearchAttributes(mock.Anything).Run(func(mock.Arguments) { upserts++ }).Return(nil)
	env.RegisterDelayedCallback(func() { env.SignalWorkflow("stop", record.Request{By: "mallory", Reason: "spite"}) }, 20*time.Minute)
	env.RegisterDelayedCallback(func() { env.SignalWorkflow("stop", record.Request{By: "customer", Reason: "changed my mind"}) }, 30*time.Minute)
	env.RegisterDelayedCallback(func() { env.SignalWorkflow("stop", record.Request{By: "K-1"}) }, 90*time.Minute)
	env.ExecuteWorkflow(testProcess)
	if err := env.GetWorkflowError(); err != nil {
		t.Fatal(err)
	}
	var out outcome
	if err := env.GetWorkflowResult(&out); err != nil {
		t.Fatal(err)
	}
	if out.Stopped == nil || out.Stopped.Outcome != "stopped" {
		t.Errorf("stopped = %+v, want the stop message's ending", out.Stopped)
	}
	var actions []string
	for i, e := range out.Audit {
		if e.Seq != int64(i+1) {
			t.Errorf("entry %d has seq %d", i, e.Seq)
		}
		if e.PolicyVersion != pol.Version {
			t.Errorf("entry %d: policy version %q", i, e.PolicyVersion)
		}
		actions = append(actions, e.Actor+" "+e.Action)
	}
	want := []string{
		audit.SystemActor + " " + audit.ActionStarted,
		audit.SystemActor + " " + audit.ActionRouted,
		"mallory " + audit.ActionRequestRefused,
		"customer " + audit.ActionRequested,
		"K-1 " + audit.ActionRequestRefused,
		audit.SystemActor + " " + audit.ActionCompleted,
	}
	if len(actions) != len(want) {
		t.Fatalf("audit = %v, want %v", actions, want)
	}
	for i := range want {
		if actions[i] != want[i] {
			t.Errorf("audit[%d] = %s, want %s", i, actions[i], want[i])
		}
	}
	// The requester is audited as who they are, and only the owner (or a
	// role the policy names) may stop the instance.
	if d := out.Audit[2].Details; d != "stop refused: by: mallory may not stop this instance (the owner customer)" {
		t.Errorf("refusal = %q", d)
	}
	if out.Stopped.Reason != "stopped by customer: changed my mind" {
		t.Errorf("reason = %q", out.Stopped.Reason)
	}
	// The pinned policy, the stage and the path change in one turn (the
	// policy activity's completion), then the end: one upsert per turn, not
	// one per change.
	if upserts != 2 {
		t.Errorf("%d upserts, want 2 (one per turn that changed something)", upserts)
	}
	// The audit store got every entry exactly once, in order, although
	// its first write failed; a turn's entries went in one batch.
	if len(store.entries) != len(out.Audit) {
		t.Fatalf("store holds %d entries, the trail %d", len(store.entries), len(out.Audit))
	}
	for i, e := range store.entries {
		if e.Seq != int64(i+1) || e.Action != out.Audit[i].Action || e.BusinessKey != "test-1" || e.Process != "test" ||
			e.WorkflowID == "" || e.RunID == "" || e.PolicyVersion != pol.Version || e.Source != audit.SourceWorkflow {
			t.Errorf("stored entry %d = %+v", i, e)
		}
	}
	if store.batches >= len(out.Audit) {
		t.Errorf("%d batches for %d entries: the start and the routing of one turn should share one", store.batches, len(out.Audit))
	}
}

// memStore is an audit store in memory that fails its first write (as an
// unreachable database does) and refuses a key written twice.
type memStore struct {
	failFirst bool
	batches   int
	entries   []audit.Entry
}

// KeyState and Earlier: nothing started under any key before.
func (m *memStore) KeyState(context.Context, string, string, []string) (audit.KeyState, error) {
	return audit.KeyState{}, nil
}

func (m *memStore) Earlier(context.Context, string, string, []string) ([]audit.Stored, error) {
	return nil, nil
}

func (m *memStore) Append(_ context.Context, entries []audit.Entry) (audit.AppendResult, error) {
	if m.failFirst {
		m.failFirst = false
		return audit.AppendResult{}, errors.New("connection refused")
	}
	m.batches++
	for _, e := range entries {
		for _, old := range m.entries {
			if old.Key() == e.Key() {
				return audit.AppendResult{}, fmt.Errorf("%s written twice", e.Key())
			}
		}
		m.entries = append(m.entries, e)
	}
	return audit.AppendResult{Stored: len(entries)}, nil
}

// A flood of refused messages, some with megabyte fields, leaves a bounded
// trail: the first MaxRefusedAudited refusals are audited with clipped
// values, the rest are counted and summarised in one entry.
func TestRefusedFloodIsCappedAndClipped(t *testing.T) {
	env, _ := newEnv(t, testProcess)
	env.OnUpsertTypedSearchAttributes(mock.Anything).Return(nil)
	huge := strings.Repeat("\x1b[2J", 25_000) // 100 KB of screen-erasing escapes
	const n = 3 * record.MaxRefusedAudited
	env.RegisterDelayedCallback(func() {
		for i := range n {
			req := record.Request{By: "mallory", Reason: "flood"}
			if i%2 == 0 {
				req = record.Request{By: huge, Reason: huge}
			}
			env.SignalWorkflow("stop", req)
		}
	}, 10*time.Minute)
	var st record.Status
	env.RegisterDelayedCallback(func() {
		v, err := env.QueryWorkflow(record.QueryStatus)
		if err == nil {
			err = v.Get(&st)
		}
		if err != nil {
			t.Error(err)
		}
	}, 20*time.Minute)
	env.ExecuteWorkflow(testProcess)
	if err := env.GetWorkflowError(); err != nil {
		t.Fatal(err)
	}
	var out outcome
	if err := env.GetWorkflowResult(&out); err != nil {
		t.Fatal(err)
	}
	if out.Stopped != nil {
		t.Fatalf("stopped by a flood: %+v", out.Stopped)
	}
	refused, summary, size := 0, "", 0
	for _, e := range out.Audit {
		size += len(e.Actor) + len(e.Details)
		switch e.Action {
		case audit.ActionRequestRefused:
			refused++
		case audit.ActionRefusedSummary:
			summary = e.Details
		}
	}
	if refused != record.MaxRefusedAudited {
		t.Errorf("%d refusals audited, want %d", refused, record.MaxRefusedAudited)
	}
	if want := fmt.Sprintf("%d more refused messages were counted, not recorded one by one (%d refused in all)", n-record.MaxRefusedAudited, n); summary != want {
		t.Errorf("summary = %q, want %q", summary, want)
	}
	if size > 20_000 {
		t.Errorf("the trail holds %d bytes of actors and details", size)
	}
	if st.RefusedMessages != n {
		t.Errorf("status counts %d refused messages, want %d", st.RefusedMessages, n)
	}
}

// detailsProcess opens a task for a named user, reads the current details,
// then fails with an error whose message carries an input value.
func detailsProcess(ctx workflow.Context) ([]string, error) {
	r, err := record.New(ctx, record.Options{Process: "test", BusinessKey: "test-2", Stages: 2})
	if err != nil {
		return nil, err
	}
	if _, err := r.Start(ctx, "started for a test"); err != nil {
		return nil, err
	}
	if _, err := r.Open(ctx, humantask.Spec{ID: "approval", Title: "approve", Users: []string{"mia"}, Quorum: 1, Rejections: 1,
		Deadline: 24 * time.Hour, OnDeadline: policy.OnDeadlineReject}); err != nil {
		return nil, err
	}
	_ = workflow.Sleep(ctx, time.Minute)
	open := workflow.GetCurrentDetails(ctx)
	r.Fail(ctx, "failed", temporal.NewNonRetryableApplicationError(`name: "Quokka Zwirbelbart" is not valid`, "InvalidStart", nil))
	return []string{open, workflow.GetCurrentDetails(ctx)}, nil
}

// Current details, which the Web UI shows to every operator, name a task's
// role or "a named user", never the user's id, and a failure's code, not its
// message.
func TestCurrentDetailsNameNoUserAndNoErrorText(t *testing.T) {
	env, _ := newEnv(t, detailsProcess)
	env.OnUpsertTypedSearchAttributes(mock.Anything).Return(nil)
	env.ExecuteWorkflow(detailsProcess)
	if err := env.GetWorkflowError(); err != nil {
		t.Fatal(err)
	}
	var got []string
	if err := env.GetWorkflowResult(&got); err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(got[0], "may act: a named user") || strings.Contains(got[0], "mia") {
		t.Errorf("details with a task for a named user = %q", got[0])
	}
	if !strings.Contains(got[1], "failed: InvalidStart") || strings.Contains(got[1], "Quokka") {
		t.Errorf("details after a failure = %q", got[1])
	}
}

// dataProcess ends with data of n bytes of text on its completed entry.
func dataProcess(ctx workflow.Context, n int) ([]audit.Entry, error) {
	r, err := record.New(ctx, record.Options{Process: "test", BusinessKey: "test-1"})
	if err != nil {
		return nil, err
	}
	if _, err := r.Start(ctx, "started for a test"); err != nil {
		return nil, err
	}
	r.FinishWith(ctx, "done", "", func(c *record.Course) any {
		return map[string]any{"facts": strings.Repeat("x", n), "course": c}
	})
	return r.AuditTrail(), nil
}

// The completed entry carries its data to the store, with the run's
// course; data over the store's bound with the course is sent without it
// (readers then read the whole trail), and data over the bound without it
// is not sent (the store would refuse the entry, and with it the rest of
// the trail): a note of why stands in its place.
func TestFinishWithDataReachesTheStoreWithinItsBound(t *testing.T) {
	course := `{"entries":[{"seq":1,"at":"2020-01-01T00:00:00Z","action":"started","actor":"system"}]}`
	// Without the course the data is {"course":null,"facts":"..."}: 26 bytes and the facts.
	for _, tc := range []struct {
		n    int
		want string
	}{
		{3, `{"course":` + course + `,"facts":"xxx"}`},
		{audit.MaxDataBytes - 26, `{"course":null,"facts":"` + strings.Repeat("x", audit.MaxDataBytes-26) + `"}`},
		{audit.MaxDataBytes, fmt.Sprintf(`{"omitted":"%d bytes, over the audit store's bound of %d"}`, audit.MaxDataBytes+26, audit.MaxDataBytes)},
	} {
		store := &memStore{}
		env, _ := newEnv(t, dataProcess, store)
		env.SetStartTime(time.Date(2020, 1, 1, 0, 0, 0, 0, time.UTC))
		env.OnUpsertTypedSearchAttributes(mock.Anything).Return(nil)
		env.ExecuteWorkflow(dataProcess, tc.n)
		if err := env.GetWorkflowError(); err != nil {
			t.Fatal(err)
		}
		var trail []audit.Entry
		if err := env.GetWorkflowResult(&trail); err != nil {
			t.Fatal(err)
		}
		if len(store.entries) != 2 || store.entries[1].Action != audit.ActionCompleted || string(store.entries[0].Data) != `{"originalRunId":"default-test-run-id"}` {
			t.Fatalf("%d bytes: stored %+v", tc.n, store.entries)
		}
		if got := string(store.entries[1].Data); got != tc.want || string(trail[1].Data) != tc.want {
			t.Errorf("%d bytes: stored data %.40q, trail %.40q, want %q", tc.n, got, trail[1].Data, tc.want)
		}
	}
}
