package starter

import (
	"bytes"
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/batonhq/baton/config"
	"github.com/batonhq/baton/workflows"
)

// TestMain keeps the host user's profiles (make dev writes one) out of the
// tests: each test that wants a profile writes its own.
func TestMain(m *testing.M) {
	dir, err := os.MkdirTemp("", "starter-config-")
	if err != nil {
		panic(err)
	}
	os.Setenv("XDG_CONFIG_HOME", dir)
	os.Unsetenv("BATON_PROFILE")
	code := m.Run()
	os.RemoveAll(dir)
	os.Exit(code)
}

// runStarter runs the CLI in-process and returns its output and error
// (with the hint run adds).
func runStarter(t *testing.T, args ...string) (string, error) {
	t.Helper()
	var out, errOut bytes.Buffer
	a := newApp(workflows.Catalog(), &out, &errOut)
	root := a.rootCommand()
	root.SetArgs(args)
	err := root.ExecuteContext(context.Background())
	if a.client != nil {
		a.client.Close()
	}
	if err != nil {
		err = a.withHint(err)
	}
	return out.String(), err
}

// isolate gives the test a fresh configuration directory and none of the
// stack's variables.
func isolate(t *testing.T) string {
	t.Helper()
	for _, e := range os.Environ() {
		k, _, _ := strings.Cut(e, "=")
		if strings.HasPrefix(k, "BATON_") || strings.HasPrefix(k, "TEMPORAL_") {
			t.Setenv(k, "")
			os.Unsetenv(k)
		}
	}
	dir := t.TempDir()
	t.Setenv("XDG_CONFIG_HOME", dir)
	return dir
}

// Outside the repository without a profile, a command that needs the
// policy or the payload key says what to do, on one line.
func TestMissingRepositoryFilesSayWhatToDo(t *testing.T) {
	isolate(t)
	t.Chdir(t.TempDir())
	for _, args := range [][]string{{"tasks", "--user", "ana"}, {"start", "expense", "--requester", "max", "--amount", "3", "--category", "x"}, {"list"}} {
		_, err := runStarter(t, args...)
		if err == nil {
			t.Fatalf("%v: no error", args)
		}
		msg := err.Error()
		if !strings.Contains(msg, "and no profile: run make dev, which writes the dev profile") || strings.Contains(msg, "\n") {
			t.Errorf("%v: %q", args, msg)
		}
	}
}

// starter profile save writes what the flags and environment give, paths
// made absolute; a file that does not exist is refused naming the setting;
// --shell then prints a function that runs the profile's temporal CLI with
// the profile, quoted for the shell.
func TestProfileSaveAndShell(t *testing.T) {
	cfgDir := isolate(t)
	policy, err := os.ReadFile(filepath.Join(repoRoot(t), "config", "policy.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	work := filepath.Join(t.TempDir(), "it's here")
	if err := os.MkdirAll(work, 0o755); err != nil {
		t.Fatal(err)
	}
	t.Chdir(work)
	for name, content := range map[string]string{"policy.yaml": string(policy), "codec.keys": "k1:" + strings.Repeat("A", 43) + "=\n", "token": "tok-1234567890abcdef\n",
		"temporal": "#!/bin/sh\necho \"ARGS: $*\"\n"} {
		if err := os.WriteFile(name, []byte(content), 0o700); err != nil {
			t.Fatal(err)
		}
	}
	t.Setenv("TEMPORAL_ADDRESS", "localhost:7299")

	if _, err := runStarter(t, "profile", "save", "dev", "--policy", "missing.yaml"); err == nil || exitCode(err) != exitUsage ||
		!strings.Contains(err.Error(), "policy.file: "+filepath.Join(work, "missing.yaml")+" does not exist") {
		t.Fatalf("a missing policy: %v", err)
	}
	out, err := runStarter(t, "profile", "save", "dev", "--policy", "policy.yaml", "--codec-key-file", "codec.keys",
		"--temporal-cli", "temporal", "--codec-endpoint", "http://localhost:8299", "--codec-auth-file", "token", "--ui-url", "http://ui:1")
	file := filepath.Join(cfgDir, "baton", config.ProfileFileName)
	if err != nil || !strings.Contains(out, "wrote profile dev to "+file) {
		t.Fatalf("save: %v\n%s", err, out)
	}
	all, err := config.ReadProfiles(file)
	if err != nil {
		t.Fatal(err)
	}
	want := config.Profile{Address: "localhost:7299", Namespace: "default",
		Codec: &config.ProfileCodec{Endpoint: "http://localhost:8299", Auth: "Bearer tok-1234567890abcdef"},
		Baton: config.ProfileBaton{CodecKeyFile: filepath.Join(work, "codec.keys"), PolicyFile: filepath.Join(work, "policy.yaml"),
			AuditDSN: config.DefaultAuditDSN, UIURL: "http://ui:1", TemporalCLI: filepath.Join(work, "temporal")}}
	got := all["dev"]
	if got.Address != want.Address || got.Namespace != want.Namespace || got.Codec == nil || *got.Codec != *want.Codec || got.Baton != want.Baton {
		t.Errorf("saved %+v (codec %+v), want %+v", got, got.Codec, want)
	}

	// Elsewhere, with nothing set, the profile is what the starter uses.
	os.Unsetenv("TEMPORAL_ADDRESS")
	t.Chdir(t.TempDir())
	out, err = runStarter(t, "profile", "-o", "json")
	if err != nil || !strings.Contains(out, `"temporal.address": "localhost:7299"`) || !strings.Contains(out, `"policy.file": "`+filepath.Join(work, "policy.yaml")) {
		t.Errorf("profile: %v\n%s", err, out)
	}
	shell, err := runStarter(t, "profile", "--shell")
	if err != nil {
		t.Fatal(err)
	}
	run, err := exec.Command("bash", "-c", shell+"\ntemporal workflow list").CombinedOutput()
	if want := "ARGS: --config-file " + file + " --profile dev workflow list"; err != nil || strings.TrimSpace(string(run)) != want {
		t.Errorf("the function printed by --shell ran %q (%v), want %q\nfunction: %s", run, err, want, shell)
	}
	if _, err := runStarter(t, "--profile", "staging", "profile"); err == nil || !strings.Contains(err.Error(), `profile "staging" is not in `+file+" (it has: dev)") {
		t.Errorf("an unknown profile: %v", err)
	}
}

func repoRoot(t *testing.T) string {
	t.Helper()
	wd, err := os.Getwd()
	if err != nil {
		t.Fatal(err)
	}
	return filepath.Dir(wd)
}

// make dev's profile carries the audit log and the public keys a verifier
// trusts, as absolute paths, so starter audit --verify checks the log from
// any directory.
func TestProfileSavesTheAuditLog(t *testing.T) {
	cfgDir := isolate(t)
	policy, err := os.ReadFile(filepath.Join(repoRoot(t), "config", "policy.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	work := t.TempDir()
	t.Chdir(work)
	for name, content := range map[string]string{"policy.yaml": string(policy), "codec.keys": "k1:" + strings.Repeat("A", 43) + "=\n",
		"anchor.key.pub": "k\n", "witness.key.pub": "k\n", "writer.pub": "k\n"} {
		if err := os.WriteFile(name, []byte(content), 0o600); err != nil {
			t.Fatal(err)
		}
	}
	t.Setenv("BATON_AUDIT_LOG_URL", "http://localhost:9237")
	t.Setenv("BATON_AUDIT_LOG_PUBLIC_KEY", "anchor.key.pub")
	t.Setenv("BATON_AUDIT_WITNESS_PUBLIC_KEYS", "witness.key.pub")
	t.Setenv("BATON_AUDIT_WRITER_PUBLIC_KEYS", "writer.pub")
	if out, err := runStarter(t, "profile", "save", "dev", "--policy", "policy.yaml", "--codec-key-file", "codec.keys"); err != nil {
		t.Fatalf("save: %v\n%s", err, out)
	}
	all, err := config.ReadProfiles(filepath.Join(cfgDir, "baton", config.ProfileFileName))
	if err != nil {
		t.Fatal(err)
	}
	b := all["dev"].Baton
	if b.AuditLogURL != "http://localhost:9237" || b.AuditLogPublicKey != filepath.Join(work, "anchor.key.pub") ||
		b.AuditWitnessPublicKeys != filepath.Join(work, "witness.key.pub") || b.AuditWriterPublicKeys != filepath.Join(work, "writer.pub") {
		t.Errorf("saved %+v", b)
	}
}
