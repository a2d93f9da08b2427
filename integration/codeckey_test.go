package integration

import (
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
)

// make codec-key writes a key and a token only where none exists: run again
// it changes nothing, so a running stack keeps reading its data.
func TestMakeCodecKeyIsIdempotent(t *testing.T) {
	dir := t.TempDir()
	make := func() {
		t.Helper()
		cmd := exec.Command("make", "--no-print-directory", "codec-key", "DEV_DIR="+dir)
		cmd.Dir = env.root
		if out, err := cmd.CombinedOutput(); err != nil {
			t.Fatalf("make codec-key: %v\n%s", err, out)
		}
	}
	read := func(name string) string {
		t.Helper()
		b, err := os.ReadFile(filepath.Join(dir, name))
		if err != nil {
			t.Fatal(err)
		}
		return string(b)
	}
	make()
	keys, token := read("codec.keys"), read("codec.token")
	if strings.Count(keys, ":") < 1 || len(strings.TrimSpace(token)) < 16 {
		t.Fatalf("make codec-key wrote keys %q, token %q", keys, token)
	}
	make()
	if read("codec.keys") != keys || read("codec.token") != token {
		t.Errorf("a second make codec-key changed the key file or the token")
	}
	if err := os.Remove(filepath.Join(dir, "codec.token")); err != nil {
		t.Fatal(err)
	}
	make()
	if read("codec.keys") != keys {
		t.Errorf("make codec-key changed the key file while writing a missing token")
	}
}

// A key added while the stack runs (codecserver --new-key) is pending: a
// starter that reads it keeps encrypting with the key the running worker
// knows, so the worker still answers. Activated before the worker was
// restarted, it would not: the starter then says the worker failed the ping
// and why, instead of "no worker answered".
func TestKeyAddedWhileTheStackRunsKeepsItReadable(t *testing.T) {
	rotated := filepath.Join(t.TempDir(), "codec.keys")
	data, err := os.ReadFile(env.keyFile)
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(rotated, data, 0o600); err != nil {
		t.Fatal(err)
	}
	out, err := exec.Command(filepath.Join(env.bin, "codecserver"), "--new-key", rotated).CombinedOutput()
	if err != nil || !strings.Contains(string(out), "as pending") {
		t.Fatalf("codecserver --new-key on a key file in use: %v\n%s", err, out)
	}
	withRotated := []string{"BATON_CODEC_KEY_FILE=" + rotated}
	if r := runBinEnv(t, "starter", withRotated, "ping"); r.code != 0 || !strings.Contains(r.stdout, "worker answered") {
		t.Fatalf("after a key was added, the running worker no longer answers a starter that reads it: exit %d\n%s%s", r.code, r.stdout, r.stderr)
	}

	// The mistake the pending mark prevents: activating the key while the
	// worker still runs without it.
	if out, err := exec.Command(filepath.Join(env.bin, "codecserver"), "--activate-keys", rotated).CombinedOutput(); err != nil {
		t.Fatalf("codecserver --activate-keys: %v\n%s", err, out)
	}
	r := runBinEnv(t, "starter", withRotated, "ping", "--timeout", "5s")
	if r.code == 0 {
		t.Fatalf("a worker without the starter's key answered the ping:\n%s", r.stdout)
	}
	for _, want := range []string{"took the ping on task queue", "but failed it", "do not share their payload keys", "BATON_CODEC_KEY_FILE"} {
		if !strings.Contains(r.stderr, want) {
			t.Errorf("starter ping with a key the worker lacks: %q lacks %q", r.stderr, want)
		}
	}
	if strings.Count(strings.TrimSpace(r.stderr), "\n") > 0 {
		t.Errorf("not one line: %q", r.stderr)
	}

	// A starter with another key file altogether (a second clone's make
	// codec-key): the worker's own error is encrypted with a key the
	// starter lacks, and the starter still says what is wrong.
	other := filepath.Join(t.TempDir(), "other.keys")
	if out, err := exec.Command(filepath.Join(env.bin, "codecserver"), "--new-key", other).CombinedOutput(); err != nil {
		t.Fatalf("codecserver --new-key: %v\n%s", err, out)
	}
	r = runBinEnv(t, "starter", []string{"BATON_CODEC_KEY_FILE=" + other}, "ping", "--timeout", "5s")
	if r.code == 0 || !strings.Contains(r.stderr, "which this starter does not hold") || !strings.Contains(r.stderr, "do not share their payload keys") {
		t.Errorf("starter ping with another key file: exit %d, %q", r.code, r.stderr)
	}
	t.Log(r.stderr)
}

// The codec server's log never holds its token, however a request puts it
// in the path (issue 20, point 8: /t/<token> with nothing after it was
// logged as the route).
func TestCodecServerLogNeverHoldsTheToken(t *testing.T) {
	for _, path := range []string{"/t/" + env.codecToken, "/t/" + env.codecToken + "/", "/t/" + env.codecToken + "/decode", "/" + env.codecToken} {
		resp, err := http.Post(env.codecURL+path, "application/json", strings.NewReader(`{"payloads":[]}`))
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
	}
	eventually(t, "the codec server to log the requests", func() bool {
		return strings.Contains(env.codecLog.String(), `"route":"/t/{token}"`)
	})
	if strings.Contains(env.codecLog.String(), env.codecToken) {
		t.Error("the codec server's log holds its token")
	}
}
