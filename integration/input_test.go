package integration

import (
	"context"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"go.temporal.io/sdk/client"

	"github.com/batonhq/baton/audit"
	"github.com/batonhq/baton/process"
	"github.com/batonhq/baton/record"
	"github.com/batonhq/baton/workflows"
)

// startDirect starts a process as a client other than the starter would
// (the official CLI, another SDK): no starter-side check runs.
func startDirect(t *testing.T, name string, in process.Input) {
	t.Helper()
	if _, err := env.client.ExecuteWorkflow(context.Background(), client.StartWorkflowOptions{
		ID: in.Key(), TaskQueue: process.DefaultTaskQueue, TypedSearchAttributes: record.StartAttributes(name, in.Key()),
	}, name, in); err != nil {
		t.Fatal(err)
	}
}

// failureOf waits for an instance to fail and returns its failure.
func failureOf(t *testing.T, id string) string {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 90*time.Second)
	defer cancel()
	err := env.client.GetWorkflow(ctx, id, "").Get(ctx, nil)
	if err == nil {
		t.Fatalf("%s completed; want it to fail at validation", id)
	}
	return err.Error()
}

// Input refused by the starter is refused by the workflow for other
// clients, with the same message; and status and audit of an instance that
// failed at input validation (it has no record to query) show the failure
// from its history rather than a raw "unknown queryType".
func TestOtherClientsInputFailsAtValidation(t *testing.T) {
	subCent := &workflows.LoanInput{ApplicationID: uniq("SC"), ApplicantID: "C-1001", Amount: 0.004, TermMonths: 12}
	stranger := &workflows.ExpenseInput{ExpenseID: uniq("ZED"), Requester: "zed", Amount: 300, Category: "travel"}
	unknownApplicant := &workflows.LoanInput{ApplicationID: uniq("UA"), ApplicantID: "C-0000", Amount: 100, TermMonths: 12}
	startDirect(t, workflows.ProcessLoan, subCent)
	startDirect(t, workflows.ProcessExpense, stranger)
	startDirect(t, workflows.ProcessLoan, unknownApplicant)

	if got := failureOf(t, subCent.Key()); !strings.Contains(got, "invalid input: amount: 0.004 is below one cent") {
		t.Errorf("sub-cent loan: %s", got)
	}
	if got := failureOf(t, stranger.Key()); !strings.Contains(got, `invalid input: requester: "zed" is not in the directory`) {
		t.Errorf("unknown requester: %s", got)
	}

	// Applicants are the KYC system's: the loan fails at the identity
	// check, naming the field, recorded in its trail and status.
	if got := failureOf(t, unknownApplicant.Key()); !strings.Contains(got, `invalid input: applicantId: "C-0000" is unknown to the identity check`) {
		t.Errorf("unknown applicant: %s", got)
	}
	mustContain(t, "status", starter(t, "status", unknownApplicant.Key()), "Outcome:         failed", `Failure:         invalid input: applicantId: "C-0000" is unknown`)

	// No record: status and audit read the history.
	status := runBin(t, "starter", "status", subCent.Key())
	if status.code != 0 || strings.Contains(status.stdout+status.stderr, "queryType") {
		t.Fatalf("status: exit %d\n%s%s", status.code, status.stdout, status.stderr)
	}
	mustContain(t, "status", status.stdout, "Execution:       failed", "Outcome:         failed",
		"Failure:         invalid input: amount: 0.004 is below one cent", "Process:         loan")
	var st map[string]any
	if err := json.Unmarshal([]byte(starter(t, "status", subCent.Key(), "-o", "json")), &st); err != nil ||
		!strings.Contains(st["failure"].(string), "0.004 is below one cent") || st["execution"] != "failed" {
		t.Errorf("status json: %v %v", err, st)
	}
	auditOut := runBin(t, "starter", "audit", subCent.Key())
	if auditOut.code != 0 || strings.Contains(auditOut.stdout+auditOut.stderr, "queryType") {
		t.Fatalf("audit: exit %d\n%s%s", auditOut.code, auditOut.stdout, auditOut.stderr)
	}
	mustContain(t, "audit", auditOut.stdout, "no audit trail: "+subCent.Key()+" ended before its record started: invalid input: amount: 0.004")

	// A record exists once the input is valid: the directory refusal is
	// audited and status shows the failed outcome as usual.
	mustContain(t, "status", starter(t, "status", stranger.Key()), "Execution:       failed", "Outcome:         failed")
	if !hasEntry(auditTrail(t, stranger.Key()), "system", audit.ActionFailed, `requester: "zed" is not in the directory`) {
		t.Errorf("directory refusal not audited: %v", auditTrail(t, stranger.Key()))
	}
}

// A comment that carries an ANSI erase-line and a carriage return cannot
// erase or forge a line of the audit table: it is shown escaped.
func TestForgedCommentIsEscapedInTables(t *testing.T) {
	wf := startOpen(t, "loan", "loan-manual.json", uniq("ANSI"))
	waitTask(t, wf)
	forged := "too risky\x1b[2K\r10-01 09:00:00  dan  decision-accepted  approve (1 of 1)"
	starter(t, "reject", wf, "--as", "ana", "--reason", forged)
	if res := outcomeOf(t, wf); res["outcome"] != "declined" {
		t.Fatalf("result = %v", res)
	}
	for _, args := range [][]string{{"audit", wf}, {"status", wf}, {"list", "--process", "loan", "--limit", "500"}} {
		out := starter(t, args...)
		if strings.ContainsAny(out, "\x1b\r") {
			t.Errorf("starter %s prints raw control characters:\n%q", strings.Join(args, " "), out)
		}
		for _, line := range strings.Split(out, "\n") {
			if strings.HasPrefix(line, "10-01 09:00:00") {
				t.Errorf("starter %s shows a forged line: %q", strings.Join(args, " "), line)
			}
		}
	}
	mustContain(t, "audit", starter(t, "audit", wf), `too risky\x1b[2K\r10-01`)
	// The trail itself keeps the comment as given (-o json escapes it).
	if !hasEntry(auditTrail(t, wf), "ana", "decision-accepted", forged) {
		t.Error("the comment was not recorded as given")
	}
}

// An unknown key in the config file is named, in one line, by the worker
// and the starter alike.
func TestConfigUnknownKeyIsNamed(t *testing.T) {
	file := filepath.Join(t.TempDir(), "baton.yaml")
	if err := os.WriteFile(file, []byte("temporal:\n  adress: localhost:7233\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	want := `config file ` + file + `: unknown key "temporal.adress" (did you mean "temporal.address"?)`
	if r := runWorkerOnce(t, "BATON_CONFIG="+file); r.code == 0 || r.stderr != "worker: "+want+"\n" {
		t.Errorf("worker: exit %d, stderr %q; want one line %q", r.code, r.stderr, want)
	}
	wantExit(t, runBin(t, "starter", "--config", file, "list"), 2, want)
	wantExit(t, runBin(t, "starter", "--config", file, "start", "expense", "--file", "examples/expense-small.json"), 2, want)
}

// Terminating an instance cannot be vetoed by Baton (only the server's
// authorisation can), but status names who did it and why, from the
// history, escaped.
func TestStatusNamesWhoTerminated(t *testing.T) {
	wf := startOpen(t, "loan", "loan-manual.json", uniq("TERM"))
	waitTask(t, wf)
	if err := env.client.TerminateWorkflow(context.Background(), wf, "", "approved offline\x1b[1A"); err != nil {
		t.Fatal(err)
	}
	eventually(t, wf+" terminated", func() bool {
		return strings.Contains(starter(t, "status", wf), "Execution:       terminated")
	})
	mustContain(t, "status", starter(t, "status", wf), "Failure:         terminated by ", `: approved offline\x1b[1A`)
}
