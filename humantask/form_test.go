package humantask_test

import (
	"crypto/ed25519"
	"encoding/base64"
	"encoding/json"
	"errors"
	"slices"
	"strings"
	"testing"
	"time"

	"go.temporal.io/sdk/temporal"

	"github.com/batonhq/baton/audit"
	ht "github.com/batonhq/baton/humantask"
	"github.com/batonhq/baton/policy"
)

// assessment is a claim adjuster's form: an amount up to 25,000 EUR, a
// reason code, a personal note.
func assessment() ht.Form {
	return ht.Form{
		ht.Money("assessedAmount", "Assessed amount", "EUR").Require().Range(0.01, 25000),
		ht.Choice("reasonCode", "Reason", ht.Opt("full-cover", "Fully covered"), ht.Opt("partial", "Partly covered")).Require().RequireOnReject(),
		ht.Text("note", "Note for the file").Length(0, 200).MarkPersonal(),
		ht.MultiChoice("checks", "Checks done", ht.Opt("photos", "Photos"), ht.Opt("invoice", "Invoice")),
		ht.Boolean("visit", "Site visit"),
		ht.Date("visitDate", "Visit date").Dates("2026-01-01", "").RequireIf("visit"),
		ht.Integer("items", "Items").IntRange(1, 50),
	}
}

func TestFormChecksEachTypeAndNamesTheField(t *testing.T) {
	form := assessment()
	if err := form.Validate(); err != nil {
		t.Fatal(err)
	}
	ok := map[string]string{"assessedAmount": "EUR 12,500", "reasonCode": "partial", "checks": "invoice, photos", "visit": "yes", "visitDate": "2026-03-04", "items": "007"}
	got, err := form.Check(ht.Approve, ok)
	if err != nil {
		t.Fatal(err)
	}
	want := map[string]string{"assessedAmount": "12500.00", "reasonCode": "partial", "checks": "photos,invoice", "visit": "true", "visitDate": "2026-03-04", "items": "7"}
	for k, v := range want {
		if got[k] != v {
			t.Errorf("%s = %q, want %q", k, got[k], v)
		}
	}
	for _, c := range []struct {
		verdict string
		values  map[string]string
		want    string
	}{
		{ht.Approve, map[string]string{"reasonCode": "partial"}, "assessedAmount: required to approve"},
		{ht.Approve, map[string]string{"assessedAmount": "30000", "reasonCode": "partial"}, "assessedAmount: 30,000.00 EUR is above the maximum 25,000.00 EUR"},
		{ht.Approve, map[string]string{"assessedAmount": "0", "reasonCode": "partial"}, "assessedAmount: 0.00 EUR is below the minimum 0.01 EUR"},
		{ht.Approve, map[string]string{"assessedAmount": "12.345", "reasonCode": "partial"}, "assessedAmount: \"12.345\" has more than two decimals"},
		{ht.Approve, map[string]string{"assessedAmount": "twelve", "reasonCode": "partial"}, "assessedAmount: \"twelve\" is not an amount such as 1250.00"},
		{ht.Approve, map[string]string{"assessedAmount": "100", "reasonCode": "other"}, "reasonCode: \"other\" is not one of full-cover, partial"},
		{ht.Reject, map[string]string{}, "reasonCode: required to reject"},
		{ht.Approve, map[string]string{"assessedAmount": "100", "reasonCode": "partial", "visit": "true"}, "visitDate: required when site visit is given"},
		{ht.Approve, map[string]string{"assessedAmount": "100", "reasonCode": "partial", "visitDate": "2025-12-31"}, "visitDate: 2025-12-31 is below the minimum 2026-01-01"},
		{ht.Approve, map[string]string{"assessedAmount": "100", "reasonCode": "partial", "items": "51"}, "items: 51 is above the maximum 50"},
		{ht.Approve, map[string]string{"assessedAmount": "100", "reasonCode": "partial", "note": strings.Repeat("x", 201)}, "note: 201 characters, at most 200"},
		{ht.Approve, map[string]string{"assessedAmount": "100", "reasonCode": "partial", "colour": "red"}, "colour: not a field of this task's form"},
		{ht.Delegate, map[string]string{"assessedAmount": "100"}, "assessedAmount: a delegation carries no values"},
	} {
		_, err := form.Check(c.verdict, c.values)
		if err == nil || !strings.HasPrefix(err.Error(), c.want) {
			t.Errorf("%s %v: %v, want %q", c.verdict, c.values, err, c.want)
		}
	}
	if e := (ht.Form{ht.Money("x", "X", "euro")}).Validate(); e == nil || !strings.Contains(e.Error(), "currency") {
		t.Errorf("a bad currency declared: %v", e)
	}
}

// A decision without values signs exactly as before forms existed (the
// committed histories' signatures and existing keys keep working); one with
// values signs as v3, where a personal value is its salted digest, so the
// trail's sealed decision (no value, no salt) verifies the signature.
func TestSigningBytesOfValues(t *testing.T) {
	s := ht.Subject{WorkflowID: "claim-1", RunID: "r", TaskID: "adjuster-review", Occurrence: 1, Digest: "abc", Personal: "note"}
	plain := ht.Decision{Verdict: ht.Approve, Actor: "ada", Comment: "ok"}
	if got := string(ht.SigningBytes(s, plain)); got != "baton-decision/v2\nclaim-1\nr\nadjuster-review\n1\nabc\napprove\nada\n\nok" {
		t.Fatalf("a decision without values signs differently: %q", got)
	}
	d := ht.Decision{Verdict: ht.Approve, Actor: "ada", Values: map[string]string{"assessedAmount": "7500.00", "note": "Mr X broke a leg"}, Salt: "c2FsdHNhbHRzYWx0c2FsdA=="}
	msg := string(ht.SigningBytes(s, d))
	if strings.Contains(msg, "broke a leg") || !strings.Contains(msg, `"value:assessedAmount=7500.00"`) || !strings.HasPrefix(msg, "baton-decision/v3\n") {
		t.Errorf("v3 signing bytes = %q", msg)
	}
	sealed := ht.Seal(s, d)
	if sealed.Salt != "" || sealed.Values["note"] != "" || sealed.Digests["note"] == "" || sealed.Values["assessedAmount"] != "7500.00" {
		t.Errorf("sealed = %+v", sealed)
	}
	if string(ht.SigningBytes(s, sealed)) != msg {
		t.Error("the sealed decision signs differently from the one sent: the trail cannot verify it")
	}
	other := d
	other.Values = map[string]string{"assessedAmount": "75000.00", "note": "Mr X broke a leg"}
	if string(ht.SigningBytes(s, other)) == msg {
		t.Error("another amount signs the same")
	}
	// A comment cannot pass for a value.
	forged := ht.Decision{Verdict: ht.Approve, Actor: "ada", Comment: "x\n\"value:assessedAmount=7500.00\""}
	if string(ht.SigningBytes(s, forged)) == string(ht.SigningBytes(s, ht.Decision{Verdict: ht.Approve, Actor: "ada", Comment: "x", Values: map[string]string{"assessedAmount": "7500.00"}})) {
		t.Error("a comment signs as a value")
	}
}

func formTask(t *testing.T, quorum int) ht.Spec {
	s := underwriting(t, quorum)
	s.Form = assessment()
	return s
}

const salt = "c2FsdHNhbHRzYWx0c2FsdA=="

// The gate checks values for update and signal alike: a bad value is
// refused naming the field (code invalid-value), audited when it came as a
// signal; the accepted values reach the process canonical; the trail holds
// the clear values and a digest for the personal one, never the note.
func TestGateChecksFormValues(t *testing.T) {
	h := newHarness(t)
	tooMuch := h.update(time.Hour, ht.Decision{Verdict: ht.Approve, Actor: "ana", Values: map[string]string{"assessedAmount": "30000"}})
	h.signal(2*time.Hour, ht.Decision{Verdict: ht.Approve, Actor: "ana", Values: map[string]string{"assessedAmount": "abc"}})
	noSalt := h.update(3*time.Hour, ht.Decision{Verdict: ht.Approve, Actor: "ana", Values: map[string]string{"assessedAmount": "100", "reasonCode": "partial", "note": "leg"}})
	ok := h.update(4*time.Hour, ht.Decision{Verdict: ht.Approve, Actor: "ana", Salt: salt,
		Values: map[string]string{"assessedAmount": "7,500", "reasonCode": "partial", "note": "Mr X broke a leg"}})
	out := h.run(plan{Specs: []ht.Spec{formTask(t, 1)}})
	if msg, code := tooMuch.reason(); code != ht.RefusedValue || msg != "assessedAmount: 30,000.00 EUR is above the maximum 25,000.00 EUR" {
		t.Errorf("over the bound: %q [%s]", msg, code)
	}
	if msg, _ := noSalt.reason(); !strings.HasPrefix(msg, "salt: required with personal values") {
		t.Errorf("personal value without salt: %q", msg)
	}
	if !ok.accepted {
		t.Fatalf("valid values refused: %v", ok.refusal)
	}
	ref := actions(out.Audit, audit.ActionDecisionRefused)
	if len(ref) != 1 || ref[0].Via != "signal" || !strings.Contains(ref[0].Details, `assessedAmount: "abc" is not an amount`) {
		t.Errorf("refused signal entries = %+v", ref)
	}
	r := out.Results[0]
	if r.Values["assessedAmount"] != "7500.00" || r.Values["note"] != "Mr X broke a leg" || r.Values["reasonCode"] != "partial" {
		t.Errorf("the process received %v", r.Values)
	}
	for _, e := range out.Audit {
		if strings.Contains(string(e.Data), "broke a leg") || strings.Contains(e.Details, "broke a leg") {
			t.Errorf("the personal note is in the trail in clear: %s %s", e.Details, e.Data)
		}
	}
	acc := actions(out.Audit, audit.ActionDecisionAccepted)
	if len(acc) != 1 || !strings.Contains(acc[0].Details, "entered assessedAmount 7,500.00 EUR, reasonCode Partly covered, note (personal") {
		t.Fatalf("accepted = %+v", acc)
	}
	var data ht.DecisionData
	if err := json.Unmarshal(acc[0].Data, &data); err != nil {
		t.Fatal(err)
	}
	if data.Decision.Digests["note"] != ht.ValueDigest(salt, "note", "Mr X broke a leg") || data.Decision.Salt != "" || data.Subject.Personal != "note" {
		t.Errorf("decision data = %+v", data)
	}
	opened := actions(out.Audit, audit.ActionTaskOpened)
	var od ht.OpenedData
	if err := json.Unmarshal(opened[0].Data, &od); err != nil || len(od.Spec.Form) != len(assessment()) {
		t.Errorf("task-opened carries the form: %v %s", err, opened[0].Data)
	}
	if tv := out.Tasks[0]; len(tv.Votes) != 1 || tv.Votes[0].Values["assessedAmount"] != "7500.00" || tv.Votes[0].Values["note"] != "" {
		t.Errorf("vote = %+v", tv.Votes)
	}
}

// With a quorum of two, the first approval enters the values and the
// second confirms them: it sends none (or the same); different values are
// refused naming the field and who entered it.
func TestSecondApproverConfirmsTheValues(t *testing.T) {
	h := newHarness(t)
	h.update(time.Hour, ht.Decision{Verdict: ht.Approve, Actor: "ana", Values: map[string]string{"assessedAmount": "9000", "reasonCode": "partial"}})
	differs := h.update(2*time.Hour, ht.Decision{Verdict: ht.Approve, Actor: "ben", Values: map[string]string{"assessedAmount": "9500", "reasonCode": "partial"}})
	confirm := h.update(3*time.Hour, ht.Decision{Verdict: ht.Approve, Actor: "ben"})
	out := h.run(plan{Specs: []ht.Spec{formTask(t, 2)}})
	if msg, code := differs.reason(); code != ht.RefusedValue || !strings.HasPrefix(msg, "assessedAmount: differs from what ana entered (9,000.00 EUR)") {
		t.Errorf("differing values: %q [%s]", msg, code)
	}
	if !confirm.accepted || !out.Results[0].Approved() || out.Results[0].Values["assessedAmount"] != "9000.00" {
		t.Errorf("confirmation: %+v, result %+v", confirm, out.Results[0])
	}
}

// A decision signed over its values verifies, and the trail's sealed
// decision verifies the same signature with the key alone: what an
// auditor (and an evidence pack) does. Values changed after signing are
// refused.
func TestSignedValuesVerifyFromTheTrail(t *testing.T) {
	h := newHarness(t)
	key := h.withKey("ana")
	h.pol.RequireSignedDecisions = true
	d := ht.Decision{Verdict: ht.Approve, Actor: "ana", Salt: salt, Values: map[string]string{"assessedAmount": "100.00", "reasonCode": "partial", "note": "private"}}
	forged := h.signedUpdateThen(time.Hour, key, "underwriting", nil, d, func(d *ht.Decision) {
		d.Values = map[string]string{"assessedAmount": "20000.00", "reasonCode": "partial", "note": "private"}
	})
	ok := h.signedUpdate(2*time.Hour, key, "underwriting", nil, d)
	out := h.run(plan{Specs: []ht.Spec{formTask(t, 1)}})
	if msg, code := forged.reason(); code != ht.RefusedSignature {
		t.Errorf("values changed after signing: %q [%s]", msg, code)
	}
	if !ok.accepted {
		t.Fatalf("signed values refused: %v", ok.refusal)
	}
	var data ht.DecisionData
	acc := actions(out.Audit, audit.ActionDecisionAccepted)
	if err := json.Unmarshal(acc[0].Data, &data); err != nil {
		t.Fatal(err)
	}
	sig, _ := base64.StdEncoding.DecodeString(data.Decision.Signature)
	if !ed25519.Verify(key.Public().(ed25519.PublicKey), ht.SigningBytes(data.Subject, data.Decision), sig) {
		t.Error("the trail's decision does not verify its signature")
	}
}

// viewUpdate sends a case view signed by the inbox's key over taskID's
// subject at at; its answer (always a rejection) is in the returned sent.
func (h *harness) viewUpdate(at time.Duration, key ed25519.PrivateKey, taskID, actor string) *sent {
	s := &sent{}
	h.env.RegisterDelayedCallback(func() {
		v := ht.CaseView{TaskID: taskID, Actor: actor, At: "2026-12-03T10:00:00Z", Signer: "inbox", Authenticated: "oidc test"}
		v.Signature = base64.StdEncoding.EncodeToString(ed25519.Sign(key, ht.ViewSigningBytes(h.subject(taskID), v)))
		h.env.UpdateWorkflow(ht.UpdateViewCase, "view-"+actor+at.String(), s.callback(), v)
	}, at)
	return s
}

// A view of a case file is judged like a decision (the task, the viewer's
// eligibility, the inbox's signature) and always rejected, so history never
// grows: an eligible viewer's answer is ViewRecordable carrying the entry's
// data (the worker records it), an excluded one's a refusal.
func TestCaseViewsAreJudgedAndNeverInHistory(t *testing.T) {
	h := newHarness(t)
	pub, key, _ := ed25519.GenerateKey(nil)
	h.pol.Signers = map[string]policy.Signer{"inbox": {PublicKey: base64.StdEncoding.EncodeToString(pub)}}
	_, forger, _ := ed25519.GenerateKey(nil)
	ok := h.viewUpdate(time.Hour, key, "underwriting", "ben")
	excluded := h.viewUpdate(time.Hour, key, "underwriting", "C-1002")
	stranger := h.viewUpdate(time.Hour, key, "underwriting", "fay")
	forged := h.viewUpdate(time.Hour, forger, "underwriting", "ana")
	out := h.run(plan{Specs: []ht.Spec{underwriting(t, 1)}, CancelAfter: 2 * time.Hour})
	if _, code := ok.reason(); code != ht.ViewRecordable || ok.accepted {
		t.Errorf("an eligible view: %v accepted %v", ok.refusal, ok.accepted)
	}
	var ae *temporal.ApplicationError
	var data ht.ViewData
	if !errors.As(ok.refusal, &ae) || ae.Details(&data) != nil || data.View.Actor != "ben" || data.Subject.TaskID != "underwriting" {
		t.Errorf("the view's data: %+v", data)
	}
	for name, s := range map[string]*sent{"an excluded user": excluded, "a non-candidate": stranger, "a forged signature": forged} {
		if _, code := s.reason(); code == ht.ViewRecordable || s.refusal == nil {
			t.Errorf("%s: %v", name, s.refusal)
		}
	}
	if n := len(out.Audit); n == 0 || slices.ContainsFunc(out.Audit, func(e audit.Entry) bool { return e.Action == audit.ActionCaseViewed }) {
		t.Error("a view reached the instance's own trail (its history)")
	}
}
