package integration

import (
	"context"
	"encoding/json"
	"encoding/xml"
	"fmt"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	"github.com/batonhq/baton/audit"
	"github.com/batonhq/baton/internal/auditlog"
	"github.com/batonhq/baton/internal/auditstore"
	"github.com/batonhq/baton/internal/insight/insighttest"
	"github.com/batonhq/baton/record"
)

// waitOpen waits until the instance's task is open.
func (r *reportEnv) waitOpen(t *testing.T, id, task string) {
	t.Helper()
	eventually(t, task+" open in "+id, func() bool {
		var st struct {
			OpenTasks []struct {
				ID string `json:"id"`
			} `json:"openTasks"`
		}
		_ = json.Unmarshal([]byte(runBin(t, "starter", "status", id, "-o", "json", "--namespace", r.ns).stdout), &st)
		return slices.ContainsFunc(st.OpenTasks, func(o struct {
			ID string `json:"id"`
		}) bool {
			return o.ID == task
		})
	})
}

// insightMix runs, in r's namespace, a mix of instances that ends: two
// automated loans and an automated decline, a loan an underwriter approves,
// a four-eyes loan two underwriters approve, an expense through three
// levels, and an order; people take think to decide. It returns the
// workflow IDs by name.
func insightMix(t *testing.T, r *reportEnv, think time.Duration) map[string]string {
	t.Helper()
	ids := map[string]string{}
	start := func(name, process, file string) {
		id := uniq("I")
		r.starter(t, "start", process, "--file", "examples/"+file, "--id", id)
		ids[name] = process + "-" + id
	}
	start("auto", "loan", "loan-auto-approve.json")
	start("auto2", "loan", "loan-auto-approve.json")
	start("decline", "loan", "loan-auto-decline.json")
	start("manual", "loan", "loan-manual.json")
	start("four-eyes", "loan", "loan-four-eyes.json")
	start("expense", "expense", "expense-large.json")
	start("order", "order", "order-straight-through.json")
	decide := func(name, task string, actors ...string) {
		for _, a := range actors {
			r.waitOpen(t, ids[name], task)
			time.Sleep(think)
			r.starter(t, "approve", ids[name], "--as", a, "--task", task)
		}
	}
	decide("manual", "underwriting", "ana")
	decide("four-eyes", "underwriting", "ana", "ben")
	decide("expense", "manager-approval", "mia")
	decide("expense", "finance-approval", "fin")
	decide("expense", "director-approval", "dan")
	for _, id := range ids {
		r.wait(t, id)
	}
	return ids
}

// conformanceDoc is what the test reads of starter conformance -o json.
type conformanceDoc struct {
	Instances int `json:"instances"`
	Checked   int `json:"checked"`
	Breaches  []struct {
		WorkflowID string `json:"workflowId"`
		Kind       string `json:"kind"`
		Detail     string `json:"detail"`
		Evidence   []struct {
			Action string `json:"action"`
		} `json:"evidence"`
	} `json:"breaches"`
	Unchecked []struct {
		Rule string `json:"rule"`
	} `json:"unchecked"`
}

type discoverDoc struct {
	Source    string `json:"source"`
	Processes []struct {
		Process   string `json:"process"`
		Instances int    `json:"instances"`
		Variants  []struct {
			Steps []string `json:"steps"`
			Count int      `json:"count"`
		} `json:"variants"`
		Bottlenecks []struct {
			From string `json:"from"`
		} `json:"bottlenecks"`
	} `json:"processes"`
}

// plant stores, under key, a copy of the stored trail of id with edit
// applied (entries renumbered, the completed entry's course recomputed),
// as a worker that broke a rule would have written it, attested with the
// worker's key: a real trail with one breach in it. (Rows planted without
// the key are left out of conformance: TestForgedCompletedRows...)
func plant(t *testing.T, st *auditstore.Store, id, key string, edit func(es []audit.Entry) []audit.Entry) {
	t.Helper()
	recs, err := st.Trail(context.Background(), id)
	if err != nil || len(recs) == 0 {
		t.Fatalf("trail of %s: %v", id, err)
	}
	var es []audit.Entry
	for _, r := range recs {
		e := r.Entry
		if e.Source != audit.SourceWorkflow {
			continue
		}
		e.WorkflowID, e.BusinessKey, e.RunID = key, strings.TrimPrefix(key, "loan-"), "planted"
		es = append(es, e)
	}
	es = edit(es)
	for i := range es {
		es[i].Seq = int64(i + 1)
	}
	insighttest.WithCourse(t, es)
	w, err := auditlog.LoadWriter(env.audit.writerKey)
	if err != nil {
		t.Fatal(err)
	}
	st.SetAttestor(w)
	if _, err := st.Append(context.Background(), es); err != nil {
		t.Fatal(err)
	}
}

func entryAt(t *testing.T, es []audit.Entry, action, actor string) int {
	t.Helper()
	for i, e := range es {
		if e.Action == action && (actor == "" || e.Actor == actor) {
			return i
		}
	}
	t.Fatalf("no %s by %q in the trail", action, actor)
	return -1
}

// The insight commands on real runs: discovery from the store and from the
// histories agree; clean instances conform; a copy of each real trail with
// one breach planted (as someone with the worker's database rights could)
// is found with the entries that prove it; the report measures from the
// workflow's start with the queue apart, and the worker's /metrics carries
// the same figures.
func TestInsightOnRealTrails(t *testing.T) {
	metricsAddr := freePort()
	r := newNamespaceWorker(t, "insight", "BATON_METRICS_ADDRESS="+metricsAddr, "BATON_METRICS_FIGURES_EVERY=2s")
	ids := insightMix(t, r, 0)
	eventually(t, "visibility to show every close", func() bool {
		return strings.Count(r.starter(t, "list", "--closed", "-o", "json"), `"workflowId"`) == len(ids)
	})

	var clean conformanceDoc
	if err := json.Unmarshal([]byte(r.starter(t, "conformance", "--since", "1h", "-o", "json")), &clean); err != nil {
		t.Fatal(err)
	}
	if clean.Checked != len(ids) || len(clean.Breaches) != 0 {
		t.Fatalf("clean instances: %d checked, breaches %+v", clean.Checked, clean.Breaches)
	}

	discover := func(source string) discoverDoc {
		var d discoverDoc
		if err := json.Unmarshal([]byte(r.starter(t, "discover", "--process", "loan", "--since", "1h", "--source", source, "-o", "json")), &d); err != nil {
			t.Fatal(err)
		}
		if len(d.Processes) != 1 || d.Processes[0].Instances != 5 {
			t.Fatalf("discover from the %s: %+v", source, d)
		}
		return d
	}
	store, hist := discover("store"), discover("history")
	if store.Source != "audit-store" || hist.Source != "history" || len(store.Processes[0].Variants) != len(hist.Processes[0].Variants) {
		t.Errorf("store %+v\nhistory %+v", store, hist)
	}
	fourEyes := false
	for _, v := range store.Processes[0].Variants {
		s := strings.Join(v.Steps, " > ")
		fourEyes = fourEyes || strings.Contains(s, "underwriting opened > underwriting: approve by underwriter > underwriting: approve by underwriter > offer")
	}
	if !fourEyes || store.Processes[0].Variants[0].Count != 2 {
		t.Errorf("variants %+v", store.Processes[0].Variants)
	}
	svg := r.starter(t, "discover", "--process", "loan", "--since", "1h", "-o", "svg")
	if err := xml.Unmarshal([]byte(svg[strings.Index(svg, "<svg"):]), new(struct{})); err != nil || !strings.Contains(svg, "loan: 5 instances") {
		t.Errorf("discover -o svg: %v\n%s", err, tail(svg, 500))
	}
	table := r.starter(t, "discover", "--process", "loan", "--since", "1h")
	mustContain(t, "discover table", table, "Variants, most common first", "Bottlenecks, longest total wait first", "Rework:", "Directly-follows map")

	st, err := auditstore.Open(context.Background(), r.dsn)
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	plants := map[string]string{} // key -> kind
	put := func(kind, from string, edit func(es []audit.Entry) []audit.Entry) {
		key := strings.SplitN(ids[from], "-", 2)[0] + "-PLANT-" + kind
		plant(t, st, ids[from], key, edit)
		plants[key] = kind
	}
	put("separation-of-duties", "expense", func(es []audit.Entry) []audit.Entry {
		es[entryAt(t, es, audit.ActionDecisionAccepted, "fin")].Actor = "mia"
		return es
	})
	put("four-eyes-and-quorum", "four-eyes", func(es []audit.Entry) []audit.Entry {
		i := entryAt(t, es, audit.ActionDecisionAccepted, "ben")
		return slices.Delete(es, i, i+1)
	})
	put("levels", "expense", func(es []audit.Entry) []audit.Entry {
		return slices.DeleteFunc(es, func(e audit.Entry) bool { return e.TaskID == "director-approval" })
	})
	put("not-a-candidate", "manual", func(es []audit.Entry) []audit.Entry {
		es[entryAt(t, es, audit.ActionDecisionAccepted, "ana")].Actor = "fay"
		return es
	})
	put("deadline", "manual", func(es []audit.Entry) []audit.Entry {
		es[entryAt(t, es, audit.ActionDecisionAccepted, "ana")].Time = es[entryAt(t, es, audit.ActionTaskOpened, "")].Time.Add(72 * time.Hour)
		return es
	})
	put("decision-after-close", "manual", func(es []audit.Entry) []audit.Entry {
		i := entryAt(t, es, audit.ActionTaskClosed, "")
		late := es[entryAt(t, es, audit.ActionDecisionAccepted, "ana")]
		late.Actor = "ben"
		return slices.Insert(es, i+1, late)
	})
	put("routing", "auto", func(es []audit.Entry) []audit.Entry {
		i := entryAt(t, es, audit.ActionCompleted, "")
		var d record.EndData
		if err := json.Unmarshal(es[i].Data, &d); err != nil {
			t.Fatal(err)
		}
		d.Facts["riskScore"] = "500"
		es[i].Data, _ = json.Marshal(d)
		return es
	})

	res := runBinEnv(t, "starter", []string{"BATON_AUDIT_DSN=" + r.dsn}, "conformance", "--since", "1h", "-o", "json", "--namespace", r.ns)
	if res.code != 6 {
		t.Fatalf("conformance with planted breaches: exit %d\n%s", res.code, res.stderr)
	}
	var planted conformanceDoc
	if err := json.Unmarshal([]byte(res.stdout), &planted); err != nil {
		t.Fatal(err)
	}
	for key, kind := range plants {
		found := false
		for _, b := range planted.Breaches {
			found = found || (b.WorkflowID == key && b.Kind == kind && len(b.Evidence) > 0)
		}
		if !found {
			t.Errorf("planted %s in %s not found: %+v", kind, key, planted.Breaches)
		}
	}
	for _, b := range planted.Breaches {
		if _, ok := plants[b.WorkflowID]; !ok {
			t.Errorf("breach on a real, clean instance: %+v", b)
		}
	}
	text := runBinEnv(t, "starter", []string{"BATON_AUDIT_DSN=" + r.dsn}, "conformance", "--since", "1h", "--namespace", r.ns).stdout
	mustContain(t, "conformance table", text, "FOUR-EYES-AND-QUORUM", "loan-PLANT-four-eyes-and-quorum", "decision-accepted", "breach(es)")

	// The report: cycle time from the workflow's start, queue time apart,
	// from the store; the worker's gauges carry the same figures.
	var rep struct {
		CycleTimeSource string `json:"cycleTimeSource"`
		Processes       []struct {
			Process   string             `json:"process"`
			CycleTime map[string]float64 `json:"cycleTime"`
			QueueTime map[string]float64 `json:"queueTime"`
			ByPath    map[string]struct {
				Completed int `json:"completed"`
			} `json:"byPath"`
			AutomationRate float64 `json:"automationRate"`
		} `json:"processes"`
	}
	if err := json.Unmarshal([]byte(r.starter(t, "report", "--since", "1h", "-o", "json")), &rep); err != nil {
		t.Fatal(err)
	}
	var loanP50 float64
	for _, p := range rep.Processes {
		if p.Process != "loan" {
			continue
		}
		loanP50 = p.CycleTime["p50Seconds"]
		if rep.CycleTimeSource != "audit-store" || p.QueueTime["count"] == 0 || p.ByPath["manual"].Completed == 0 || p.ByPath["automated"].Completed == 0 {
			t.Errorf("report's loans: %+v (source %s)", p, rep.CycleTimeSource)
		}
	}
	want := fmt.Sprintf(`baton_insight_cycle_seconds{path="all",process="loan",quantile="0.5"} %s`, strconv.FormatFloat(loanP50, 'g', -1, 64))
	eventually(t, "the worker's figures", func() bool {
		resp, err := http.Get("http://" + metricsAddr + "/metrics")
		if err != nil {
			return false
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		return strings.Contains(string(b), want)
	})
}

// The insight pages in the browser: a manager signs in, sees the loan
// process's figures, its map with the bottleneck in red, the weekly chart
// and the backlog, and compares a proposed policy; every picture loads,
// drawn on the server, with no network beyond the inbox.
func TestInsightInTheBrowser(t *testing.T) {
	r := newNamespaceWorker(t, "insightui")
	// Underwriters take three seconds: waiting for them is the bottleneck.
	ids := insightMix(t, r, 3*time.Second)
	// A few more loans, so the map has volume; one waits for a decision.
	for range 6 {
		r.starter(t, "start", "loan", "--file", "examples/loan-auto-approve.json", "--id", uniq("IA"))
	}
	open := "loan-" + uniq("IO")
	r.starter(t, "start", "loan", "--file", "examples/loan-manual.json", "--id", strings.TrimPrefix(open, "loan-"))
	r.waitOpen(t, open, "underwriting")
	_ = ids

	in := devInbox(t, r.ns, "BATON_AUDIT_DSN="+r.dsn)
	b := newBrowser(t)
	b.open(in + "/login")
	if err := chromedp.Do(b.ctx, chromedp.SetValue(chromedp.CSS("#user"), "max")); err != nil {
		t.Fatal(err)
	}
	b.click("Sign in without a password")
	b.see("insight-max-tasks.png", "My tasks", "Insight")
	b.click("Insight")
	b.see("insight-first.png", "What if the policy changed?")
	b.open(in + "/insight?process=loan&since=7d")
	page := b.see("insight-loan.png", "Loan origination", "instances ended in the window", "Process map", "Bottleneck", "Cycle time and automation per week", "Backlog by role")
	if !strings.Contains(page, "underwriting opened") {
		t.Errorf("no bottleneck at the underwriters' task:\n%s", tail(page, 2000))
	}
	loaded := `[...document.images].length >= 3 && [...document.images].every(i => i.complete && i.naturalWidth > 200)`
	if _, err := chromedp.Run(b.ctx, chromedp.Poll[bool](loaded, chromedp.WithPollingTimeout(60*time.Second))); err != nil {
		b.screenshot("insight-loan-images.png")
		t.Fatalf("the pictures did not load: %v", err)
	}
	b.screenshot("insight-loan.png")
	shot := func(selector, name string) {
		if err := chromedp.Do(b.ctx, chromedp.ScrollIntoView(chromedp.CSS(selector))); err != nil {
			t.Fatal(err)
		}
		png, err := chromedp.Run(b.ctx, chromedp.Screenshot(chromedp.CSS(selector)))
		if err != nil {
			t.Fatal(err)
		}
		dir := filepath.Join(env.root, ".artifacts")
		_ = os.MkdirAll(dir, 0o755)
		if err := os.WriteFile(filepath.Join(dir, name), png, 0o644); err != nil {
			t.Fatal(err)
		}
		if docs := os.Getenv("BATON_INSIGHT_DOCS"); docs != "" {
			copyFile(t, filepath.Join(dir, name), filepath.Join(docs, name))
		}
	}
	shot(`img[src^="/insight/map.svg"]`, "insight-map.png")
	shot(`img[src^="/insight/weekly.svg"]`, "insight-weekly.png")
	shot(`img[src^="/insight/backlog.svg"]`, "insight-backlog.png")

	proposal, err := os.ReadFile(env.policyFile)
	if err != nil {
		t.Fatal(err)
	}
	text := strings.Replace(string(proposal), "autoApprove: {minScore: 720, maxAmount: 25000}", "autoApprove: {minScore: 650, maxAmount: 60000}", 1)
	if err := chromedp.Do(b.ctx, chromedp.SetValue(chromedp.CSS("#policy"), text)); err != nil {
		t.Fatal(err)
	}
	b.click("Compare")
	b.see("insight-whatif.png", "Automated", "Proposed", "Mean cycle time")
	if _, err := chromedp.Run(b.ctx, chromedp.Poll[bool](`[...document.images].some(i => i.src.includes('/insight/whatif.svg') && i.complete && i.naturalWidth > 200)`, chromedp.WithPollingTimeout(30*time.Second))); err != nil {
		t.Fatalf("the what-if picture did not load: %v", err)
	}
	shot(`img[src="/insight/whatif.svg"]`, "insight-whatif.png")

	// An underwriter is not shown the pages.
	b.click("Sign out")
	b.see("insight-signed-out.png", "Development sign-in")
	// ana signs in in a browser of her own: in the tab that signed out,
	// chromedp's query for the form could hang until the session's budget
	// ran out (seen twice in the integration tier after the what-if page).
	ab := newBrowser(t)
	ab.open(in + "/login")
	if err := chromedp.Do(ab.ctx, chromedp.SetValue(chromedp.CSS("#user"), "ana")); err != nil {
		t.Fatal(err)
	}
	ab.click("Sign in without a password")
	ab.see("insight-ana-tasks.png", "My tasks")
	ab.open(in + "/insight")
	ab.see("insight-ana-refused.png", "Not yours to see", "manager, director")
}
