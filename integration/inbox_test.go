package integration

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	"github.com/batonhq/baton/internal/oidctest"
)

// inboxEnv is a web inbox binary serving one namespace, with a real OpenID
// provider on loopback in front of it.
type inboxEnv struct {
	url      string
	provider *oidctest.Provider
	ns       *reportEnv
	log      lockedBuffer
}

// startInbox runs, in a fresh namespace: a worker whose policy requires
// signed decisions and trusts the inbox's key (added by `inbox trust`),
// with ana, ben and fay mapped by OpenID subject and max by verified email;
// a provider with those users; and the inbox binary signing in through it,
// reading the namespace's audit store (the task read model).
func startInbox(t *testing.T) *inboxEnv {
	t.Helper()
	dir := t.TempDir()
	key := filepath.Join(dir, "inbox.key")
	if r := runBin(t, "inbox", "keygen", "--out", key); r.code != 0 {
		t.Fatalf("inbox keygen: %d %s", r.code, r.stderr)
	}
	src, err := os.ReadFile(env.policyFile)
	if err != nil {
		t.Fatal(err)
	}
	pol := string(src)
	for _, r := range [][2]string{
		{"requireSignedDecisions: false", "requireSignedDecisions: true"},
		{"ana: {name: Ana Alves,     roles: [underwriter]}", "ana: {name: Ana Alves,     roles: [underwriter], subject: sub-ana-7f3a}"},
		{"max: {name: Max Meyer,     roles: [manager]}", "max: {name: Max Meyer,     roles: [manager], email: Max.Meyer@bank.test}"},
		{"ben: {name: Ben Brandt,    roles: [underwriter]}", "ben: {name: Ben Brandt,    roles: [underwriter], subject: sub-ben-55d1}"},
		{"fay: {name: Fay Fischer,   roles: [fraud-analyst]}", "fay: {name: Fay Fischer,   roles: [fraud-analyst], subject: sub-fay-08be}"},
		{"ada: {name: Ada Arendt,    roles: [adjuster]}", "ada: {name: Ada Arendt,    roles: [adjuster], email: ada@insure.test}"},
		{"abe: {name: Abe Amari,     roles: [adjuster]}", "abe: {name: Abe Amari,     roles: [adjuster], email: abe@insure.test}"},
	} {
		if !strings.Contains(pol, r[0]) {
			t.Fatalf("policy fixture drifted from config/policy.yaml: %q", r[0])
		}
		pol = strings.Replace(pol, r[0], r[1], 1)
	}
	base := filepath.Join(dir, "policy-base.yaml")
	polFile := filepath.Join(dir, "policy.yaml")
	if err := os.WriteFile(base, []byte(pol), 0o644); err != nil {
		t.Fatal(err)
	}
	if r := runBin(t, "inbox", "trust", "--key", key, "--policy", base, "--out", polFile); r.code != 0 {
		t.Fatalf("inbox trust: %d %s", r.code, r.stderr)
	}

	in := &inboxEnv{}
	in.ns = newNamespaceWorker(t, "inbox", "BATON_POLICY_FILE="+polFile)
	listen := freePort()
	in.url = "http://" + listen
	in.provider, err = oidctest.Start("baton-inbox", "inbox-client-secret", in.url+"/auth/callback",
		oidctest.User{Subject: "sub-ana-7f3a", Username: "ana", Password: "ana-password", Email: "ana@bank.test", EmailVerified: true},
		oidctest.User{Subject: "sub-max-19c2", Username: "max", Password: "max-password", Email: "max.meyer@bank.test", EmailVerified: true},
		oidctest.User{Subject: "sub-ben-55d1", Username: "ben", Password: "ben-password", Email: "ben@bank.test", EmailVerified: true},
		oidctest.User{Subject: "sub-fay-08be", Username: "fay", Password: "fay-password", Email: "fay@bank.test", EmailVerified: true},
		oidctest.User{Subject: "sub-ada-4411", Username: "ada", Password: "ada-password", Email: "ada@insure.test", EmailVerified: true},
		oidctest.User{Subject: "sub-abe-5522", Username: "abe", Password: "abe-password", Email: "abe@insure.test", EmailVerified: true},
	)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = in.provider.Close() })

	cmd := exec.Command(filepath.Join(env.bin, "inbox"))
	cmd.Env = append(baseEnv(),
		"TEMPORAL_NAMESPACE="+in.ns.ns,
		"BATON_AUDIT_DSN="+in.ns.dsn,
		"BATON_POLICY_FILE="+polFile,
		"BATON_LOG_LEVEL=debug",
		"BATON_INBOX_LISTEN="+listen,
		"BATON_INBOX_PUBLIC_URL="+in.url,
		"BATON_INBOX_SIGNING_KEY="+key,
		"BATON_INBOX_OIDC_ISSUER="+in.provider.Issuer,
		"BATON_INBOX_OIDC_CLIENT_ID=baton-inbox",
		"BATON_INBOX_OIDC_CLIENT_SECRET=inbox-client-secret",
		"BATON_INBOX_OIDC_REDIRECT_URL="+in.url+"/auth/callback",
	)
	cmd.Dir = env.root
	cmd.Stdout, cmd.Stderr = &in.log, &in.log
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = cmd.Process.Signal(syscall.SIGTERM); _ = cmd.Wait() })
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	if err := waitHealthy(ctx, in.url+"/healthz", &in.log); err != nil {
		t.Fatal(err)
	}
	return in
}

// signIn signs in through the provider's login page.
func (in *inboxEnv) signIn(b *browser, user, password string) {
	b.t.Helper()
	b.open(in.url + "/")
	b.see("inbox-login.png", "Sign in with your organisation's account")
	b.click("Sign in with your organisation")
	b.see("inbox-provider-login.png", "Username", "Password")
	if err := chromedp.Do(b.ctx,
		chromedp.SendKeys(chromedp.CSS("#username"), user),
		chromedp.SendKeys(chromedp.CSS("#password"), password),
		chromedp.Click(chromedp.CSS("button[type=submit]")),
	); err != nil {
		b.t.Fatalf("provider login: %v", err)
	}
	// The provider's redirect lands on the list: a page opened before
	// then would be replaced by it.
	b.see("inbox-signed-in-"+user+".png", "("+user+")", "Sign out")
}

// see waits until the page shows every one of want, across navigations
// (a sign-in crosses origins, and a poll that spans one fails at once),
// saves a screenshot in .artifacts and returns the page's text.
func (b *browser) see(shot string, want ...string) string {
	b.t.Helper()
	var text string
	deadline := time.Now().Add(30 * time.Second)
	for {
		text, _ = chromedp.Run(b.ctx, chromedp.Evaluate[string](`document.body ? document.body.innerText : ''`))
		missing := ""
		for _, w := range want {
			if !strings.Contains(text, w) {
				missing = w
				break
			}
		}
		if missing == "" {
			break
		}
		if time.Now().After(deadline) {
			b.screenshot(shot)
			b.t.Fatalf("the page never showed %q (screenshot in .artifacts/%s):\n%s", missing, shot, tail(text, 3000))
		}
		time.Sleep(200 * time.Millisecond)
	}
	b.screenshot(shot)
	return text
}

func (b *browser) screenshot(name string) {
	if png, err := chromedp.Run(context.WithoutCancel(b.ctx), chromedp.FullScreenshot(100)); err == nil {
		dir := filepath.Join(env.root, ".artifacts")
		_ = os.MkdirAll(dir, 0o755)
		_ = os.WriteFile(filepath.Join(dir, name), png, 0o644)
	}
}

// fill types text into the form field with the given id.
func (b *browser) fill(id, text string) {
	b.t.Helper()
	if err := chromedp.Do(b.ctx, chromedp.SendKeys(chromedp.CSS("#"+id), text)); err != nil {
		b.t.Fatalf("fill #%s: %v", id, err)
	}
}

// A person signs in through OpenID Connect, sees the task the directory
// lets them decide, opens it (facts, stage, deadline, trail), approves it,
// and sees it gone from their list; the audit trail records the decision
// as theirs, signed by the inbox, authenticated by the provider, under a
// policy that accepts nothing unsigned. A second person, excluded by
// separation of duties, sees the policy's reason when they try.
func TestInboxInTheBrowser(t *testing.T) {
	in := startInbox(t)
	app := uniq("IB")
	loan := "loan-" + app
	in.ns.starter(t, "start", "loan", "--file", "examples/loan-manual.json", "--id", app)
	exp := "expense-" + uniq("IX")
	in.ns.starter(t, "start", "expense", "--file", "examples/expense-small.json", "--id", strings.TrimPrefix(exp, "expense-"))
	waitTask(t, loan, "--namespace", in.ns.ns)
	waitTask(t, exp, "--namespace", in.ns.ns)
	eventually(t, "ana's task in the starter's inbox", func() bool {
		return strings.Contains(in.ns.starter(t, "tasks", "--user", "ana"), loan) // the namespace's read model
	})

	b := newBrowser(t)
	if err := chromedp.Do(b.ctx, chromedp.EmulateViewport(412, 915)); err != nil { // a phone's width
		t.Fatal(err)
	}
	in.signIn(b, "ana", "ana-password")
	b.see("inbox-ana-tasks.png", "My tasks", "Ana Alves (ana)", "Underwriting decision", loan)

	b.click("Underwriting decision")
	page := b.see("inbox-ana-task.png", "Stage 3 of 5", "Deadline", "underwriter", "40,000.00", "task-opened", "Approve", "Reject")
	if strings.Contains(page, exp) {
		t.Errorf("ana's task page shows another instance")
	}
	b.fill("approve-comment", "income and collateral verified")
	b.click("Approve")
	text := b.see("inbox-ana-approved.png", "accepted: approved (1 of 1 approvals)")
	if strings.Contains(text, "Underwriting decision") {
		t.Errorf("the approved task is still listed:\n%s", text)
	}

	eventually(t, "the trail's decision entry", func() bool {
		trail := auditTrail(t, loan, "--namespace", in.ns.ns)
		return hasEntry(trail, "ana", "decision-accepted", "approve (1 of 1) via update, signed by inbox (authenticated: oidc "+in.provider.Issuer+"): income and collateral verified")
	})
	b.open(in.url + "/tasks/" + loan + "/underwriting")
	b.see("inbox-ana-trail.png", "decision-accepted", "signed by inbox (authenticated: oidc "+in.provider.Issuer+")", "income and collateral verified")

	b.click("Sign out")
	b.see("inbox-signed-out.png", "Sign in with your organisation's account")
	in.signIn(b, "max", "max-password")
	text = b.see("inbox-max-tasks.png", "Max Meyer (max)", "My tasks")
	if strings.Contains(text, exp) {
		t.Errorf("max's own expense is listed for him to approve")
	}
	b.open(in.url + "/tasks/" + exp + "/manager-approval")
	b.see("inbox-max-task.png", "Manager approval", "may not decide this task")
	b.click("Approve")
	b.see("inbox-max-refused.png", `Refused: max may not decide task "manager-approval": separation of duties (the requester)`)

	if strings.Contains(in.log.String(), "ana-password") || strings.Contains(in.log.String(), "max.meyer@bank.test") || strings.Contains(strings.ToLower(in.log.String()), "max.meyer") {
		t.Errorf("the inbox logged personal data:\n%s", in.log.String())
	}
	if dst := os.Getenv("BATON_DOCS_SCREENSHOT"); dst != "" {
		copyFile(t, filepath.Join(env.root, ".artifacts", "inbox-ana-task.png"), dst)
	}
}

func copyFile(t *testing.T, from, to string) {
	t.Helper()
	data, err := os.ReadFile(from)
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(to, data, 0o644); err != nil {
		t.Fatal(fmt.Errorf("screenshot: %w", err))
	}
}

// The inbox will not start with a key its policy does not trust (every
// decision would be refused), nor with the development sign-in under a
// policy that requires signed decisions, nor without a way to sign in.
func TestInboxRefusesToStart(t *testing.T) {
	dir := t.TempDir()
	key := filepath.Join(dir, "inbox.key")
	if r := runBin(t, "inbox", "keygen", "--out", key); r.code != 0 {
		t.Fatal(r.stderr)
	}
	trusted := filepath.Join(dir, "trusted.yaml")
	if r := runBin(t, "inbox", "trust", "--key", key, "--policy", env.policyFile, "--out", trusted); r.code != 0 {
		t.Fatal(r.stderr)
	}
	src, _ := os.ReadFile(trusted)
	strict := filepath.Join(dir, "strict.yaml")
	_ = os.WriteFile(strict, []byte(strings.Replace(string(src), "requireSignedDecisions: false", "requireSignedDecisions: true", 1)), 0o644)
	base := []string{"BATON_INBOX_SIGNING_KEY=" + key, "BATON_INBOX_LISTEN=" + freePort()}
	for _, c := range []struct {
		env  []string
		want string
	}{
		{[]string{"BATON_POLICY_FILE=" + env.policyFile, "BATON_INBOX_DEV_SIGN_IN=true"}, "does not list this key as signers.inbox.publicKey"},
		{[]string{"BATON_POLICY_FILE=" + strict, "BATON_INBOX_DEV_SIGN_IN=true"}, "inbox.dev_sign_in: refused: the policy requires signed decisions"},
		{[]string{"BATON_POLICY_FILE=" + trusted}, "inbox.oidc.issuer: required (or enable inbox.dev_sign_in for development)"},
	} {
		r := runBinEnv(t, "inbox", append(append([]string{}, base...), c.env...))
		if r.code != 1 || !strings.Contains(r.stderr, c.want) || strings.Count(strings.TrimSpace(r.stderr), "\n") != 0 {
			t.Errorf("%v: exit %d, stderr %q; want one line with %q", c.env, r.code, r.stderr, c.want)
		}
	}
}
