package config

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/spf13/pflag"
)

// writeProfiles writes the user's profile file (under the test's
// XDG_CONFIG_HOME, which clearEnv sets) and returns its path.
func writeProfiles(t *testing.T, content string) string {
	t.Helper()
	file, err := ProfileFile()
	if err != nil {
		t.Fatal(err)
	}
	if err := os.MkdirAll(filepath.Dir(file), 0o700); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(file, []byte(content), 0o600); err != nil {
		t.Fatal(err)
	}
	return file
}

const twoProfiles = `
[profile.dev]
address = "profile:7233"
namespace = "profile-ns"

[profile.dev.codec]
endpoint = "http://localhost:8234"
auth = "Bearer not-read-by-baton"

[profile.dev.baton]
codec_key_file = "/abs/.dev/codec.keys"
policy_file = "/abs/.dev/policy.yaml"
audit_dsn = "postgres://profile@localhost:5433/baton"
ui_url = "http://profile-ui:8233"
temporal_cli = "/abs/temporal"

[profile.staging]
address = "staging:7233"
namespace = "staging-ns"
`

// profileFlags is a starter-like flag set: the connection flags, --policy,
// --ui-url and --profile.
func profileFlags(t *testing.T, args ...string) *pflag.FlagSet {
	t.Helper()
	fs := pflag.NewFlagSet("test", pflag.ContinueOnError)
	AddFlags(fs, append(ConnectionKeys(), "policy.file", "ui.url")...)
	AddProfileFlag(fs)
	if err := fs.Parse(args); err != nil {
		t.Fatal(err)
	}
	return fs
}

// Precedence: defaults < profile < config file < environment < flags.
func TestProfilePrecedence(t *testing.T) {
	file := "temporal:\n  namespace: file-ns\npolicy:\n  file: /file/policy.yaml\n"
	cases := []struct {
		name                      string
		profiles                  string
		useFile                   bool
		env                       map[string]string
		flags                     []string
		address, namespace, pol   string
		ui, keyFile, profile, dsn string
	}{
		{name: "defaults without a profile file",
			address: "localhost:7233", namespace: "default", pol: "config/policy.yaml", ui: "http://localhost:8233",
			keyFile: ".dev/codec.keys", dsn: DefaultAuditDSN},
		{name: "the dev profile over the defaults", profiles: twoProfiles,
			address: "profile:7233", namespace: "profile-ns", pol: "/abs/.dev/policy.yaml", ui: "http://profile-ui:8233",
			keyFile: "/abs/.dev/codec.keys", profile: "dev", dsn: "postgres://profile@localhost:5433/baton"},
		{name: "the config file over the profile", profiles: twoProfiles, useFile: true,
			address: "profile:7233", namespace: "file-ns", pol: "/file/policy.yaml", ui: "http://profile-ui:8233",
			keyFile: "/abs/.dev/codec.keys", profile: "dev", dsn: "postgres://profile@localhost:5433/baton"},
		{name: "the environment over the config file", profiles: twoProfiles, useFile: true,
			env:     map[string]string{"TEMPORAL_NAMESPACE": "env-ns", "BATON_UI_URL": "http://env-ui:8233"},
			address: "profile:7233", namespace: "env-ns", pol: "/file/policy.yaml", ui: "http://env-ui:8233",
			keyFile: "/abs/.dev/codec.keys", profile: "dev", dsn: "postgres://profile@localhost:5433/baton"},
		{name: "flags over the environment", profiles: twoProfiles, useFile: true,
			env:     map[string]string{"TEMPORAL_NAMESPACE": "env-ns", "BATON_POLICY_FILE": "/env/policy.yaml"},
			flags:   []string{"--namespace", "flag-ns", "--address", "flag:7233"},
			address: "flag:7233", namespace: "flag-ns", pol: "/env/policy.yaml", ui: "http://profile-ui:8233",
			keyFile: "/abs/.dev/codec.keys", profile: "dev", dsn: "postgres://profile@localhost:5433/baton"},
		{name: "BATON_PROFILE names another", profiles: twoProfiles, env: map[string]string{"BATON_PROFILE": "staging"},
			address: "staging:7233", namespace: "staging-ns", pol: "config/policy.yaml", ui: "http://localhost:8233",
			keyFile: ".dev/codec.keys", profile: "staging", dsn: DefaultAuditDSN},
		{name: "--profile over BATON_PROFILE", profiles: twoProfiles, env: map[string]string{"BATON_PROFILE": "staging"},
			flags:   []string{"--profile", "dev"},
			address: "profile:7233", namespace: "profile-ns", pol: "/abs/.dev/policy.yaml", ui: "http://profile-ui:8233",
			keyFile: "/abs/.dev/codec.keys", profile: "dev", dsn: "postgres://profile@localhost:5433/baton"},
		{name: "no dev profile: nothing read", profiles: "[profile.staging]\naddress = \"staging:7233\"\n",
			address: "localhost:7233", namespace: "default", pol: "config/policy.yaml", ui: "http://localhost:8233",
			keyFile: ".dev/codec.keys", dsn: DefaultAuditDSN},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			clearEnv(t)
			if tc.profiles != "" {
				writeProfiles(t, tc.profiles)
			}
			for k, v := range tc.env {
				t.Setenv(k, v)
			}
			cfgFile := ""
			if tc.useFile {
				cfgFile = writeFile(t, "baton.yaml", file)
			}
			c, err := Load(cfgFile, profileFlags(t, tc.flags...))
			if err != nil {
				t.Fatal(err)
			}
			got := []string{c.Temporal.Address, c.Temporal.Namespace, c.Policy.File, c.UI.URL, c.Temporal.Codec.KeyFile, c.Profile.Name, c.Audit.DSN}
			want := []string{tc.address, tc.namespace, tc.pol, tc.ui, tc.keyFile, tc.profile, tc.dsn}
			for i := range want {
				if got[i] != want[i] {
					t.Errorf("got %q, want %q (all: %q)", got[i], want[i], got)
				}
			}
		})
	}
}

// A program that does not declare --profile (the worker, the codec
// server), and LoadWithoutProfile, never read a profile.
func TestProfileOnlyForProgramsThatDeclareIt(t *testing.T) {
	clearEnv(t)
	writeProfiles(t, twoProfiles)
	fs := pflag.NewFlagSet("worker", pflag.ContinueOnError)
	AddFlags(fs)
	c, err := Load("", fs)
	if err != nil {
		t.Fatal(err)
	}
	if c.Temporal.Address != "localhost:7233" || c.Profile.Name != "" {
		t.Errorf("the worker read the profile: address %q, profile %q", c.Temporal.Address, c.Profile.Name)
	}
	c, err = LoadWithoutProfile("", profileFlags(t))
	if err != nil {
		t.Fatal(err)
	}
	if c.Temporal.Address != "localhost:7233" {
		t.Errorf("LoadWithoutProfile read the profile: %q", c.Temporal.Address)
	}
}

// A profile that is named but missing, or a file Baton cannot read fully,
// is one line naming the file, the profile or the key.
func TestProfileErrors(t *testing.T) {
	cases := []struct {
		name, profiles string
		flags          []string
		want           string
	}{
		{"named profile missing", twoProfiles, []string{"--profile", "prod"}, `profile "prod" is not in `},
		{"named profile missing lists the others", twoProfiles, []string{"--profile", "prod"}, "(it has: dev, staging)"},
		{"named profile without a file", "", []string{"--profile", "prod"}, "has no profiles (make dev writes the dev profile"},
		{"unknown key", "[profile.dev]\nadress = \"x:1\"\n", nil, "profiles.toml:2: profile.dev.adress is not a setting Baton reads"},
		{"inline certificate", "[profile.dev.tls]\nclient_cert_data = \"PEM\"\n", nil, "profile.dev.tls.client_cert_data is not a setting Baton reads"},
		{"unknown Baton key", "[profile.dev.baton]\npolicy = \"/p\"\n", nil, "profile.dev.baton.policy is not a setting Baton reads"},
		{"not TOML", "[profile.dev\n", nil, "profiles.toml:1:"},
		{"bad value from the profile is named like any", "[profile.dev]\naddress = \"no-port\"\n", nil, `temporal.address: "no-port" is not host:port`},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			clearEnv(t)
			if tc.profiles != "" {
				writeProfiles(t, tc.profiles)
			}
			_, err := Load("", profileFlags(t, tc.flags...))
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("got %v, want an error containing %q", err, tc.want)
			}
			if strings.Contains(err.Error(), "\n") {
				t.Errorf("not one line: %q", err)
			}
		})
	}
}

// SaveProfile replaces one profile and keeps the others, and what it
// writes reads back the same, mode 0600.
func TestSaveProfileKeepsTheOthers(t *testing.T) {
	clearEnv(t)
	file := writeProfiles(t, twoProfiles)
	p := Profile{Address: "localhost:7299", Namespace: "default",
		Codec: &ProfileCodec{Endpoint: "http://localhost:8299", Auth: "Bearer tok"},
		Baton: ProfileBaton{CodecKeyFile: "/k", PolicyFile: "/p", AuditDSN: "postgres://x@y/z", UIURL: "http://u:1", TemporalCLI: "/t"}}
	if err := SaveProfile(file, "dev", p); err != nil {
		t.Fatal(err)
	}
	all, err := ReadProfiles(file)
	if err != nil {
		t.Fatal(err)
	}
	got := all["dev"]
	if got.Address != p.Address || got.Codec == nil || *got.Codec != *p.Codec || got.Baton != p.Baton || got.TLS != nil {
		t.Errorf("dev read back as %+v, want %+v", got, p)
	}
	if all["staging"].Address != "staging:7233" || all["staging"].Namespace != "staging-ns" {
		t.Errorf("staging lost: %+v", all["staging"])
	}
	st, err := os.Stat(file)
	if err != nil {
		t.Fatal(err)
	}
	if st.Mode().Perm() != 0o600 {
		t.Errorf("mode %v, want 0600", st.Mode().Perm())
	}
	// A new file in a new folder.
	fresh := filepath.Join(t.TempDir(), "a", "baton", ProfileFileName)
	if err := SaveProfile(fresh, "dev", p); err != nil {
		t.Fatal(err)
	}
	if all, err := ReadProfiles(fresh); err != nil || all["dev"].Baton != p.Baton {
		t.Errorf("fresh file: %+v, %v", all, err)
	}
	if err := SaveProfile(fresh, "a.b", p); err == nil {
		t.Error("a profile name with a dot was accepted")
	}
}

// A DSN's password never shows, in either form.
func TestRedactDSN(t *testing.T) {
	for in, want := range map[string]string{
		"postgres://baton:s3cret@db:5432/baton":              "postgres://baton:xxxxx@db:5432/baton",
		"host=db user=baton password=s3cret dbname=baton":    "host=db user=baton password=xxxxx dbname=baton",
		"host=db password = 's3 cret\\'x' dbname=baton":      "host=db password = xxxxx dbname=baton",
		"postgres://postgres@localhost:5433/baton?sslmode=x": "postgres://postgres@localhost:5433/baton?sslmode=x",
	} {
		if got := RedactDSN(in); got != want || strings.Contains(got, "s3") {
			t.Errorf("RedactDSN(%q) = %q, want %q", in, got, want)
		}
	}
}
