package integration

import (
	"crypto/ed25519"
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
