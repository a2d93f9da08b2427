package webinbox

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"net/url"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/batonhq/baton/audit"

	"github.com/batonhq/baton/internal/insight"
	"github.com/batonhq/baton/internal/whatif"
)

// fakeInsight serves two ended loans: one automated, one an underwriter
// approved after an hour.
type fakeInsight struct{ windows []insight.Window }

func (f *fakeInsight) Trails(_ context.Context, w insight.Window) ([]*insight.Trail, error) {
	f.windows = append(f.windows, w)
	t0 := time.Now().Add(-48 * time.Hour).UTC().Truncate(time.Second)
	e := func(id string, seq int64, at time.Duration, actor, action, task, details, data string) audit.Entry {
		return audit.Entry{WorkflowID: id, RunID: "r", Seq: seq, Process: "loan", BusinessKey: id, Time: t0.Add(at), Actor: actor, Action: action,
			TaskID: task, Details: details, PolicyVersion: "sha256:p", Source: audit.SourceWorkflow, Data: json.RawMessage(data)}
	}
	end := func(path, decision string) string {
		return fmt.Sprintf(`{"startedAt":%q,"handlingPath":%q,"outcome":"approved","decision":%q,"facts":{"riskScore":"700","amount":"40000"}}`, t0.Format(time.RFC3339), path, decision)
	}
	return []*insight.Trail{
		insight.NewTrail([]audit.Entry{
			e("loan-A-1", 1, time.Second, "system", audit.ActionStarted, "", "application", ""),
			e("loan-A-1", 2, 2*time.Second, "system", audit.ActionRouted, "", "auto-approve: ...", ""),
			e("loan-A-1", 3, 3*time.Second, "system", audit.ActionCompleted, "", "disbursed", end("automated", "auto-approve")),
		}),
		insight.NewTrail([]audit.Entry{
			e("loan-A-2", 1, time.Second, "system", audit.ActionStarted, "", "application", ""),
			e("loan-A-2", 2, 2*time.Second, "system", audit.ActionRouted, "", "manual underwriting: ...", ""),
			e("loan-A-2", 3, 2*time.Second, "system", audit.ActionTaskOpened, "underwriting", "Underwriting: role underwriter, quorum 1, due "+t0.Add(48*time.Hour).Format(time.RFC3339), ""),
			e("loan-A-2", 4, time.Hour, "ana", audit.ActionDecisionAccepted, "underwriting", "approve (1 of 1) via update", ""),
			e("loan-A-2", 5, time.Hour, "system", audit.ActionTaskClosed, "underwriting", "approved: approved by ana", ""),
			e("loan-A-2", 6, time.Hour+time.Second, "system", audit.ActionCompleted, "", "disbursed", end("manual", "underwriting")),
		}),
	}, nil
}

func (f *fakeInsight) Finished(_ context.Context, w whatif.Window) ([]whatif.Instance, error) {
	return []whatif.Instance{{Process: "loan", BusinessKey: "loan-A-2", Status: "completed", Recorded: true, Path: "manual", Decision: "underwriting",
		Facts: map[string]string{"riskScore": "700", "amount": "40000"}, Start: w.Since, Close: w.Since.Add(time.Hour)}}, nil
}

// The insight pages are for holders of a role the policy's insight entry
// names: max (manager) sees the figures, the map, the charts; ana
// (underwriter) is told they are not hers; pictures are SVG images.
func TestInsightPagesForTheRolesThePolicyNames(t *testing.T) {
	fake := &fakeInsight{}
	in := newInbox(t, func(o *Options) { o.Insight = fake })
	in.devSignIn("ana")
	if _, _, body := in.get("/"); strings.Contains(body, `href="/insight"`) {
		t.Error("ana is offered the insight pages")
	}
	if code, _, body := in.get("/insight"); code != http.StatusForbidden || !strings.Contains(body, "holders of a role of manager, director") {
		t.Fatalf("ana: %d\n%s", code, body)
	}
	if code, _, _ := in.get("/insight/map.svg?process=loan"); code != http.StatusForbidden {
		t.Errorf("ana gets the map: %d", code)
	}

	in = newInbox(t, func(o *Options) { o.Insight = fake })
	in.devSignIn("max")
	code, _, body := in.get("/insight?process=loan&since=7d")
	if code != http.StatusOK {
		t.Fatalf("max: %d\n%s", code, body)
	}
	for _, want := range []string{`href="/insight"`, "Loan origination", "2 instances ended in the window", "<th>all</th><td>2</td><td>0</td><td>50%</td>",
		`/insight/map.svg?process=loan&amp;since=7d`, `/insight/weekly.svg?`, `/insight/backlog.svg?`, "underwriting opened → underwriting: approve by underwriter"} {
		if !strings.Contains(body, want) {
			t.Errorf("page lacks %q:\n%s", want, body)
		}
	}
	if w := fake.windows[len(fake.windows)-1]; w.Process != "loan" || w.Until.Sub(w.Since) != 7*24*time.Hour {
		t.Errorf("window read %+v", w)
	}
	for _, pic := range []string{"/insight/map.svg?process=loan&since=7d", "/insight/weekly.svg?process=loan&since=7d", "/insight/backlog.svg?process=loan&since=7d"} {
		resp, err := in.client.Get(in.srv.URL + pic)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode != http.StatusOK || resp.Header.Get("Content-Type") != "image/svg+xml" || !strings.Contains(resp.Header.Get("Content-Security-Policy"), "default-src 'none'") {
			t.Errorf("%s: %d %s %s", pic, resp.StatusCode, resp.Header.Get("Content-Type"), resp.Header.Get("Content-Security-Policy"))
		}
	}

	// The what-if: a proposal that approves the manual loan automatically.
	text, err := os.ReadFile("../../config/policy.yaml")
	if err != nil {
		t.Fatal(err)
	}
	proposed := strings.Replace(string(text), "autoApprove: {minScore: 720, maxAmount: 25000}", "autoApprove: {minScore: 690, maxAmount: 50000}", 1)
	form := url.Values{"process": {"loan"}, "since": {"7d"}, "policy": {proposed}, "csrf_token": {in.token("/insight")}}
	code, _, body = in.post("/insight/whatif", form, in.srv.URL)
	if code != http.StatusOK || !strings.Contains(body, "<tr><th>Automated</th><td>0 (0%)</td><td>1 (100%)</td></tr>") || !strings.Contains(body, `/insight/whatif.svg`) {
		t.Fatalf("what-if: %d\n%s", code, body)
	}
	if code, _, svg := in.get("/insight/whatif.svg"); code != http.StatusOK || !strings.Contains(svg, "<svg") {
		t.Errorf("what-if picture: %d", code)
	}
	form.Set("policy", "users: {}")
	if code, _, body = in.post("/insight/whatif", form, in.srv.URL); code != http.StatusUnprocessableEntity || !strings.Contains(body, "the directory is empty") {
		t.Errorf("bad proposal: %d\n%s", code, body)
	}
}
