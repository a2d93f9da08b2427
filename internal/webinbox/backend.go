package webinbox

import (
	"context"
	"errors"
	"fmt"
	"time"

	"go.temporal.io/api/enums/v1"
	"go.temporal.io/api/serviceerror"
	"go.temporal.io/sdk/client"
	"go.temporal.io/sdk/converter"
	"go.temporal.io/sdk/temporal"

	"github.com/batonhq/baton/audit"
	"github.com/batonhq/baton/humantask"
	"github.com/batonhq/baton/internal/taskinbox"
	"github.com/batonhq/baton/internal/taskwork"
	"github.com/batonhq/baton/record"
)

// Backend is what the inbox needs from Temporal: the user's open tasks, one
// instance's detail, and the decide update.
type Backend interface {
	taskinbox.Lister
	Instance(ctx context.Context, workflowID string) (*Instance, error)
	// Subject is what a decision on the open task taskID signs (the run,
	// the task occurrence, the facts digest); ErrTaskNotOpen when the task
	// is not open.
	Subject(ctx context.Context, workflowID, taskID string) (humantask.Subject, error)
	// Decide sends d to the run the subject names.
	Decide(ctx context.Context, s humantask.Subject, d humantask.Decision) (humantask.DecisionResult, error)
	// StartInput decodes the instance's start input (the codec decrypts
	// it) into into: the case file's personal data.
	StartInput(ctx context.Context, workflowID string, into any) error
	// RecordView records in the audit trail that v.Actor opened the case
	// file of the task the subject names (ErrViewNotRecorded when it
	// could not be: then no personal data is shown).
	RecordView(ctx context.Context, s humantask.Subject, v humantask.CaseView) error
}

// ErrViewNotRecorded is a case view the audit trail did not record.
var ErrViewNotRecorded = errors.New("the view could not be recorded in the audit trail")

// ErrTaskNotOpen is Subject's answer for a task that is not open.
var ErrTaskNotOpen = errors.New("the task is not open")

// Instance is one process instance as the task page shows it.
type Instance struct {
	WorkflowID string
	Status     record.Status
	Tasks      []humantask.TaskView
	Audit      []audit.Entry
}

// Task returns the instance's task id, if it has it.
func (in *Instance) Task(id string) (humantask.TaskView, bool) {
	for _, t := range in.Tasks {
		if t.ID == id {
			return t, true
		}
	}
	return humantask.TaskView{}, false
}

// ErrNotFound is an instance that does not exist or has ended (the same
// error taskwork answers, so either path's is one case for the pages).
var ErrNotFound = taskwork.ErrNotFound

// RefusedError is a decision the policy refused; Reason is the policy's.
type RefusedError = taskwork.RefusedError

// TemporalBackend serves the inbox from a Temporal client: the lister for
// the list (visibility only), the instance's queries for its detail (one
// instance, so per-instance queries are fine), and the decide update, as the
// starter sends it.
type TemporalBackend struct {
	Client client.Client
	Lister taskinbox.Lister
	// Source says which instances are Baton's: any other (a workflow
	// someone started with a forged open-tasks memo) does not exist here.
	Source taskinbox.Source
	// DataConverter decodes start inputs (the client's: the codec).
	DataConverter converter.DataConverter
}

// List implements taskinbox.Lister.
func (b *TemporalBackend) List(ctx context.Context, f taskinbox.Filter) (taskinbox.Page, error) {
	return b.Lister.List(ctx, f)
}

// Instance queries the instance's status, tasks and audit trail.
func (b *TemporalBackend) Instance(ctx context.Context, workflowID string) (*Instance, error) {
	ctx, cancel := context.WithTimeout(ctx, 15*time.Second)
	defer cancel()
	if err := b.owned(ctx, workflowID); err != nil {
		return nil, err
	}
	in := &Instance{WorkflowID: workflowID}
	for _, q := range []struct {
		name string
		into any
	}{{record.QueryStatus, &in.Status}, {humantask.QueryTasks, &in.Tasks}, {record.QueryAudit, &in.Audit}} {
		if err := b.query(ctx, workflowID, q.name, q.into); err != nil {
			return nil, err
		}
	}
	return in, nil
}

// owned is ErrNotFound unless workflowID's current run is one of Baton's
// instances (Source): nothing is asked of any other workflow.
func (b *TemporalBackend) owned(ctx context.Context, workflowID string) error {
	desc, err := b.Client.DescribeWorkflowExecution(ctx, workflowID, "")
	var nf *serviceerror.NotFound
	switch {
	case errors.As(err, &nf):
		return ErrNotFound
	case err != nil:
		return fmt.Errorf("describe: %w", err)
	}
	if info := desc.GetWorkflowExecutionInfo(); !b.Source.Owns(info.GetType().GetName(), info.GetTaskQueue()) {
		return ErrNotFound
	}
	return nil
}

// query runs the named query on the instance's current run and decodes its
// answer into into; an instance that does not exist is ErrNotFound.
func (b *TemporalBackend) query(ctx context.Context, workflowID, name string, into any) error {
	v, err := b.Client.QueryWorkflow(ctx, workflowID, "", name)
	if err == nil {
		err = v.Get(into)
	}
	var nf *serviceerror.NotFound
	switch {
	case err == nil:
		return nil
	case errors.As(err, &nf):
		return ErrNotFound
	}
	return fmt.Errorf("%s query: %w", name, err)
}

// Subject asks the instance (tasks query) for the open task's subject.
func (b *TemporalBackend) Subject(ctx context.Context, workflowID, taskID string) (humantask.Subject, error) {
	ctx, cancel := context.WithTimeout(ctx, 15*time.Second)
	defer cancel()
	if err := b.owned(ctx, workflowID); err != nil {
		return humantask.Subject{}, err
	}
	var views []humantask.TaskView
	if err := b.query(ctx, workflowID, humantask.QueryTasks, &views); err != nil {
		return humantask.Subject{}, err
	}
	for _, t := range views {
		if t.ID == taskID && t.State == humantask.StateOpen {
			return t.Subject, nil
		}
	}
	return humantask.Subject{}, ErrTaskNotOpen
}

// Decide sends d as the decide update to the subject's run and waits for
// its answer. A policy refusal comes back as *RefusedError.
func (b *TemporalBackend) Decide(ctx context.Context, s humantask.Subject, d humantask.Decision) (humantask.DecisionResult, error) {
	return taskwork.Decide(ctx, b.Client, s, d)
}

// StartInput reads the first event of the instance's current run and
// decodes its input with the client's data converter.
func (b *TemporalBackend) StartInput(ctx context.Context, workflowID string, into any) error {
	ctx, cancel := context.WithTimeout(ctx, 15*time.Second)
	defer cancel()
	if err := b.owned(ctx, workflowID); err != nil {
		return err
	}
	it := b.Client.GetWorkflowHistory(ctx, workflowID, "", false, enums.HISTORY_EVENT_FILTER_TYPE_ALL_EVENT)
	if !it.HasNext() {
		return ErrNotFound
	}
	ev, err := it.Next()
	if err != nil {
		return fmt.Errorf("history: %w", err)
	}
	attrs := ev.GetWorkflowExecutionStartedEventAttributes()
	if attrs == nil || len(attrs.GetInput().GetPayloads()) == 0 {
		return fmt.Errorf("history: %s has no start input", workflowID)
	}
	dc := b.DataConverter
	if dc == nil {
		dc = converter.GetDefaultDataConverter()
	}
	return dc.FromPayload(attrs.GetInput().GetPayloads()[0], into)
}

// RecordView sends the view-case update to the subject's run: the worker
// records an accepted view in the audit store and answers view-recorded.
func (b *TemporalBackend) RecordView(ctx context.Context, s humantask.Subject, v humantask.CaseView) error {
	ctx, cancel := context.WithTimeout(ctx, 15*time.Second)
	defer cancel()
	h, err := b.Client.UpdateWorkflow(ctx, client.UpdateWorkflowOptions{
		WorkflowID: s.WorkflowID, RunID: s.RunID, UpdateName: humantask.UpdateViewCase,
		Args: []any{v}, WaitForStage: client.WorkflowUpdateStageCompleted,
	})
	if err == nil {
		err = h.Get(ctx, nil)
	}
	var ae *temporal.ApplicationError
	if errors.As(err, &ae) && ae.Type() == humantask.ViewRecorded {
		return nil
	}
	return fmt.Errorf("%w: %v", ErrViewNotRecorded, err)
}
