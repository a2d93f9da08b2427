package config

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/spf13/pflag"
)

// clearEnv unsets every variable Load reads so the host cannot leak in.
func clearEnv(t *testing.T) {
	t.Helper()
	for _, s := range settings {
		for _, e := range s.env {
			t.Setenv(e, "")
			os.Unsetenv(e)
		}
	}
	for _, e := range []string{"BATON_CONFIG", "BATON_PROFILE"} {
		t.Setenv(e, "")
		os.Unsetenv(e)
	}
	// No profile of the host's user: each test writes its own.
	t.Setenv("XDG_CONFIG_HOME", t.TempDir())
}

func writeFile(t *testing.T, name, content string) string {
	t.Helper()
	p := filepath.Join(t.TempDir(), name)
	if err := os.WriteFile(p, []byte(content), 0o600); err != nil {
		t.Fatal(err)
	}
	return p
}

func TestPrecedence(t *testing.T) {
	file := "temporal:\n  address: file:7233\n  namespace: file-ns\ntask_queue: file-q\nlog:\n  level: warn\n"
	cases := []struct {
		name      string
		useFile   bool
		env       map[string]string
		flags     []string
		address   string
		namespace string
		queue     string
		level     string
	}{
		{name: "defaults", address: "localhost:7233", namespace: "default", queue: "baton", level: "info"},
		{name: "file over defaults", useFile: true, address: "file:7233", namespace: "file-ns", queue: "file-q", level: "warn"},
		{name: "env over file", useFile: true,
			env:     map[string]string{"TEMPORAL_ADDRESS": "env:7233", "BATON_TASK_QUEUE": "env-q"},
			address: "env:7233", namespace: "file-ns", queue: "env-q", level: "warn"},
		{name: "flags over env", useFile: true,
			env:     map[string]string{"TEMPORAL_ADDRESS": "env:7233", "BATON_LOG_LEVEL": "error"},
			flags:   []string{"--address", "flag:7233", "--log-level", "debug"},
			address: "flag:7233", namespace: "file-ns", queue: "file-q", level: "debug"},
		{name: "unset flag keeps env", env: map[string]string{"TEMPORAL_NAMESPACE": "env-ns"},
			flags:   []string{"--task-queue", "flag-q"},
			address: "localhost:7233", namespace: "env-ns", queue: "flag-q", level: "info"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			clearEnv(t)
			for k, v := range tc.env {
				t.Setenv(k, v)
			}
			fs := pflag.NewFlagSet("test", pflag.ContinueOnError)
			AddFlags(fs)
			if err := fs.Parse(tc.flags); err != nil {
				t.Fatal(err)
			}
			path := ""
			if tc.useFile {
				path = writeFile(t, "baton.yaml", file)
			}
			c, err := Load(path, fs)
			if err != nil {
				t.Fatalf("Load: %v", err)
			}
			got := []string{c.Temporal.Address, c.Temporal.Namespace, c.TaskQueue, c.Log.Level}
			want := []string{tc.address, tc.namespace, tc.queue, tc.level}
			if strings.Join(got, " ") != strings.Join(want, " ") {
				t.Errorf("got %v, want %v", got, want)
			}
		})
	}
}

func TestConfigFileFromEnvironment(t *testing.T) {
	clearEnv(t)
	t.Setenv("BATON_CONFIG", writeFile(t, "c.yaml", "systems:\n  url: http://sim:9000\n  timeout: 3s\n"))
	c, err := Load("", nil)
	if err != nil {
		t.Fatal(err)
	}
	if c.Systems.URL != "http://sim:9000" || c.Systems.Timeout != 3*time.Second {
		t.Errorf("systems = %+v", c.Systems)
	}
}

func TestMissingConfigFileNamesIt(t *testing.T) {
	clearEnv(t)
	_, err := Load("/nonexistent/baton.yaml", nil)
	if err == nil || !strings.Contains(err.Error(), "/nonexistent/baton.yaml") {
		t.Fatalf("err = %v", err)
	}
}

func TestValidate(t *testing.T) {
	cert := writeFile(t, "cert.pem", "x")
	cases := []struct {
		env  map[string]string
		want string
	}{
		{map[string]string{"TEMPORAL_ADDRESS": "nohostport"}, `temporal.address: "nohostport" is not host:port`},
		{map[string]string{"TEMPORAL_TLS_CERT": cert}, "temporal.tls.cert is set but temporal.tls.key is empty"},
		{map[string]string{"TEMPORAL_TLS_KEY": cert}, "temporal.tls.key is set but temporal.tls.cert is empty"},
		{map[string]string{"TEMPORAL_TLS_CERT": cert, "TEMPORAL_TLS_KEY": cert, "TEMPORAL_API_KEY": "k"}, "temporal.api_key: use either an API key or an mTLS certificate, not both"},
		{map[string]string{"TEMPORAL_TLS_CA": "/no/ca.pem"}, "temporal.tls.ca: cannot read /no/ca.pem"},
		{map[string]string{"BATON_TASK_QUEUE": " "}, "task_queue: must not be empty"},
		{map[string]string{"BATON_LOG_LEVEL": "loud"}, `log.level: "loud" is not one of debug, info, warn, error`},
		{map[string]string{"BATON_LOG_FORMAT": "xml"}, `log.format: "xml" is not one of console, json`},
		{map[string]string{"BATON_METRICS_ADDRESS": "9464"}, `metrics.address: "9464" is not host:port`},
		{map[string]string{"BATON_POLICY_FILE": ""}, ""}, // an empty variable keeps the default
		{map[string]string{"BATON_SYSTEMS_URL": "ftp://x"}, `systems.url: "ftp://x" is not an http(s) URL`},
		{map[string]string{"BATON_SYSTEMS_TIMEOUT": "0s"}, "systems.timeout: 0s must be positive"},
		{map[string]string{"BATON_WORKER_STOP_TIMEOUT": "-1s"}, "worker.stop_timeout: -1s must not be negative"},
		{map[string]string{"BATON_AUDIT_DSN": "mysql://u:secret@db/baton"}, `audit.dsn: "mysql://u:xxxxx@db/baton" is not a postgres:// URL`},
		{map[string]string{"BATON_CODEC_SERVER_LISTEN": "8234"}, `codec_server.listen: "8234" is not host:port`},
		{map[string]string{"BATON_CODEC_SERVER_UI_ORIGINS": "http://localhost:8233, http://ui/path"}, `codec_server.ui_origins: "http://ui/path" is not an origin (scheme://host[:port])`},
		{map[string]string{"BATON_CODEC_SERVER_OIDC_ISSUER": "accounts.example.com"}, `codec_server.oidc_issuer: "accounts.example.com" is not an http(s) URL`},
		{map[string]string{"BATON_CODEC_SERVER_OIDC_ISSUER": "https://accounts.example.com"}, "codec_server.oidc_audience: required with codec_server.oidc_issuer (the client id or API the UI's tokens are for)"},
		{map[string]string{"BATON_CODEC_PLAINTEXT": "maybe"}, `temporal.codec.plaintext: "maybe" is not true or false`},
	}
	for _, tc := range cases {
		t.Run(tc.want, func(t *testing.T) {
			clearEnv(t)
			for k, v := range tc.env {
				t.Setenv(k, v)
			}
			_, err := Load("", nil)
			switch {
			case tc.want == "" && err != nil:
				t.Fatalf("unexpected error: %v", err)
			case tc.want != "" && (err == nil || err.Error() != tc.want):
				t.Fatalf("err = %v, want %q", err, tc.want)
			}
		})
	}
}

func TestValidateEmptyValuesFromFile(t *testing.T) {
	clearEnv(t)
	cases := map[string]string{
		"temporal:\n  namespace: \"\"\n":            "temporal.namespace: must not be empty",
		"policy:\n  file: \"\"\n":                   "policy.file: must not be empty",
		"audit:\n  dsn: \" \"\n":                    "audit.dsn: must be set (BATON_AUDIT_DSN): the audit store is a PostgreSQL database",
		"temporal:\n  codec:\n    key_file: \"\"\n": "temporal.codec: no key: set BATON_CODEC_KEY_FILE or BATON_CODEC_KEYS (make codec-key writes a development key)",
	}
	for content, want := range cases {
		_, err := Load(writeFile(t, "c.yaml", content), nil)
		if err == nil || err.Error() != want {
			t.Errorf("%q: err = %v, want %q", content, err, want)
		}
	}
}

func TestAPIKeyImpliesTLS(t *testing.T) {
	clearEnv(t)
	t.Setenv("TEMPORAL_API_KEY", "secret")
	c, err := Load("", nil)
	if err != nil {
		t.Fatal(err)
	}
	if !c.Temporal.TLSEnabled() {
		t.Error("an API key must turn TLS on")
	}
}

func TestExampleConfigLoads(t *testing.T) {
	clearEnv(t)
	t.Setenv("TEMPORAL_API_KEY", "secret-from-the-environment")
	c, err := Load("baton.example.yaml", nil)
	if err != nil {
		t.Fatalf("config/baton.example.yaml: %v", err)
	}
	if c.Temporal.Address != "my-namespace.a1b2c.tmprl.cloud:7233" || c.Log.Format != "json" || !c.Temporal.TLSEnabled() || c.Worker.StopTimeout != 30*time.Second ||
		c.Temporal.Codec.KeyFile != "/run/secrets/baton-codec.keys" || c.CodecServer.TokenFile != "/run/secrets/baton-codec.tokens" {
		t.Errorf("loaded %+v", c)
	}
	// The inbox part validates once its secret and key file are provided.
	t.Setenv("BATON_INBOX_OIDC_CLIENT_SECRET", "secret-from-the-environment")
	t.Setenv("BATON_INBOX_SIGNING_KEY", writeFile(t, "inbox.key", "x"))
	if c, err = Load("baton.example.yaml", nil); err != nil {
		t.Fatal(err)
	}
	if err := c.ValidateInbox(); err != nil || c.Inbox.DevSignIn || c.Inbox.OIDC.Issuer != "https://login.example.com" {
		t.Errorf("inbox: %v %+v", err, c.Inbox)
	}
}

// The inbox's keys are checked only by the inbox, and each message names
// the key.
func TestValidateInbox(t *testing.T) {
	key := writeFile(t, "inbox.key", "x")
	ok := map[string]string{
		"BATON_INBOX_SIGNING_KEY":        key,
		"BATON_INBOX_PUBLIC_URL":         "https://inbox.bank.test",
		"BATON_INBOX_OIDC_ISSUER":        "https://login.bank.test",
		"BATON_INBOX_OIDC_CLIENT_ID":     "baton-inbox",
		"BATON_INBOX_OIDC_CLIENT_SECRET": "s3cret",
		"BATON_INBOX_OIDC_REDIRECT_URL":  "https://inbox.bank.test/auth/callback",
	}
	with := func(k, v string) map[string]string {
		m := map[string]string{}
		for a, b := range ok {
			m[a] = b
		}
		if v == "-" {
			delete(m, k)
		} else {
			m[k] = v
		}
		return m
	}
	cases := []struct {
		env  map[string]string
		want string
	}{
		{ok, ""},
		{with("BATON_INBOX_LISTEN", "8088"), `inbox.listen: "8088" is not host:port`},
		{with("BATON_INBOX_PUBLIC_URL", "http://inbox.bank.test"), "inbox.public_url: http://inbox.bank.test: http is allowed on localhost only (session cookies would travel in clear); use https"},
		{with("BATON_INBOX_PUBLIC_URL", "https://inbox.bank.test/baton"), `inbox.public_url: "https://inbox.bank.test/baton" is not an http(s) URL without a path`},
		{with("BATON_INBOX_SIGNING_KEY", "-"), "inbox.signing_key: required: the inbox signs every decision (create one with: inbox keygen --out FILE)"},
		{with("BATON_INBOX_SIGNING_KEY", "/no/key"), "inbox.signing_key: cannot read /no/key"},
		{with("BATON_INBOX_OIDC_ISSUER", "login.bank.test"), `inbox.oidc.issuer: "login.bank.test" is not an http(s) URL`},
		{with("BATON_INBOX_OIDC_CLIENT_ID", "-"), "inbox.oidc.client_id: required with inbox.oidc.issuer"},
		{with("BATON_INBOX_OIDC_CLIENT_SECRET", "-"), "inbox.oidc.client_secret: required with inbox.oidc.issuer"},
		{with("BATON_INBOX_OIDC_REDIRECT_URL", "https://evil.test/cb"), "inbox.oidc.redirect_url: https://evil.test/cb is not on inbox.public_url https://inbox.bank.test (the session cookie would not reach it)"},
		{map[string]string{"BATON_INBOX_SIGNING_KEY": key}, "inbox.oidc.issuer: required (or enable inbox.dev_sign_in for development)"},
		{map[string]string{"BATON_INBOX_SIGNING_KEY": key, "BATON_INBOX_DEV_SIGN_IN": "true"}, ""},
		{with("BATON_INBOX_SESSION_IDLE", "9h"), "inbox.session_idle: 9h0m0s must be positive and at most inbox.session_lifetime"},
	}
	for _, tc := range cases {
		t.Run(tc.want, func(t *testing.T) {
			clearEnv(t)
			for k, v := range tc.env {
				t.Setenv(k, v)
			}
			c, err := Load("", nil)
			if err != nil {
				t.Fatal(err)
			}
			err = c.ValidateInbox()
			switch {
			case tc.want == "" && err != nil:
				t.Fatalf("unexpected error: %v", err)
			case tc.want != "" && (err == nil || err.Error() != tc.want):
				t.Fatalf("err = %v, want %q", err, tc.want)
			}
		})
	}
}

// The development sign-in is off unless a setting turns it on.
func TestInboxDevSignInOffByDefault(t *testing.T) {
	clearEnv(t)
	c, err := Load("", nil)
	if err != nil {
		t.Fatal(err)
	}
	if c.Inbox.DevSignIn {
		t.Fatal("inbox.dev_sign_in defaults to true")
	}
	t.Setenv("BATON_INBOX_DEV_SIGN_IN", "true")
	if c, err = Load("", nil); err != nil || !c.Inbox.DevSignIn {
		t.Fatalf("BATON_INBOX_DEV_SIGN_IN=true: %v %v", c.Inbox.DevSignIn, err)
	}
}

func TestCodecSettings(t *testing.T) {
	clearEnv(t)
	c, err := Load("", nil)
	if err != nil {
		t.Fatal(err)
	}
	if c.Temporal.Codec.KeyFile != ".dev/codec.keys" || c.Temporal.Codec.Plaintext || c.CodecServer.Listen != "localhost:8234" {
		t.Errorf("defaults: %+v %+v", c.Temporal.Codec, c.CodecServer)
	}
	if got := c.CodecOrigins(); len(got) != 1 || got[0] != "http://localhost:8233" {
		t.Errorf("default CORS origins %v, want the origin of ui.url", got)
	}

	t.Setenv("BATON_CODEC_KEY_FILE", "/run/secrets/baton.keys")
	t.Setenv("BATON_CODEC_KEYS", "k1:AAAA")
	t.Setenv("BATON_CODEC_SERVER_UI_ORIGINS", "https://ui.example.com/, http://localhost:8080")
	t.Setenv("BATON_UI_URL", "https://elsewhere.example.com/namespaces")
	fs := pflag.NewFlagSet("t", pflag.ContinueOnError)
	AddFlags(fs, ConnectionKeys()...)
	if err := fs.Parse([]string{"--codec-key-file", "/flag/keys"}); err != nil {
		t.Fatal(err)
	}
	c, err = Load("", fs)
	if err != nil {
		t.Fatal(err)
	}
	if c.Temporal.Codec.KeyFile != "/flag/keys" || c.Temporal.Codec.Keys != "k1:AAAA" {
		t.Errorf("codec: %+v", c.Temporal.Codec)
	}
	if got := strings.Join(c.CodecOrigins(), " "); got != "https://ui.example.com http://localhost:8080" {
		t.Errorf("origins %q", got)
	}

	clearEnv(t)
	t.Setenv("BATON_CODEC_PLAINTEXT", "true")
	if c, err := Load(writeFile(t, "c.yaml", "temporal:\n  codec:\n    key_file: \"\"\n"), nil); err != nil || !c.Temporal.Codec.Plaintext {
		t.Errorf("plaintext without keys: %v", err)
	}
}

func TestCodecServerFlagsOnlyWhenAsked(t *testing.T) {
	fs := pflag.NewFlagSet("worker", pflag.ContinueOnError)
	AddFlags(fs)
	if fs.Lookup("listen") != nil || fs.Lookup("token-file") != nil {
		t.Error("the worker declares the codec server's flags")
	}
	if fs.Lookup("codec-key-file") == nil {
		t.Error("the worker lacks --codec-key-file")
	}
}

func TestUnknownKeysInFileAreNamed(t *testing.T) {
	clearEnv(t)
	cases := []struct{ content, want string }{
		{"temporal:\n  adress: prod:7233\n", `unknown key "temporal.adress" (did you mean "temporal.address"?)`},
		{"task_queu: q\n", `unknown key "task_queu" (did you mean "task_queue"?)`},
		{"frobnicate: true\n", `unknown key "frobnicate"`},
	}
	for _, tc := range cases {
		path := writeFile(t, "c.yaml", tc.content)
		_, err := Load(path, nil)
		if err == nil || !strings.HasSuffix(err.Error(), tc.want) || !strings.Contains(err.Error(), path) {
			t.Errorf("%q: err = %v, want the file and %s", tc.content, err, tc.want)
		}
	}
}

func TestAuditDSNDefaultAndEnvironment(t *testing.T) {
	clearEnv(t)
	c, err := Load("", nil)
	if err != nil {
		t.Fatal(err)
	}
	if c.Audit.DSN != DefaultAuditDSN {
		t.Errorf("default audit.dsn = %q", c.Audit.DSN)
	}
	t.Setenv("BATON_AUDIT_DSN", "host=db user=baton dbname=audit")
	if c, err = Load("", nil); err != nil || c.Audit.DSN != "host=db user=baton dbname=audit" {
		t.Errorf("BATON_AUDIT_DSN: %v %q", err, c.Audit.DSN)
	}
}
