// Package insighttest records audit trails by running Baton's real
// workflows in Temporal's testsuite (time skipped, systems mocked) and
// capturing what each instance's record hands to the audit store: the
// same entries, in the same format, a real run writes. Tests and the
// benchmark of internal/insight, and the pictures of docs/, use them.
package insighttest

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"path/filepath"
	"reflect"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/mock"
	"go.temporal.io/sdk/client"
	"go.temporal.io/sdk/log"
	"go.temporal.io/sdk/testsuite"
	"golang.org/x/mod/sumdb/note"

	"github.com/batonhq/baton/activities"
	"github.com/batonhq/baton/audit"
	"github.com/batonhq/baton/humantask"
	"github.com/batonhq/baton/internal/auditlog"
	"github.com/batonhq/baton/internal/frameact"
	"github.com/batonhq/baton/policy"
	"github.com/batonhq/baton/process"
	"github.com/batonhq/baton/record"
	"github.com/batonhq/baton/workflows"
)

// captureStore is an audit store that keeps what it is given.
type captureStore struct {
	mu      sync.Mutex
	entries []audit.Entry
}

func (c *captureStore) Append(_ context.Context, e []audit.Entry) (audit.AppendResult, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	for _, x := range e {
		if len(c.entries) == 0 || x.Seq == 0 || x.Seq > c.entries[len(c.entries)-1].Seq {
			c.entries = append(c.entries, x)
		}
	}
	return audit.AppendResult{Stored: len(e)}, nil
}

// KeyState answers that nothing ran under the key before (every scenario
// has a key of its own).
func (c *captureStore) KeyState(context.Context, string, string, []string) (audit.KeyState, error) {
	return audit.KeyState{}, nil
}

// Earlier answers that no earlier run recorded anything.
func (c *captureStore) Earlier(context.Context, string, string, []string) ([]audit.Stored, error) {
	return nil, nil
}

// Decision is a decision sent after a delay.
type Decision struct {
	After time.Duration
	humantask.Decision
}

// Scenario is one instance to record: its input, the score the mocked
// credit bureau answers, the decisions people send, when it starts.
type Scenario struct {
	Input     process.Input
	Score     int
	Decisions []Decision
	Start     time.Time
}

// Record runs the scenario and returns its trail as the store would hold it.
func Record(t testing.TB, pol *policy.Policy, s Scenario) []audit.Entry {
	t.Helper()
	var suite testsuite.WorkflowTestSuite
	suite.SetLogger(log.NewStructuredLogger(slog.New(slog.NewTextHandler(io.Discard, nil))))
	env := suite.NewTestWorkflowEnvironment()
	if s.Start.IsZero() {
		t.Fatal("insighttest: a scenario needs its start time")
	}
	env.SetStartTime(s.Start)
	workflows.Catalog().Register(env, record.Settings{})
	store := &captureStore{}
	frameact.NewFrame(pol, store).Register(env)
	env.OnUpsertTypedSearchAttributes(mock.Anything).Return(nil)
	var (
		kyc    *activities.KYC
		credit *activities.CreditBureau
		loans  *activities.LoanCore
		pay    *activities.Payments
		mail   *activities.Mail
	)
	env.OnActivity(kyc.VerifyIdentity, mock.Anything, mock.Anything).Return(&activities.KYCResult{Verified: true}, nil).Maybe()
	env.OnActivity(credit.PullCreditScore, mock.Anything, mock.Anything).Return(&activities.ScoreResult{Score: s.Score}, nil).Maybe()
	env.OnActivity(loans.CreateOffer, mock.Anything, mock.Anything).Return(&activities.OfferResult{OfferID: "OFF-1"}, nil).Maybe()
	env.OnActivity(loans.Disburse, mock.Anything, mock.Anything).Return(&activities.DisburseResult{DisbursementID: "DSB-1"}, nil).Maybe()
	env.OnActivity(pay.Payout, mock.Anything, mock.Anything).Return(&activities.PayoutResult{PayoutID: "PAY-1"}, nil).Maybe()
	env.OnActivity(mail.SendMail, mock.Anything, mock.Anything).Return(&activities.MailResult{MessageID: "m"}, nil).Maybe()
	for i, d := range s.Decisions {
		env.RegisterDelayedCallback(func() {
			env.UpdateWorkflow(humantask.UpdateDecide, fmt.Sprint("d", i), &testsuite.TestUpdateCallback{
				OnAccept: func() {}, OnReject: func(err error) { t.Errorf("%s: decision %d refused: %v", s.Input.Key(), i, err) }, OnComplete: func(any, error) {},
			}, d.Decision)
		}, d.After)
	}
	d := workflows.Catalog().ProcessOf(s.Input.Key())
	env.SetStartWorkflowOptions(client.StartWorkflowOptions{ID: s.Input.Key()})
	env.ExecuteWorkflow(d.Name, reflect.ValueOf(s.Input).Elem().Interface())
	if !env.IsWorkflowCompleted() || env.GetWorkflowError() != nil {
		t.Fatalf("%s: %v", s.Input.Key(), env.GetWorkflowError())
	}
	return store.entries
}

// WithCourse gives a trail's completed entry the course of the entries
// before it (record.CourseOf), as a workflow that did what the trail says
// would have recorded it: a test that edits a recorded trail keeps its
// course in step.
func WithCourse(t testing.TB, trail []audit.Entry) {
	t.Helper()
	end := slices.IndexFunc(trail, func(e audit.Entry) bool { return e.Action == audit.ActionCompleted })
	if end < 0 {
		t.Fatalf("%s: no completed entry", trail[0].WorkflowID)
	}
	var d map[string]json.RawMessage
	if err := json.Unmarshal(trail[end].Data, &d); err != nil {
		t.Fatal(err)
	}
	if d["course"] == nil {
		t.Fatalf("%s: the completed entry carries no course", trail[0].WorkflowID)
	}
	course, err := json.Marshal(record.CourseOf(trail[:end]))
	if err != nil {
		t.Fatal(err)
	}
	d["course"] = course
	if trail[end].Data, err = json.Marshal(d); err != nil {
		t.Fatal(err)
	}
}

// Writer is a new writer key (in a test's temporary folder): the store's
// attestor, and the verifiers of its public key.
func Writer(t testing.TB) (*auditlog.Writer, []note.Verifier) {
	t.Helper()
	path := filepath.Join(t.TempDir(), "writer.key")
	pub, err := auditlog.NewKeyFile(path, auditlog.WriterKeyName)
	if err != nil {
		t.Fatal(err)
	}
	w, err := auditlog.LoadWriter(path)
	if err != nil {
		t.Fatal(err)
	}
	vs, err := auditlog.Verifiers("writer", []string{pub})
	if err != nil {
		t.Fatal(err)
	}
	return w, vs
}
