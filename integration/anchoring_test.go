package integration

import (
	"context"
	"crypto/ed25519"
	"crypto/rand"
	"encoding/base64"
	"encoding/binary"
	"encoding/hex"
	"encoding/json"
	"errors"
	"os"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/batonhq/baton/audit"

	"github.com/jackc/pgx/v5"
	"go.temporal.io/api/serviceerror"

	"github.com/batonhq/baton/internal/auditstore"
)

// verifyDoc is the part of starter audit --verify -o json these tests read.
type verifyJSON struct {
	OK        bool `json:"ok"`
	Anchoring struct {
		Log      string               `json:"log"`
		Anchored int                  `json:"anchored"`
		Pending  int                  `json:"pending"`
		Problems []auditstore.Problem `json:"problems"`
	} `json:"anchoring"`
	Chain auditstore.ChainReport `json:"chain"`
}

// anchored waits until every entry of id is anchored in the log.
func anchored(t *testing.T, id string) verifyJSON {
	t.Helper()
	var doc verifyJSON
	deadline := time.Now().Add(30 * time.Second)
	for {
		r := runBin(t, "starter", "audit", "--verify", id, "-o", "json")
		doc = verifyJSON{}
		_ = json.Unmarshal([]byte(r.stdout), &doc)
		if r.code == 0 && doc.Anchoring.Log == "checked" && doc.Anchoring.Pending == 0 && doc.Anchoring.Anchored == doc.Chain.Entries && doc.Chain.Entries > 0 {
			return doc
		}
		if time.Now().After(deadline) {
			t.Fatalf("%s not anchored: exit %d\n%s\n%s\nanchor log:\n%s", id, r.code, r.stdout, r.stderr, tail(env.audit.anchorLog.String(), 2000))
		}
		time.Sleep(300 * time.Millisecond)
	}
}

// deleteHistory deletes an instance's history, as retention would.
func deleteHistory(t *testing.T, id string) {
	t.Helper()
	if out, err := temporalCLI(t, "workflow", "delete", "--workflow-id", id); err != nil {
		t.Fatalf("temporal workflow delete %s: %v\n%s", id, err, out)
	}
}

// historyGone waits until a deleted history is gone (deletion is
// asynchronous).
func historyGone(t *testing.T, id string) {
	t.Helper()
	deadline := time.Now().Add(90 * time.Second)
	for {
		_, err := env.client.DescribeWorkflowExecution(context.Background(), id, "")
		var nf *serviceerror.NotFound
		if errors.As(err, &nf) {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("%s's history is not deleted: %v", id, err)
		}
		time.Sleep(500 * time.Millisecond)
	}
}

// asOwner runs the attack's statements as the table owner, who can turn
// the append-only triggers off.
func asOwner(t *testing.T, stmts ...string) {
	t.Helper()
	ctx := context.Background()
	conn, err := pgx.Connect(ctx, env.auditDSNs.Owner)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close(ctx)
	all := append(append([]string{`ALTER TABLE audit_entries DISABLE TRIGGER USER`, `ALTER TABLE audit_heads DISABLE TRIGGER USER`}, stmts...),
		`ALTER TABLE audit_entries ENABLE TRIGGER USER`, `ALTER TABLE audit_heads ENABLE TRIGGER USER`)
	for _, q := range all {
		if _, err := conn.Exec(ctx, q); err != nil {
			t.Fatalf("%s: %v", q, err)
		}
	}
}

// recompute rewrites, as the owner, every hash of id's chain from its
// first entry and its head, so that the chain alone is consistent again
// (the attestations stay: only the worker's key could make new ones).
func recompute(t *testing.T, id string) {
	t.Helper()
	ctx := context.Background()
	st, err := auditstore.Open(ctx, env.auditDSNs.Owner)
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	recs, err := st.Trail(ctx, id)
	if err != nil {
		t.Fatal(err)
	}
	prev := audit.GenesisHash
	var stmts []string
	for i, r := range recs {
		pos := int64(i + 1)
		h := audit.ChainHash(prev, pos, r.Entry)
		stmts = append(stmts, "UPDATE audit_entries SET pos = "+itoa(pos)+", prev_hash = '\\x"+hex.EncodeToString(prev)+"', hash = '\\x"+hex.EncodeToString(h)+
			"' WHERE workflow_id = '"+id+"' AND hash = '\\x"+r.Hash+"'")
		prev = h
	}
	stmts = append(stmts, "UPDATE audit_heads SET pos = "+itoa(int64(len(recs)))+", hash = '\\x"+hex.EncodeToString(prev)+"' WHERE workflow_id = '"+id+"'")
	asOwner(t, stmts...)
}

func itoa(n int64) string { b, _ := json.Marshal(n); return string(b) }

// forger is an attestor with a key of the writer's name that is not the
// writer's: what someone with the worker's database rights, but not its
// key, can make.
type forger struct{ key ed25519.PrivateKey }

func (f forger) Attest(hash []byte) (string, error) {
	sig := ed25519.Sign(f.key, []byte("baton-audit-entry/v1\n"+hex.EncodeToString(hash)+"\n"))
	return "baton-audit-writer " + base64.StdEncoding.EncodeToString(append(binary.BigEndian.AppendUint32(nil, 0x01020304), sig...)), nil
}

// Every way to change a finished instance's trail that someone with the
// worker's database rights, or the table owner, has is detected by
// starter audit --verify ID with the history deleted, and by the sweep,
// naming the instance, the position and what is wrong.
func TestTamperingIsDetectedWithTheHistoryGone(t *testing.T) {
	attacks := []struct {
		name string
		do   func(t *testing.T, id string, recs []audit.Stored)
		kind string
		pos  func(n int) int64
	}{
		{"append a row with the worker's rights", func(t *testing.T, id string, recs []audit.Stored) {
			_, key, _ := ed25519.GenerateKey(rand.Reader)
			st, err := auditstore.Open(context.Background(), env.auditDSN)
			if err != nil {
				t.Fatal(err)
			}
			defer st.Close()
			st.SetAttestor(forger{key})
			last := recs[len(recs)-1].Entry
			last.Seq, last.Actor, last.Action, last.Details = last.Seq+1, "ana", "decision-accepted", "approve (1 of 1): looks fine"
			if _, err := st.Append(context.Background(), []audit.Entry{last}); err != nil {
				t.Fatal(err)
			}
		}, "forged", func(n int) int64 { return int64(n + 1) }},
		{"rewrite a row as the owner", func(t *testing.T, id string, recs []audit.Stored) {
			asOwner(t, "UPDATE audit_entries SET details = 'declined: income not verified' WHERE workflow_id = '"+id+"' AND pos = 2")
		}, "differs-from-log", func(int) int64 { return 2 }},
		{"reorder two rows", func(t *testing.T, id string, recs []audit.Stored) {
			asOwner(t, "UPDATE audit_entries SET pos = pos + 1000 WHERE workflow_id = '"+id+"' AND pos IN (2, 3)",
				"UPDATE audit_entries SET pos = CASE pos WHEN 1002 THEN 3 ELSE 2 END WHERE workflow_id = '"+id+"' AND pos > 1000")
		}, "differs-from-log", func(int) int64 { return 2 }},
		{"truncate the tail and its head", func(t *testing.T, id string, recs []audit.Stored) {
			n := len(recs)
			asOwner(t, "DELETE FROM audit_entries WHERE workflow_id = '"+id+"' AND pos >= "+itoa(int64(n-1)),
				"UPDATE audit_heads SET pos = "+itoa(int64(n-2))+", hash = '\\x"+recs[n-3].Hash+"' WHERE workflow_id = '"+id+"'")
		}, "missing-from-store", func(n int) int64 { return int64(n - 1) }},
		{"delete the whole trail", func(t *testing.T, id string, recs []audit.Stored) {
			asOwner(t, "DELETE FROM audit_entries WHERE workflow_id = '"+id+"'", "DELETE FROM audit_heads WHERE workflow_id = '"+id+"'")
		}, "missing-from-store", func(int) int64 { return 1 }},
		{"edit a row and recompute the chain and head", func(t *testing.T, id string, recs []audit.Stored) {
			asOwner(t, "UPDATE audit_entries SET details = 'declined: income not verified' WHERE workflow_id = '"+id+"' AND pos = 2")
			recompute(t, id)
		}, "differs-from-log", func(int) int64 { return 2 }},
		{"delete a row with the triggers disabled", func(t *testing.T, id string, recs []audit.Stored) {
			asOwner(t, "DELETE FROM audit_entries WHERE workflow_id = '"+id+"' AND pos = 3")
			recompute(t, id)
		}, "differs-from-log", func(int) int64 { return 3 }},
	}
	ids := make([]string, len(attacks)+1) // the last one is left alone
	var wg sync.WaitGroup
	for i := range ids {
		ids[i] = "loan-" + uniq("TM")
		wg.Add(1)
		go func() {
			defer wg.Done()
			startWait(t, "loan", "loan-auto-approve.json", strings.TrimPrefix(ids[i], "loan-"))
		}()
	}
	wg.Wait()
	docs := make([]verifyJSON, len(ids))
	intact := ids[len(attacks)]
	docs[len(attacks)] = anchored(t, intact)
	deleteHistory(t, intact)
	for i, id := range ids[:len(attacks)] {
		docs[i] = anchored(t, id)
		deleteHistory(t, id)
	}
	for i, a := range attacks {
		id, doc := ids[i], docs[i]
		historyGone(t, id)
		recs, err := auditStore(t).Trail(context.Background(), id)
		if err != nil || len(recs) < 4 {
			t.Fatalf("%s: %d entries, %v", id, len(recs), err)
		}
		a.do(t, id, recs)
		t.Run(a.name, func(t *testing.T) {
			r := runBin(t, "starter", "audit", "--verify", id)
			want := a.kind + " at " + itoa(a.pos(doc.Chain.Entries))
			if r.code != 5 || !strings.Contains(r.stdout, want) {
				t.Errorf("--verify %s: exit %d, want 5 naming %q\n%s%s", id, r.code, want, r.stdout, r.stderr)
			}
		})
	}
	r := runBin(t, "starter", "audit", "--verify", "--since", "30d")
	if r.code != 5 {
		t.Errorf("sweep: exit %d, want 5\n%s%s", r.code, r.stdout, r.stderr)
	}
	for i, a := range attacks {
		if !strings.Contains(r.stdout, ids[i]+": "+a.kind) {
			t.Errorf("the sweep does not name %s (%s) with %s:\n%s", ids[i], a.name, a.kind, r.stdout)
		}
	}
	historyGone(t, intact)
	if strings.Contains(r.stdout, intact) {
		t.Errorf("the sweep names %s, which nobody touched:\n%s", intact, r.stdout)
	}
	if r := runBin(t, "starter", "audit", "--verify", intact); r.code != 0 || !strings.Contains(r.stdout, "history: gone") {
		t.Errorf("--verify %s (untouched, history deleted): exit %d\n%s%s", intact, r.code, r.stdout, r.stderr)
	}
}

// A completed instance planted with the worker's database rights (but not
// its key) changes neither starter whatif, report, discover nor
// conformance in silence: whatif lists it as not evaluated, saying why;
// report leaves it out of the cycle times, discover and conformance out
// of their analysis, and each says so.
func TestForgedCompletedRowsAreLeftOutOfWhatifAndReport(t *testing.T) {
	_, key, _ := ed25519.GenerateKey(rand.Reader)
	st, err := auditstore.Open(context.Background(), env.auditDSN)
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	st.SetAttestor(forger{key})
	app := uniq("FG")
	id := "loan-" + app
	now := time.Now().UTC()
	base := audit.Entry{WorkflowID: id, RunID: "forged-run", Process: "loan", BusinessKey: id, Source: audit.SourceWorkflow, Actor: "system"}
	started, completed := base, base
	started.Seq, started.Time, started.Action, started.Details = 1, now.Add(-90*time.Minute), audit.ActionStarted, "application for 900,000.00"
	completed.Seq, completed.Time, completed.Action, completed.Details = 2, now.Add(-time.Minute), audit.ActionCompleted, "approved"
	completed.Data = json.RawMessage(`{"path":"automated","outcome":"approved","decision":"approve","facts":{"score":800,"amount":900000}}`)
	if _, err := st.Append(context.Background(), []audit.Entry{started, completed}); err != nil {
		t.Fatal(err)
	}
	out := starter(t, "whatif", "--policy", "config/policy.yaml", "--since", "1h", "-o", "json")
	var rep struct {
		Processes []whatifProcess `json:"processes"`
	}
	if err := json.Unmarshal([]byte(out), &rep); err != nil {
		t.Fatalf("%v\n%s", err, out)
	}
	found := false
	for _, p := range rep.Processes {
		for _, s := range p.NotEvaluated {
			if s.BusinessKey == id && strings.Contains(s.Reason, "fails verification") && strings.Contains(s.Reason, "forged") {
				found = true
			}
		}
		for _, in := range p.Instances {
			if in.BusinessKey == id {
				t.Errorf("whatif evaluated the forged instance: %+v", in)
			}
		}
	}
	if !found {
		t.Errorf("whatif does not list %s as not evaluated for failing verification:\n%s", id, out)
	}
	r := runBin(t, "starter", "report", "--since", "2h", "-o", "json")
	if r.code != 0 || !strings.Contains(r.stderr, "fail verification and are left out of the cycle times") || !strings.Contains(r.stderr, id) {
		t.Errorf("report: exit %d, stderr:\n%s", r.code, r.stderr)
	}
	for _, command := range []string{"discover", "conformance"} {
		r := runBin(t, "starter", command, "--since", "2h", "-o", "json")
		var doc struct {
			LeftOut []struct {
				WorkflowID string `json:"workflowId"`
				Kind       string `json:"kind"`
			} `json:"leftOut"`
		}
		if err := json.Unmarshal([]byte(r.stdout), &doc); err != nil || (r.code != 0 && r.code != 6) {
			t.Errorf("%s: exit %d, %v\n%s%s", command, r.code, err, r.stdout, r.stderr)
			continue
		}
		if !strings.Contains(r.stderr, "fail verification and are left out of the analysis") ||
			len(doc.LeftOut) == 0 || doc.LeftOut[0].WorkflowID != id || doc.LeftOut[0].Kind != "forged" {
			t.Errorf("%s does not leave %s out, saying so: left out %+v, stderr:\n%s", command, id, doc.LeftOut, r.stderr)
		}
		if n := strings.Count(r.stdout, id); n != 1 {
			t.Errorf("%s names the forged instance %d times (once: left out): %s", command, n, r.stdout)
		}
	}
}

// An auditor's evidence pack: written by starter audit ID --evidence,
// checked by starter verify-evidence with no Temporal and no database;
// an edited pack fails naming the first bad item.
func TestEvidencePackOfADecidedLoan(t *testing.T) {
	app := uniq("EV")
	id := startOpen(t, "loan", "loan-manual.json", app)
	waitTask(t, id)
	starter(t, "approve", id, "--as", "ana", "--comment", "income verified")
	if res := outcomeOf(t, id); res["outcome"] != "approved" {
		t.Fatalf("result = %v", res)
	}
	anchored(t, id)
	file := writeTemp(t, "")
	out := starter(t, "audit", id, "--evidence", file)
	mustContain(t, "--evidence", out, "evidence pack for "+id+" written to "+file, "it verifies offline")
	offline := []string{"BATON_AUDIT_DSN=postgres://nobody@127.0.0.1:1/none?connect_timeout=1", "TEMPORAL_ADDRESS=127.0.0.1:1", "BATON_AUDIT_LOG_URL=http://127.0.0.1:1"}
	r := runBinEnv(t, "starter", offline, "verify-evidence", file)
	if r.code != 0 {
		t.Fatalf("verify-evidence: exit %d\n%s%s", r.code, r.stdout, r.stderr)
	}
	mustContain(t, "verify-evidence", r.stdout, "ok   checkpoint", "ok   entries", "ok   anchoring", "ok   policies", "1 pinned policy text", "verified: "+id)
	// The pinned policy's text travels with it; the decision is noted when
	// its entry does not carry the signed decision.
	data, err := os.ReadFile(file)
	if err != nil {
		t.Fatal(err)
	}
	edited := strings.Replace(string(data), `"actor":"ana"`, `"actor":"ben"`, 1)
	if edited == string(data) {
		t.Fatalf("the pack has no decision by ana:\n%s", data)
	}
	if err := os.WriteFile(file, []byte(edited), 0o600); err != nil {
		t.Fatal(err)
	}
	r = runBinEnv(t, "starter", offline, "verify-evidence", file)
	if r.code != 5 || !strings.Contains(r.stderr, ": entry ") || !strings.Contains(r.stdout, "FAIL entry") {
		t.Errorf("edited pack: exit %d\n%s%s", r.code, r.stdout, r.stderr)
	}
}
