package integration

import (
	"bytes"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
)

// outsideEnv is the environment of someone working outside the repository:
// no TEMPORAL_* or BATON_* variable, the user's configuration directory
// config.
func outsideEnv(config string) []string {
	var out []string
	for _, kv := range os.Environ() {
		if strings.HasPrefix(kv, "TEMPORAL_") || strings.HasPrefix(kv, "BATON_") || strings.HasPrefix(kv, "XDG_CONFIG_HOME=") {
			continue
		}
		out = append(out, kv)
	}
	return append(out, "XDG_CONFIG_HOME="+config)
}

// runIn runs command in dir with environ and returns its output and exit code.
func runIn(t *testing.T, dir string, environ []string, name string, args ...string) (string, int) {
	t.Helper()
	cmd := exec.Command(name, args...)
	cmd.Dir, cmd.Env = dir, environ
	var out bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &out
	err := cmd.Run()
	if ee, ok := err.(*exec.ExitError); ok {
		return out.String(), ee.ExitCode()
	} else if err != nil {
		t.Fatalf("%s %v: %v", name, args, err)
	}
	return out.String(), 0
}

// The dev profile, written as make dev writes it, lets the starter work
// from a directory outside the repository with none of the stack's
// variables set (after go install, from /tmp), and `starter profile --shell`
// gives a temporal command that reaches the stack and decodes its payloads.
func TestStarterFromAnyDirectoryWithTheDevProfile(t *testing.T) {
	config, elsewhere := t.TempDir(), t.TempDir()
	starterBin := filepath.Join(env.bin, "starter")

	// What scripts/dev.sh's write_profile runs, in the stack's environment.
	save := exec.Command(starterBin, "profile", "save", "dev", "--policy", env.policyFile, "--temporal-cli", env.temporal,
		"--codec-endpoint", env.codecURL, "--codec-auth-file", env.tokenFile)
	save.Dir = env.root
	save.Env = append(baseEnv(), "XDG_CONFIG_HOME="+config)
	if out, err := save.CombinedOutput(); err != nil || !strings.Contains(string(out), "wrote profile dev to "+filepath.Join(config, "baton", "profiles.toml")) {
		t.Fatalf("starter profile save: %v\n%s", err, out)
	}

	outside := outsideEnv(config)
	app := uniq("PF")
	id := "loan-" + app
	if out, code := runIn(t, elsewhere, outside, starterBin, "start", "loan", "--id", app, "--applicant", "C-1002", "--amount", "40000", "--term-months", "36"); code != 0 {
		t.Fatalf("starter start from %s: exit %d\n%s", elsewhere, code, out)
	}
	eventually(t, "ana's inbox from outside the repository to list "+id, func() bool {
		out, code := runIn(t, elsewhere, outside, starterBin, "tasks", "--user", "ana")
		return code == 0 && strings.Contains(out, id)
	})
	out, code := runIn(t, elsewhere, outside, starterBin, "approve", id, "--as", "ana", "--comment", "from /tmp")
	if code != 0 || !strings.Contains(out, "accepted: approved") {
		t.Fatalf("starter approve from %s: exit %d\n%s", elsewhere, code, out)
	}
	outcomeOf(t, id)

	// The same command without the profile fails, naming what it lacks.
	bare := outsideEnv(t.TempDir())
	if out, code := runIn(t, elsewhere, bare, starterBin, "tasks", "--user", "ana"); code == 0 || !strings.Contains(out, "no profile: run make dev") {
		t.Errorf("without a profile, starter tasks from %s: exit %d\n%s", elsewhere, code, out)
	}

	shell, code := runIn(t, elsewhere, outside, starterBin, "profile", "--shell")
	if code != 0 {
		t.Fatalf("starter profile --shell: exit %d\n%s", code, shell)
	}
	out, code = runIn(t, elsewhere, outside, "bash", "-c", shell+"\ntemporal workflow show --workflow-id "+id+" --detailed")
	if code != 0 || !strings.Contains(out, "C-1002") || !strings.Contains(out, "from /tmp") {
		t.Fatalf("temporal from the profile did not show the decoded history of %s: exit %d\n%s", id, code, tail(out, 2000))
	}
}
