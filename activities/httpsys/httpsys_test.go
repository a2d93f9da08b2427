package httpsys

import (
	"errors"
	"io"
	"log/slog"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"go.temporal.io/sdk/activity"
	"go.temporal.io/sdk/converter"
	"go.temporal.io/sdk/log"
	"go.temporal.io/sdk/temporal"
	"go.temporal.io/sdk/testsuite"
	"go.temporal.io/sdk/workflow"

	"github.com/batonhq/baton/activities"
	"github.com/batonhq/baton/internal/activitytest"
	"github.com/batonhq/baton/internal/simulator"
	"github.com/batonhq/baton/process"
)

// fixture runs the real simulator on an httptest server.
type fixture struct {
	sim *simulator.Server
	srv *httptest.Server
	set activities.Set
}

func newFixture(t *testing.T, timeout time.Duration) *fixture {
	t.Helper()
	sim := simulator.New(simulator.Config{Seed: 7})
	srv := httptest.NewServer(sim)
	t.Cleanup(srv.Close)
	return &fixture{sim: sim, srv: srv, set: NewSet(srv.URL, timeout)}
}

func TestSuccessfulCalls(t *testing.T) {
	f := newFixture(t, 2*time.Second)
	score, err := activitytest.Run[activities.ScoreResult](t, f.set.Credit.PullCreditScore, activities.ScoreInput{ApplicantID: "C-1001"})
	if err != nil || score.Score != 780 {
		t.Fatalf("score = %+v, %v", score, err)
	}
	kyc, err := activitytest.Run[activities.KYCResult](t, f.set.KYC.VerifyIdentity, activities.KYCInput{ApplicantID: "C-1002"})
	if err != nil || !kyc.Verified {
		t.Fatalf("kyc = %+v, %v", kyc, err)
	}
	rsv, err := activitytest.Run[activities.ReserveResult](t, f.set.Inventory.ReserveStock, activities.ReserveInput{OrderID: "O-1", Items: []activities.Item{{SKU: "SKU-BOOK", Quantity: 2}}})
	if err != nil || rsv.ReservationID == "" {
		t.Fatalf("reserve = %+v, %v", rsv, err)
	}
	scr, err := activitytest.Run[activities.ScreenResult](t, f.set.Fraud.ScreenOrder, activities.ScreenInput{OrderID: "O-1", CustomerID: "NEW-1", Amount: 2500, BillingCountry: "DE", ShippingCountry: "US"})
	if err != nil || scr.Score != 100 {
		t.Fatalf("screen = %+v, %v", scr, err)
	}
	cov, err := activitytest.Run[activities.CoverageResult](t, f.set.Claims.CheckCoverage, activities.CoverageInput{PolicyNumber: "P-100", Kind: "theft"})
	if err != nil || cov.Deductible != 250 || cov.Holder != "C-2001" {
		t.Fatalf("coverage = %+v, %v", cov, err)
	}
	mail, err := activitytest.Run[activities.MailResult](t, f.set.Mail.SendMail, activities.MailInput{To: "ana", Subject: "hello", Ref: "loan-1"})
	if err != nil || mail.MessageID == "" {
		t.Fatalf("mail = %+v, %v", mail, err)
	}
}

func TestBusinessRefusalsAreNonRetryableWithType(t *testing.T) {
	f := newFixture(t, 2*time.Second)
	cases := []struct {
		name string
		act  any
		in   any
		typ  string
	}{
		{"kyc failed", f.set.KYC.VerifyIdentity, activities.KYCInput{ApplicantID: "C-9999"}, activities.ErrKYCFailed},
		{"declined card", f.set.Payments.ChargeCard, activities.ChargeInput{OrderID: "O-2", Amount: 10, CardNumber: simulator.DeclinedCard}, activities.ErrCardDeclined},
		{"out of stock", f.set.Inventory.ReserveStock, activities.ReserveInput{OrderID: "O-3", Items: []activities.Item{{SKU: "SKU-GHOST", Quantity: 1}}}, activities.ErrOutOfStock},
		{"invalid input", f.set.Loans.CreateOffer, activities.OfferInput{ApplicationID: "A-1"}, activities.ErrInvalidInput},
		{"unknown applicant", f.set.Credit.PullCreditScore, activities.ScoreInput{ApplicantID: "C-0000"}, activities.ErrNotFound},
		{"lapsed policy", f.set.Claims.CheckCoverage, activities.CoverageInput{PolicyNumber: "P-300", Kind: "fire"}, activities.ErrNotCovered},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			_, err := activitytest.Run[map[string]any](t, tc.act, tc.in)
			activitytest.WantAppError(t, err, tc.typ, true)
		})
	}
}

// A refusal's message (what worker logs print) names the system, its code
// and the status; the system's own message, which may name the applicant
// or a card's last digits, is only in the (encrypted) details.
func TestRefusalMessagesHoldNoInputValues(t *testing.T) {
	f := newFixture(t, 2*time.Second)
	for _, tc := range []struct {
		act      any
		in       any
		personal string
	}{
		{f.set.KYC.VerifyIdentity, activities.KYCInput{ApplicantID: "C-9999"}, "C-9999"},
		{f.set.Payments.ChargeCard, activities.ChargeInput{OrderID: "O-2", Amount: 10, CardNumber: simulator.DeclinedCard}, simulator.DeclinedCard[len(simulator.DeclinedCard)-4:]},
	} {
		_, err := activitytest.Run[map[string]any](t, tc.act, tc.in)
		var ae *temporal.ApplicationError
		if !errors.As(err, &ae) {
			t.Fatalf("err = %v, want an application error", err)
		}
		if strings.Contains(ae.Error(), tc.personal) {
			t.Errorf("message %q shows %q", ae.Error(), tc.personal)
		}
		var se process.SystemError
		if err := ae.Details(&se); err != nil || !strings.Contains(se.Reason(), tc.personal) {
			t.Errorf("details = %+v (%v), want the system's message naming %q", se, err, tc.personal)
		}
	}
}

func TestUnavailableSystemIsRetryable(t *testing.T) {
	f := newFixture(t, 2*time.Second)
	f.sim.SetFaults(map[string]simulator.Faults{"credit": {ErrorRate: 1}})
	_, err := activitytest.Run[activities.ScoreResult](t, f.set.Credit.PullCreditScore, activities.ScoreInput{ApplicantID: "C-1001"})
	activitytest.WantAppError(t, err, activities.ErrUnavailable, false)
	// Only the credit bureau was faulted.
	if _, err := activitytest.Run[activities.KYCResult](t, f.set.KYC.VerifyIdentity, activities.KYCInput{ApplicantID: "C-1001"}); err != nil {
		t.Fatalf("kyc: %v", err)
	}
}

func TestTimeoutIsRetryable(t *testing.T) {
	f := newFixture(t, 50*time.Millisecond)
	f.sim.SetFaults(map[string]simulator.Faults{"*": {Latency: simulator.Duration(300 * time.Millisecond)}})
	_, err := activitytest.Run[activities.ScoreResult](t, f.set.Credit.PullCreditScore, activities.ScoreInput{ApplicantID: "C-1001"})
	activitytest.WantAppError(t, err, "", false)
}

// The hard case: the charge happens, the answer is lost (500). The retry
// sends the same key and gets the first result; the card is charged once.
func TestRetryAfterFailAfterApplyChargesOnce(t *testing.T) {
	f := newFixture(t, 2*time.Second)
	f.sim.SetFaults(map[string]simulator.Faults{"payments": {FailAfterApplyRate: 1}})
	in := activities.ChargeInput{OrderID: "O-9", Amount: 42, CardNumber: "4111111111111111"}
	_, err := activitytest.Run[activities.ChargeResult](t, f.set.Payments.ChargeCard, in)
	activitytest.WantAppError(t, err, "", false)

	f.sim.SetFaults(nil)
	first, err := activitytest.Run[activities.ChargeResult](t, f.set.Payments.ChargeCard, in)
	if err != nil {
		t.Fatalf("retry: %v", err)
	}
	second, err := activitytest.Run[activities.ChargeResult](t, f.set.Payments.ChargeCard, in)
	if err != nil || second.ChargeID != first.ChargeID {
		t.Fatalf("second retry = %+v, %v; want the first result %s", second, err, first.ChargeID)
	}
	ledger := f.sim.Ledger()
	if len(ledger) != 1 || ledger[0].Kind != "charge" || ledger[0].Repeats != 2 {
		t.Fatalf("ledger = %+v, want one charge repeated twice", ledger)
	}
	if d := simulator.Duplicates(ledger); len(d) != 0 {
		t.Errorf("duplicates = %v", d)
	}
}

func TestIdempotencyKeyIsWorkflowAndActivityID(t *testing.T) {
	f := newFixture(t, 2*time.Second)
	if _, err := activitytest.Run[activities.PayoutResult](t, f.set.Payments.Payout, activities.PayoutInput{Reference: "expense-1", Payee: "mia", Amount: 12}); err != nil {
		t.Fatal(err)
	}
	key := f.sim.Ledger()[0].Key
	if key != "default-test-workflow-id/0/Payout" && key != "default-test-workflow-id/1/Payout" {
		t.Errorf("key = %q, want <workflow id>/<activity id>", key)
	}
}

// A slow system call heartbeats while it is in flight, so a dead worker is
// noticed at the heartbeat timeout rather than the start-to-close timeout.
func TestSlowCallsHeartbeat(t *testing.T) {
	f := newFixture(t, 5*time.Second)
	f.sim.SetFaults(map[string]simulator.Faults{"hr": {Latency: simulator.Duration(1500 * time.Millisecond)}})
	var s testsuite.WorkflowTestSuite
	s.SetLogger(log.NewStructuredLogger(slog.New(slog.NewTextHandler(io.Discard, nil))))
	env := s.NewTestWorkflowEnvironment()
	env.RegisterActivity(f.set.HR)
	beats := 0
	env.SetOnActivityHeartbeatListener(func(*activity.Info, converter.EncodedValues) { beats++ })
	env.RegisterWorkflowWithOptions(func(ctx workflow.Context) error {
		ctx = workflow.WithActivityOptions(ctx, workflow.ActivityOptions{StartToCloseTimeout: 10 * time.Second, HeartbeatTimeout: time.Second})
		return workflow.ExecuteActivity(ctx, f.set.HR.CreateEmployeeRecord, activities.EmployeeInput{EmployeeID: "E-1"}).Get(ctx, nil)
	}, workflow.RegisterOptions{Name: "slow"})
	env.ExecuteWorkflow("slow")
	if err := env.GetWorkflowError(); err != nil {
		t.Fatal(err)
	}
	if beats < 2 {
		t.Errorf("%d heartbeats during a 1.5s call with a 1s heartbeat timeout, want at least 2", beats)
	}
}

func TestRouteDropsIdentifiers(t *testing.T) {
	for in, want := range map[string]string{
		"/credit/scores/C-1001":               "/credit/scores",
		"/claims/coverage/P-100?kind=fire":    "/claims/coverage",
		"/payments/charges":                   "/payments/charges",
		"/inventory/reservations/R-1/release": "/inventory/reservations",
	} {
		if got := route(in); got != want {
			t.Errorf("route(%q) = %q, want %q", in, got, want)
		}
	}
}
