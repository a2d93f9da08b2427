package webinbox

import (
	"context"
	"crypto/ed25519"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/cookiejar"
	"net/http/httptest"
	"net/url"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/batonhq/baton/audit"
	"github.com/batonhq/baton/config"
	"github.com/batonhq/baton/workflows"

	"github.com/batonhq/baton/humantask"
	"github.com/batonhq/baton/internal/oidctest"
	"github.com/batonhq/baton/internal/taskinbox"
	"github.com/batonhq/baton/policy"
	"github.com/batonhq/baton/record"
)

const wf = "loan-A-7"

// fakeBackend stands in for Temporal in handler tests: one loan with an
// open underwriting task; it records the decisions it receives and refuses
// those of refuseActor with the policy's words.
type fakeBackend struct {
	mu          sync.Mutex
	decisions   []humantask.Decision
	refuseActor string
	// refuseValue, when set, is the gate's invalid-value refusal of every
	// decision ("field: why"), as the workflow answers a value the page
	// could not judge (a later approver's differing value).
	refuseValue string
	// pages, when set, answer ana's listing by cursor; filters are the
	// listings asked for.
	pages   map[string]taskinbox.Page
	filters []taskinbox.Filter
	// views are the case views recorded; viewErr refuses to record them.
	views   []humantask.CaseView
	viewErr error
}

// counterOffer is the fake underwriting task's form (as the loan's).
var counterOffer = humantask.Form{
	humantask.Money("counterAmount", "Counter-offer amount", "EUR").Range(1000, 40000),
	humantask.Integer("counterTermMonths", "Counter-offer term (months)").IntRange(6, 360),
	humantask.Text("conditions", "Conditions of the offer").Length(0, 1000).MarkPersonal(),
}

func (f *fakeBackend) StartInput(_ context.Context, id string, into any) error {
	if id != wf {
		return ErrNotFound
	}
	return json.Unmarshal([]byte(`{"applicationId":"A-1","applicantId":"C-1002","amount":40000,"termMonths":48,"purpose":"kitchen renovation"}`), into)
}

func (f *fakeBackend) RecordView(_ context.Context, s humantask.Subject, v humantask.CaseView) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.viewErr != nil {
		return f.viewErr
	}
	if s != subject {
		return fmt.Errorf("view sent to %+v, not the task's subject", s)
	}
	f.views = append(f.views, v)
	return nil
}

func (f *fakeBackend) List(_ context.Context, filter taskinbox.Filter) (taskinbox.Page, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.filters = append(f.filters, filter)
	if filter.User != "ana" {
		return taskinbox.Page{}, nil
	}
	if f.pages != nil {
		return f.pages[filter.Cursor], nil
	}
	return taskinbox.Page{Tasks: []taskinbox.Task{{WorkflowID: wf, TaskID: "underwriting", Title: "Underwriting decision", Quorum: 1, Deadline: time.Now().Add(47 * time.Hour)}}}, nil
}

func (f *fakeBackend) Instance(_ context.Context, id string) (*Instance, error) {
	if id != wf {
		return nil, ErrNotFound
	}
	return &Instance{
		WorkflowID: wf,
		Status:     record.Status{Process: "loan", Stage: "underwriting", StageIndex: 3, StageTotal: 5, Facts: map[string]string{"amount": "40,000.00"}},
		Tasks: []humantask.TaskView{{ID: "underwriting", Title: "Underwriting decision", State: humantask.StateOpen, Roles: []string{"underwriter"}, Quorum: 1,
			Deadline: time.Now().Add(47 * time.Hour), Exclusions: []humantask.Exclusion{{User: "ben", Reason: "the requester"}}, Subject: subject, Form: counterOffer}},
		Audit: []audit.Entry{{Time: time.Now(), Actor: "system", Action: audit.ActionTaskOpened, TaskID: "underwriting"}},
	}, nil
}

// subject is the open task's subject the fake instance answers.
var subject = humantask.Subject{WorkflowID: wf, RunID: "run-1", TaskID: "underwriting", Occurrence: 1, Digest: "0123abcd"}

func (f *fakeBackend) Subject(_ context.Context, id, task string) (humantask.Subject, error) {
	if id != wf {
		return humantask.Subject{}, ErrNotFound
	}
	if task != subject.TaskID {
		return humantask.Subject{}, ErrTaskNotOpen
	}
	return subject, nil
}

func (f *fakeBackend) Decide(_ context.Context, s humantask.Subject, d humantask.Decision) (humantask.DecisionResult, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if s != subject {
		return humantask.DecisionResult{}, fmt.Errorf("sent to %+v, not the task's subject", s)
	}
	f.decisions = append(f.decisions, d)
	if f.refuseValue != "" {
		return humantask.DecisionResult{}, &RefusedError{Code: humantask.RefusedValue, Reason: f.refuseValue}
	}
	if d.Actor == f.refuseActor {
		return humantask.DecisionResult{}, &RefusedError{Code: humantask.RefusedExcluded, Reason: d.Actor + ` may not decide task "underwriting": separation of duties (the requester)`}
	}
	return humantask.DecisionResult{TaskID: d.TaskID, State: humantask.StateApproved, Approvals: 1, Quorum: 1, Message: "accepted: approved (1 of 1 approvals)"}, nil
}

func (f *fakeBackend) sent() []humantask.Decision {
	f.mu.Lock()
	defer f.mu.Unlock()
	return append([]humantask.Decision(nil), f.decisions...)
}

func devPolicy(t *testing.T) *policy.Policy {
	t.Helper()
	p, err := config.LoadPolicy("../../config/policy.yaml", nil)
	if err != nil {
		t.Fatal(err)
	}
	return p
}

// inbox is a served inbox and a browser-like client (cookie jar, no
// automatic redirects).
type inbox struct {
	t       *testing.T
	srv     *httptest.Server
	client  *http.Client
	backend *fakeBackend
	pub     ed25519.PublicKey
}

// newInbox serves the inbox over TLS on loopback; edit adjusts its options.
func newInbox(t *testing.T, edit func(*Options)) *inbox {
	t.Helper()
	srv := httptest.NewUnstartedServer(nil)
	srv.StartTLS()
	t.Cleanup(srv.Close)
	pub, key, _ := ed25519.GenerateKey(nil)
	b := &fakeBackend{}
	u, _ := url.Parse(srv.URL)
	o := Options{Catalog: workflows.Catalog(), Backend: b, Policy: devPolicy(t), Key: key, Signer: "inbox", PublicURL: u, DevSignIn: true}
	if edit != nil {
		edit(&o)
	}
	h, err := New(o)
	if err != nil {
		t.Fatal(err)
	}
	srv.Config.Handler = h
	jar, _ := cookiejar.New(nil)
	c := srv.Client()
	c.Jar = jar
	c.CheckRedirect = func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }
	return &inbox{t: t, srv: srv, client: c, backend: b, pub: pub}
}

// get fetches path and returns the status, the Location and the body.
func (in *inbox) get(path string) (int, string, string) {
	in.t.Helper()
	resp, err := in.client.Get(in.srv.URL + path)
	if err != nil {
		in.t.Fatal(err)
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, resp.Header.Get("Location"), string(body)
}

var tokenRE = regexp.MustCompile(`name="csrf_token" value="([^"]+)"`)

// token is the CSRF token of the page at path.
func (in *inbox) token(path string) string {
	in.t.Helper()
	_, _, body := in.get(path)
	m := tokenRE.FindStringSubmatch(body)
	if m == nil {
		in.t.Fatalf("%s has no CSRF field:\n%s", path, body)
	}
	return m[1]
}

// post submits a form as a page of the inbox would (same Origin).
func (in *inbox) post(path string, form url.Values, origin string) (int, string, string) {
	in.t.Helper()
	req, _ := http.NewRequest(http.MethodPost, in.srv.URL+path, strings.NewReader(form.Encode()))
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	if origin != "" {
		req.Header.Set("Origin", origin)
	}
	resp, err := in.client.Do(req)
	if err != nil {
		in.t.Fatal(err)
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, resp.Header.Get("Location"), string(body)
}

func (in *inbox) devSignIn(user string) {
	in.t.Helper()
	code, loc, body := in.post("/dev/sign-in", url.Values{"user": {user}, "csrf_token": {in.token("/login")}}, in.srv.URL)
	if code != http.StatusSeeOther || loc != "/" {
		in.t.Fatalf("dev sign-in as %s: %d %s\n%s", user, code, loc, body)
	}
}

func TestDevSignInShowsABannerOnEveryPage(t *testing.T) {
	in := newInbox(t, nil)
	const banner = "Development sign-in is enabled: anyone can act as any user."
	if _, _, body := in.get("/login"); !strings.Contains(body, banner) || !strings.Contains(body, `<option value="ana">Ana Alves (ana: underwriter)</option>`) {
		t.Fatalf("sign-in page:\n%s", body)
	}
	in.devSignIn("ana")
	for _, path := range []string{"/", "/tasks/" + wf + "/underwriting", "/tasks/" + wf + "/nope"} {
		if _, _, body := in.get(path); !strings.Contains(body, banner) {
			t.Errorf("%s has no banner", path)
		}
	}
}

// Without an explicit opt-in there is no development sign-in: no form, no
// banner, and its endpoint does not exist even for a signed-in user with a
// valid CSRF token.
func TestDevSignInIsOffByDefault(t *testing.T) {
	p := &provider{}
	in := newInbox(t, func(o *Options) {
		o.DevSignIn = false
		ana := o.Policy.Users["ana"]
		ana.Subject = "sub-ana"
		o.Policy.Users["ana"] = ana
		o.OIDC = p.oidc(t, o.PublicURL)
	})
	_, _, body := in.get("/login")
	if strings.Contains(body, "Development sign-in") || strings.Contains(body, "/dev/sign-in") || !strings.Contains(body, `href="/login/oidc"`) {
		t.Fatalf("sign-in page:\n%s", body)
	}
	if code, loc, _ := in.get("/"); code != http.StatusSeeOther || loc != "/login" {
		t.Fatalf("GET / = %d %s: signed in without a sign-in", code, loc)
	}
	if code, body := in.oidcSignIn(p, "ana", "pw-ana"); code != http.StatusOK || strings.Contains(body, "Development sign-in") {
		t.Fatalf("after sign-in: %d\n%s", code, body)
	}
	code, _, _ := in.post("/dev/sign-in", url.Values{"user": {"ben"}, "csrf_token": {in.token("/")}}, in.srv.URL)
	if code != http.StatusNotFound {
		t.Fatalf("POST /dev/sign-in = %d, want 404", code)
	}
	if _, _, body := in.get("/"); !strings.Contains(body, "Ana Alves (ana)") {
		t.Fatalf("the session changed user:\n%s", body)
	}
	if _, err := New(Options{Backend: &fakeBackend{}, Policy: devPolicy(t), Key: make(ed25519.PrivateKey, ed25519.PrivateKeySize), Signer: "inbox", PublicURL: &url.URL{Scheme: "https", Host: "x"}}); err != errNoSignIn {
		t.Errorf("New without OIDC or dev sign-in: %v", err)
	}
}

// Every POST needs the form's CSRF token and a same-origin request.
func TestCSRFRefusesPostsWithoutToken(t *testing.T) {
	in := newInbox(t, nil)
	in.devSignIn("ana")
	page := "/tasks/" + wf + "/underwriting"
	tok := in.token(page)
	approve := func(tok, origin string) int {
		form := url.Values{"verdict": {"approve"}}
		if tok != "" {
			form.Set("csrf_token", tok)
		}
		code, _, _ := in.post(page+"/decide", form, origin)
		return code
	}
	if code := approve("", in.srv.URL); code != http.StatusForbidden {
		t.Errorf("without a token: %d, want 403", code)
	}
	if code := approve("bm90LWEtdG9rZW4=", in.srv.URL); code != http.StatusForbidden {
		t.Errorf("with a wrong token: %d, want 403", code)
	}
	if code := approve(tok, "https://evil.example"); code != http.StatusForbidden {
		t.Errorf("from another origin: %d, want 403", code)
	}
	if code, _, _ := in.post("/logout", url.Values{}, in.srv.URL); code != http.StatusForbidden {
		t.Errorf("logout without a token: %d, want 403", code)
	}
	if n := len(in.backend.sent()); n != 0 {
		t.Fatalf("%d decisions reached the workflow without a valid token", n)
	}
	if code := approve(tok, in.srv.URL); code != http.StatusSeeOther {
		t.Fatalf("with the token: %d, want 303", code)
	}
	if n := len(in.backend.sent()); n != 1 {
		t.Fatalf("decisions sent = %d, want 1", n)
	}
}

// Sessions end after inbox.session_idle without use and after
// inbox.session_lifetime however active.
func TestSessionExpiry(t *testing.T) {
	t.Run("idle", func(t *testing.T) {
		in := newInbox(t, func(o *Options) { o.SessionIdle, o.SessionLifetime = 300*time.Millisecond, time.Hour })
		in.devSignIn("ana")
		if code, _, _ := in.get("/"); code != http.StatusOK {
			t.Fatalf("fresh session: %d", code)
		}
		time.Sleep(400 * time.Millisecond)
		if code, loc, _ := in.get("/"); code != http.StatusSeeOther || loc != "/login" {
			t.Fatalf("after the idle timeout: %d %s, want a redirect to /login", code, loc)
		}
	})
	t.Run("lifetime", func(t *testing.T) {
		in := newInbox(t, func(o *Options) { o.SessionIdle, o.SessionLifetime = time.Second, 2*time.Second })
		in.devSignIn("ana")
		for range 4 { // active every 400ms: never idle
			time.Sleep(400 * time.Millisecond)
			if code, _, _ := in.get("/"); code != http.StatusOK {
				t.Fatalf("active session ended early: %d", code)
			}
		}
		time.Sleep(700 * time.Millisecond)
		if code, loc, _ := in.get("/"); code != http.StatusSeeOther || loc != "/login" {
			t.Fatalf("after the lifetime: %d %s, want a redirect to /login", code, loc)
		}
	})
}

// Cookies are Secure (https public URL), HttpOnly and SameSite=Lax, and
// signing in issues a new session token (no fixation).
func TestCookies(t *testing.T) {
	in := newInbox(t, nil)
	resp, err := in.client.Get(in.srv.URL + "/login")
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	before := cookieValue(in, "baton_session")
	in.devSignIn("ana")
	after := cookieValue(in, "baton_session")
	if after == "" || after == before {
		t.Errorf("session token not renewed at sign-in: %q -> %q", before, after)
	}
	req, _ := http.NewRequest(http.MethodPost, in.srv.URL+"/dev/sign-in", strings.NewReader(url.Values{"user": {"ben"}, "csrf_token": {in.token("/login")}}.Encode()))
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	req.Header.Set("Origin", in.srv.URL)
	resp, err = in.client.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	var seen int
	for _, c := range resp.Cookies() {
		if c.Name != "baton_session" && c.Name != "baton_csrf" {
			continue
		}
		seen++
		if !c.Secure || !c.HttpOnly || c.SameSite != http.SameSiteLaxMode {
			t.Errorf("cookie %s: Secure=%v HttpOnly=%v SameSite=%v", c.Name, c.Secure, c.HttpOnly, c.SameSite)
		}
	}
	if seen == 0 {
		t.Error("no session cookie set at sign-in")
	}
}

func cookieValue(in *inbox, name string) string {
	u, _ := url.Parse(in.srv.URL)
	for _, c := range in.client.Jar.Cookies(u) {
		if c.Name == name {
			return c.Value
		}
	}
	return ""
}

// The actor is the session's user whatever the form says, and the
// decision is signed by the inbox for that user, stating how they signed in.
func TestDecisionIsSignedForTheSessionUser(t *testing.T) {
	in := newInbox(t, nil)
	in.devSignIn("ana")
	page := "/tasks/" + wf + "/underwriting"
	form := url.Values{"verdict": {"approve"}, "comment": {"income verified"}, "actor": {"ben"}, "csrf_token": {in.token(page)}}
	code, loc, _ := in.post(page+"/decide", form, in.srv.URL)
	if code != http.StatusSeeOther || loc != "/" {
		t.Fatalf("approve: %d %s", code, loc)
	}
	sent := in.backend.sent()
	if len(sent) != 1 {
		t.Fatalf("sent %d decisions", len(sent))
	}
	d := sent[0]
	if d.Actor != "ana" || d.Verdict != humantask.Approve || d.TaskID != "underwriting" || d.Comment != "income verified" ||
		d.Signer != "inbox" || d.Authenticated != "dev sign-in" {
		t.Fatalf("decision = %+v", d)
	}
	sig, _ := base64.StdEncoding.DecodeString(d.Signature)
	if !ed25519.Verify(in.pub, humantask.SigningBytes(subject, d), sig) {
		t.Fatal("the signature does not verify with the inbox's public key")
	}
	if _, _, body := in.get("/"); !strings.Contains(body, wf+", task underwriting: accepted: approved (1 of 1 approvals)") {
		t.Fatalf("no confirmation on the inbox page:\n%s", body)
	}
}

func TestRefusalShowsThePolicyReason(t *testing.T) {
	in := newInbox(t, nil)
	in.backend.refuseActor = "ben"
	in.devSignIn("ben")
	page := "/tasks/" + wf + "/underwriting"
	if _, _, body := in.get(page); !strings.Contains(body, "may not decide this task") {
		t.Errorf("the page does not warn an excluded user:\n%s", body)
	}
	code, loc, _ := in.post(page+"/decide", url.Values{"verdict": {"approve"}, "csrf_token": {in.token(page)}}, in.srv.URL)
	if code != http.StatusSeeOther || loc != page {
		t.Fatalf("refused approve: %d %s, want back to the task", code, loc)
	}
	_, _, body := in.get(page)
	if !strings.Contains(body, `Refused: ben may not decide task &#34;underwriting&#34;: separation of duties (the requester)`) {
		t.Fatalf("the reason is not shown:\n%s", body)
	}
}

func TestRejectNeedsAReason(t *testing.T) {
	in := newInbox(t, nil)
	in.devSignIn("ana")
	page := "/tasks/" + wf + "/underwriting"
	code, _, body := in.post(page+"/decide", url.Values{"verdict": {"reject"}, "comment": {"  "}, "csrf_token": {in.token(page)}}, in.srv.URL)
	if n := len(in.backend.sent()); n != 0 {
		t.Fatalf("a reject without a reason was sent")
	}
	if code != http.StatusUnprocessableEntity || !strings.Contains(body, "A reason is required to reject.") {
		t.Fatalf("no message: %d\n%s", code, body)
	}
}

// A task page exists only for the task's candidates; nobody else learns
// the instance's facts.
func TestTaskPageOnlyForCandidates(t *testing.T) {
	in := newInbox(t, nil)
	in.devSignIn("fay") // fraud-analyst, not an underwriter
	code, _, body := in.get("/tasks/" + wf + "/underwriting")
	if code != http.StatusNotFound || strings.Contains(body, "40,000.00") {
		t.Fatalf("non-candidate: %d\n%s", code, body)
	}
	in.devSignIn("ana")
	code, _, body = in.get("/tasks/" + wf + "/underwriting")
	if code != http.StatusOK {
		t.Fatalf("candidate: %d", code)
	}
	for _, want := range []string{"Underwriting decision", "Stage 3 of 5: underwriting", "40,000.00", "task-opened", `name="verdict" value="reject"`, "Ben Brandt (ben)"} {
		if want == "Ben Brandt (ben)" {
			if strings.Contains(body, want) {
				t.Errorf("ben is excluded but offered as a delegate")
			}
			continue
		}
		if !strings.Contains(body, want) {
			t.Errorf("task page lacks %q", want)
		}
	}
}

// provider is a real OpenID provider on loopback (zitadel's op).
type provider struct {
	*oidctest.Provider
	redirect string
}

const clientID, clientSecret = "baton-inbox", "inbox-secret"

// oidc starts the provider for an inbox at base and discovers it. Its
// users: ana, mia and eve (whom no directory lists).
func (p *provider) oidc(t *testing.T, base *url.URL) *OIDC {
	t.Helper()
	p.redirect = base.String() + "/auth/callback"
	var err error
	p.Provider, err = oidctest.Start(clientID, clientSecret, p.redirect,
		oidctest.User{Subject: "sub-ana", Username: "ana", Password: "pw-ana", Email: "ana@bank.test", EmailVerified: true},
		oidctest.User{Subject: "sub-mia", Username: "mia", Password: "pw-mia", Email: "mia@bank.test", EmailVerified: true},
		oidctest.User{Subject: "sub-eve", Username: "eve", Password: "pw-eve", Email: "eve@elsewhere.test", EmailVerified: true},
	)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = p.Close() })
	o, err := NewOIDC(context.Background(), OIDCConfig{Issuer: p.Issuer, ClientID: clientID, ClientSecret: clientSecret, RedirectURL: p.redirect})
	if err != nil {
		t.Fatal(err)
	}
	return o
}

var idRE = regexp.MustCompile(`name="id" value="([^"]+)"`)

// oidcSignIn signs in through the provider's login page, following every
// redirect as a browser would, and returns the inbox page it lands on.
func (in *inbox) oidcSignIn(p *provider, user, password string) (int, string) {
	in.t.Helper()
	in.client.CheckRedirect = nil
	defer func() {
		in.client.CheckRedirect = func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }
	}()
	resp, err := in.client.Get(in.srv.URL + "/login/oidc")
	if err != nil {
		in.t.Fatal(err)
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	m := idRE.FindStringSubmatch(string(body))
	if m == nil || !strings.HasPrefix(resp.Request.URL.String(), p.Issuer) {
		in.t.Fatalf("not on the provider's login page (%s):\n%s", resp.Request.URL, body)
	}
	resp, err = in.client.PostForm(p.Issuer+"/login/username", url.Values{"id": {m[1]}, "username": {user}, "password": {password}})
	if err != nil {
		in.t.Fatal(err)
	}
	defer resp.Body.Close()
	body, _ = io.ReadAll(resp.Body)
	return resp.StatusCode, string(body)
}

// Signing in through a real OpenID provider maps the identity to a
// directory user by subject (ana) or verified email (mia); an identity the
// directory does not know is refused; decisions state the issuer.
func TestOIDCSignIn(t *testing.T) {
	p := &provider{}
	var pol *policy.Policy
	in := newInbox(t, func(o *Options) {
		o.DevSignIn = false
		pol = o.Policy
		ana, mia := pol.Users["ana"], pol.Users["mia"]
		ana.Subject, mia.Email = "sub-ana", "MIA@bank.test"
		pol.Users["ana"], pol.Users["mia"] = ana, mia
		o.OIDC = p.oidc(t, o.PublicURL)
	})
	code, body := in.oidcSignIn(p, "ana", "pw-ana")
	if code != http.StatusOK || !strings.Contains(body, "Ana Alves (ana)") || !strings.Contains(body, "Underwriting decision") {
		t.Fatalf("ana after sign-in: %d\n%s", code, body)
	}
	page := "/tasks/" + wf + "/underwriting"
	in.post(page+"/decide", url.Values{"verdict": {"approve"}, "csrf_token": {in.token(page)}}, in.srv.URL)
	if s := in.backend.sent(); len(s) != 1 || s[0].Actor != "ana" || s[0].Authenticated != "oidc "+p.Issuer {
		t.Fatalf("decision after OIDC sign-in: %+v", s)
	}

	in.post("/logout", url.Values{"csrf_token": {in.token("/")}}, in.srv.URL)
	if code, loc, _ := in.get("/"); code != http.StatusSeeOther || loc != "/login" {
		t.Fatalf("after sign-out: %d %s", code, loc)
	}
	if code, body := in.oidcSignIn(p, "mia", "pw-mia"); code != http.StatusOK || !strings.Contains(body, "Mia Moreau (mia)") {
		t.Fatalf("mia (by email): %d\n%s", code, body)
	}
	in.post("/logout", url.Values{"csrf_token": {in.token("/")}}, in.srv.URL)
	code, body = in.oidcSignIn(p, "eve", "pw-eve")
	if code != http.StatusForbidden || !strings.Contains(body, "your account is not in Baton&#39;s directory") {
		t.Fatalf("eve (unknown): %d\n%s", code, body)
	}
	if c, loc, _ := in.get("/"); c != http.StatusSeeOther || loc != "/login" {
		t.Fatalf("eve got a session: %d %s", c, loc)
	}
}

// Delegation names the colleague in the form; the actor stays the user.
func TestDelegate(t *testing.T) {
	in := newInbox(t, nil)
	in.devSignIn("ana")
	page := "/tasks/" + wf + "/underwriting"
	in.post(page+"/decide", url.Values{"verdict": {"delegate"}, "csrf_token": {in.token(page)}}, in.srv.URL)
	if _, _, body := in.get(page); !strings.Contains(body, "Pick the person to delegate to.") || len(in.backend.sent()) != 0 {
		t.Fatalf("delegate without a colleague was sent, or not explained:\n%s", body)
	}
	in.post(page+"/decide", url.Values{"verdict": {"delegate"}, "delegateTo": {"sam"}, "comment": {"on leave"}, "csrf_token": {in.token(page)}}, in.srv.URL)
	s := in.backend.sent()
	if len(s) != 1 || s[0].Actor != "ana" || s[0].Verdict != humantask.Delegate || s[0].DelegateTo != "sam" || s[0].Comment != "on leave" {
		t.Fatalf("sent %+v", s)
	}
}

// The list shows one page of the user's tasks (theirs only: the listing is
// asked for the session's user) and links the next through its cursor.
func TestListPages(t *testing.T) {
	in := newInbox(t, nil)
	due := time.Now().Add(24 * time.Hour)
	in.backend.pages = map[string]taskinbox.Page{
		"":   {Tasks: []taskinbox.Task{{WorkflowID: "expense-X-1", TaskID: "manager-approval", Title: "Manager approval of expense-X-1", Quorum: 1, Deadline: due}}, Next: "c2"},
		"c2": {Tasks: []taskinbox.Task{{WorkflowID: "expense-X-2", TaskID: "manager-approval", Title: "Manager approval of expense-X-2", Quorum: 1, Deadline: due}}},
	}
	in.devSignIn("ana")
	_, _, first := in.get("/")
	if !strings.Contains(first, "Manager approval of expense-X-1") || !strings.Contains(first, `href="/?page=c2"`) || strings.Contains(first, "expense-X-2") {
		t.Fatalf("first page:\n%s", first)
	}
	_, _, second := in.get("/?page=c2")
	if !strings.Contains(second, "Manager approval of expense-X-2") || strings.Contains(second, "Next 50 tasks") || !strings.Contains(second, `href="/"`) {
		t.Fatalf("second page:\n%s", second)
	}
	in.backend.mu.Lock()
	defer in.backend.mu.Unlock()
	for _, f := range in.backend.filters {
		if f.User != "ana" || f.Limit != pageSize {
			t.Errorf("listing asked for %+v", f)
		}
	}
}

// The case page shows the case file formatted (money with separators and
// currency), the form from its declaration; an eligible user sees the
// personal data once the view is recorded (signed by the inbox), an
// excluded one does not, and neither does anyone when the view cannot be
// recorded.
func TestCasePageShowsPersonalDataOnlyToEligibleUsersOnceRecorded(t *testing.T) {
	in := newInbox(t, nil)
	page := "/tasks/" + wf + "/underwriting"
	in.devSignIn("ana")
	_, _, body := in.get(page)
	for _, want := range []string{"Amount applied for", "40,000.00 EUR", "48 months", "C-1002", "kitchen renovation",
		`<label for="f-counterAmount">Counter-offer amount`, `<span class="currency">EUR</span>`, "1,000.00 EUR to 40,000.00 EUR", `name="f-conditions"`} {
		if !strings.Contains(body, want) {
			t.Errorf("ana's case page lacks %q", want)
		}
	}
	views := in.backend.views
	if len(views) != 1 || views[0].Actor != "ana" || views[0].Signer != "inbox" || views[0].TaskID != "underwriting" {
		t.Fatalf("views = %+v", views)
	}
	sig, _ := base64.StdEncoding.DecodeString(views[0].Signature)
	if !ed25519.Verify(in.pub, humantask.ViewSigningBytes(subject, views[0]), sig) {
		t.Error("the view is not signed by the inbox")
	}

	excluded := newInbox(t, nil)
	excluded.devSignIn("ben")
	_, _, body = excluded.get(page)
	if strings.Contains(body, "kitchen renovation") || strings.Contains(body, "C-1002") || !strings.Contains(body, "Personal details are shown only to the people who may decide this task.") {
		t.Errorf("an excluded user sees personal data:\n%s", body)
	}
	if len(excluded.backend.views) != 0 {
		t.Errorf("an excluded user's view was recorded as one of personal data")
	}

	down := newInbox(t, nil)
	down.backend.viewErr = ErrViewNotRecorded
	down.devSignIn("ana")
	if _, _, body = down.get(page); strings.Contains(body, "kitchen renovation") || !strings.Contains(body, "could not be recorded") {
		t.Errorf("personal data shown without a recorded view:\n%s", body)
	}
}

// A value the form refuses is shown beside its field with what was typed
// kept, and nothing is sent; a valid one is sent canonical, a personal one
// with a salt.
func TestFormErrorsBesideTheField(t *testing.T) {
	in := newInbox(t, nil)
	in.devSignIn("ana")
	page := "/tasks/" + wf + "/underwriting"
	code, _, body := in.post(page+"/decide", url.Values{"verdict": {"approve"}, "f-counterAmount": {"45,000"}, "f-counterTermMonths": {"60"},
		"comment": {"ok"}, "csrf_token": {in.token(page)}}, in.srv.URL)
	if code != http.StatusUnprocessableEntity || len(in.backend.sent()) != 0 {
		t.Fatalf("an amount above the request: %d, sent %d", code, len(in.backend.sent()))
	}
	for _, want := range []string{`id="f-counterAmount-error" role="alert">45,000.00 EUR is above the maximum 40,000.00 EUR</p>`, `value="45,000"`, `value="60"`, ">ok</textarea>"} {
		if !strings.Contains(body, want) {
			t.Errorf("the page lacks %q:\n%s", want, body)
		}
	}
	code, _, _ = in.post(page+"/decide", url.Values{"verdict": {"approve"}, "f-counterAmount": {"30000"}, "f-conditions": {"payslips"},
		"csrf_token": {in.token(page)}}, in.srv.URL)
	sent := in.backend.sent()
	if code != http.StatusSeeOther || len(sent) != 1 || sent[0].Values["counterAmount"] != "30000.00" || sent[0].Values["conditions"] != "payslips" || sent[0].Salt == "" {
		t.Fatalf("valid values: %d %+v", code, sent)
	}
}

// The workflow's gate refusing a value (one the page could not judge)
// shows the gate's words beside that field, with the values kept.
func TestGateValueRefusalBesideTheField(t *testing.T) {
	in := newInbox(t, nil)
	in.backend.refuseValue = "counterTermMonths: differs from what carla entered (60)"
	in.devSignIn("ana")
	page := "/tasks/" + wf + "/underwriting"
	code, _, body := in.post(page+"/decide", url.Values{"verdict": {"approve"}, "f-counterAmount": {"30000"}, "f-counterTermMonths": {"48"},
		"comment": {"fine"}, "csrf_token": {in.token(page)}}, in.srv.URL)
	if code != http.StatusUnprocessableEntity {
		t.Fatalf("a refused value: %d, want the form again (422)", code)
	}
	for _, want := range []string{`id="f-counterTermMonths-error" role="alert">differs from what carla entered (60)</p>`, `value="30000"`, `value="48"`, ">fine</textarea>"} {
		if !strings.Contains(body, want) {
			t.Errorf("the page lacks %q:\n%s", want, body)
		}
	}
}
