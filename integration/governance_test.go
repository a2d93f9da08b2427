package integration

import (
	"encoding/json"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"

	"github.com/batonhq/baton/audit"
)

// docsText is the README and every document under docs/, with shell line
// continuations joined: the commands they tell people to type.
func docsText(t *testing.T) string {
	t.Helper()
	files, err := filepath.Glob("../docs/*.md")
	if err != nil {
		t.Fatal(err)
	}
	var b strings.Builder
	for _, f := range append([]string{"../README.md"}, files...) {
		data, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		b.Write(data)
		b.WriteByte('\n')
	}
	return strings.ReplaceAll(b.String(), "\\\n", " ")
}

// readmeCommand returns the documented `temporal workflow <verb>` command
// for approving, split into arguments, so the test runs exactly what the
// documentation tells people to type.
func readmeCommand(t *testing.T, verb string) []string {
	t.Helper()
	re := regexp.MustCompile(`(?m)^temporal workflow ` + verb + ` (.*)$`)
	m := re.FindStringSubmatch(docsText(t))
	if m == nil {
		t.Fatalf("neither README.md nor docs/ has a `temporal workflow %s` command", verb)
	}
	var args []string
	args = append(args, "workflow")
	args = append(args, strings.Fields(verb)...)
	rest := m[1]
	// Split on spaces outside single quotes.
	var cur strings.Builder
	quoted := false
	for _, r := range rest {
		switch {
		case r == '\'':
			quoted = !quoted
		case r == ' ' && !quoted:
			if cur.Len() > 0 {
				args = append(args, cur.String())
				cur.Reset()
			}
		default:
			cur.WriteRune(r)
		}
	}
	if cur.Len() > 0 {
		args = append(args, cur.String())
	}
	return args
}

// withID replaces the README's example workflow id.
func withID(args []string, id string) []string {
	out := slices.Clone(args)
	for i := range out {
		if i > 0 && out[i-1] == "--workflow-id" {
			out[i] = id
		}
	}
	return out
}

// Quorum 2 on a real server: a refused decision by update and one by
// signal, one approval by the starter's update and one by the official
// temporal CLI's signal; the inbox search finds the instance while open and
// not after; the audit shows every signalled attempt with actor and result.
func TestGovernedDecisionsEndToEnd(t *testing.T) {
	app := uniq("G")
	id := "loan-" + app
	starter(t, "start", "loan", "--id", app, "--applicant", "C-1002", "--amount", "150000", "--term-months", "36")

	inbox := "PendingRoles = 'underwriter' AND WorkflowId = '" + id + "'"
	eventually(t, "the inbox search to find "+id, func() bool { return len(listIDs(t, inbox)) == 1 })
	out, err := temporalCLI(t, "workflow", "list", "--query", "PendingRoles='underwriter'")
	if err != nil || !strings.Contains(out, id) {
		t.Fatalf("temporal workflow list by PendingRoles: %v\n%s", err, out)
	}

	// Refused by update: the caller hears why; nothing reaches history.
	r := runBin(t, "starter", "approve", id, "--as", "fay")
	if r.code != 3 || !strings.Contains(r.stderr, `fay may not decide task "underwriting": needs role underwriter`) {
		t.Fatalf("fay's approval: exit %d %s", r.code, r.stderr)
	}
	// Refused by signal: audited as decision-refused.
	if out, err := temporalCLI(t, "workflow", "signal", "--workflow-id", id, "--name", "decision",
		"--input", `{"taskId":"underwriting","verdict":"approve","actor":"sam"}`); err != nil {
		t.Fatalf("signal: %v %s", err, out)
	}
	if got := starter(t, "approve", id, "--as", "ana", "--comment", "income verified"); !strings.Contains(got, "accepted: 1 of 2 approvals") {
		t.Fatalf("ana: %s", got)
	}
	// Still open after one of two approvals.
	if len(listIDs(t, inbox)) != 1 {
		t.Fatal("the instance left the inbox after one of two approvals")
	}
	cmd := withID(readmeCommand(t, "signal"), id)
	cmd = replaceActor(cmd, "ben")
	if out, err := temporalCLI(t, cmd...); err != nil {
		t.Fatalf("README signal command %v: %v\n%s", cmd, err, out)
	}

	res := outcomeOf(t, id)
	if res["outcome"] != "approved" || res["handlingPath"] != "manual" {
		t.Fatalf("result = %v", res)
	}
	eventually(t, id+" to leave the inbox", func() bool { return len(listIDs(t, inbox)) == 0 })
	saveHistory(t, "loan-four-eyes-update-and-signal", id)

	trail := auditTrail(t, id)
	for _, want := range []struct{ actor, action, detail string }{
		{"sam", audit.ActionDecisionRefused, "needs role underwriter"},
		{"ana", audit.ActionDecisionAccepted, "approve (1 of 2) via update: income verified"},
		{"ben", audit.ActionDecisionAccepted, "approve (2 of 2) via signal"},
		{"system", audit.ActionTaskClosed, "approved: approved by ana, ben"},
	} {
		if !hasEntry(trail, want.actor, want.action, want.detail) {
			t.Errorf("audit lacks %s %s %q", want.actor, want.action, want.detail)
		}
	}
	for _, e := range trail {
		if e.PolicyVersion == "" {
			t.Errorf("entry without policy version: %+v", e)
		}
	}
}

// The README's update command approves with the official CLI, and a refusal
// through it comes back as the policy's reason.
func TestTemporalCLIUpdateDecides(t *testing.T) {
	app := uniq("U")
	id := "loan-" + app
	starter(t, "start", "loan", "--id", app, "--applicant", "C-1002", "--amount", "40000", "--term-months", "36")
	eventually(t, "underwriting to open", func() bool { return len(listIDs(t, "PendingRoles = 'underwriter' AND WorkflowId = '"+id+"'")) == 1 })

	refused := replaceActor(withID(readmeCommand(t, "update execute"), id), "fay")
	out, err := temporalCLI(t, refused...)
	if err == nil || !strings.Contains(out, "needs role underwriter") {
		t.Fatalf("refused update via temporal CLI: err %v\n%s", err, out)
	}
	cmd := withID(readmeCommand(t, "update execute"), id)
	out, err = temporalCLI(t, cmd...)
	if err != nil || !strings.Contains(out, "accepted: approved (1 of 1 approvals)") {
		t.Fatalf("README update command %v: %v\n%s", cmd, err, out)
	}
	if res := outcomeOf(t, id); res["outcome"] != "approved" {
		t.Fatalf("result = %v", res)
	}
}

// replaceActor sets the decision payload's actor.
func replaceActor(args []string, actor string) []string {
	out := slices.Clone(args)
	for i := range out {
		if i > 0 && out[i-1] == "--input" {
			var d map[string]any
			if err := json.Unmarshal([]byte(out[i]), &d); err == nil {
				d["actor"] = actor
				b, _ := json.Marshal(d)
				out[i] = string(b)
			}
		}
	}
	return out
}

// An instance started with the official temporal CLI, without Baton's
// search attributes, still shows in the starter's list and inbox: the
// workflow writes ProcessType and BusinessKey itself.
func TestStartedWithTheTemporalCLI(t *testing.T) {
	app := uniq("T")
	id := "loan-" + app
	out, err := temporalCLI(t, "workflow", "start", "--type", "loan", "--task-queue", "baton", "--workflow-id", id,
		"--input", `{"applicationId":"`+app+`","applicantId":"C-1002","amount":40000,"termMonths":36}`)
	if err != nil {
		t.Fatalf("temporal workflow start: %v\n%s", err, out)
	}
	eventually(t, id+" in the starter's list", func() bool {
		return strings.Contains(starter(t, "list", "--process", "loan", "--open"), id)
	})
	// PendingRoles follows once KYC and credit are done.
	eventually(t, id+" in ana's inbox", func() bool {
		return strings.Contains(starter(t, "tasks", "--user", "ana"), id)
	})
	starter(t, "approve", id, "--as", "ana")
	if res := outcomeOf(t, id); res["outcome"] != "approved" {
		t.Fatalf("result = %v", res)
	}
}
