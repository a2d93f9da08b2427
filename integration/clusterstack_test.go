package integration

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"io"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"google.golang.org/protobuf/encoding/protojson"

	"github.com/batonhq/baton/codec"
)

// clusterEnv reads the settings scripts/cluster.sh chose for the cluster
// under test (its cluster.env).
func clusterEnv(t *testing.T) map[string]string {
	t.Helper()
	f, err := os.Open(filepath.Join(env.clusterDir, "cluster.env"))
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	out := map[string]string{}
	for sc := bufio.NewScanner(f); sc.Scan(); {
		if k, v, ok := strings.Cut(sc.Text(), "="); ok {
			out[k] = v
		}
	}
	return out
}

// What make cluster starts beside the server, started by scripts/cluster.sh
// itself on the cluster under test: the codec server and the Web UI
// configured to decode through it, the simulated systems and two workers
// writing the audit trail to the audit database the script creates on the
// cluster's PostgreSQL. The workers poll a task queue of their own, so the
// loan below can only have run on them; its trail is in that database and
// verifies against the history.
func TestMakeClusterStack(t *testing.T) {
	needCluster(t)
	const queue = "baton-cluster-stack"
	script := filepath.Join(env.root, "scripts", "cluster.sh")
	ctl := func(command string) string {
		ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
		defer cancel()
		cmd := exec.CommandContext(ctx, script, command)
		var environ []string
		for _, kv := range os.Environ() {
			if !strings.HasPrefix(kv, "BATON_AUDIT_DSN=") { // the script's own audit database
				environ = append(environ, kv)
			}
		}
		cmd.Env = append(environ, "BATON_CLUSTER_DIR="+env.clusterDir, "BATON_BIN="+env.bin,
			"BATON_CODEC_SERVER_TOKEN_FILE="+env.tokenFile, "BATON_CODEC_KEY_FILE="+env.keyFile,
			"TEMPORAL_NAMESPACE="+env.namespace, "BATON_TASK_QUEUE="+queue, "BATON_POLICY_FILE="+env.policyFile)
		cmd.Dir = env.root
		out, err := cmd.CombinedOutput()
		if err != nil {
			t.Fatalf("cluster.sh %s: %v\n%s", command, err, out)
		}
		return string(out)
	}
	banner := ctl("up-apps")
	t.Cleanup(func() { ctl("down-apps") })
	ce := clusterEnv(t)
	auditDSN := "postgres://baton_reader@127.0.0.1:" + ce["PG_PORT"] + "/baton_audit?sslmode=disable"
	keys := filepath.Join(env.clusterDir, "keys")
	logEnv := []string{"BATON_AUDIT_LOG_URL=http://" + ce["ANCHOR_ADDR"], "BATON_AUDIT_LOG_PUBLIC_KEY=" + keys + "/anchor.key.pub",
		"BATON_AUDIT_WITNESS_PUBLIC_KEYS=" + keys + "/witness.key.pub", "BATON_AUDIT_WRITER_PUBLIC_KEYS=" + keys + "/audit-writer.key.pub",
		"BATON_AUDIT_CHECKPOINT_FILE=" + filepath.Join(t.TempDir(), "checkpoint")}
	for _, want := range append([]string{"BATON_AUDIT_DSN='" + auditDSN + "'"}, logEnv[:4]...) {
		if !strings.Contains(banner, want) {
			t.Errorf("the banner does not tell the starter %s:\n%s", want, banner)
		}
	}

	// The Web UI decodes through the cluster's codec server.
	resp, err := http.Get("http://localhost:" + ce["UI_PORT"] + "/api/v1/settings")
	if err != nil {
		t.Fatal(err)
	}
	var settings struct{ Codec struct{ Endpoint string } }
	err = json.NewDecoder(resp.Body).Decode(&settings)
	resp.Body.Close()
	want := "http://" + ce["CODEC_ADDR"] + "/t/" + env.codecToken
	if err != nil || settings.Codec.Endpoint != want {
		t.Fatalf("Web UI codec endpoint %q (%v), want %q", settings.Codec.Endpoint, err, want)
	}
	p, err := codec.DataConverter(env.keyring).ToPayload("Jane Applicant")
	if err != nil {
		t.Fatal(err)
	}
	pj, _ := protojson.Marshal(p)
	req, _ := http.NewRequest(http.MethodPost, settings.Codec.Endpoint+"/decode", strings.NewReader(`{"payloads":[`+string(pj)+`]}`))
	uiOrigin := "http://localhost:" + ce["UI_PORT"]
	req.Header.Set("Origin", uiOrigin)
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("X-Namespace", env.namespace)
	resp, err = http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK || resp.Header.Get("Access-Control-Allow-Origin") != uiOrigin ||
		!bytes.Contains(body, []byte("IkphbmUgQXBwbGljYW50Ig==")) { // base64 of "\"Jane Applicant\""
		t.Fatalf("the codec server did not decode for the Web UI's origin: %d, allow-origin %q\n%s",
			resp.StatusCode, resp.Header.Get("Access-Control-Allow-Origin"), body)
	}

	// A loan on the script's workers, audited in the script's database.
	id := uniq("CS")
	starterEnv := append([]string{"BATON_TASK_QUEUE=" + queue, "BATON_AUDIT_DSN=" + auditDSN}, logEnv...)
	r := runBinEnv(t, "starter", starterEnv, "start", "loan", "--file", "examples/loan-auto-approve.json", "--id", id, "--wait", "-o", "json")
	if r.code != 0 || !strings.Contains(r.stdout, `"approved"`) {
		t.Fatalf("loan on the cluster's workers: exit %d\n%s\n%s", r.code, r.stdout, r.stderr)
	}
	eventually(t, "the loan's trail in the cluster's audit database", func() bool {
		r = runBinEnv(t, "starter", starterEnv, "audit", "loan-"+id, "--verify")
		return r.code == 0
	})
	eventually(t, "the loan's trail anchored in the cluster's audit log", func() bool {
		r = runBinEnv(t, "starter", starterEnv, "audit", "loan-"+id, "--verify")
		return r.code == 0 && !strings.Contains(r.stdout, "not anchored yet")
	})
	if !strings.Contains(r.stdout, "chain:   intact") || !strings.Contains(r.stdout, "history: matches the store") ||
		!strings.Contains(r.stdout, "signed:  every entry's writer attestation checked") || !strings.Contains(r.stdout, "entries anchored in the log (checkpoint of") {
		t.Fatalf("audit --verify on the cluster's audit database:\n%s\n%s", r.stdout, r.stderr)
	}
}
