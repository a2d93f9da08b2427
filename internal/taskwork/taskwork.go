// Package taskwork sends work on tasks to the workflows, for the starter
// and the web inbox alike: an action (claim, release, comment, priority,
// follow-up) as the act update to the run its task's subject names, a
// substitution as the substitutes workflow's update (started if it is not
// running), and bulk decisions, each checked, signed and audited on its
// own by the workflow it goes to.
package taskwork

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"strings"
	"sync"
	"time"

	enumspb "go.temporal.io/api/enums/v1"
	"go.temporal.io/api/serviceerror"
	"go.temporal.io/sdk/client"
	"go.temporal.io/sdk/temporal"

	"github.com/batonhq/baton/humantask"
	"github.com/batonhq/baton/substitutes"
)

// RefusedError is a request the policy refused; Reason is the policy's.
type RefusedError struct {
	Code, Reason string
}

func (e *RefusedError) Error() string { return "refused: " + e.Reason }

// ErrNotFound is an instance that does not exist or has ended.
var ErrNotFound = errors.New("no such instance, or it has ended")

// ErrTaskNotOpen is a task that is not open.
var ErrTaskNotOpen = errors.New("the task is not open")

// Subject asks the instance (tasks query) for its open task's subject: the
// run, the occurrence and the facts digest a signature covers. An empty
// taskID takes the only open task.
func Subject(ctx context.Context, cl client.Client, workflowID, taskID string) (humantask.Subject, error) {
	ctx, cancel := context.WithTimeout(ctx, 15*time.Second)
	defer cancel()
	v, err := cl.QueryWorkflow(ctx, workflowID, "", humantask.QueryTasks)
	var views []humantask.TaskView
	if err == nil {
		err = v.Get(&views)
	}
	var nf *serviceerror.NotFound
	switch {
	case errors.As(err, &nf):
		return humantask.Subject{}, ErrNotFound
	case err != nil:
		return humantask.Subject{}, fmt.Errorf("tasks query: %w", err)
	}
	var open []humantask.TaskView
	for _, t := range views {
		if t.State == humantask.StateOpen && (taskID == "" || t.ID == taskID) {
			open = append(open, t)
		}
	}
	switch {
	case len(open) == 1:
		return open[0].Subject, nil
	case len(open) > 1:
		return humantask.Subject{}, fmt.Errorf("task: required, %d tasks of %s are open", len(open), workflowID)
	}
	return humantask.Subject{}, ErrTaskNotOpen
}

// Act sends a as the act update to the run s names and waits for its
// answer; a refusal comes back as *RefusedError.
func Act(ctx context.Context, cl client.Client, s humantask.Subject, a humantask.Action) (humantask.ActionResult, error) {
	var res humantask.ActionResult
	err := update(ctx, cl, s.WorkflowID, s.RunID, humantask.UpdateAct, a, &res)
	return res, err
}

// Decide sends d as the decide update to the run s names.
func Decide(ctx context.Context, cl client.Client, s humantask.Subject, d humantask.Decision) (humantask.DecisionResult, error) {
	var res humantask.DecisionResult
	err := update(ctx, cl, s.WorkflowID, s.RunID, humantask.UpdateDecide, d, &res)
	return res, err
}

func update(ctx context.Context, cl client.Client, workflowID, runID, name string, arg, into any) error {
	ctx, cancel := context.WithTimeout(ctx, 30*time.Second)
	defer cancel()
	h, err := cl.UpdateWorkflow(ctx, client.UpdateWorkflowOptions{
		WorkflowID: workflowID, RunID: runID, UpdateName: name, Args: []any{arg},
		WaitForStage: client.WorkflowUpdateStageCompleted,
	})
	if err == nil {
		err = h.Get(ctx, into)
	}
	return refusal(err)
}

// refusal turns a workflow's refusal into *RefusedError and a missing
// instance into ErrNotFound.
func refusal(err error) error {
	var ae *temporal.ApplicationError
	var nf *serviceerror.NotFound
	switch {
	case err == nil:
		return nil
	case errors.As(err, &nf):
		return ErrNotFound
	case errors.As(err, &ae):
		return &RefusedError{Code: ae.Type(), Reason: ae.Message()}
	}
	return err
}

// NewSubstituteID makes a new substitution's id (the client's: a
// signature covers it, so a captured request sets nothing else).
func NewSubstituteID() string {
	b := make([]byte, 6)
	_, _ = rand.Read(b)
	return "sub-" + hex.EncodeToString(b)
}

// Substitute sends r to the substitutes workflow on taskQueue, starting it
// if it is not running (update-with-start), and waits for its answer.
func Substitute(ctx context.Context, cl client.Client, taskQueue string, r substitutes.Request) (substitutes.Result, error) {
	ctx, cancel := context.WithTimeout(ctx, 30*time.Second)
	defer cancel()
	start := cl.NewWithStartWorkflowOperation(client.StartWorkflowOptions{
		ID: substitutes.WorkflowID, TaskQueue: taskQueue,
		WorkflowIDConflictPolicy: enumspb.WORKFLOW_ID_CONFLICT_POLICY_USE_EXISTING,
		StaticSummary:            "Substitutes: who decides for whom while away",
	}, substitutes.WorkflowType, substitutes.State{})
	h, err := cl.UpdateWithStartWorkflow(ctx, client.UpdateWithStartWorkflowOptions{
		StartWorkflowOperation: start,
		UpdateOptions: client.UpdateWorkflowOptions{
			UpdateName: substitutes.UpdateSubstitute, Args: []any{r}, WaitForStage: client.WorkflowUpdateStageCompleted,
		},
	})
	var res substitutes.Result
	if err == nil {
		err = h.Get(ctx, &res)
	}
	return res, refusal(err)
}

// Item is one task of a bulk decision.
type Item struct {
	WorkflowID string `json:"workflowId"`
	TaskID     string `json:"taskId"`
}

// Outcome is what became of one task of a bulk decision: accepted with
// the workflow's message, or refused with the reason (the policy's, or
// why it could not be sent).
type Outcome struct {
	Item
	Accepted bool   `json:"accepted"`
	Message  string `json:"message,omitempty"`
	Code     string `json:"code,omitempty"`
	Reason   string `json:"reason,omitempty"`
}

// MaxBulk is the most tasks one bulk decision takes.
const MaxBulk = 200

// Bulk decides every item with d (its task id set per item), each signed
// by sign over its own subject and sent to its own instance, a few at a
// time: each is checked, signed and audited on its own; one refused does
// not stop the others. Outcomes are in the items' order.
func Bulk(ctx context.Context, cl client.Client, items []Item, d humantask.Decision, sign func(humantask.Subject, *humantask.Decision) error) []Outcome {
	out := make([]Outcome, len(items))
	sem := make(chan struct{}, 4)
	var wg sync.WaitGroup
	for i, it := range items {
		wg.Add(1)
		sem <- struct{}{}
		go func() {
			defer wg.Done()
			defer func() { <-sem }()
			out[i] = decideOne(ctx, cl, it, d, sign)
		}()
	}
	wg.Wait()
	return out
}

func decideOne(ctx context.Context, cl client.Client, it Item, d humantask.Decision, sign func(humantask.Subject, *humantask.Decision) error) Outcome {
	o := Outcome{Item: it}
	s, err := Subject(ctx, cl, it.WorkflowID, it.TaskID)
	if err == nil {
		d.TaskID, o.TaskID = s.TaskID, s.TaskID
		if sign != nil {
			err = sign(s, &d)
		}
	}
	var res humantask.DecisionResult
	if err == nil {
		res, err = Decide(ctx, cl, s, d)
	}
	var r *RefusedError
	switch {
	case err == nil:
		// Accepted says it; the message is what was done ("approved (1 of 1
		// approvals)"), not the gate's "accepted: ..." a second time.
		o.Accepted, o.Message = true, strings.TrimPrefix(res.Message, "accepted: ")
	case errors.As(err, &r):
		o.Code, o.Reason = r.Code, r.Reason
	case errors.Is(err, ErrNotFound):
		o.Code, o.Reason = "not-found", it.WorkflowID+" has ended or does not exist"
	case errors.Is(err, ErrTaskNotOpen):
		o.Code, o.Reason = humantask.RefusedClosed, "task "+it.TaskID+" is no longer open"
	default:
		o.Code, o.Reason = "unavailable", err.Error()
	}
	return o
}
