package integration

import (
	"encoding/json"
	"strings"
	"testing"
	"time"

	"github.com/batonhq/baton/audit"
)

// startWait starts a process from an example file with a fresh id and
// waits for its outcome.
func startWait(t *testing.T, process, file, id string, extra ...string) map[string]any {
	t.Helper()
	args := append([]string{"start", process, "--file", "examples/" + file, "--id", id, "--wait", "-o", "json"}, extra...)
	var out struct {
		Outcome string         `json:"outcome"`
		Result  map[string]any `json:"result"`
	}
	if err := json.Unmarshal([]byte(starter(t, args...)), &out); err != nil {
		t.Fatal(err)
	}
	return out.Result
}

func startOpen(t *testing.T, process, file, id string) string {
	t.Helper()
	starter(t, "start", process, "--file", "examples/"+file, "--id", id)
	return process + "-" + id
}

// waitTask waits until an instance has an open task; extra are starter
// flags such as --namespace.
func waitTask(t *testing.T, wfID string, extra ...string) {
	t.Helper()
	eventually(t, "a task in "+wfID, func() bool {
		var st struct {
			OpenTasks []map[string]any `json:"openTasks"`
		}
		_ = json.Unmarshal([]byte(runBin(t, "starter", append([]string{"status", wfID, "-o", "json"}, extra...)...).stdout), &st)
		return len(st.OpenTasks) > 0
	})
}

func noDuplicates(t *testing.T, ref string) ledgerDoc {
	t.Helper()
	l := ledger(t, ref)
	if len(l.Duplicates) != 0 {
		t.Errorf("ledger for %s has duplicate side effects: %v", ref, l.Duplicates)
	}
	return l
}

func TestLoanEndToEnd(t *testing.T) {
	t.Run("automated approval", func(t *testing.T) {
		id := uniq("LA")
		res := startWait(t, "loan", "loan-auto-approve.json", id)
		if res["outcome"] != "approved" || res["handlingPath"] != "automated" {
			t.Fatalf("result = %v", res)
		}
		if k := noDuplicates(t, id).kinds(); k != "offer disbursement" {
			t.Errorf("ledger = %s", k)
		}
		saveHistory(t, "loan-auto-approve", "loan-"+id)
	})
	t.Run("automated decline: KYC", func(t *testing.T) {
		id := uniq("LK")
		res := startWait(t, "loan", "loan-kyc-fail.json", id)
		if res["outcome"] != "declined" || res["reason"] != "identity check failed" {
			t.Fatalf("result = %v", res)
		}
		saveHistory(t, "loan-kyc-declined", "loan-"+id)
	})
	t.Run("manual: rejected by an underwriter", func(t *testing.T) {
		id := uniq("LM")
		wf := startOpen(t, "loan", "loan-manual.json", id)
		waitTask(t, wf)
		if got := starter(t, "reject", wf, "--as", "ben", "--reason", "debt ratio too high"); !strings.Contains(got, "accepted: rejected") {
			t.Fatalf("reject: %s", got)
		}
		if res := outcomeOf(t, wf); res["outcome"] != "declined" || res["handlingPath"] != "manual" {
			t.Fatalf("result = %v", res)
		}
		if k := ledger(t, id).kinds(); k != "" {
			t.Errorf("a declined loan left side effects: %s", k)
		}
		saveHistory(t, "loan-underwriter-rejects", wf)
		msgs := mail(t, wf)
		if len(msgs) != 1 || !strings.Contains(msgs[0], "declined") {
			t.Errorf("applicant mail = %v", msgs)
		}
	})
}

func TestOrderEndToEnd(t *testing.T) {
	t.Run("straight through", func(t *testing.T) {
		id := uniq("OS")
		res := startWait(t, "order", "order-straight-through.json", id)
		if res["outcome"] != "fulfilled" || res["handlingPath"] != "automated" {
			t.Fatalf("result = %v", res)
		}
		if k := noDuplicates(t, id).kinds(); k != "reservation charge shipment" {
			t.Errorf("ledger = %s", k)
		}
		saveHistory(t, "order-straight-through", "order-"+id)
	})
	t.Run("declined card compensates", func(t *testing.T) {
		id := uniq("OD")
		res := startWait(t, "order", "order-declined-card.json", id)
		if res["outcome"] != "card-declined" {
			t.Fatalf("result = %v", res)
		}
		if k := noDuplicates(t, id).kinds(); k != "reservation release" {
			t.Errorf("ledger = %s, want the reservation released", k)
		}
		saveHistory(t, "order-declined-card", "order-"+id)
	})
	t.Run("fraud review, then cancelled before shipment", func(t *testing.T) {
		id := uniq("OF")
		wf := startOpen(t, "order", "order-fraud-review.json", id)
		waitTask(t, wf)
		r := runBin(t, "starter", "approve", wf, "--as", "ana")
		if r.code != 3 {
			t.Errorf("ana on a fraud review: exit %d", r.code)
		}
		starter(t, "cancel", wf, "--by", "NEW-7", "--reason", "changed my mind")
		res := outcomeOf(t, wf)
		if res["outcome"] != "cancelled" || res["handlingPath"] != "manual" {
			t.Fatalf("result = %v", res)
		}
		if !hasEntry(auditTrail(t, wf), "NEW-7", audit.ActionRequested, "cancel: changed my mind") {
			t.Error("cancellation not audited")
		}
		saveHistory(t, "order-cancelled-in-review", wf)
	})
	t.Run("fraud review approved", func(t *testing.T) {
		id := uniq("OA")
		wf := startOpen(t, "order", "order-fraud-review.json", id)
		waitTask(t, wf)
		starter(t, "approve", wf, "--as", "fay")
		if res := outcomeOf(t, wf); res["outcome"] != "fulfilled" {
			t.Fatalf("result = %v", res)
		}
		saveHistory(t, "order-fraud-review-approved", wf)
	})
}

func TestOnboardingEndToEnd(t *testing.T) {
	id := uniq("E")
	wf := startOpen(t, "onboarding", "onboarding.json", id)
	waitTask(t, wf)
	// The task is named to mia: the inbox shows it to her, not to max.
	eventually(t, wf+" in mia's inbox", func() bool {
		var mias []map[string]any
		_ = json.Unmarshal([]byte(starter(t, "tasks", "--user", "mia", "--process", "onboarding", "-o", "json")), &mias)
		return containsWorkflow(mias, wf)
	})
	var maxs []map[string]any
	_ = json.Unmarshal([]byte(starter(t, "tasks", "--user", "max", "--process", "onboarding", "-o", "json")), &maxs)
	if containsWorkflow(maxs, wf) {
		t.Errorf("max sees mia's task: %v", maxs)
	}
	starter(t, "approve", wf, "--as", "mia")
	res := outcomeOf(t, wf)
	if res["outcome"] != "onboarded" {
		t.Fatalf("result = %v", res)
	}
	saveHistory(t, "onboarding-approved", wf)
	l := noDuplicates(t, id)
	for _, k := range []string{"employee-record", "accounts", "equipment", "payroll", "badge"} {
		if !strings.Contains(l.kinds(), k) {
			t.Errorf("ledger %q lacks %s", l.kinds(), k)
		}
	}
}

// A provisioning system down for good: the instance does not fail; IT gets
// a task, fixes the system and retries.
func TestOnboardingProvisioningFixTask(t *testing.T) {
	id := uniq("EF")
	setFaults(t, `{"equipment":{"errorRate":1}}`)
	defer setFaults(t, `{}`)
	wf := startOpen(t, "onboarding", "onboarding.json", id)
	waitTask(t, wf)
	starter(t, "approve", wf, "--as", "mia")
	eventually(t, "the it-admin task", func() bool {
		var rows []map[string]any
		_ = json.Unmarshal([]byte(runBin(t, "starter", "tasks", "--role", "it-admin", "-o", "json").stdout), &rows)
		return containsWorkflow(rows, wf)
	})
	setFaults(t, `{}`)
	starter(t, "approve", wf, "--as", "ivy", "--comment", "equipment supplier back")
	if res := outcomeOf(t, wf); res["outcome"] != "onboarded" {
		t.Fatalf("result = %v", res)
	}
	saveHistory(t, "onboarding-provisioning-fix", wf)
}

func TestExpenseEndToEnd(t *testing.T) {
	id := uniq("X")
	wf := startOpen(t, "expense", "expense-large.json", id)
	for _, approver := range []string{"mia", "fin", "dan"} {
		waitTask(t, wf)
		if r := runBin(t, "starter", "approve", wf, "--as", "ben"); r.code != 3 || !strings.Contains(r.stderr, "the requester") {
			t.Errorf("requester ben at the %s level: exit %d %s", approver, r.code, r.stderr)
		}
		starter(t, "approve", wf, "--as", approver)
		time.Sleep(100 * time.Millisecond)
	}
	res := outcomeOf(t, wf)
	if res["outcome"] != "reimbursed" {
		t.Fatalf("result = %v", res)
	}
	if k := noDuplicates(t, "expense-"+id).kinds(); !strings.HasPrefix(k, "payout") {
		t.Errorf("ledger = %s", k)
	}
	saveHistory(t, "expense-three-levels", wf)
}

func TestClaimEndToEnd(t *testing.T) {
	t.Run("paid straight through", func(t *testing.T) {
		id := uniq("CA")
		res := startWait(t, "claim", "claim-auto-pay.json", id)
		if res["outcome"] != "paid" || res["handlingPath"] != "automated" || res["payable"] != 950.0 {
			t.Fatalf("result = %v", res)
		}
		if k := noDuplicates(t, id).kinds(); k != "claim-reserve settlement" {
			t.Errorf("claims ledger = %s", k)
		}
		if k := noDuplicates(t, "claim-"+id).kinds(); !strings.HasPrefix(k, "payout") {
			t.Errorf("payments ledger = %s", k)
		}
		saveHistory(t, "claim-auto-pay", "claim-"+id)
	})
	t.Run("four-eyes adjuster review", func(t *testing.T) {
		id := uniq("CF")
		wf := startOpen(t, "claim", "claim-four-eyes.json", id)
		waitTask(t, wf)
		if r := runBin(t, "starter", "approve", wf, "--as", "ana"); r.code != 3 {
			t.Errorf("an underwriter on an adjuster review: exit %d", r.code)
		}
		starter(t, "approve", wf, "--as", "ada")
		if r := runBin(t, "starter", "approve", wf, "--as", "ada"); r.code != 3 || !strings.Contains(r.stderr, "already decided") {
			t.Errorf("ada twice: exit %d %s", r.code, r.stderr)
		}
		starter(t, "approve", wf, "--as", "abe")
		res := outcomeOf(t, wf)
		if res["outcome"] != "paid" || res["handlingPath"] != "manual" {
			t.Fatalf("result = %v", res)
		}
		saveHistory(t, "claim-four-eyes", wf)
	})
	t.Run("not covered", func(t *testing.T) {
		res := startWait(t, "claim", "claim-not-covered.json", uniq("CN"))
		if res["outcome"] != "not-covered" || !strings.Contains(res["reason"].(string), "lapsed") {
			t.Fatalf("result = %v", res)
		}
	})
	t.Run("payments down: the reserve is released", func(t *testing.T) {
		setFaults(t, `{"payments":{"errorRate":1}}`)
		defer setFaults(t, `{}`)
		id := uniq("CP")
		res := startWait(t, "claim", "claim-auto-pay.json", id)
		if res["outcome"] != "payout-failed" {
			t.Fatalf("result = %v", res)
		}
		if k := noDuplicates(t, id).kinds(); k != "claim-reserve reserve-release" {
			t.Errorf("claims ledger = %s, want the reserve released", k)
		}
	})
}

// With systems failing a share of calls, and applying then failing others,
// every instance completes and nothing happens twice.
func TestFaultsDoNotDuplicateSideEffects(t *testing.T) {
	setFaults(t, `{"*":{"errorRate":0.2,"failAfterApplyRate":0.3}}`)
	defer setFaults(t, `{}`)
	var ids []string
	for i := 0; i < 4; i++ {
		id := uniq("FO")
		ids = append(ids, id)
		starter(t, "start", "order", "--file", "examples/order-straight-through.json", "--id", id)
	}
	repeats := 0
	for _, id := range ids {
		if res := outcomeOf(t, "order-"+id); res["outcome"] != "fulfilled" {
			t.Errorf("order-%s: %v", id, res)
		}
		l := noDuplicates(t, id)
		if l.kinds() != "reservation charge shipment" {
			t.Errorf("order-%s ledger = %s", id, l.kinds())
		}
		repeats += l.Repeats
	}
	if repeats == 0 {
		t.Error("no call was answered from the idempotency store: the faults did not bite")
	}
}

func containsWorkflow(rows []map[string]any, id string) bool {
	for _, r := range rows {
		if r["workflowId"] == id {
			return true
		}
	}
	return false
}

// mail returns the subjects sent about a business key.
func mail(t *testing.T, ref string) []string {
	t.Helper()
	resp, err := httpGetJSON(env.simURL + "/mail/messages?ref=" + ref)
	if err != nil {
		t.Fatal(err)
	}
	var subjects []string
	for _, m := range resp["messages"].([]any) {
		subjects = append(subjects, m.(map[string]any)["subject"].(string))
	}
	return subjects
}
