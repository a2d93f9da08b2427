package integration

import (
	"encoding/base64"
	"encoding/json"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
)

// With requireSignedDecisions, an unsigned or wrongly signed decision is
// refused and one signed with the user's key (starter keygen) is accepted.
// A signature binds the decision to the run, the task occurrence and the
// facts: captured from history and sent again to an instance re-started
// under the same ID with a bigger amount, it is refused.
func TestSignedDecisionsEndToEnd(t *testing.T) {
	dir := t.TempDir()
	type key struct {
		KeyFile   string `json:"keyFile"`
		PublicKey string `json:"publicKey"`
	}
	src, err := os.ReadFile(env.policyFile)
	if err != nil {
		t.Fatal(err)
	}
	pol := strings.Replace(string(src), "requireSignedDecisions: false", "requireSignedDecisions: true", 1)
	// Every user needs a key under a policy that requires signatures.
	keys := map[string]key{}
	for _, m := range regexp.MustCompile(`(?m)^  ([a-z]+): \{(name: [^}]*)\}`).FindAllStringSubmatch(string(src), -1) {
		var k key
		if err := json.Unmarshal([]byte(starter(t, "keygen", "--user", m[1], "--out", filepath.Join(dir, m[1]+".key"), "-o", "json")), &k); err != nil {
			t.Fatal(err)
		}
		keys[m[1]] = k
		pol = strings.Replace(pol, m[0], "  "+m[1]+": {"+m[2]+", publicKey: \""+k.PublicKey+"\"}", 1)
	}
	ana, ben := keys["ana"], keys["ben"]
	if ana.KeyFile == "" || ben.KeyFile == "" || !strings.Contains(pol, "requireSignedDecisions: true") {
		t.Fatal("policy fixture drifted from config/policy.yaml")
	}
	if r := runBin(t, "starter", "keygen", "--user", "ana", "--out", ana.KeyFile); r.code != 2 || !strings.Contains(r.stderr, "refusing to overwrite") {
		t.Errorf("keygen over an existing key: exit %d %s", r.code, r.stderr)
	}
	if st, err := os.Stat(ana.KeyFile); err != nil || st.Mode().Perm() != 0o600 {
		t.Errorf("key file mode: %v %v", st, err)
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
	if out := r.starter(t, "approve", wf, "--as", "ana", "--key", ana.KeyFile); !strings.Contains(out, "accepted: approved (1 of 1 approvals)") {
		t.Fatalf("signed approval: %s", out)
	}
	r.wait(t, wf)

	// The attack: the signed approval, as history shows it, replayed on
	// the same ID re-started for a much larger amount.
	cli := func(args ...string) (string, error) {
		out, err := exec.Command(env.temporal, append(args, "--address", env.address, "--namespace", r.ns)...).CombinedOutput()
		return string(out), err
	}
	hist, err := cli("workflow", "show", "--workflow-id", wf, "-o", "json")
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
	waitTask(t, wf, "--namespace", r.ns)
	out, err := cli("workflow", "update", "execute", "--workflow-id", wf, "--name", "decide", "--input", string(captured))
	if err == nil || !strings.Contains(out, "signature: does not verify for ana") {
		t.Fatalf("captured signature on the re-started instance: %v\n%s", err, out)
	}
}

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
