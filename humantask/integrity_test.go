package humantask_test

import (
	"bytes"
	"crypto/ed25519"
	"encoding/base64"
	"encoding/json"
	"maps"
	"strings"
	"testing"
	"time"

	"github.com/batonhq/baton/audit"
	ht "github.com/batonhq/baton/humantask"
	"github.com/batonhq/baton/policy"
)

// reload replaces the worker's current policy at time at with a copy of the
// pinned one that change alters (revocation, a new signer).
func (h *harness) reload(at time.Duration, change func(live *policy.Policy)) {
	h.env.RegisterDelayedCallback(func() {
		live := *h.pol
		live.Users = maps.Clone(h.pol.Users)
		live.Signers = maps.Clone(h.pol.Signers)
		change(&live)
		h.pa.SetPolicy(&live)
	}, at)
}

// signedSignal signs d over taskID's subject and sends it as a signal at at.
func (h *harness) signedSignal(at time.Duration, key ed25519.PrivateKey, taskID string, d ht.Decision) {
	h.env.RegisterDelayedCallback(func() {
		ht.Sign(key, h.subject(taskID), &d)
		h.env.SignalWorkflow(ht.SignalDecision, d)
	}, at)
}

// ana delegates to ben; ben then loses the underwriter role in the live
// directory: a delegate must still hold a role the task delegates to, so
// his decision is refused, by update and by signal.
func TestRevokedDelegateNoLongerDecides(t *testing.T) {
	h := newHarness(t)
	h.update(time.Hour, ht.Decision{Verdict: ht.Delegate, Actor: "ana", DelegateTo: "ben"})
	h.reload(90*time.Minute, func(live *policy.Policy) {
		ben := live.Users["ben"]
		ben.Roles = []string{"finance"}
		live.Users["ben"] = ben
	})
	byUpdate := h.update(2*time.Hour, approve("ben"))
	h.signal(3*time.Hour, approve("ben"))
	out := h.run(plan{Specs: []ht.Spec{underwriting(t, 1)}, CancelAfter: 4 * time.Hour})
	if msg, code := byUpdate.reason(); byUpdate.accepted || code != ht.RefusedNoRole || !strings.Contains(msg, `ben may not decide task "underwriting"`) {
		t.Errorf("the revoked delegate's update: accepted %v, %q [%s]", byUpdate.accepted, msg, code)
	}
	if ref := actions(out.Audit, audit.ActionDecisionRefused); len(ref) != 1 || ref[0].Via != "signal" || !strings.Contains(ref[0].Details, "ben may not decide") {
		t.Errorf("refused entries = %+v", ref)
	}
	if out.Results[0].Approved() {
		t.Error("approved by a delegate who lost the role")
	}
}

// A decision the update's validator accepted (pinned policy) but its
// handler refused (the live directory revoked the role meanwhile) is in
// the trail, not only an UpdateCompleted failure.
func TestHandlerRefusalIsAudited(t *testing.T) {
	h := newHarness(t)
	// The validator ran before the worker loaded the new directory.
	h.settings.Directory = nil
	h.reload(30*time.Minute, func(live *policy.Policy) {
		ben := live.Users["ben"]
		ben.Roles = []string{"finance"}
		live.Users["ben"] = ben
	})
	u := h.update(time.Hour, approve("ben"))
	out := h.run(plan{Specs: []ht.Spec{underwriting(t, 1)}, CancelAfter: 2 * time.Hour})
	if !u.accepted {
		t.Fatalf("the validator refused (pinned policy): %v", u.refusal)
	}
	ref := actions(out.Audit, audit.ActionDecisionRefused)
	if len(ref) != 1 || ref[0].Actor != "ben" || ref[0].Via != "update" || ref[0].Reason != ht.RefusedNoRole ||
		!strings.Contains(ref[0].Details, "approve refused (update)") {
		t.Errorf("refused entries = %+v", ref)
	}
}

// A decision signal whose payload does not decode as a decision (a number
// where text belongs, an unknown key) is a refused decision naming the
// field, not a log line.
func TestMalformedSignalIsRefusedNamingTheField(t *testing.T) {
	h := newHarness(t)
	h.env.RegisterDelayedCallback(func() {
		h.env.SignalWorkflow(ht.SignalDecision, map[string]any{"verdict": 123, "actor": "ana"})
	}, time.Hour)
	h.env.RegisterDelayedCallback(func() {
		h.env.SignalWorkflow(ht.SignalDecision, map[string]any{"verdict": "approve", "actor": "ana", "amount": 1})
	}, 2*time.Hour)
	out := h.run(plan{Specs: []ht.Spec{underwriting(t, 1)}, CancelAfter: 3 * time.Hour})
	ref := actions(out.Audit, audit.ActionDecisionRefused)
	if len(ref) != 2 || !strings.Contains(ref[0].Details, "verdict:") || !strings.Contains(ref[1].Details, "amount: unknown key") ||
		ref[0].Reason != ht.RefusedInvalid {
		t.Fatalf("refused entries = %+v", ref)
	}
	if out.Results[0].State != ht.StateCancelled {
		t.Errorf("a malformed decision changed the task: %+v", out.Results[0])
	}
}

// entryData is a decision entry's data.
type entryData struct {
	Decision ht.Decision `json:"decision"`
	Subject  ht.Subject  `json:"subject"`
}

// Every decision entry carries the decision as received (signature
// included) and its task's subject, so an auditor can check the signature
// from the entry alone; task-opened carries the occurrence, the subject
// and the task's spec with its absolute deadline.
func TestDecisionEntriesCarryDecisionAndSubject(t *testing.T) {
	h := newHarness(t)
	anaKey := h.withKey("ana")
	h.update(time.Hour, ht.Decision{Verdict: ht.Delegate, Actor: "ben", DelegateTo: "ana", Comment: "for ana"})
	h.signal(2*time.Hour, ht.Decision{Verdict: ht.Approve, Actor: "fay", Comment: "let me"})
	h.signedUpdate(3*time.Hour, anaKey, "underwriting", nil, ht.Decision{Verdict: ht.Approve, Actor: "ana", Comment: "income verified"})
	out := h.run(plan{Specs: []ht.Spec{underwriting(t, 1)}})
	subject := out.Tasks[0].Subject
	check := func(action, actor string) entryData {
		t.Helper()
		es := actions(out.Audit, action)
		if len(es) != 1 || es[0].Actor != actor {
			t.Fatalf("%s entries = %+v", action, es)
		}
		var c bytes.Buffer
		if err := json.Compact(&c, es[0].Data); err != nil || c.String() != string(es[0].Data) {
			t.Errorf("%s data is not compact JSON: %s", action, es[0].Data)
		}
		var d entryData
		if err := json.Unmarshal(es[0].Data, &d); err != nil {
			t.Fatalf("%s data %s: %v", action, es[0].Data, err)
		}
		if d.Subject != subject || d.Decision.Actor != actor {
			t.Errorf("%s data = %+v, subject %+v", action, d, subject)
		}
		return d
	}
	if d := check(audit.ActionDelegated, "ben"); d.Decision.DelegateTo != "ana" || d.Decision.Comment != "for ana" {
		t.Errorf("delegation data = %+v", d)
	}
	check(audit.ActionDecisionRefused, "fay")
	d := check(audit.ActionDecisionAccepted, "ana")
	sig, _ := base64.StdEncoding.DecodeString(d.Decision.Signature)
	pub, _ := policy.ParsePublicKey(h.pol.Users["ana"].PublicKey)
	if !ed25519.Verify(pub, ht.SigningBytes(d.Subject, d.Decision), sig) {
		t.Errorf("the signature does not verify from the entry alone: %+v", d)
	}

	opened := actions(out.Audit, audit.ActionTaskOpened)
	var o struct {
		Occurrence int        `json:"occurrence"`
		Subject    ht.Subject `json:"subject"`
		Spec       struct {
			Roles         []string       `json:"roles"`
			Quorum        int            `json:"quorum"`
			Rejections    int            `json:"rejections"`
			Exclusions    []ht.Exclusion `json:"exclusions"`
			Deadline      time.Time      `json:"deadline"`
			OnDeadline    string         `json:"onDeadline"`
			EscalateAfter string         `json:"escalateAfter"`
			EscalateTo    []string       `json:"escalateTo"`
		} `json:"spec"`
	}
	if len(opened) != 1 || json.Unmarshal(opened[0].Data, &o) != nil {
		t.Fatalf("task-opened = %+v", opened)
	}
	if o.Occurrence != 1 || o.Subject != subject || strings.Join(o.Spec.Roles, ",") != "underwriter" || o.Spec.Quorum != 1 ||
		o.Spec.Rejections != 1 || len(o.Spec.Exclusions) != 1 || o.Spec.Exclusions[0].User != "C-1002" ||
		!o.Spec.Deadline.Equal(out.Tasks[0].Deadline) || o.Spec.OnDeadline != policy.OnDeadlineReject ||
		o.Spec.EscalateAfter != "24h0m0s" || strings.Join(o.Spec.EscalateTo, ",") != "senior-underwriter" {
		t.Errorf("task-opened data = %s", opened[0].Data)
	}
}

// A signer added to the policy after an instance started is trusted by it
// from the next decision, by update (the validator defers a signer the
// pinned policy does not know to the handler, which checks the live
// directory) and by signal alike.
func TestSignerAddedLaterIsTrusted(t *testing.T) {
	pub, priv, _ := ed25519.GenerateKey(nil)
	h := newHarness(t)
	h.reload(30*time.Minute, func(live *policy.Policy) {
		live.Signers = map[string]policy.Signer{"inbox": {PublicKey: base64.StdEncoding.EncodeToString(pub)}}
	})
	viaInbox := func(actor string) ht.Decision {
		return ht.Decision{TaskID: "underwriting", Verdict: ht.Approve, Actor: actor, Signer: "inbox", Authenticated: "oidc https://idp.example"}
	}
	u := h.signedUpdate(time.Hour, priv, "underwriting", nil, viaInbox("ana"))
	h.signedSignal(2*time.Hour, priv, "underwriting", viaInbox("ben"))
	out := h.run(plan{Specs: []ht.Spec{underwriting(t, 2)}, CancelAfter: 3 * time.Hour})
	if !u.accepted || u.refusal != nil {
		t.Errorf("update signed by a signer added later: %v", u.refusal)
	}
	if !out.Results[0].Approved() {
		t.Errorf("result = %+v, trail %+v", out.Results[0], actions(out.Audit, audit.ActionDecisionRefused))
	}
	for _, e := range actions(out.Audit, audit.ActionDecisionAccepted) {
		if !strings.Contains(e.Details, "signed by inbox") {
			t.Errorf("accepted = %+v", e)
		}
	}
}
