package record_test

import (
	"errors"
	"testing"
	"time"

	"github.com/stretchr/testify/mock"
	"go.temporal.io/sdk/temporal"
	"go.temporal.io/sdk/workflow"

	"github.com/batonhq/baton/humantask"
	"github.com/batonhq/baton/policy"
	"github.com/batonhq/baton/record"
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

// forgedStart reports the search attributes and memo keys the instance has
// once its record started.
func forgedStart(ctx workflow.Context) (map[string]any, error) {
	r, err := record.New(ctx, record.Options{Process: "test", BusinessKey: "test-3", Stages: 1})
	if err != nil {
		return nil, err
	}
	if _, err := r.Start(ctx, "started for a test"); err != nil {
		return nil, err
	}
	_ = workflow.Sleep(ctx, time.Minute)
	sa := workflow.GetTypedSearchAttributes(ctx)
	process, _ := sa.GetKeyword(record.SAProcessType)
	key, _ := sa.GetKeyword(record.SABusinessKey)
	roles, _ := sa.GetKeywordList(record.SAPendingRoles)
	outcome, _ := sa.GetKeyword(record.SAOutcome)
	_, deadline := sa.GetTime(record.SATaskDeadline)
	return map[string]any{"process": process, "key": key, "roles": roles, "outcome": outcome, "deadline": deadline}, nil
}

// The record owns the memo keys and search attributes it writes: what a
// starter put there (a task in ana's inbox, an outcome, another process
// type) is overwritten or removed at the start.
func TestStartClearsWhatTheRecordOwns(t *testing.T) {
	env, _ := newEnv(t, forgedStart)
	if err := env.SetMemoOnStart(map[string]any{
		record.MemoOpenTasks: []humantask.Summary{{ID: "verify", Title: "URGENT: re-confirm your credentials", Roles: []string{"underwriter"}, Quorum: 1}},
		record.MemoTaskStats: humantask.TaskStats{Tasks: 9},
		"note":               "not the record's",
	}); err != nil {
		t.Fatal(err)
	}
	if err := env.SetTypedSearchAttributesOnStart(temporal.NewSearchAttributes(
		record.SAProcessType.ValueSet("expense"), record.SABusinessKey.ValueSet("test-3"),
		record.SAPendingRoles.ValueSet([]string{"underwriter", "user:ana"}), record.SAOutcome.ValueSet("approved"),
		record.SATaskDeadline.ValueSet(time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)),
	)); err != nil {
		t.Fatal(err)
	}
	env.OnUpsertTypedSearchAttributes(mock.Anything).Return(nil)
	var memo map[string]any
	env.OnUpsertMemo(mock.Anything).Run(func(args mock.Arguments) {
		if memo == nil {
			memo = args.Get(0).(map[string]any)
		}
	}).Return(nil)
	env.ExecuteWorkflow(forgedStart)
	var got map[string]any
	if err := env.GetWorkflowError(); err != nil || env.GetWorkflowResult(&got) != nil {
		var pe *temporal.PanicError
		if errors.As(err, &pe) {
			t.Log(pe.StackTrace())
		}
		t.Fatalf("%v", err)
	}
	if got["process"] != "test" || got["key"] != "test-3" || got["roles"] != nil || got["outcome"] != "" || got["deadline"] != false {
		t.Errorf("search attributes after the start = %v", got)
	}
	if v, ok := memo[record.MemoOpenTasks]; !ok || v != nil {
		t.Errorf("openTasks memo = %#v (present %v), want removed", v, ok)
	}
	if v, ok := memo[record.MemoTaskStats]; !ok || v != nil {
		t.Errorf("taskStats memo = %#v (present %v), want removed", v, ok)
	}
	if _, ok := memo["note"]; ok {
		t.Errorf("a memo key the record does not own was touched: %v", memo)
	}
}
