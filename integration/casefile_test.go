package integration

import (
	"context"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	"github.com/batonhq/baton/audit"
	"github.com/batonhq/baton/humantask"
)

// setValue replaces the value of the form field with the given id.
func (b *browser) setValue(id, value string) {
	b.t.Helper()
	if err := chromedp.Do(b.ctx, chromedp.SetValue(chromedp.CSS("#"+id), value)); err != nil {
		b.t.Fatalf("set #%s: %v", id, err)
	}
}

// textOf is the text of the element the selector names ("" when none).
func (b *browser) textOf(sel string) string {
	s, _ := chromedp.Run(b.ctx, chromedp.Evaluate[string](`(() => { const e = document.querySelector(`+jsString(sel)+`); return e ? e.innerText : '' })()`))
	return s
}

// valueOf is the value of the form field with the given id.
func (b *browser) valueOf(id string) string {
	s, _ := chromedp.Run(b.ctx, chromedp.Evaluate[string](`(() => { const e = document.getElementById(`+jsString(id)+`); return e ? e.value : '' })()`))
	return s
}

func jsString(s string) string { return "'" + strings.ReplaceAll(s, "'", `\'`) + "'" }

// An adjuster opens a claim's case file in the browser: the claim, the
// systems' results and the form; an amount above the limit is refused
// beside the field with what she typed kept; a valid assessment above the
// four-eyes amount opens a second adjuster's task, whose case file she,
// now excluded, sees without the claimant's personal data; the second
// adjuster sees it (each view of it in the trail) and approves; the
// simulator pays the assessed amount.
func TestCaseFileInTheBrowser(t *testing.T) {
	in := startInbox(t)
	id := uniq("CB")
	wf := "claim-" + id
	in.ns.starter(t, "start", "claim", "--file", "examples/claim-adjuster.json", "--id", id)
	waitTask(t, wf, "--namespace", in.ns.ns)

	b := newBrowser(t)
	if err := chromedp.Do(b.ctx, chromedp.EmulateViewport(1100, 1600)); err != nil {
		t.Fatal(err)
	}
	in.signIn(b, "ada", "ada-password")
	b.see("case-ada-tasks.png", "My tasks", "Adjuster review", wf)
	b.click("Adjuster review")
	page := b.see("case-ada-task.png", "Claim", "Amount claimed", "18,000.00 EUR", "burst pipe flooded the ground floor", "C-2001",
		"What the systems found", "Payable amount", "17,750.00", "Assessed amount to pay", "Reason", "Note for the claim file", "Approve")
	if !strings.Contains(page, "Deductible") || !strings.Contains(page, "Triage score") {
		t.Errorf("the systems' results are missing:\n%s", tail(page, 2000))
	}
	// The case page as an adjuster reads it, for the docs.
	if os.Getenv("BATON_DOCS_SCREENSHOTS") != "" {
		if png, err := chromedp.Run(b.ctx, chromedp.FullScreenshot(100)); err == nil {
			_ = os.WriteFile(filepath.Join(env.root, "docs", "case-file.png"), png, 0o644)
		}
	}

	b.setValue("f-assessedAmount", "60000")
	b.fill("approve-comment", "flooded floor, see photos")
	b.click("Approve")
	b.see("case-ada-invalid.png", "60,000.00 EUR is above the maximum 49,750.00 EUR")
	if got := b.textOf("#f-assessedAmount-error"); !strings.Contains(got, "above the maximum 49,750.00 EUR") {
		t.Errorf("the error is not beside the field: %q", got)
	}
	if v := b.valueOf("f-assessedAmount"); v != "60000" {
		t.Errorf("the amount typed was not kept: %q", v)
	}
	if v := b.valueOf("approve-comment"); v != "flooded floor, see photos" {
		t.Errorf("the comment was not kept: %q", v)
	}
	// Nothing was decided: the task is still open, no approval counted.
	var st struct {
		OpenTasks []humantask.TaskView `json:"openTasks"`
	}
	if err := json.Unmarshal([]byte(in.ns.starter(t, "status", wf, "-o", "json")), &st); err != nil {
		t.Fatal(err)
	}
	if ts := st.OpenTasks; len(ts) != 1 || ts[0].ID != "adjuster-review" || ts[0].Approvals != 0 {
		t.Errorf("after the refused amount the open tasks are %+v, want adjuster-review with no approval", ts)
	}

	b.setValue("f-assessedAmount", "22000")
	b.setValue("f-reasonCode", "partial-damage")
	b.setValue("f-note", "Neighbour Mr Keller confirmed the leak date")
	b.click("Approve")
	b.see("case-ada-approved.png", "accepted: approved (1 of 1 approvals)")

	// The second adjuster's task: ada is excluded from it and sees no
	// personal data.
	eventually(t, "the second adjuster's task", func() bool {
		return strings.Contains(in.ns.starter(t, "tasks", "--user", "abe"), "second-adjuster") // the namespace's read model
	})
	b.open(in.url + taskPath(wf, "second-adjuster"))
	own := b.see("case-ada-excluded.png", "Second adjuster", "Personal details are shown only to the people who may decide this task.", "22,000.00 EUR",
		"ada (assessed the claim)", "you may not decide this task")
	// (The started entry's details name the customer id and the policy
	// number, as every trail does; the description is the input's alone.)
	for _, secret := range []string{"burst pipe flooded the ground floor"} {
		if strings.Contains(own, secret) {
			t.Errorf("an excluded adjuster sees %q", secret)
		}
	}

	b2 := newBrowser(t)
	if err := chromedp.Do(b2.ctx, chromedp.EmulateViewport(1100, 1600)); err != nil {
		t.Fatal(err)
	}
	in.signIn(b2, "abe", "abe-password")
	b2.see("case-abe-tasks.png", "My tasks", "Second adjuster")
	b2.open(in.url + taskPath(wf, "second-adjuster"))
	b2.see("case-abe-task.png", "burst pipe flooded the ground floor", "Ada Arendt (ada)", "22,000.00 EUR", "Damage smaller than claimed")
	b2.fill("approve-comment", "assessment confirmed")
	b2.click("Approve")
	b2.see("case-abe-approved.png", "accepted: approved (1 of 1 approvals)")

	ctx, cancel := context.WithTimeout(context.Background(), 90*time.Second)
	defer cancel()
	var res map[string]any
	if err := in.ns.client.GetWorkflow(ctx, wf, "").Get(ctx, &res); err != nil {
		t.Fatal(err)
	}
	if res["outcome"] != "paid" || res["assessed"] != 22000.0 {
		t.Fatalf("result = %v", res)
	}
	if paid := amountOf(ledger(t, wf), "payout"); paid != 22000 {
		t.Errorf("the ledger paid %.2f, want the assessed 22,000.00", paid)
	}
	var doc struct {
		Entries []audit.Entry `json:"entries"`
	}
	if err := json.Unmarshal([]byte(in.ns.starter(t, "audit", wf, "-o", "json")), &doc); err != nil {
		t.Fatal(err)
	}
	trail := doc.Entries
	if !hasEntry(trail, "ada", audit.ActionCaseViewed, "opened the case file of task adjuster-review") ||
		!hasEntry(trail, "abe", audit.ActionCaseViewed, "opened the case file of task second-adjuster") {
		t.Errorf("the views of personal data are not in the trail")
	}
	if hasEntry(trail, "ada", audit.ActionCaseViewed, "second-adjuster") {
		t.Errorf("the excluded adjuster's view was recorded as one of personal data")
	}
	if !hasEntry(trail, "ada", audit.ActionDecisionAccepted, "signed by inbox") {
		t.Errorf("ada's decision is not signed by the inbox")
	}
	noClear(t, trail, "Mr Keller")
}

func taskPath(wf, task string) string { return "/tasks/" + wf + "/" + task }
