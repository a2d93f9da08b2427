package integration

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"
)

// chromiumPath finds Debian's chromium; make test installs it when missing.
func chromiumPath(t *testing.T) string {
	t.Helper()
	for _, p := range []string{os.Getenv("BATON_CHROMIUM"), "/usr/bin/chromium", "/usr/bin/chromium-browser"} {
		if p == "" {
			continue
		}
		if _, err := exec.LookPath(p); err == nil {
			return p
		}
	}
	t.Fatal("chromium not found: make test installs Debian's chromium (make chromium); or set BATON_CHROMIUM")
	return ""
}

// browser is a headless Chromium tab.
type browser struct {
	t   *testing.T
	ctx context.Context
}

func newBrowser(t *testing.T) *browser {
	t.Helper()
	alloc, cancel := chromedp.NewExecAllocator(context.Background(),
		chromedp.ExecPath(chromiumPath(t)), chromedp.Headless, chromedp.NoSandbox,
		chromedp.Flag("disable-gpu", true), chromedp.Flag("disable-background-networking", true),
		chromedp.Flag("disable-quic", true), chromedp.Flag("no-first-run", true),
		chromedp.Flag("disable-component-update", true), chromedp.Flag("disable-sync", true),
		chromedp.UserDataDir(t.TempDir()), chromedp.WindowSize(1400, 1800))
	t.Cleanup(cancel)
	ctx, cancel := chromedp.NewContext(alloc)
	t.Cleanup(cancel)
	// A budget for the whole session; every step waits at most 30 s on its
	// own. Long sessions (the insight pages: sign-in, pictures, a what-if,
	// sign-out and in again) took more than 90 s under the race detector on
	// a loaded 2-core machine.
	ctx, cancel = context.WithTimeout(ctx, 4*time.Minute)
	t.Cleanup(cancel)
	return &browser{t: t, ctx: ctx}
}

func (b *browser) open(url string) {
	b.t.Helper()
	if err := chromedp.Do(b.ctx, chromedp.Navigate(url)); err != nil {
		b.t.Fatalf("navigate %s: %v", url, err)
	}
}

// click clicks the first link, button or tab whose text starts with label,
// once the page shows it.
func (b *browser) click(label string) {
	b.t.Helper()
	js := fmt.Sprintf(`(() => { const e = [...document.querySelectorAll('a,button,[role=tab]')].find(e => e.innerText && e.innerText.trim().startsWith(%q)); if (!e) return false; e.click(); return true; })()`, label)
	if _, err := chromedp.Run(b.ctx, chromedp.Poll[bool](js, chromedp.WithPollingInterval(250*time.Millisecond), chromedp.WithPollingTimeout(30*time.Second))); err != nil {
		b.t.Fatalf("no %q to click: %v", label, err)
	}
}

// waitText waits until the page's text holds every one of want (the UI
// fetches data after load), saves a screenshot and returns the text.
func (b *browser) waitText(shot string, want ...string) string {
	b.t.Helper()
	// The UI renders markdown (summary, details) in same-origin iframes.
	const allText = `(() => { let t = document.body ? document.body.innerText : ''; for (const f of document.querySelectorAll('iframe')) { try { t += '\n' + f.contentDocument.body.innerText } catch (e) {} } return t })()`
	cond := "true"
	for _, w := range want {
		cond += fmt.Sprintf(" && %s.includes(%q)", allText, w)
	}
	_, waitErr := chromedp.Run(b.ctx, chromedp.Poll[bool](cond, chromedp.WithPollingInterval(250*time.Millisecond), chromedp.WithPollingTimeout(30*time.Second)))
	text, _ := chromedp.Run(context.WithoutCancel(b.ctx), chromedp.Evaluate[string](allText))
	if png, err := chromedp.Run(context.WithoutCancel(b.ctx), chromedp.FullScreenshot(100)); err == nil {
		dir := filepath.Join(env.root, ".artifacts")
		_ = os.MkdirAll(dir, 0o755)
		_ = os.WriteFile(filepath.Join(dir, shot), png, 0o644)
	}
	if waitErr != nil {
		for _, w := range want {
			if !strings.Contains(text, w) {
				b.t.Errorf("the page never showed %q", w)
			}
		}
		b.t.Fatalf("page text (screenshot in .artifacts/%s):\n%s", shot, tail(text, 3000))
	}
	return text
}

// The Temporal Web UI shows an instance waiting for approval as the
// business process: summary, current details (stage, who must act, by
// when) and Baton's search attributes.
func TestWebUIShowsTheProcess(t *testing.T) {
	if env.uiURL == "" {
		t.Fatal("the external server's Web UI is unknown: set BATON_TEST_TEMPORAL_UI, or leave this test out of the run")
	}
	id := uniq("UI")
	wf := startOpen(t, "loan", "loan-four-eyes.json", id)
	waitTask(t, wf)
	starter(t, "approve", wf, "--as", "ana")
	b := newBrowser(t)
	b.open(fmt.Sprintf("%s/namespaces/%s/workflows/%s", env.uiURL, env.namespace, wf))
	b.waitText("ui-"+wf+"-history.png", wf, "credit bureau: score the applicant for "+wf, "deadline: underwriting")

	b.click("User Metadata")
	text := b.waitText("ui-"+wf+"-metadata.png",
		"Loan "+id+": 150,000.00 over 120 months",                // static summary
		"Stage 3 of 5: awaiting underwriter approval (2 needed)", // current details
	)
	for _, want := range []string{
		"underwriting: 1 of 2 approvals", // the open task, approvals so far / quorum
		"may act: underwriter",           // who may act
		"handling: manual",               // the handling path
		"policy sha256:",                 // the pinned policy version
		"Loan origination",               // static details
	} {
		if !strings.Contains(text, want) {
			t.Errorf("user metadata lacks %q", want)
		}
	}

	b.click("Search Attributes")
	b.waitText("ui-"+wf+"-search-attributes.png",
		"PendingRoles", "underwriter", "ProcessStage", "underwriting", "HandlingPath", "manual",
		"ProcessType", "BusinessKey", "PolicyVersion", "sha256:", "TaskDeadline")

	// And the list view filtered by them finds the instance.
	q := "PendingRoles%3D%27underwriter%27%20AND%20ProcessType%3D%27loan%27%20AND%20WorkflowId%3D%27" + wf + "%27"
	b.open(fmt.Sprintf("%s/namespaces/%s/workflows?query=%s", env.uiURL, env.namespace, q))
	b.waitText("ui-list-"+wf+".png", wf)
}
