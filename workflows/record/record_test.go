package record_test

import (
	"io"
	"log/slog"
	"testing"
	"time"

	"github.com/stretchr/testify/mock"
	"go.temporal.io/sdk/log"
	"go.temporal.io/sdk/testsuite"
	"go.temporal.io/sdk/workflow"

	"baton/activities"
	"baton/policy"
	"baton/workflows/humantask"
	"baton/workflows/record"
)

type outcome struct {
	Audit   []record.AuditEntry
	Stopped *record.Ending
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
	r.EndOn(ctx, "stop", "customer", func() bool { return open }, "stopped", "stopped by the customer")
	if _, err := r.Start(ctx, "started for a test"); err != nil {
		return nil, err
	}
	r.SetStage(ctx, 1, "first", "the first stage")
	r.Route(ctx, record.PathAutomated, "straight through")
	_ = workflow.Sleep(ctx, time.Hour)
	out := &outcome{Stopped: r.Stopped()}
	open = false
	_ = workflow.Sleep(ctx, time.Hour)
	r.Finish(ctx, "done", "")
	out.Audit = r.AuditTrail()
	return out, nil
}

func TestAuditSequenceAndStopMessages(t *testing.T) {
	var s testsuite.WorkflowTestSuite
	s.SetLogger(log.NewStructuredLogger(slog.New(slog.NewTextHandler(io.Discard, nil))))
	env := s.NewTestWorkflowEnvironment()
	env.RegisterWorkflow(testProcess)
	pol, err := policy.Load("../../config/policy.yaml")
	if err != nil {
		t.Fatal(err)
	}
	env.RegisterActivity(&activities.Policy{Current: pol})
	upserts := 0
	env.OnUpsertTypedSearchAttributes(mock.Anything).Run(func(mock.Arguments) { upserts++ }).Return(nil)
	env.RegisterDelayedCallback(func() { env.SignalWorkflow("stop", record.Request{Reason: "changed my mind"}) }, 30*time.Minute)
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
		if e.Seq != i+1 {
			t.Errorf("entry %d has seq %d", i, e.Seq)
		}
		if e.PolicyVersion != pol.Version {
			t.Errorf("entry %d: policy version %q", i, e.PolicyVersion)
		}
		actions = append(actions, e.Actor+" "+e.Action)
	}
	want := []string{
		humantask.SystemActor + " " + record.ActionStarted,
		humantask.SystemActor + " " + record.ActionRouted,
		"customer " + record.ActionRequested,
		"K-1 " + record.ActionRequestRefused,
		humantask.SystemActor + " " + record.ActionCompleted,
	}
	if len(actions) != len(want) {
		t.Fatalf("audit = %v, want %v", actions, want)
	}
	for i := range want {
		if actions[i] != want[i] {
			t.Errorf("audit[%d] = %s, want %s", i, actions[i], want[i])
		}
	}
	// The pinned policy, the stage and the path change in one turn (the
	// policy activity's completion), then the end: one upsert per turn, not
	// one per change.
	if upserts != 2 {
		t.Errorf("%d upserts, want 2 (one per turn that changed something)", upserts)
	}
}
