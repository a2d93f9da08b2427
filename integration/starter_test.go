package integration

import (
	"context"
	"encoding/json"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/batonhq/baton/workflows"
)

func wantExit(t *testing.T, r result, code int, stderrPart string) {
	t.Helper()
	if r.code != code || !strings.Contains(r.stderr, stderrPart) {
		t.Errorf("exit %d, stderr %q; want exit %d mentioning %q", r.code, r.stderr, code, stderrPart)
	}
	if strings.Contains(r.stderr, "goroutine ") || strings.Contains(r.stderr, "rpc error") {
		t.Errorf("stderr leaks internals: %s", r.stderr)
	}
	if n := strings.Count(strings.TrimSpace(r.stderr), "\n"); n > 0 {
		t.Errorf("stderr is %d lines, want one: %s", n+1, r.stderr)
	}
}

// Input that must be refused before anything starts: exit 2, one line
// naming the field (issue 10). Nothing is started for any of them.
func TestStartInputErrors(t *testing.T) {
	malformed := writeTemp(t, "{\n  \"applicationId\": \"A-1\",\n  \"amount\": 12,,\n}")
	wrongType := writeTemp(t, `{"applicationId": "A-1", "amount": "lots"}`)
	unknownField := writeTemp(t, `{"applicationId": "A-1", "amont": 10}`)
	loan := `{"applicationId": "IN-%d", "applicantId": "C-1001", "amount": 100, "termMonths": 12}`
	trailing := writeTemp(t, fmt.Sprintf(loan, 1)+`{"amount": 9000000}`)
	duplicate := writeTemp(t, `{"applicationId": "IN-2", "applicantId": "C-1001", "amount": 100, "amount": 9000000, "termMonths": 12}`)
	badUTF8 := writeTemp(t, "{\"applicationId\": \"IN-3\", \"applicantId\": \"C-1001\", \"amount\": 100, \"termMonths\": 12, \"purpose\": \"car\xff\"}")
	escape := writeTemp(t, `{"applicationId": "IN-8", "applicantId": "C-1001", "amount": 100, "termMonths": 12, "purpose": "car\u001b[2K\rforged"}`)
	flags := []string{"start", "loan", "--applicant", "C-1001", "--term-months", "12", "--id", "IN-4", "--amount"}
	cases := []struct {
		name string
		args []string
		env  []string
		code int
		want string
	}{
		{"malformed JSON names line and column", []string{"start", "loan", "--file", malformed}, nil, 2, malformed + ":3:16: input: malformed JSON"},
		{"wrong type names the field", []string{"start", "loan", "--file", wrongType}, nil, 2, "amount: want a number, got JSON string"},
		{"unknown field", []string{"start", "loan", "--file", unknownField}, nil, 2, "amont: unknown key"},
		{"trailing data after the object", []string{"start", "loan", "--file", trailing}, nil, 2, "input: unexpected data after the JSON object"},
		{"duplicate key", []string{"start", "loan", "--file", duplicate}, nil, 2, ": amount: duplicate key"},
		{"invalid UTF-8", []string{"start", "loan", "--file", badUTF8}, nil, 2, ": purpose: invalid UTF-8"},
		{"control characters in text", []string{"start", "loan", "--file", escape}, nil, 2, "invalid loan input: purpose: control characters and invalid UTF-8 are not allowed"},
		{"amount NaN", append(flags, "NaN"), nil, 2, "invalid loan input: amount: NaN is not an amount of money"},
		{"amount Inf", append(flags, "Inf"), nil, 2, "invalid loan input: amount: +Inf is not an amount of money"},
		{"amount below one cent", append(flags, "0.001"), nil, 2, "invalid loan input: amount: 0.001 is below one cent"},
		{"negative amount", append(flags, "-3"), nil, 2, "invalid loan input: amount: -3 is below one cent"},
		{"unknown process", []string{"start", "mortgage"}, nil, 2, `unknown process "mortgage": one of ` + strings.Join(workflows.Catalog().Names(), ", ")},
		{"flag of another process", []string{"start", "loan", "--card", "4111"}, nil, 2, "--card does not apply to loan"},
		{"manager not in the directory", []string{"start", "onboarding", "--file", "examples/onboarding.json", "--manager", "zed"}, nil, 2, `invalid onboarding input: manager: "zed" is not in the directory`},
		{"requester not in the directory", []string{"start", "expense", "--file", "examples/expense-small.json", "--id", "IN-5", "--requester", "zed"}, nil, 2, `invalid expense input: requester: "zed" is not in the directory`},
		{"missing policy file", []string{"start", "expense", "--file", "examples/expense-small.json", "--id", "IN-6"}, []string{"BATON_POLICY_FILE=nope.yaml"}, 2, "policy.file: policy: read nope.yaml"},
		{"missing file", []string{"start", "expense", "--file", "nope.json"}, nil, 2, "--file: open nope.json"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			wantExit(t, runBinEnv(t, "starter", tc.env, tc.args...), tc.code, tc.want)
		})
	}
	// Nothing started: the ids the refused inputs carried are unknown.
	for _, id := range []string{"loan-IN-1", "loan-IN-2", "loan-IN-3", "loan-IN-4", "expense-IN-5", "expense-IN-6", "loan-IN-8"} {
		if _, err := env.client.DescribeWorkflowExecution(context.Background(), id, ""); err == nil {
			t.Errorf("%s was started from refused input", id)
		}
	}
}

// Standard input is decoded as strictly as a file.
func TestStartFromStandardInput(t *testing.T) {
	r := runBinStdin(t, `{"applicationId": "IN-7", "applicantId": "C-1001", "amount": 100, "termMonths": 12} {"amount": 1}`, "starter", "start", "loan", "--file", "-")
	wantExit(t, r, 2, "stdin:1:85: input: unexpected data after the JSON object")
}

func TestStartTwiceIsRefused(t *testing.T) {
	id := uniq("D")
	out := starter(t, "start", "loan", "--file", "examples/loan-manual.json", "--id", id)
	if !strings.Contains(out, "started loan-"+id) || !strings.Contains(out, "/namespaces/"+env.namespace+"/workflows/loan-"+id) {
		t.Errorf("start output = %s", out)
	}
	wantExit(t, runBin(t, "starter", "start", "loan", "--file", "examples/loan-manual.json", "--id", id), 1, "loan-"+id+" already exists")
	starter(t, "withdraw", "loan-"+id, "--by", "C-1002", "--reason", "test cleanup")
	if res := outcomeOf(t, "loan-"+id); res["outcome"] != "withdrawn" {
		t.Fatalf("withdraw: %v", res)
	}
}

func TestCommandErrorClasses(t *testing.T) {
	cases := []struct {
		name string
		args []string
		code int
		want string
	}{
		{"approve without --as", []string{"approve", "loan-x"}, 2, "--as: who decides is required"},
		{"reject without --reason", []string{"reject", "loan-x", "--as", "ana"}, 2, "--reason: required to reject"},
		{"delegate without --to", []string{"delegate", "loan-x", "--as", "ana"}, 2, "--to: required to delegate"},
		{"approve unknown workflow", []string{"approve", "loan-nope", "--as", "ana"}, 4, "loan-nope: no such workflow"},
		{"status unknown workflow", []string{"status", "loan-nope"}, 4, "loan-nope: no such workflow"},
		{"audit unknown workflow", []string{"audit", "loan-nope"}, 4, "loan-nope: no such workflow"},
		{"withdraw an order", []string{"withdraw", "order-O-1"}, 2, "withdraw applies to loan instances"},
		{"cancel unknown order", []string{"cancel", "order-nope", "--by", "K-1"}, 4, "order-nope: no such workflow"},
		{"bad output", []string{"list", "-o", "yaml"}, 2, `--output: "yaml" is not one of table, json`},
		{"unknown command", []string{"approvee"}, 2, `unknown command "approvee" for "starter" (did you mean: approve?)`},
		{"unknown user in the inbox", []string{"tasks", "--user", "zed"}, 2, `--user: "zed" is not in the directory`},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			wantExit(t, runBin(t, "starter", tc.args...), tc.code, tc.want)
		})
	}
}

func TestDelegationThroughTheInbox(t *testing.T) {
	id := uniq("DL")
	wf := startOpen(t, "loan", "loan-manual.json", id)
	waitTask(t, wf)
	if got := starter(t, "delegate", wf, "--as", "ana", "--to", "ben"); !strings.Contains(got, "accepted: delegated to ben") {
		t.Fatalf("delegate: %s", got)
	}
	var ana, ben []map[string]any
	_ = json.Unmarshal([]byte(starter(t, "tasks", "--user", "ana", "-o", "json")), &ana)
	_ = json.Unmarshal([]byte(starter(t, "tasks", "--user", "ben", "-o", "json")), &ben)
	if containsWorkflow(ana, wf) || !containsWorkflow(ben, wf) {
		t.Errorf("after delegation: ana sees it %v, ben sees it %v", containsWorkflow(ana, wf), containsWorkflow(ben, wf))
	}
	starter(t, "approve", wf, "--as", "ben")
	if res := outcomeOf(t, wf); res["outcome"] != "approved" {
		t.Fatalf("result = %v", res)
	}
	if !hasEntry(auditTrail(t, wf), "ana", "delegated", "delegated to ben via update") {
		t.Error("delegation not audited")
	}
}

func TestStatusAuditAndListOutput(t *testing.T) {
	id := uniq("ST")
	wf := startOpen(t, "loan", "loan-four-eyes.json", id)
	waitTask(t, wf)
	status := starter(t, "status", wf)
	mustContain(t, "status", status, "Process:         loan", "Stage:           underwriting (3/5)", "Handling path:   manual", "underwriting  0 of 2", "Policy version:  sha256:")
	var st map[string]any
	if err := json.Unmarshal([]byte(starter(t, "status", wf, "-o", "json")), &st); err != nil || st["execution"] != "running" {
		t.Fatalf("status json: %v %v", err, st)
	}
	var tasks string
	eventually(t, wf+" in the underwriters' inbox", func() bool {
		tasks = starter(t, "tasks", "--role", "underwriter")
		return strings.Contains(tasks, wf)
	})
	mustContain(t, "tasks", tasks, "WORKFLOW", wf, "0 of 2", "underwriter", "in 4")
	for _, line := range strings.Split(tasks, "\n") {
		if len(line) > 100 {
			t.Errorf("tasks line wider than 100 columns: %q", line)
		}
	}
	starter(t, "approve", wf, "--as", "ana")
	starter(t, "approve", wf, "--as", "ben")
	outcomeOf(t, wf)
	audit := starter(t, "audit", wf)
	mustContain(t, "audit", audit, "TIME", "ACTOR", "decision-accepted", "ana", "ben", "approve (2 of 2) via update", "policy sha256:")
	for _, line := range strings.Split(audit, "\n") {
		if len([]rune(line)) > 100 {
			t.Errorf("audit line wider than 100 columns: %q", line)
		}
	}

	eventually(t, wf+" listed as closed", func() bool {
		return strings.Contains(starter(t, "list", "--process", "loan", "--closed"), wf)
	})
	if strings.Contains(starter(t, "list", "--process", "loan", "--open"), wf) {
		t.Error("a closed instance is listed as open")
	}
	var rows []map[string]any
	if err := json.Unmarshal([]byte(starter(t, "list", "--process", "loan", "-o", "json", "--limit", "500")), &rows); err != nil {
		t.Fatal(err)
	}
	for _, r := range rows {
		if r["workflowId"] == wf && (r["outcome"] != "approved" || r["handlingPath"] != "manual" || r["stage"] != "completed") {
			t.Errorf("list row = %v", r)
		}
	}
}

func TestDemoPopulatesTheInbox(t *testing.T) {
	var started []map[string]any
	if err := json.Unmarshal([]byte(starter(t, "demo", "-o", "json")), &started); err != nil {
		t.Fatal(err)
	}
	want := 0
	for _, p := range workflows.Catalog().Processes() {
		want += len(p.Demo(func(int) string { return "x" }, time.Now()))
	}
	if len(started) != want {
		t.Fatalf("demo started %d instances, want %d", len(started), want)
	}
	var tag string
	for _, s := range started {
		if id := s["workflowId"].(string); strings.HasPrefix(id, "loan-A-") && strings.HasSuffix(id, "-1") {
			tag = strings.TrimSuffix(strings.TrimPrefix(id, "loan-A-"), "-1")
		}
	}
	eventually(t, "the demo's underwriting tasks in ana's inbox", func() bool {
		out := starter(t, "tasks", "--user", "ana")
		return strings.Contains(out, "loan-A-"+tag+"-2") && strings.Contains(out, "loan-A-"+tag+"-3")
	})
	table := starter(t, "demo")
	mustContain(t, "demo output", table, fmt.Sprintf("started %d instances", want), "starter tasks --user ana", "http://localhost:8233")
}

func TestVersionAndHelp(t *testing.T) {
	if out := starter(t, "version"); !strings.Contains(out, "Temporal Go SDK v1.50.0") {
		t.Errorf("version = %q", out)
	}
	help := starter(t, "--help")
	for _, cmd := range []string{"start", "tasks", "approve", "reject", "delegate", "status", "audit", "list", "report", "withdraw", "cancel", "demo", "ping"} {
		if !strings.Contains(help, "\n  "+cmd+" ") {
			t.Errorf("--help does not list %s", cmd)
		}
	}
}
