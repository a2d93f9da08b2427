package integration

import (
	"errors"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
)

// make dev checks every port it would bind, the worker's metrics port and
// the codec server's too, before it starts anything, and names the variable
// that moves each one.
func TestDevScriptChecksEveryPortFirst(t *testing.T) {
	busy, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer busy.Close()
	_, busyPort, _ := net.SplitHostPort(busy.Addr().String())
	busyCodec, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer busyCodec.Close()
	port := func() string { _, p, _ := net.SplitHostPort(freePort()); return p }
	// A stand-in for the Temporal CLI that leaves a marker if started.
	dir := t.TempDir()
	marker := filepath.Join(dir, "started")
	fake := filepath.Join(dir, "temporal")
	if err := os.WriteFile(fake, []byte("#!/bin/sh\ntouch "+marker+"\n"), 0o755); err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command(filepath.Join(env.root, "scripts", "dev.sh"))
	cmd.Env = append(baseEnv(),
		"TEMPORAL="+fake,
		"BATON_DEV_PORT="+port(), "BATON_DEV_UI_PORT="+port(), "BATON_DEV_HTTP_PORT="+port(),
		"BATON_DEV_SIM_ADDR=localhost:"+port(), "BATON_DEV_METRICS_PORT="+busyPort, "BATON_DEV_PG_PORT="+port(),
		"BATON_DEV_CODEC_ADDR="+busyCodec.Addr().String())
	out, err := cmd.CombinedOutput()
	var ee *exec.ExitError
	if !errors.As(err, &ee) || ee.ExitCode() != 1 {
		t.Fatalf("dev.sh with a busy metrics port: %v\n%s", err, out)
	}
	want := "port " + busyPort + " is already in use"
	if !strings.Contains(string(out), want) || !strings.Contains(string(out), "BATON_DEV_METRICS_PORT") {
		t.Errorf("output does not say %q and name BATON_DEV_METRICS_PORT:\n%s", want, out)
	}
	if !strings.Contains(string(out), "BATON_DEV_CODEC_ADDR") {
		t.Errorf("output does not name BATON_DEV_CODEC_ADDR, whose port is busy too:\n%s", out)
	}
	if _, err := os.Stat(marker); err == nil {
		t.Error("dev.sh started something before checking its ports")
	}
}
