package simulator

import (
	"bytes"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"testing"
)

type call struct {
	method, path, key string
	body              any
}

func do(t *testing.T, h http.Handler, c call) (int, map[string]any) {
	t.Helper()
	var b []byte
	if c.body != nil {
		b, _ = json.Marshal(c.body)
	}
	req := httptest.NewRequest(c.method, c.path, bytes.NewReader(b))
	if c.key != "" {
		req.Header.Set("Idempotency-Key", c.key)
	}
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, req)
	var out map[string]any
	_ = json.Unmarshal(rec.Body.Bytes(), &out)
	return rec.Code, out
}

func TestSeedData(t *testing.T) {
	s := New(Config{})
	for id, want := range map[string]float64{"C-1001": 780, "C-1002": 660, "C-1003": 510} {
		code, out := do(t, s, call{method: "GET", path: "/credit/scores/" + id})
		if code != 200 || out["score"] != want {
			t.Errorf("%s: %d %v", id, code, out)
		}
	}
	if code, out := do(t, s, call{method: "GET", path: "/kyc/verifications/C-9999"}); code != 422 || out["code"] != CodeKYCFailed {
		t.Errorf("C-9999 KYC: %d %v", code, out)
	}
	if code, out := do(t, s, call{"POST", "/payments/charges", "k1", map[string]any{"orderId": "O", "amount": 5, "cardNumber": DeclinedCard}}); code != 402 || out["code"] != CodeCardDeclined {
		t.Errorf("declined card: %d %v", code, out)
	}
	if code, out := do(t, s, call{"POST", "/inventory/reservations", "k2", map[string]any{"orderId": "O", "items": []Item{{"SKU-GHOST", 1}}}}); code != 409 || out["code"] != CodeOutOfStock {
		t.Errorf("SKU-GHOST: %d %v", code, out)
	}
}

func TestMutatingCallsNeedAKey(t *testing.T) {
	s := New(Config{})
	code, out := do(t, s, call{"POST", "/hr/employees", "", map[string]any{"employeeId": "E-1"}})
	if code != 400 || out["code"] != CodeMissingKey {
		t.Fatalf("%d %v", code, out)
	}
	if len(s.Ledger()) != 0 {
		t.Error("a refused call left a side effect")
	}
}

func TestRepeatedKeyReturnsFirstResultAndCountsRepeats(t *testing.T) {
	s := New(Config{})
	c := call{"POST", "/shipping/shipments", "order-1/9/CreateShipment", map[string]any{"orderId": "order-1", "country": "DE"}}
	_, first := do(t, s, c)
	_, again := do(t, s, c)
	_, third := do(t, s, c)
	if first["shipmentId"] != again["shipmentId"] || first["shipmentId"] != third["shipmentId"] {
		t.Fatalf("answers differ: %v %v %v", first, again, third)
	}
	l := s.Ledger()
	if len(l) != 1 || l[0].Repeats != 2 || l[0].Kind != "shipment" || l[0].Ref != "order-1" {
		t.Fatalf("ledger = %+v", l)
	}
	code, _ := do(t, s, call{"POST", "/payments/payouts", c.key, map[string]any{"reference": "x", "payee": "y", "amount": 1}})
	if code != 422 {
		t.Errorf("key reused for another operation: %d, want 422", code)
	}
}

func TestDuplicatesRevealBrokenIdempotency(t *testing.T) {
	s := New(Config{})
	// Two different keys for the same business charge: what a client that
	// put the attempt number into its key would do.
	for _, k := range []string{"order-5/3/ChargeCard/attempt1", "order-5/3/ChargeCard/attempt2"} {
		do(t, s, call{"POST", "/payments/charges", k, map[string]any{"orderId": "order-5", "amount": 10, "cardNumber": "4111111111111111"}})
	}
	if d := Duplicates(s.Ledger()); d["charge order-5"] != 2 {
		t.Fatalf("duplicates = %v", d)
	}
	code, out := do(t, s, call{method: "GET", path: "/ledger?ref=order-5"})
	if code != 200 || out["duplicates"].(map[string]any)["charge order-5"] != 2.0 {
		t.Fatalf("/ledger: %d %v", code, out)
	}
}

func TestFailAfterApplyAppliesThenFails(t *testing.T) {
	s := New(Config{Faults: map[string]Faults{"payments": {FailAfterApplyRate: 1}}})
	c := call{"POST", "/payments/payouts", "expense-1/5/Payout", map[string]any{"reference": "expense-1", "payee": "mia", "amount": 80}}
	if code, out := do(t, s, c); code != 500 || out["code"] != CodeFailedAfterApp {
		t.Fatalf("first: %d %v", code, out)
	}
	s.SetFaults(nil)
	if code, _ := do(t, s, c); code != 200 {
		t.Fatalf("retry: %d", code)
	}
	l := s.Ledger()
	if len(l) != 1 || l[0].Repeats != 1 {
		t.Fatalf("ledger = %+v, want one payout answered once more from the first result", l)
	}
}

func TestErrorRateIsSeededAndRepeatable(t *testing.T) {
	pattern := func(seed uint64) []int {
		s := New(Config{Seed: seed, Faults: map[string]Faults{"*": {ErrorRate: 0.5}}})
		var codes []int
		for i := 0; i < 40; i++ {
			code, _ := do(t, s, call{method: "GET", path: "/credit/scores/C-1001"})
			codes = append(codes, code)
		}
		return codes
	}
	a, b := pattern(42), pattern(42)
	failures := 0
	for i := range a {
		if a[i] != b[i] {
			t.Fatalf("same seed, different outcome at call %d", i)
		}
		if a[i] == 503 {
			failures++
		}
	}
	if failures < 8 || failures > 32 {
		t.Errorf("%d of 40 calls failed at rate 0.5", failures)
	}
	if c := pattern(43); equal(a, c) {
		t.Error("another seed gave the very same pattern")
	}
}

func equal(a, b []int) bool {
	for i := range a {
		if a[i] != b[i] {
			return false
		}
	}
	return true
}

func TestPerSystemFaultsOverrideGlobal(t *testing.T) {
	s := New(Config{Faults: map[string]Faults{"*": {ErrorRate: 1}, "credit": {}}})
	if code, _ := do(t, s, call{method: "GET", path: "/credit/scores/C-1001"}); code != 200 {
		t.Errorf("credit: %d, want its own (empty) faults", code)
	}
	if code, _ := do(t, s, call{method: "GET", path: "/kyc/verifications/C-1001"}); code != 503 {
		t.Errorf("kyc: %d, want the global 503", code)
	}
}

func TestReleaseRestoresStockOnce(t *testing.T) {
	s := New(Config{})
	_, r := do(t, s, call{"POST", "/inventory/reservations", "k1", map[string]any{"orderId": "order-1", "items": []Item{{"SKU-CHAIR", 50}}}})
	if code, _ := do(t, s, call{"POST", "/inventory/reservations", "k2", map[string]any{"orderId": "order-2", "items": []Item{{"SKU-CHAIR", 1}}}}); code != 409 {
		t.Fatalf("stock exhausted: %d, want 409", code)
	}
	id := r["reservationId"].(string)
	if code, _ := do(t, s, call{"POST", "/inventory/reservations/" + id + "/release", "k3", nil}); code != 200 {
		t.Fatalf("release: %d", code)
	}
	if code, _ := do(t, s, call{"POST", "/inventory/reservations/" + id + "/release", "k4", nil}); code != 409 {
		t.Errorf("second release with another key: %d, want 409", code)
	}
	if _, stock := do(t, s, call{method: "GET", path: "/inventory/stock"}); stock["SKU-CHAIR"] != 50.0 {
		t.Errorf("stock after release = %v", stock["SKU-CHAIR"])
	}
}

func TestFraudScoreRules(t *testing.T) {
	cases := []struct {
		amount            float64
		customer, bill, s string
		want              int
	}{
		{120, "K-100", "DE", "DE", 10},
		{1500, "K-100", "DE", "DE", 40},
		{6000, "K-100", "DE", "DE", 60},
		{800, "NEW-1", "FR", "FR", 30},
		{300, "K-1", "DE", "US", 50},
		{2500, "NEW-7", "DE", "US", 100},
		{9000, "NEW-7", "DE", "US", 100},
	}
	for _, c := range cases {
		if got, _ := FraudScore(c.amount, c.customer, c.bill, c.s); got != c.want {
			t.Errorf("FraudScore(%v,%s,%s,%s) = %d, want %d", c.amount, c.customer, c.bill, c.s, got, c.want)
		}
	}
}

func TestMailOutboxIsReadable(t *testing.T) {
	s := New(Config{})
	do(t, s, call{"POST", "/mail/messages", "m1", map[string]any{"to": "C-1001", "subject": "Approved", "ref": "loan-A1"}})
	do(t, s, call{"POST", "/mail/messages", "m2", map[string]any{"to": "ana", "subject": "Reminder", "ref": "loan-A2"}})
	_, out := do(t, s, call{method: "GET", path: "/mail/messages?ref=loan-A1"})
	msgs := out["messages"].([]any)
	if len(msgs) != 1 || msgs[0].(map[string]any)["subject"] != "Approved" {
		t.Fatalf("outbox = %v", out)
	}
}

func TestClaimsSystem(t *testing.T) {
	s := New(Config{})
	if code, out := do(t, s, call{method: "GET", path: "/claims/coverage/P-100?kind=water-damage"}); code != 200 || out["deductible"] != 250.0 || out["limit"] != 50000.0 {
		t.Errorf("P-100 water damage: %d %v", code, out)
	}
	for _, path := range []string{"/claims/coverage/P-300?kind=fire", "/claims/coverage/P-200?kind=theft"} {
		if code, out := do(t, s, call{method: "GET", path: path}); code != 422 || out["code"] != CodeNotCovered {
			t.Errorf("%s: %d %v", path, code, out)
		}
	}
	if code, out := do(t, s, call{"POST", "/claims/triage", "", map[string]any{"claimId": "CL", "policyNumber": "P-100", "claimant": "C-2001", "kind": "theft", "amount": 6000}}); code != 200 || out["score"] != 70.0 {
		t.Errorf("triage: %d %v", code, out)
	}
	_, res := do(t, s, call{"POST", "/claims/reserves", "r1", map[string]any{"claimId": "CL", "amount": 100}})
	id, _ := res["reserveId"].(string)
	if code, _ := do(t, s, call{"POST", "/claims/reserves/" + id + "/release", "r2", nil}); code != 200 {
		t.Errorf("release %s: %d", id, code)
	}
	if code, out := do(t, s, call{"POST", "/claims/reserves/" + id + "/release", "r3", nil}); code != 409 {
		t.Errorf("second release: %d %v", code, out)
	}
	if code, out := do(t, s, call{"POST", "/claims/settlements", "r4", map[string]any{"claimId": "OTHER", "reserveId": id, "payoutId": "PAY-1"}}); code != 400 {
		t.Errorf("settlement of another claim's reserve: %d %v", code, out)
	}
}
