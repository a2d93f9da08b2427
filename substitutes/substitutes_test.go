package substitutes_test

import (
	"context"
	"crypto/ed25519"
	"encoding/base64"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"strings"
	"sync"
	"testing"
	"time"

	"go.temporal.io/sdk/log"
	"go.temporal.io/sdk/temporal"
	"go.temporal.io/sdk/testsuite"
	"go.temporal.io/sdk/workflow"

	"github.com/batonhq/baton/audit"
	"github.com/batonhq/baton/config"
	"github.com/batonhq/baton/humantask"
	"github.com/batonhq/baton/internal/frameact"
	"github.com/batonhq/baton/policy"
	"github.com/batonhq/baton/record"
	"github.com/batonhq/baton/substitutes"
)

// store keeps the entries the workflow writes.
type store struct {
	mu      sync.Mutex
	entries []audit.Entry
}

func (s *store) Append(_ context.Context, e []audit.Entry) (audit.AppendResult, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.entries = append(s.entries, e...)
	return audit.AppendResult{Stored: len(e)}, nil
}
func (s *store) KeyState(context.Context, string, string, []string) (audit.KeyState, error) {
	return audit.KeyState{}, nil
}
func (s *store) Earlier(context.Context, string, string, []string) ([]audit.Stored, error) {
	return nil, nil
}

type harness struct {
	t     *testing.T
	env   *testsuite.TestWorkflowEnvironment
	store *store
	pol   *policy.Policy
	start time.Time
	n     int
}

func newHarness(t *testing.T) *harness {
	var suite testsuite.WorkflowTestSuite
	suite.SetLogger(log.NewStructuredLogger(slog.New(slog.NewTextHandler(io.Discard, nil))))
	pol, err := config.LoadPolicy("../config/policy.yaml", nil)
	if err != nil {
		t.Fatal(err)
	}
	h := &harness{t: t, env: suite.NewTestWorkflowEnvironment(), store: &store{}, pol: pol}
	h.start = h.env.Now().UTC().Truncate(time.Second)
	frame := frameact.NewFrame(pol, h.store)
	frame.Register(h.env)
	h.env.RegisterWorkflowWithOptions(substitutes.Workflow(record.Settings{Directory: frame.Directory}), workflow.RegisterOptions{Name: substitutes.WorkflowType})
	return h
}

type answer struct {
	res substitutes.Result
	err error
}

// send sends r at time at (after the test's start).
func (h *harness) send(at time.Duration, r substitutes.Request) *answer {
	a := &answer{}
	h.n++
	id := fmt.Sprint("u", h.n)
	h.env.RegisterDelayedCallback(func() {
		h.env.UpdateWorkflow(substitutes.UpdateSubstitute, id, &testsuite.TestUpdateCallback{
			OnAccept: func() {}, OnReject: func(err error) { a.err = err },
			OnComplete: func(v any, err error) {
				if err != nil {
					a.err = err
					return
				}
				a.res = v.(substitutes.Result)
			},
		}, r)
	}, at)
	return a
}

func (h *harness) list(at time.Duration, into *[]policy.Substitute) {
	h.env.RegisterDelayedCallback(func() {
		v, err := h.env.QueryWorkflow(substitutes.QueryList)
		if err == nil {
			err = v.Get(into)
		}
		if err != nil {
			h.t.Error(err)
		}
	}, at)
}

func (h *harness) run(until time.Duration) {
	h.env.RegisterDelayedCallback(h.env.CancelWorkflow, until)
	h.env.ExecuteWorkflow(substitutes.WorkflowType, substitutes.State{})
}

func (h *harness) day(d time.Duration) string { return h.start.Add(d).Format(time.RFC3339) }

func (h *harness) actions(action string) []audit.Entry {
	h.store.mu.Lock()
	defer h.store.mu.Unlock()
	var out []audit.Entry
	for _, e := range h.store.entries {
		if e.Action == action {
			out = append(out, e)
		}
	}
	return out
}

func refusal(a *answer) string {
	var ae *temporal.ApplicationError
	if errors.As(a.err, &ae) {
		return ae.Message()
	}
	if a.err != nil {
		return a.err.Error()
	}
	return ""
}

// A user sets their own substitute; a holder of a role the policy names
// sets anyone's; anyone else is refused. The window is checked; the
// substitution ends by itself when it closes, audited.
func TestSetAndEndByItself(t *testing.T) {
	h := newHarness(t)
	own := h.send(time.Minute, substitutes.Request{Op: substitutes.OpSet, ID: "s1", Actor: "ana", Principal: "ana", Substitute: "ben",
		From: h.day(time.Hour), Until: h.day(49 * time.Hour), Roles: []string{"underwriter"}})
	byBen := h.send(2*time.Minute, substitutes.Request{Op: substitutes.OpSet, ID: "s2", Actor: "ben", Principal: "ana", Substitute: "ben", From: h.day(time.Hour), Until: h.day(2 * time.Hour)})
	byMia := h.send(3*time.Minute, substitutes.Request{Op: substitutes.OpSet, ID: "s3", Actor: "mia", Principal: "max", Substitute: "dan", From: h.day(time.Hour), Until: h.day(2 * time.Hour)})
	tooLong := h.send(4*time.Minute, substitutes.Request{Op: substitutes.OpSet, ID: "s4", Actor: "ana", Principal: "ana", Substitute: "ben", From: h.day(0), Until: h.day(61 * 24 * time.Hour)})
	notHers := h.send(5*time.Minute, substitutes.Request{Op: substitutes.OpSet, ID: "s5", Actor: "ana", Principal: "ana", Substitute: "ben", Roles: []string{"manager"}, From: h.day(0), Until: h.day(time.Hour)})
	again := h.send(6*time.Minute, substitutes.Request{Op: substitutes.OpSet, ID: "s1", Actor: "ana", Principal: "ana", Substitute: "sam", From: h.day(time.Hour), Until: h.day(2 * time.Hour)})
	var during, after []policy.Substitute
	h.list(90*time.Minute, &during)
	h.list(3*time.Hour, &after)
	h.run(60 * time.Hour)

	if own.err != nil || !strings.HasPrefix(own.res.Message, "set: ben for ana, away ") {
		t.Fatalf("ana's own: %+v %v", own.res, own.err)
	}
	if got := refusal(byBen); got != "ben may not set a substitute for ana: only ana or role manager or director may (tasks.substitutes.setRoles)" {
		t.Errorf("ben for ana: %q", got)
	}
	if byMia.err != nil {
		t.Errorf("mia (a manager) for max: %v", byMia.err)
	}
	if got := refusal(tooLong); !strings.Contains(got, "at most 60 days") {
		t.Errorf("61 days: %q", got)
	}
	if got := refusal(notHers); got != "roles: ana does not hold role manager" {
		t.Errorf("a role ana does not hold: %q", got)
	}
	if got := refusal(again); !strings.Contains(got, `"s1" is already set`) {
		t.Errorf("the same id again: %q", got)
	}
	if len(during) != 2 || len(after) != 1 || after[0].ID != "s1" {
		t.Errorf("in force at 1h30: %+v; at 3h: %+v", during, after)
	}
	set := h.actions(audit.ActionSubstituteSet)
	if len(set) != 2 || set[0].Actor != "ana" || !strings.Contains(set[0].Details, "(role underwriter), set by ana") || set[0].Process != substitutes.Process {
		t.Errorf("set entries: %+v", set)
	}
	ended := h.actions(audit.ActionSubstituteEnded)
	if len(ended) != 2 || ended[0].Actor != audit.SystemActor || !strings.HasSuffix(ended[0].Details, ": ended by itself") {
		t.Errorf("ended entries: %+v", ended)
	}
	if n := len(h.actions(audit.ActionSubstituteRefused)); n != 0 {
		t.Errorf("%d refusals in the trail: the validator refused them before history", n)
	}
}

// Signed like decisions: under a policy that requires signatures, an
// unsigned request is refused and a signed one accepted; a request
// changed after signing, or replayed once ended, is refused.
func TestSignedRequestsAndEnd(t *testing.T) {
	h := newHarness(t)
	pub, key, _ := ed25519.GenerateKey(nil)
	u := h.pol.Users["ana"]
	u.PublicKey = base64.StdEncoding.EncodeToString(pub)
	h.pol.Users["ana"] = u
	h.pol.RequireSignedDecisions = true
	signed := func(r substitutes.Request) substitutes.Request {
		r.Signature = humantask.SignBytes(key, substitutes.SigningBytes(r))
		return r
	}
	set := substitutes.Request{Op: substitutes.OpSet, ID: "s1", Actor: "ana", Principal: "ana", Substitute: "ben", From: h.day(time.Hour), Until: h.day(48 * time.Hour)}
	unsigned := h.send(time.Minute, set)
	forged := signed(set)
	forged.Substitute = "sam"
	changed := h.send(2*time.Minute, forged)
	ok := h.send(3*time.Minute, signed(set))
	end := h.send(4*time.Minute, signed(substitutes.Request{Op: substitutes.OpEnd, ID: "s1", Actor: "ana"}))
	replayed := h.send(5*time.Minute, signed(set))
	h.run(time.Hour)
	if got := refusal(unsigned); got != "signature: the policy requires signed decisions" {
		t.Errorf("unsigned: %q", got)
	}
	if got := refusal(changed); got != "signature: does not verify for ana" {
		t.Errorf("changed after signing: %q", got)
	}
	if ok.err != nil || end.err != nil {
		t.Fatalf("signed set / end: %v / %v", ok.err, end.err)
	}
	if got := refusal(replayed); got != `id: "s1" has ended and cannot be set again` {
		t.Errorf("replayed: %q", got)
	}
	ended := h.actions(audit.ActionSubstituteEnded)
	if len(ended) != 1 || ended[0].Actor != "ana" || !strings.HasSuffix(ended[0].Details, "ended by ana") || ended[0].Signature == "" {
		t.Errorf("ended: %+v", ended)
	}
}
