package webinbox

import (
	"context"
	"crypto/ed25519"
	"encoding/base64"
	"net/http"
	"net/url"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/batonhq/baton/humantask"
	"github.com/batonhq/baton/internal/auditstore"
	"github.com/batonhq/baton/internal/taskinbox"
	"github.com/batonhq/baton/internal/taskwork"
	"github.com/batonhq/baton/policy"
	"github.com/batonhq/baton/substitutes"
)

// fakeWork stands in for the read model and the workflows: it counts, and
// records the actions, bulk decisions and substitutions it is sent; a
// bulk decision of the task "refused" is refused with the policy's words.
type fakeWork struct {
	mu       sync.Mutex
	counts   []taskinbox.Filter
	actions  []humantask.Action
	bulk     []humantask.Decision
	requests []substitutes.Request
	subs     []policy.Substitute
}

func (f *fakeWork) Count(_ context.Context, filter taskinbox.Filter) (taskinbox.Counts, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.counts = append(f.counts, filter)
	return taskinbox.Counts{Tasks: 412, Overdue: 37, Later: 5}, nil
}

func (f *fakeWork) Facets(context.Context, taskinbox.Filter) ([]auditstore.Facet, error) {
	return []auditstore.Facet{{Process: "loan", TaskID: "underwriting", Count: 400}, {Process: "expense", TaskID: "manager-approval", Count: 12}}, nil
}

func (f *fakeWork) Act(_ context.Context, s humantask.Subject, a humantask.Action) (humantask.ActionResult, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.actions = append(f.actions, a)
	return humantask.ActionResult{TaskID: s.TaskID, Message: "claimed by " + a.Actor + " (advisory)"}, nil
}

func (f *fakeWork) Bulk(_ context.Context, items []taskwork.Item, d humantask.Decision, sign func(humantask.Subject, *humantask.Decision) error) []taskwork.Outcome {
	f.mu.Lock()
	defer f.mu.Unlock()
	var out []taskwork.Outcome
	for _, it := range items {
		one := d
		one.TaskID = it.TaskID
		s := subject
		s.WorkflowID, s.TaskID = it.WorkflowID, it.TaskID
		_ = sign(s, &one)
		f.bulk = append(f.bulk, one)
		if it.TaskID == "refused" {
			out = append(out, taskwork.Outcome{Item: it, Code: humantask.RefusedExcluded, Reason: `ana may not decide task "refused": separation of duties (the requester)`})
			continue
		}
		out = append(out, taskwork.Outcome{Item: it, Accepted: true, Message: "approved (1 of 1 approvals)"})
	}
	return out
}

func (f *fakeWork) Substitutes(context.Context, string) ([]policy.Substitute, error) {
	return f.subs, nil
}

func (f *fakeWork) Substitute(_ context.Context, r substitutes.Request) (substitutes.Result, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.requests = append(f.requests, r)
	s := policy.Substitute{ID: r.ID, Principal: r.Principal, Substitute: r.Substitute}
	s.From, _ = time.Parse(time.RFC3339, r.From)
	s.Until, _ = time.Parse(time.RFC3339, r.Until)
	return substitutes.Result{Substitute: s, Message: "set: " + s.Text()}, nil
}

func newWorkInbox(t *testing.T) (*inbox, *fakeWork) {
	w := &fakeWork{}
	return newInbox(t, func(o *Options) { o.Work = w }), w
}

// The list's filters reach the listing and the counts as the user set
// them; the page shows the counts and the choices with how many tasks
// each has; a bad amount is one line saying so, not a failure.
func TestListFiltersAndCounts(t *testing.T) {
	in, work := newWorkInbox(t)
	in.devSignIn("ana")
	code, _, body := in.get("/?q=A-17&process=loan&task=underwriting&priority=high&claimed=none&min=100%2C000&max=x&sort=amount&overdue=1")
	if code != http.StatusOK {
		t.Fatalf("list: %d", code)
	}
	for _, want := range []string{"412 tasks</strong>, <strong class=\"late\">37 overdue", "5 waiting for their follow-up date",
		`<option value="loan" selected>Loan origination (400)</option>`, `<option value="underwriting" selected>Underwriting (400)</option>`,
		`value="A-17"`, "Amount to: &#34;x&#34; is not a number", "Approve selected", "Reject selected"} {
		if !strings.Contains(body, want) {
			t.Errorf("the list lacks %q", want)
		}
	}
	in.backend.mu.Lock()
	f := in.backend.filters[len(in.backend.filters)-1]
	in.backend.mu.Unlock()
	if f.User != "ana" || f.Search != "A-17" || f.Process != "loan" || f.Task != "underwriting" || f.MinPriority != policy.PriorityHigh ||
		f.Claimed != auditstore.Unclaimed || f.AmountMin == nil || *f.AmountMin != 100000 || f.AmountMax != nil || f.Sort != "amount" || !f.Overdue || f.Limit != pageSize {
		t.Errorf("the listing was asked for %+v", f)
	}
	work.mu.Lock()
	defer work.mu.Unlock()
	if c := work.counts[0]; c.User != "ana" || c.Search != "A-17" || c.Limit != 0 {
		t.Errorf("the counts were asked for %+v", c)
	}
}

// A bulk approval sends one decision per selected task, each the session
// user's and signed by the inbox over its own task; the page lists each
// task accepted or refused, with the policy's reason.
func TestBulkDecisionListsEachOutcome(t *testing.T) {
	in, work := newWorkInbox(t)
	in.devSignIn("ana")
	form := url.Values{"task": {"loan-A-1/underwriting", "loan-A-2/refused"}, "verdict": {"approve"}, "comment": {"all checked"},
		"actor": {"ben"}, "back": {"/?process=loan"}, "csrf_token": {in.token("/")}}
	code, _, body := in.post("/bulk", form, in.srv.URL)
	if code != http.StatusOK {
		t.Fatalf("bulk: %d\n%s", code, body)
	}
	for _, want := range []string{"Approved in bulk: 1 accepted, 1 refused", "loan-A-1", "Accepted</strong>: approved (1 of 1 approvals)",
		"Refused</strong>: ana may not decide task &#34;refused&#34;: separation of duties (the requester)", `href="/?process=loan"`} {
		if !strings.Contains(body, want) {
			t.Errorf("the result page lacks %q:\n%s", want, body)
		}
	}
	work.mu.Lock()
	sent := append([]humantask.Decision(nil), work.bulk...)
	work.mu.Unlock()
	if len(sent) != 2 {
		t.Fatalf("sent %d decisions", len(sent))
	}
	for _, d := range sent {
		s := subject
		s.WorkflowID, s.TaskID = "loan-A-"+map[string]string{"underwriting": "1", "refused": "2"}[d.TaskID], d.TaskID
		sig, _ := base64.StdEncoding.DecodeString(d.Signature)
		if d.Actor != "ana" || d.Comment != "all checked" || d.Signer != "inbox" || !ed25519.Verify(in.pub, humantask.SigningBytes(s, d), sig) {
			t.Errorf("decision %+v is not ana's, signed by the inbox over its task", d)
		}
	}
	// Rejecting needs the one reason.
	form.Set("verdict", "reject")
	form.Del("comment")
	if code, loc, _ := in.post("/bulk", form, in.srv.URL); code != http.StatusSeeOther || loc != "/?process=loan" {
		t.Errorf("a bulk rejection without a reason: %d %s", code, loc)
	}
	if _, _, body := in.get("/"); !strings.Contains(body, "A reason is required to reject.") {
		t.Errorf("no message for the missing reason")
	}
}

// A claim from the task page is the session user's, signed by the inbox
// over the task's subject; the page shows the claim and the thread.
func TestClaimAndCommentFromTheTaskPage(t *testing.T) {
	in, work := newWorkInbox(t)
	in.devSignIn("ana")
	page := "/tasks/" + wf + "/underwriting"
	_, _, body := in.get(page)
	for _, want := range []string{"Nobody has claimed this task.", `value="claim"`, "Comment without deciding", "Comments (0 of at most 50)"} {
		if !strings.Contains(body, want) {
			t.Errorf("the task page lacks %q", want)
		}
	}
	code, loc, _ := in.post(page+"/act", url.Values{"kind": {"claim"}, "actor": {"ben"}, "csrf_token": {in.token(page)}}, in.srv.URL)
	if code != http.StatusSeeOther || loc != page {
		t.Fatalf("claim: %d %s", code, loc)
	}
	work.mu.Lock()
	a := work.actions[0]
	work.mu.Unlock()
	sig, _ := base64.StdEncoding.DecodeString(a.Signature)
	if a.Actor != "ana" || a.Kind != humantask.ActClaim || a.TaskID != "underwriting" || !ed25519.Verify(in.pub, humantask.ActionSigningBytes(subject, a), sig) {
		t.Errorf("action %+v is not ana's claim signed by the inbox", a)
	}
	if _, _, body := in.get(page); !strings.Contains(body, "claimed by ana (advisory)") {
		t.Errorf("no confirmation of the claim")
	}
	// A form's way back is a path of the inbox, never another site.
	in.post(page+"/act", url.Values{"kind": {"claim"}, "back": {"//evil.example/"}, "csrf_token": {in.token(page)}}, in.srv.URL)
	if code, loc, _ := in.post(page+"/act", url.Values{"kind": {"claim"}, "back": {"https://evil.example/"}, "csrf_token": {in.token(page)}}, in.srv.URL); code != http.StatusSeeOther || loc != "/" {
		t.Errorf("a foreign back link: %d %s", code, loc)
	}
}

// Setting a substitute: the session user asks (for themselves unless they
// name someone), signed by the inbox; the request covers the days chosen.
func TestSetASubstitute(t *testing.T) {
	in, work := newWorkInbox(t)
	in.devSignIn("ana")
	_, _, body := in.get("/away")
	if !strings.Contains(body, "Set a substitute") || !strings.Contains(body, `<option value="ben">Ben Brandt (ben)</option>`) {
		t.Fatalf("the away page:\n%s", body)
	}
	form := url.Values{"substitute": {"ben"}, "from": {"2026-12-20"}, "until": {"2027-01-04"}, "role": {"underwriter"}, "csrf_token": {in.token("/away")}}
	code, loc, _ := in.post("/away", form, in.srv.URL)
	if code != http.StatusSeeOther || loc != "/away" {
		t.Fatalf("set: %d %s", code, loc)
	}
	work.mu.Lock()
	r := work.requests[0]
	work.mu.Unlock()
	sig, _ := base64.StdEncoding.DecodeString(r.Signature)
	if r.Op != substitutes.OpSet || r.Actor != "ana" || r.Principal != "ana" || r.Substitute != "ben" || r.From != "2026-12-20T00:00:00Z" ||
		r.Until != "2027-01-04T00:00:00Z" || len(r.Roles) != 1 || r.Signer != "inbox" || !ed25519.Verify(in.pub, substitutes.SigningBytes(r), sig) {
		t.Errorf("request %+v", r)
	}
	if _, _, body := in.get("/away"); !strings.Contains(body, "Set: ben for ana, away 2026-12-20 to 2027-01-04.") {
		t.Errorf("no confirmation:\n%s", body)
	}
}
