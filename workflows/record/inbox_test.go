package record_test

import (
	"testing"
	"time"

	"github.com/stretchr/testify/mock"
	"go.temporal.io/sdk/workflow"

	"github.com/batonhq/baton/activities"
	"github.com/batonhq/baton/policy"
	"github.com/batonhq/baton/workflows/humantask"
	"github.com/batonhq/baton/workflows/record"
)

// inboxProcess opens one task needing two approvals, the applicant
// excluded, and waits for it.
func inboxProcess(ctx workflow.Context) (string, error) {
	r, err := record.New(ctx, record.Options{Process: "test", BusinessKey: "test-2", Stages: 1})
	if err != nil {
		return "", err
	}
	if _, err := r.Start(ctx, "started for a test"); err != nil {
		return "", err
	}
	task, err := r.Open(ctx, humantask.Spec{ID: "review", Title: "Review test-2", Roles: []string{"underwriter", "senior-underwriter"}, Quorum: 2,
		Exclusions: []humantask.Exclusion{{User: "ben", Reason: "the applicant"}}, Deadline: 48 * time.Hour, OnDeadline: policy.OnDeadlineReject})
	if err != nil {
		return "", err
	}
	res, err := task.Wait(ctx)
	return res.State, err
}

// The open tasks go to the memo when they change (opened, a vote, closed),
// each change one memo upsert in its turn, and the key is removed when no
// task is open: what the inbox lists from visibility.
func TestOpenTasksMemo(t *testing.T) {
	env, pol := newEnv(t, inboxProcess)
	env.RegisterActivity(&activities.Mail{})
	var memos []any
	env.OnUpsertMemo(mock.Anything).Run(func(args mock.Arguments) {
		memos = append(memos, args.Get(0).(map[string]any)[record.MemoOpenTasks])
	}).Return(nil)
	vote := func(actor string) func() {
		return func() {
			env.SignalWorkflow(humantask.SignalDecision, humantask.Decision{TaskID: "review", Verdict: humantask.Approve, Actor: actor})
		}
	}
	env.RegisterDelayedCallback(vote("ana"), time.Hour)
	env.RegisterDelayedCallback(vote("ana"), 2*time.Hour) // refused: decided already; nothing changes
	env.RegisterDelayedCallback(vote("sam"), 3*time.Hour)
	env.ExecuteWorkflow(inboxProcess)
	if err := env.GetWorkflowError(); err != nil {
		t.Fatal(err)
	}
	var state string
	if err := env.GetWorkflowResult(&state); err != nil || state != humantask.StateApproved {
		t.Fatalf("state %q, %v", state, err)
	}
	if len(memos) != 3 {
		t.Fatalf("%d memo upserts, want 3 (opened, one approval, closed): %v", len(memos), memos)
	}
	opened, ok := memos[0].([]humantask.Summary)
	if !ok || len(opened) != 1 {
		t.Fatalf("memo when opened = %#v", memos[0])
	}
	o := opened[0]
	if o.ID != "review" || o.Title != "Review test-2" || o.Quorum != 2 || o.Approvals != 0 || len(o.Excluded) != 1 || o.Excluded[0] != "ben" ||
		o.Deadline.Sub(o.Opened) != 48*time.Hour || len(o.Roles) != 2 {
		t.Errorf("opened summary = %+v", o)
	}
	voted := memos[1].([]humantask.Summary)[0]
	if voted.Approvals != 1 || len(voted.Voted) != 1 || voted.Voted[0] != "ana" {
		t.Errorf("after ana's approval = %+v", voted)
	}
	if humantask.MayAct(pol, "ana", voted.View()) != humantask.RefusedAlreadyDecided || humantask.MayAct(pol, "ben", voted.View()) != humantask.RefusedExcluded ||
		humantask.MayAct(pol, "sam", voted.View()) != "" {
		t.Error("the memo's summary does not carry what MayAct needs")
	}
	if memos[2] != nil {
		t.Errorf("memo after the task closed = %#v, want the key removed", memos[2])
	}
}
