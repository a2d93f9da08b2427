package integration

import (
	"context"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"
	"go.temporal.io/sdk/client"

	"github.com/batonhq/baton/audit"
	"github.com/batonhq/baton/internal/taskinbox"
	"github.com/batonhq/baton/process"
	"github.com/batonhq/baton/record"
	"github.com/batonhq/baton/workflows"
)

// startLoan starts a loan the development policy sends to underwriting
// (applicant C-1002 scores 660): four-eyes and high priority above 100,000.
func startLoan(ctx context.Context, cl client.Client, app string, amount float64) (string, error) {
	in := workflows.LoanInput{ApplicationID: app, ApplicantID: "C-1002", Amount: amount, TermMonths: 48, Purpose: "renovation"}
	_, err := cl.ExecuteWorkflow(ctx, client.StartWorkflowOptions{
		ID: in.Key(), TaskQueue: process.DefaultTaskQueue, StaticSummary: in.Summary(),
		TypedSearchAttributes: record.StartAttributes(workflows.ProcessLoan, in.Key()),
	}, workflows.ProcessLoan, in)
	return in.Key(), err
}

// startLoans starts n loans of amounts 30,000 to 305,000 (and one more
// to find, of 123,456) and returns their ids, the one to find first.
func startLoans(t *testing.T, cl client.Client, n int) []string {
	t.Helper()
	ctx := context.Background()
	tag := uniq("L")
	find, err := startLoan(ctx, cl, tag+"-FIND", 123456)
	if err != nil {
		t.Fatal(err)
	}
	ids := []string{find}
	for i := range n {
		id, err := startLoan(ctx, cl, fmt.Sprintf("%s-%03d", tag, i), 30000+float64(i%12)*25000)
		if err != nil {
			t.Fatal(err)
		}
		ids = append(ids, id)
	}
	return ids
}

// countTasks is the read model's count of a filter, as starter tasks
// --count -o json prints it.
func (r *reportEnv) countTasks(t *testing.T, args ...string) taskinbox.Counts {
	t.Helper()
	var c taskinbox.Counts
	if err := json.Unmarshal([]byte(r.starter(t, append([]string{"tasks", "--count", "-o", "json"}, args...)...)), &c); err != nil {
		t.Fatal(err)
	}
	return c
}

// trail is an instance's trail as the starter reads it from the
// namespace's audit store.
func (r *reportEnv) trail(t *testing.T, id string) []audit.Entry {
	t.Helper()
	var doc struct {
		Entries []audit.Entry `json:"entries"`
	}
	if err := json.Unmarshal([]byte(r.starter(t, "audit", id, "-o", "json")), &doc); err != nil {
		t.Fatal(err)
	}
	return doc.Entries
}

func (r *reportEnv) tasks(t *testing.T, args ...string) []taskinbox.Task {
	t.Helper()
	var rows []taskinbox.Task
	if err := json.Unmarshal([]byte(r.starter(t, append([]string{"tasks", "-o", "json"}, args...)...)), &rows); err != nil {
		t.Fatal(err)
	}
	return rows
}

// eval runs JavaScript in the page.
func (b *browser) eval(js string) {
	b.t.Helper()
	if _, err := chromedp.Run(b.ctx, chromedp.Evaluate[any](js)); err != nil {
		b.t.Fatalf("%s: %v", js, err)
	}
}

// An underwriter's list is the task read model: the counts of her filter,
// search finds one case among many, the amount filter narrows it. Ana
// claims a case and ben sees the claim in his list and on the case, and
// is refused when he decides it (claims are exclusive in the policy); his
// comment shows in ana's list. Max
// approves in bulk: each task is decided on its own, and the one the form
// carried that he is excluded from (his own expense: a page's form is the
// client's, the gate is the workflow's) is refused, listed with the
// policy's reason beside the accepted ones.
func TestInboxFindsClaimsAndDecidesInBulk(t *testing.T) {
	in := startInbox(t)
	n := 24
	if v, err := strconv.Atoi(os.Getenv("BATON_INBOX_TASKS")); err == nil && v > 0 {
		n = v // BATON_INBOX_TASKS=11 for the list's picture in docs/
	}
	loans := startLoans(t, in.ns.client, n)
	find := loans[0]
	ctx := context.Background()
	var byMia []string
	for i := range 3 {
		id, err := startExpense(ctx, in.ns.client, uniq(fmt.Sprintf("BX%d", i)), "mia")
		if err != nil {
			t.Fatal(err)
		}
		byMia = append(byMia, id)
	}
	own, err := startExpense(ctx, in.ns.client, uniq("BXMAX"), "max")
	if err != nil {
		t.Fatal(err)
	}
	deadline := time.Now().Add(time.Duration(n)*time.Second + time.Minute)
	for in.ns.countTasks(t, "--user", "ana").Tasks < n+1 || in.ns.countTasks(t, "--process", "expense").Tasks < 4 {
		if time.Now().After(deadline) {
			t.Fatalf("the read model lists %+v of ana's %d tasks", in.ns.countTasks(t, "--user", "ana"), n+1)
		}
		time.Sleep(time.Second)
	}

	ana := newBrowser(t)
	in.signIn(ana, "ana", "ana-password")
	ana.see("inbox-list-first.png", "My tasks", fmt.Sprintf("%d tasks, 0 overdue", n+1), "Loan origination ·", "Underwriting decision for", "155,000.00", "high")
	id := strings.TrimPrefix(find, "loan-")
	ana.fill("q", id)
	ana.click("Show")
	text := ana.see("inbox-search.png", "1 task, 0 overdue", find, "123,456.00")
	for _, other := range loans[1:] {
		if strings.Contains(text, other) {
			t.Errorf("searching %s lists %s too", id, other)
		}
	}
	over := 0
	for i := range n {
		if 30000+float64(i%12)*25000 >= 200000 {
			over++
		}
	}
	ana.open(in.url + "/?min=200000&sort=amount")
	top := 30000 + (min(n, 12)-1)*25000 // the largest loan's amount
	ana.see("inbox-amount.png", fmt.Sprintf("%d tasks, 0 overdue", over), fmt.Sprintf("%d,%03d.00", top/1000, top%1000))

	// Ana claims the case she found; ben sees who works on it.
	ana.open(in.url + "/tasks/" + find + "/underwriting")
	ana.click("Claim")
	ana.see("inbox-ana-claimed.png", "claimed by ana (exclusive)", "Claimed by ana since")
	ben := newBrowser(t)
	in.signIn(ben, "ben", "ben-password")
	ben.open(in.url + "/?q=" + id)
	ben.see("inbox-ben-sees-claim.png", find, "ana since")
	ben.open(in.url + "/tasks/" + find + "/underwriting")
	ben.see("inbox-ben-claimed-task.png", "Claimed by ana since", "only they may decide it")
	ben.click("Approve")
	ben.see("inbox-ben-refused.png", `Refused: ben may not decide task "underwriting": ana claimed it at`)
	// He may comment, and ana sees it in her list beside her claim.
	ben.open(in.url + "/tasks/" + find + "/underwriting")
	ben.fill("comment-text", "the payslips are in the file")
	ben.click("Add comment")
	ben.see("inbox-ben-commented.png", "Comments (1 of at most", "the payslips are in the file")
	ana.open(in.url + "/")
	ana.see("inbox-list.png", "ana since", "exclusive", "1 comment")
	if dst := os.Getenv("BATON_DOCS_INBOX_LIST"); dst != "" {
		copyFile(t, filepath.Join(env.root, ".artifacts", "inbox-list.png"), dst)
	}

	// Max approves two of mia's expenses in bulk; the form also carries
	// his own expense, which his list does not offer.
	maxB := newBrowser(t)
	in.signIn(maxB, "max", "max-password")
	text = maxB.see("inbox-max-list.png", "My tasks", byMia[0], byMia[1], byMia[2])
	if strings.Contains(text, own) {
		t.Errorf("max's own expense is in his list")
	}
	maxB.eval(fmt.Sprintf(`(() => {
		for (const id of [%q, %q]) document.querySelector('input[name=task][value="' + id + '/manager-approval"]').checked = true;
		const x = document.createElement('input'); x.type = 'hidden'; x.name = 'task'; x.value = %q + '/manager-approval';
		document.querySelector('form.bulk').appendChild(x);
	})()`, byMia[0], byMia[1], own))
	maxB.fill("bulk-comment", "receipts checked")
	maxB.click("Approve selected")
	maxB.see("inbox-bulk.png", "Approved in bulk: 2 accepted, 1 refused", byMia[0], byMia[1], own,
		`Refused: max may not decide task "manager-approval": separation of duties (the requester)`)
	for _, id := range byMia[:2] {
		eventually(t, "max's approval of "+id+" in its trail", func() bool {
			return hasEntry(auditTrail(t, id, "--namespace", in.ns.ns), "max", "decision-accepted", "receipts checked")
		})
	}
	if c := in.ns.countTasks(t, "--process", "expense"); c.Tasks != 2 {
		t.Errorf("after the bulk approval %d expense tasks are open, want 2 (mia's third, and max's own)", c.Tasks)
	}
}

// A substitute decides what the user they stand in for may, inside the
// window only: ana names fay (a fraud analyst) for her underwriting while
// away; fay's list then holds ana's cases, she approves one and the trail
// names both; ana ends the substitution, and fay's approval of a case whose
// page she still has open is refused by the workflow.
func TestSubstituteDecidesInsideTheWindowInTheInbox(t *testing.T) {
	in := startInbox(t)
	ctx := context.Background()
	a, err := startLoan(ctx, in.ns.client, uniq("SA"), 40000)
	if err != nil {
		t.Fatal(err)
	}
	b, err := startLoan(ctx, in.ns.client, uniq("SB"), 45000)
	if err != nil {
		t.Fatal(err)
	}
	eventually(t, "both loans in ana's list", func() bool { return in.ns.countTasks(t, "--user", "ana").Tasks == 2 })

	ana := newBrowser(t)
	in.signIn(ana, "ana", "ana-password")
	ana.open(in.url + "/away")
	ana.see("inbox-away.png", "While you are away", "Set a substitute")
	today := time.Now().UTC()
	ana.setValue("substitute", "fay")
	ana.setValue("from", today.Format(time.DateOnly))
	ana.setValue("until", today.AddDate(0, 0, 2).Format(time.DateOnly))
	ana.eval(`document.querySelector('input[name=role][value=underwriter]').checked = true`)
	ana.click("Set substitute")
	ana.see("inbox-away-set.png", "Set: fay for ana, away "+today.Format(time.DateOnly))

	fay := newBrowser(t)
	in.signIn(fay, "fay", "fay-password")
	fay.see("inbox-fay-list.png", "2 tasks", a, b)
	fay.open(in.url + "/tasks/" + a + "/underwriting")
	fay.click("Approve")
	fay.see("inbox-fay-approved.png", "accepted: approved (1 of 1 approvals)")
	eventually(t, "fay's approval for ana in the trail", func() bool {
		return hasEntry(auditTrail(t, a, "--namespace", in.ns.ns), "fay", "decision-accepted", "fay for ana, away "+today.Format(time.DateOnly))
	})

	fay.open(in.url + "/tasks/" + b + "/underwriting")
	fay.see("inbox-fay-second.png", "Approve")
	ana.open(in.url + "/away")
	ana.click("End now")
	ana.see("inbox-away-ended.png", "Ended: fay for ana")
	fay.click("Approve")
	fay.see("inbox-fay-refused.png", `Refused: fay may not decide task "underwriting": needs role underwriter`)
	if c := in.ns.countTasks(t, "--user", "fay"); c.Tasks != 0 {
		t.Errorf("fay still lists %d tasks after the substitution ended", c.Tasks)
	}
}

// A substitution ends by itself when its window closes: inside it the
// substitute decides (the trail names both), after it the workflow
// refuses them; the substitutes trail says it ended by itself.
func TestSubstituteEndsByItself(t *testing.T) {
	r := newNamespaceWorker(t, "away")
	ctx := context.Background()
	a, err := startLoan(ctx, r.client, uniq("WA"), 40000)
	if err != nil {
		t.Fatal(err)
	}
	b, err := startLoan(ctx, r.client, uniq("WB"), 41000)
	if err != nil {
		t.Fatal(err)
	}
	eventually(t, "both loans listed", func() bool { return r.countTasks(t, "--user", "ana").Tasks == 2 })
	until := time.Now().Add(20 * time.Second).UTC().Truncate(time.Second)
	out := r.starter(t, "substitute", "set", "--as", "ana", "--substitute", "fay", "--from", time.Now().Add(-time.Minute).UTC().Format(time.RFC3339), "--until", until.Format(time.RFC3339))
	mustContain(t, "substitute set", out, "set: fay for ana, away ")
	if c := r.countTasks(t, "--user", "fay"); c.Tasks != 2 {
		t.Errorf("fay lists %d tasks while standing in for ana, want 2", c.Tasks)
	}
	mustContain(t, "fay's approval", r.starter(t, "approve", a, "--as", "fay"), "accepted: approved")
	time.Sleep(time.Until(until) + 2*time.Second)
	res := runBinEnv(t, "starter", []string{"BATON_AUDIT_DSN=" + r.dsn}, "approve", b, "--as", "fay", "--namespace", r.ns)
	if res.code != 3 || !strings.Contains(res.stderr, `fay may not decide task "underwriting": needs role underwriter`) {
		t.Errorf("fay after the window: exit %d\n%s", res.code, res.stderr)
	}
	if !hasEntry(auditTrail(t, a, "--namespace", r.ns), "fay", "decision-accepted", "fay for ana, away ") {
		t.Errorf("the trail does not name both")
	}
	eventually(t, "the substitution ended by itself", func() bool {
		return hasEntry(r.trail(t, "baton-substitutes"), "system", "substitute-ended", "ended by itself") &&
			strings.Contains(r.starter(t, "substitute", "list"), "no substitutions")
	})
}

// The starter works on the task read model: counts, search, amount,
// priority and claim filters, sorts; claim, comment, priority and
// follow-up show in the list at once; an exclusive claim refuses others'
// decisions; bulk decisions report per task; and the read model rebuilt
// from the trail (worker --rebuild-inbox) is the one kept.
func TestTaskReadModelFromTheStarter(t *testing.T) {
	r := newNamespaceWorker(t, "tasks")
	ctx := context.Background()
	var small, large []string
	for i, amount := range []float64{40000, 60000, 80000, 150000, 250000} {
		id, err := startLoan(ctx, r.client, uniq(fmt.Sprintf("RM%d", i)), amount)
		if err != nil {
			t.Fatal(err)
		}
		if amount > 100000 {
			large = append(large, id)
		} else {
			small = append(small, id)
		}
	}
	eventually(t, "five loans listed", func() bool { return r.countTasks(t, "--user", "ana").Tasks == 5 })
	rows := r.tasks(t, "--user", "ana", "--sort", "amount")
	if len(rows) != 5 || rows[0].WorkflowID != large[1] || rows[0].Amount == nil || *rows[0].Amount != 250000 || rows[0].Priority != "high" ||
		rows[0].ProcessTitle != "Loan origination" || !strings.Contains(rows[0].Summary, "250,000.00") || rows[4].WorkflowID != small[0] {
		t.Fatalf("ana's tasks by amount: %+v", rows)
	}
	if got := r.tasks(t, "--search", strings.TrimPrefix(small[1], "loan-")); len(got) != 1 || got[0].WorkflowID != small[1] {
		t.Errorf("search: %+v", got)
	}
	if c := r.countTasks(t, "--amount-min", "100000"); c.Tasks != 2 {
		t.Errorf("amount ≥ 100,000: %+v", c)
	}
	if c := r.countTasks(t, "--priority", "high"); c.Tasks != 2 {
		t.Errorf("high priority: %+v", c)
	}
	mustContain(t, "count", r.starter(t, "tasks", "--user", "ana", "--count"), "5 tasks, 0 overdue")

	// Claim, comment, priority, follow-up.
	a, b := small[0], small[1]
	mustContain(t, "claim", r.starter(t, "claim", a, "--as", "ana"), "claimed by ana (exclusive)")
	res := runBinEnv(t, "starter", []string{"BATON_AUDIT_DSN=" + r.dsn}, "approve", a, "--as", "ben", "--namespace", r.ns)
	if res.code != 3 || !strings.Contains(res.stderr, "ana claimed it at") {
		t.Errorf("ben deciding ana's claimed task: exit %d %s", res.code, res.stderr)
	}
	r.starter(t, "comment", a, "--as", "ben", "--text", "the payslips are in the file")
	r.starter(t, "priority", a, "urgent", "--as", "sam", "--reason", "offer expires Friday")
	r.starter(t, "follow-up", b, "--as", "ana", "--until", time.Now().Add(time.Hour).UTC().Format(time.RFC3339))
	seen := r.tasks(t, "--user", "ben", "--search", strings.TrimPrefix(a, "loan-"))
	if len(seen) != 1 || seen[0].ClaimedBy != "ana" || seen[0].ClaimedAt == nil || seen[0].Comments != 1 || seen[0].LastComment != "the payslips are in the file" || seen[0].Priority != "urgent" {
		t.Errorf("ben's view of the claimed task: %+v", seen)
	}
	if got := workflowIDs(r.tasks(t, "--user", "ana", "--mine")); !slices.Equal(got, []string{a}) {
		t.Errorf("ana's claimed tasks: %v", got)
	}
	if got := r.tasks(t, "--user", "ana", "--unclaimed"); len(got) != 3 || slices.Contains(workflowIDs(got), a) || slices.Contains(workflowIDs(got), b) {
		t.Errorf("unclaimed, follow-up to come left out: %v", workflowIDs(got))
	}
	if got := r.tasks(t, "--follow-up", "later"); len(got) != 1 || got[0].WorkflowID != b {
		t.Errorf("waiting for follow-up: %v", workflowIDs(got))
	}
	mustContain(t, "count with a follow-up", r.starter(t, "tasks", "--user", "ana", "--count"), "4 tasks, 0 overdue; 1 waiting for their follow-up date")

	// Bulk: ana's claimed task and another, and one not hers to decide.
	exp, err := startExpense(ctx, r.client, uniq("RMX"), "mia")
	if err != nil {
		t.Fatal(err)
	}
	waitTask(t, exp, "--namespace", r.ns)
	res = runBinEnv(t, "starter", []string{"BATON_AUDIT_DSN=" + r.dsn}, "bulk", "approve", a, small[2], exp, "--as", "ana", "--comment", "verified", "--namespace", r.ns)
	if res.code != 3 || !strings.Contains(res.stdout, "2 accepted, 1 refused") || !strings.Contains(res.stdout, `REFUSED: ana may not decide task "manager-approval": needs role manager`) ||
		strings.Contains(res.stdout, "accepted: accepted") {
		t.Errorf("bulk: exit %d\n%s%s", res.code, res.stdout, res.stderr)
	}
	eventually(t, "the bulk's tasks leave the list", func() bool { return r.countTasks(t, "--user", "ana", "--follow-up", "all").Tasks == 3 })

	// The read model rebuilt from the trail is the one kept.
	before := r.starter(t, "tasks", "-o", "json", "--follow-up", "all")
	if out := runBinEnv(t, "worker", []string{"BATON_METRICS_ADDRESS=" + freePort(), "BATON_AUDIT_DSN=" + r.dsn}, "--rebuild-inbox"); out.code != 0 || !strings.Contains(out.stderr+out.stdout, "task read model rebuilt from the trail") {
		t.Fatalf("worker --rebuild-inbox: exit %d\n%s%s", out.code, out.stdout, out.stderr)
	}
	if after := r.starter(t, "tasks", "-o", "json", "--follow-up", "all"); after != before {
		t.Errorf("rebuilt:\n%s\nkept:\n%s", after, before)
	}
}
