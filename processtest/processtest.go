// Package processtest runs a team's processes in Temporal's test
// environment (time skipping, mocked activities) with the frame's own
// activities served as the worker serves them: the policy file, checked
// with the catalog's sections, pinned by each instance; the live
// directory; an audit store in memory. A process's unit test mocks its
// own activities, decides its human tasks and reads the trail.
package processtest

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"slices"
	"sync"
	"testing"
	"time"

	"go.temporal.io/sdk/client"
	"go.temporal.io/sdk/log"
	"go.temporal.io/sdk/testsuite"

	"github.com/batonhq/baton/audit"
	"github.com/batonhq/baton/config"
	"github.com/batonhq/baton/humantask"
	"github.com/batonhq/baton/internal/frameact"
	"github.com/batonhq/baton/policy"
	"github.com/batonhq/baton/process"
	"github.com/batonhq/baton/record"
)

// Start is when every test environment's clock starts.
var Start = time.Date(2026, 11, 24, 9, 0, 0, 0, time.UTC)

// Env is one test run of a catalog's processes.
type Env struct {
	*testsuite.TestWorkflowEnvironment
	t testing.TB
	// Policy is the policy the instances pin.
	Policy *policy.Policy
	store  *Store
}

// New is a test environment for the catalog's processes under the policy
// file at policyFile (read and checked as the worker does: a bad section
// fails the test).
func New(t testing.TB, c *process.Catalog, policyFile string) *Env {
	t.Helper()
	pol, err := config.LoadPolicy(policyFile, c.CheckPolicy)
	if err != nil {
		t.Fatal(err)
	}
	var s testsuite.WorkflowTestSuite
	s.SetLogger(log.NewStructuredLogger(slog.New(slog.NewTextHandler(io.Discard, nil))))
	e := &Env{TestWorkflowEnvironment: s.NewTestWorkflowEnvironment(), t: t, Policy: pol, store: &Store{}}
	e.SetStartTime(Start)
	frame := frameact.NewFrame(pol, e.store)
	c.Register(e, record.Settings{Directory: frame.Directory})
	frame.Register(e)
	return e
}

// Run runs an instance of d to its end under its business key (as the
// starter starts it) and decodes its result into result; the workflow's
// error, if any, is returned.
func (e *Env) Run(d *process.Description, in process.Input, result any) error {
	e.t.Helper()
	e.SetStartWorkflowOptions(client.StartWorkflowOptions{ID: in.Key()})
	e.ExecuteWorkflow(d.Name, in)
	if !e.IsWorkflowCompleted() {
		return fmt.Errorf("%s did not complete", in.Key())
	}
	if err := e.GetWorkflowError(); err != nil {
		return err
	}
	return e.GetWorkflowResult(result)
}

// Sent is what became of a decision: accepted, or refused with Err.
type Sent struct {
	Accepted bool
	Err      error
}

// Decide sends d as the decide update (as starter approve does) after the
// instance has run for after.
func (e *Env) Decide(after time.Duration, d humantask.Decision) *Sent {
	s := &Sent{}
	e.RegisterDelayedCallback(func() {
		e.UpdateWorkflow(humantask.UpdateDecide, fmt.Sprintf("%s-%s-%s", d.Actor, d.Verdict, after), &testsuite.TestUpdateCallback{
			OnAccept:   func() {},
			OnReject:   func(err error) { s.Err = err },
			OnComplete: func(_ any, err error) { s.Err, s.Accepted = err, err == nil },
		}, d)
	}, after)
	return s
}

// Trail is what the instances wrote to the audit store, in order.
func (e *Env) Trail() []audit.Entry { return e.store.Entries() }

// Actions lists the trail's actions with their details ("routed: ...").
func (e *Env) Actions() []string {
	var out []string
	for _, en := range e.Trail() {
		out = append(out, en.Action+": "+en.Details)
	}
	return out
}

// Store is an audit store in memory: it keeps what it is given; no key has
// ended and no earlier run recorded anything.
type Store struct {
	mu      sync.Mutex
	entries []audit.Entry
}

// Append keeps the entries (each key once, as the real store does).
func (s *Store) Append(_ context.Context, entries []audit.Entry) (audit.AppendResult, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	res := audit.AppendResult{}
	for _, e := range entries {
		if slices.ContainsFunc(s.entries, func(x audit.Entry) bool { return x.WorkflowID == e.WorkflowID && x.Key() == e.Key() }) {
			res.Duplicates++
			continue
		}
		s.entries = append(s.entries, e)
		res.Stored++
	}
	return res, nil
}

// KeyState says no instance has started under any key.
func (s *Store) KeyState(context.Context, string, string, []string) (audit.KeyState, error) {
	return audit.KeyState{}, nil
}

// Earlier says no earlier run recorded anything.
func (s *Store) Earlier(context.Context, string, string, []string) ([]audit.Stored, error) {
	return nil, nil
}

// Entries is what the store holds.
func (s *Store) Entries() []audit.Entry {
	s.mu.Lock()
	defer s.mu.Unlock()
	return slices.Clone(s.entries)
}
