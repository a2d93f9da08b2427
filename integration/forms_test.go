package integration

// Task forms end to end: every process's data-entry step driven through
// the starter binary on the real stack (dev server, worker, simulator,
// audit store), the values checked by the workflow's gate, used by the
// process (the simulator's ledger shows the amounts paid), and recorded in
// the trail without personal values in clear.

import (
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/batonhq/baton/audit"
	"github.com/batonhq/baton/humantask"
)

// amountOf is the amount of the ledger's side effect of kind.
func amountOf(l ledgerDoc, kind string) float64 {
	for _, e := range l.Entries {
		if e.Kind == kind {
			return e.Amount
		}
	}
	return -1
}

// openTasks reads an instance's open tasks from starter status.
func openTasks(t *testing.T, wf string) []humantask.TaskView {
	t.Helper()
	var st struct {
		OpenTasks []humantask.TaskView `json:"openTasks"`
	}
	if err := json.Unmarshal([]byte(starter(t, "status", wf, "-o", "json")), &st); err != nil {
		t.Fatal(err)
	}
	return st.OpenTasks
}

// noClear fails when any entry of the trail holds one of the values.
func noClear(t *testing.T, trail []audit.Entry, values ...string) {
	t.Helper()
	for _, e := range trail {
		for _, v := range values {
			if strings.Contains(e.Details+string(e.Data), v) {
				t.Errorf("the trail holds %q in clear: %s %s %s", v, e.Action, e.Details, e.Data)
			}
		}
	}
}

func TestFormsEndToEnd(t *testing.T) {
	t.Run("claim: the assessed amount is paid, above four-eyes by a second adjuster", func(t *testing.T) {
		id := uniq("CF")
		wf := startOpen(t, "claim", "claim-adjuster.json", id)
		waitTask(t, wf)
		st := starter(t, "status", wf)
		for _, want := range []string{"Form of task adjuster-review", "assessedAmount", "money EUR, 0.01..49750.00, required to approve, proposed 17750.00", "note", "personal"} {
			if !strings.Contains(st, want) {
				t.Errorf("starter status lacks %q:\n%s", want, st)
			}
		}
		if tasks := starter(t, "tasks", "--process", "claim"); !strings.Contains(tasks, "assessedAmount,reasonCo…") {
			t.Errorf("starter tasks does not name the form's fields:\n%s", tasks)
		}
		r := runBin(t, "starter", "approve", wf, "--as", "ada", "--set", "assessedAmount=60000")
		if r.code != 2 || !strings.Contains(r.stderr, "--set assessedAmount: 60,000.00 EUR is above the maximum 49,750.00 EUR") {
			t.Fatalf("an amount above the limit: exit %d %s", r.code, r.stderr)
		}
		out := starter(t, "approve", wf, "--as", "ada", "--set", "assessedAmount=22,000", "--set", "reasonCode=partial-damage",
			"--set", "note=Neighbour Mr Keller confirmed the leak date")
		if !strings.Contains(out, "accepted: approved (1 of 1 approvals)") {
			t.Fatalf("approve: %s", out)
		}
		eventually(t, "the second adjuster's task", func() bool {
			ts := openTasks(t, wf)
			return len(ts) == 1 && ts[0].ID == "second-adjuster"
		})
		if r := runBin(t, "starter", "approve", wf, "--as", "ada"); r.code != 3 || !strings.Contains(r.stderr, "separation of duties (assessed the claim)") {
			t.Errorf("the assessor confirmed their own assessment: exit %d %s", r.code, r.stderr)
		}
		starter(t, "approve", wf, "--as", "abe", "--comment", "photos match the assessment")
		res := outcomeOf(t, wf)
		if res["outcome"] != "paid" || res["assessed"] != 22000.0 {
			t.Fatalf("result = %v", res)
		}
		if paid := amountOf(noDuplicates(t, wf), "payout"); paid != 22000 {
			t.Errorf("the ledger paid %.2f, want the assessed 22,000.00", paid)
		}
		trail := auditTrail(t, wf)
		if !hasEntry(trail, "ada", "decision-accepted", "entered assessedAmount 22,000.00 EUR, reasonCode Damage smaller than claimed, note (personal") {
			t.Errorf("the decision's values are not in the trail")
		}
		noClear(t, trail, "Mr Keller")
		saveHistory(t, "claim-assessed-second-adjuster", wf)
	})
	t.Run("loan: the counter-offer is offered and disbursed", func(t *testing.T) {
		id := uniq("LC")
		wf := startOpen(t, "loan", "loan-manual.json", id)
		waitTask(t, wf)
		data := filepath.Join(t.TempDir(), "counter-offer.json")
		if err := os.WriteFile(data, []byte(`{"counterAmount": 30000, "counterTermMonths": 60, "conditions": "proof of the renovation quote from Ms Brandt"}`), 0o600); err != nil {
			t.Fatal(err)
		}
		if r := runBin(t, "starter", "approve", wf, "--as", "ana", "--set", "counterAmount=45000"); r.code != 2 || !strings.Contains(r.stderr, "above the maximum 40,000.00 EUR") {
			t.Fatalf("a counter-offer above the request: exit %d %s", r.code, r.stderr)
		}
		starter(t, "approve", wf, "--as", "ana", "--data", data)
		res := outcomeOf(t, wf)
		if res["outcome"] != "approved" || res["offerAmount"] != 30000.0 || res["offerTermMonths"] != 60.0 {
			t.Fatalf("result = %v", res)
		}
		l := noDuplicates(t, id)
		if amountOf(l, "offer") != 30000 || amountOf(l, "disbursement") != 30000 {
			t.Errorf("ledger = %+v", l.Entries)
		}
		noClear(t, auditTrail(t, wf), "Ms Brandt")
		saveHistory(t, "loan-counter-offer", wf)
	})
	t.Run("expense: a lower amount is reimbursed and drops the director", func(t *testing.T) {
		id := uniq("XL")
		wf := startOpen(t, "expense", "expense-large.json", id)
		waitTask(t, wf)
		if r := runBin(t, "starter", "approve", wf, "--as", "mia", "--set", "approvedAmount=1500"); r.code != 2 || !strings.Contains(r.stderr, "reason: required when approve a lower amount is given") {
			t.Fatalf("a lower amount without a reason: exit %d %s", r.code, r.stderr)
		}
		starter(t, "approve", wf, "--as", "mia", "--set", "approvedAmount=1500", "--set", "reason=the standard workstation is enough")
		eventually(t, "the finance level", func() bool {
			ts := openTasks(t, wf)
			return len(ts) == 1 && ts[0].ID == "finance-approval"
		})
		starter(t, "approve", wf, "--as", "fin")
		res := outcomeOf(t, wf)
		if res["outcome"] != "reimbursed" || res["approvedAmount"] != 1500.0 || !strings.Contains(res["reason"].(string), "paid 1,500.00 of 7,800.00 claimed") {
			t.Fatalf("result = %v", res)
		}
		if paid := amountOf(noDuplicates(t, wf), "payout"); paid != 1500 {
			t.Errorf("the ledger paid %.2f, want 1,500.00", paid)
		}
		saveHistory(t, "expense-lowered", wf)
	})
	t.Run("onboarding: the manager's access package and equipment are provisioned", func(t *testing.T) {
		id := uniq("EF")
		wf := startOpen(t, "onboarding", "onboarding.json", id)
		waitTask(t, wf)
		if r := runBin(t, "starter", "approve", wf, "--as", "mia", "--set", "accessPackage=root"); r.code != 2 || !strings.Contains(r.stderr, `accessPackage: "root" is not one of standard, engineering, finance, sales`) {
			t.Fatalf("a package off the list: exit %d %s", r.code, r.stderr)
		}
		starter(t, "approve", wf, "--as", "mia", "--set", "accessPackage=engineering", "--set", "equipment=laptop,dock,headset")
		res := outcomeOf(t, wf)
		eq, _ := json.Marshal(res["equipment"])
		if res["outcome"] != "onboarded" || res["accessPackage"] != "engineering" || string(eq) != `["laptop","headset","dock"]` {
			t.Fatalf("result = %v", res)
		}
		saveHistory(t, "onboarding-access-picked", wf)
	})
	t.Run("order: the fraud reviewer asks for verification", func(t *testing.T) {
		id := uniq("OV")
		wf := startOpen(t, "order", "order-fraud-review.json", id)
		waitTask(t, wf)
		if r := runBin(t, "starter", "reject", wf, "--as", "fay", "--reason", "odd"); r.code != 2 || !strings.Contains(r.stderr, "reasonCode: required to reject") {
			t.Fatalf("a rejection without a reason code: exit %d %s", r.code, r.stderr)
		}
		starter(t, "approve", wf, "--as", "fay", "--set", "reasonCode=explained-mismatch", "--set", "verify=yes")
		res := outcomeOf(t, wf)
		if res["outcome"] != "fulfilled" || res["reasonCode"] != "explained-mismatch" || res["verificationId"] == nil {
			t.Fatalf("result = %v", res)
		}
		if k := noDuplicates(t, id).kinds(); k != "verification reservation charge shipment" {
			t.Errorf("ledger = %s, want the verification before the charge", k)
		}
		saveHistory(t, "order-fraud-verified", wf)
	})
}
