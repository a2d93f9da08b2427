package integration

import (
	"context"
	"crypto/ed25519"
	"encoding/base64"
	"encoding/json"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/batonhq/baton/audit"

	"github.com/batonhq/baton/humantask"
	"github.com/batonhq/baton/internal/auditstore"
)

// With requireSignedDecisions, an unsigned or wrongly signed decision is
// refused and one signed with the user's key (starter keygen) is accepted.
func TestSignedDecisionsEndToEnd(t *testing.T) {
	dir := t.TempDir()
	var ana, ben struct {
		KeyFile   string `json:"keyFile"`
		PublicKey string `json:"publicKey"`
	}
	if err := json.Unmarshal([]byte(starter(t, "keygen", "--user", "ana", "--out", filepath.Join(dir, "ana.key"), "-o", "json")), &ana); err != nil {
		t.Fatal(err)
	}
	if err := json.Unmarshal([]byte(starter(t, "keygen", "--user", "ben", "--out", filepath.Join(dir, "ben.key"), "-o", "json")), &ben); err != nil {
		t.Fatal(err)
	}
	if r := runBin(t, "starter", "keygen", "--user", "ana", "--out", ana.KeyFile); r.code != 2 || !strings.Contains(r.stderr, "refusing to overwrite") {
		t.Errorf("keygen over an existing key: exit %d %s", r.code, r.stderr)
	}
	if st, err := os.Stat(ana.KeyFile); err != nil || st.Mode().Perm() != 0o600 {
		t.Errorf("key file mode: %v %v", st, err)
	}
	src, err := os.ReadFile(env.policyFile)
	if err != nil {
		t.Fatal(err)
	}
	pol := strings.Replace(string(src), "requireSignedDecisions: false", "requireSignedDecisions: true", 1)
	pol = strings.Replace(pol, "ana: {name: Ana Alves,     roles: [underwriter]}", "ana: {name: Ana Alves,     roles: [underwriter], publicKey: \""+ana.PublicKey+"\"}", 1)
	// The policy refuses requireSignedDecisions while any user lacks a key:
	// everyone else gets a key nobody holds, ben included.
	pol = keylessUser.ReplaceAllStringFunc(pol, func(line string) string {
		pub, _, _ := ed25519.GenerateKey(nil)
		return strings.TrimSuffix(line, "}") + ", publicKey: \"" + base64.StdEncoding.EncodeToString(pub) + "\"}"
	})
	if !strings.Contains(pol, ana.PublicKey) || !strings.Contains(pol, "requireSignedDecisions: true") {
		t.Fatal("policy fixture drifted from config/policy.yaml")
	}
	polFile := filepath.Join(dir, "policy.yaml")
	if err := os.WriteFile(polFile, []byte(pol), 0o644); err != nil {
		t.Fatal(err)
	}
	r := newNamespaceWorker(t, "signed", "BATON_POLICY_FILE="+polFile)

	app := uniq("S")
	wf := "loan-" + app
	r.starter(t, "start", "loan", "--file", "examples/loan-manual.json", "--id", app)
	waitTask(t, wf, "--namespace", r.ns)
	ns := []string{"--namespace", r.ns}
	wantExit(t, runBin(t, "starter", append([]string{"approve", wf, "--as", "ana"}, ns...)...), 3, "signature: the policy requires signed decisions")
	wantExit(t, runBin(t, "starter", append([]string{"approve", wf, "--as", "ana", "--key", ben.KeyFile}, ns...)...), 3, "signature: does not verify for ana")
	wantExit(t, runBin(t, "starter", append([]string{"approve", wf, "--as", "ben", "--key", ben.KeyFile}, ns...)...), 3, "signature: does not verify for ben")
	if out := r.starter(t, "approve", wf, "--as", "ana", "--key", ana.KeyFile); !strings.Contains(out, "accepted: approved (1 of 1 approvals)") {
		t.Fatalf("signed approval: %s", out)
	}
	r.wait(t, wf)

	// An auditor checks the signature from the store's entry alone: the
	// decision as received and its task's subject are its data.
	st, err := auditstore.Open(context.Background(), r.dsn)
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	recs, err := st.Trail(context.Background(), wf)
	if err != nil {
		t.Fatal(err)
	}
	verified := false
	for _, rec := range recs {
		if rec.Action != audit.ActionDecisionAccepted {
			continue
		}
		var data struct {
			Decision humantask.Decision `json:"decision"`
			Subject  humantask.Subject  `json:"subject"`
		}
		if err := json.Unmarshal(rec.Data, &data); err != nil {
			t.Fatalf("decision entry data %q: %v", rec.Data, err)
		}
		pub, _ := base64.StdEncoding.DecodeString(ana.PublicKey)
		sig, _ := base64.StdEncoding.DecodeString(data.Decision.Signature)
		verified = data.Subject.WorkflowID == wf && ed25519.Verify(pub, humantask.SigningBytes(data.Subject, data.Decision), sig)
	}
	if !verified {
		t.Errorf("ana's signature does not verify from the store's entry")
	}

	// The attack: the signed approval, as history shows it to someone who
	// may decode it (the codec server's token), replayed on the same ID
	// re-started for a much larger amount.
	cli := func(args ...string) (string, error) {
		out, err := exec.Command(env.temporal, append(args, "--address", env.address, "--namespace", r.ns)...).CombinedOutput()
		return string(out), err
	}
	hist, err := cli("workflow", "show", "--workflow-id", wf, "-o", "json", "--codec-endpoint", env.codecURL, "--codec-auth", "Bearer "+env.codecToken)
	if err != nil {
		t.Fatalf("workflow show: %v\n%s", err, hist)
	}
	data := findAcceptedUpdateInput(hist)
	if data == "" {
		t.Fatalf("no signed decision in the history:\n%.3000s", hist)
	}
	captured, err := base64.StdEncoding.DecodeString(data)
	if err != nil || !strings.Contains(string(captured), `"signature"`) {
		t.Fatalf("captured decision: %v %s", err, captured)
	}
	if out, err := cli("workflow", "start", "--type", "loan", "--task-queue", "baton", "--workflow-id", wf,
		"--input", `{"applicationId":"`+app+`","applicantId":"C-1002","amount":90000,"termMonths":48}`); err != nil {
		t.Fatalf("re-start with the temporal CLI: %v\n%s", err, out)
	}
	// The key has ended: the re-started run refuses at once, so there is
	// no task to replay the signature on (a reset run's task has another
	// run in its subject: see the unit tests).
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	if err := r.client.GetWorkflow(ctx, wf, "").Get(ctx, nil); err == nil || !strings.Contains(err.Error(), "never runs again") {
		t.Fatalf("the re-started instance: %v", err)
	}
}

// keylessUser matches a directory line without a publicKey.
var keylessUser = regexp.MustCompile(`(?m)^  [a-z]+: \{name: [^}]*roles: \[[^\]]*\]\}`)

// findAcceptedUpdateInput returns the first accepted update's payload data
// (base64) in a history printed as JSON.
func findAcceptedUpdateInput(hist string) string {
	var doc any
	if err := json.Unmarshal([]byte(hist), &doc); err != nil {
		return ""
	}
	var walk func(v any) string
	walk = func(v any) string {
		switch x := v.(type) {
		case map[string]any:
			if req, ok := x["acceptedRequest"].(map[string]any); ok {
				in, _ := req["input"].(map[string]any)
				args, _ := in["args"].(map[string]any)
				if ps, _ := args["payloads"].([]any); len(ps) > 0 {
					if p, ok := ps[0].(map[string]any); ok {
						d, _ := p["data"].(string)
						return d
					}
				}
			}
			for _, c := range x {
				if d := walk(c); d != "" {
					return d
				}
			}
		case []any:
			for _, c := range x {
				if d := walk(c); d != "" {
					return d
				}
			}
		}
		return ""
	}
	return walk(doc)
}
