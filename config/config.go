// Package config loads Baton's typed configuration: defaults < profile
// (--profile or BATON_PROFILE, for the programs that declare it) < config
// file (--config or BATON_CONFIG) < environment < flags. The Temporal
// connection honours the ecosystem's TEMPORAL_* variables; Baton's own keys
// use BATON_.
package config

import (
	"errors"
	"fmt"
	"net"
	"net/url"
	"os"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/spf13/pflag"
	"github.com/spf13/viper"
)

// Config is every setting of the worker, the simulator and the starter.
type Config struct {
	Temporal  Temporal   `mapstructure:"temporal"`
	TaskQueue string     `mapstructure:"task_queue"`
	Log       Log        `mapstructure:"log"`
	Metrics   Metrics    `mapstructure:"metrics"`
	Policy    PolicyFile `mapstructure:"policy"`
	Systems   Systems    `mapstructure:"systems"`
	Worker    Worker     `mapstructure:"worker"`
	UI        UI         `mapstructure:"ui"`
	Inbox     Inbox      `mapstructure:"inbox"`
	Audit     Audit      `mapstructure:"audit"`
	Anchor    Anchor     `mapstructure:"anchor"`
	Witness   Witness    `mapstructure:"witness"`
	// CodecServer is the codec server's own settings (its keys are
	// Temporal.Codec's).
	CodecServer CodecServer `mapstructure:"codec_server"`
	// Profile is the profile the configuration was loaded with, if any.
	Profile ProfileInfo `mapstructure:"-"`
}

// Temporal is the connection to the Temporal service.
type Temporal struct {
	Address   string `mapstructure:"address"`
	Namespace string `mapstructure:"namespace"`
	APIKey    string `mapstructure:"api_key"`
	TLS       TLS    `mapstructure:"tls"`
	Identity  string `mapstructure:"identity"`
	Codec     Codec  `mapstructure:"codec"`
}

// Codec is the payload encryption every client of Temporal applies. Keys
// come from the environment (Keys) or a key file outside the repository
// (KeyFile); Keys wins when both are set. The format is described in
// codec (KeyFileHeader).
type Codec struct {
	KeyFile string `mapstructure:"key_file"`
	Keys    string `mapstructure:"keys"`
	// Plaintext turns encryption off: payloads travel as JSON. Only for
	// benchmarks and namespaces that never hold personal data.
	Plaintext bool `mapstructure:"plaintext"`
}

// CodecServer serves /encode and /decode for the Web UI and the temporal CLI.
type CodecServer struct {
	Listen string `mapstructure:"listen"`
	// Tokens (comma-separated) and TokenFile (one a line) are the accepted
	// credentials; at least one token is required.
	Tokens    string `mapstructure:"tokens"`
	TokenFile string `mapstructure:"token_file"`
	// UIOrigins (comma-separated) may call from a browser; empty means the
	// origin of ui.url.
	UIOrigins string `mapstructure:"ui_origins"`
	// OIDCIssuer and OIDCAudience accept the Web UI's OpenID Connect access
	// tokens (signed by the issuer, for the audience) as bearer tokens.
	OIDCIssuer   string `mapstructure:"oidc_issuer"`
	OIDCAudience string `mapstructure:"oidc_audience"`
}

// TLS is the client side of mTLS, or server verification with an API key.
type TLS struct {
	Cert       string `mapstructure:"cert"`
	Key        string `mapstructure:"key"`
	CA         string `mapstructure:"ca"`
	ServerName string `mapstructure:"server_name"`
}

// TLSEnabled reports whether the connection uses TLS: any TLS setting or an
// API key (Temporal Cloud's API keys always travel over TLS).
func (t Temporal) TLSEnabled() bool {
	return t.APIKey != "" || t.TLS.Cert != "" || t.TLS.CA != "" || t.TLS.ServerName != ""
}

// Log selects the logger.
type Log struct {
	Level  string `mapstructure:"level"`
	Format string `mapstructure:"format"`
}

// Metrics is the worker's /metrics and /healthz listener.
type Metrics struct {
	Address string `mapstructure:"address"`
	// FiguresEvery is how often the worker computes the report's figures
	// (baton_insight_* gauges) from the audit store.
	FiguresEvery time.Duration `mapstructure:"figures_every"`
}

// PolicyFile locates the governance policy.
type PolicyFile struct {
	File string `mapstructure:"file"`
}

// Systems is where the enterprise systems (or their simulator) answer.
type Systems struct {
	URL     string        `mapstructure:"url"`
	Timeout time.Duration `mapstructure:"timeout"`
}

// Worker tunes the worker process.
type Worker struct {
	StopTimeout time.Duration `mapstructure:"stop_timeout"`
}

// UI is the Temporal Web UI base URL used for links.
type UI struct {
	URL string `mapstructure:"url"`
}

// Inbox is the web inbox (cmd inbox): where it listens, how people sign in,
// and the key it signs their decisions with.
type Inbox struct {
	Listen string `mapstructure:"listen"`
	// PublicURL is the address people use; its scheme decides whether
	// cookies are Secure (http is allowed for loopback hosts only).
	PublicURL string `mapstructure:"public_url"`
	// SigningKey is the inbox's Ed25519 key file; Signer its name in the
	// policy's signers.
	SigningKey string    `mapstructure:"signing_key"`
	Signer     string    `mapstructure:"signer"`
	OIDC       InboxOIDC `mapstructure:"oidc"`
	// DevSignIn lets anyone pick a user without a password: development only.
	DevSignIn bool `mapstructure:"dev_sign_in"`
	// SessionLifetime ends a session however active; SessionIdle ends an
	// unused one.
	SessionLifetime time.Duration `mapstructure:"session_lifetime"`
	SessionIdle     time.Duration `mapstructure:"session_idle"`
}

// InboxOIDC is the OpenID Connect client of the inbox.
type InboxOIDC struct {
	Issuer       string `mapstructure:"issuer"`
	ClientID     string `mapstructure:"client_id"`
	ClientSecret string `mapstructure:"client_secret"`
	RedirectURL  string `mapstructure:"redirect_url"`
}

// Audit is the durable audit store (PostgreSQL) and the log that anchors
// it outside the database.
type Audit struct {
	// DSN is a PostgreSQL connection string (URL or key=value form): the
	// append-only writer role for the worker, a reader for the others.
	DSN string `mapstructure:"dsn"`
	// OwnerDSN connects as the owner of the audit tables; only
	// `worker --migrate` uses it (schema changes and grants).
	OwnerDSN string `mapstructure:"owner_dsn"`
	// Readers are roles granted SELECT by `worker --migrate`
	// (comma-separated: the anchor's, auditors').
	Readers string `mapstructure:"readers"`
	// WriterKey is the worker's key file; it attests every entry it stores.
	WriterKey string `mapstructure:"writer_key"`
	// WriterPublicKeys are the keys verifiers accept attestations from
	// (public keys or files of them, comma-separated).
	WriterPublicKeys string `mapstructure:"writer_public_keys"`
	// LogURL is where the anchor serves the log; LogPublicKey its
	// checkpoint key (or a file of it); WitnessPublicKeys the witnesses'
	// that must cosign. CheckpointFile keeps the last checkpoint seen
	// (default: the user's config dir).
	LogURL            string `mapstructure:"log_url"`
	LogPublicKey      string `mapstructure:"log_public_key"`
	WitnessPublicKeys string `mapstructure:"witness_public_keys"`
	CheckpointFile    string `mapstructure:"checkpoint_file"`
}

// Anchor is the anchor process: it reads the audit store (audit.dsn, a
// reader role), appends a leaf per entry to the log in Dir, signs
// checkpoints with KeyFile, has WitnessURL cosign them, and serves the log
// on Listen.
type Anchor struct {
	Listen             string        `mapstructure:"listen"`
	Dir                string        `mapstructure:"dir"`
	KeyFile            string        `mapstructure:"key_file"`
	WitnessURL         string        `mapstructure:"witness_url"`
	CheckpointInterval time.Duration `mapstructure:"checkpoint_interval"`
}

// Witness is the witness process: it cosigns the log's checkpoints
// (verified with audit.log_public_key) with KeyFile, keeping the last one
// in Dir.
type Witness struct {
	Listen  string `mapstructure:"listen"`
	Dir     string `mapstructure:"dir"`
	KeyFile string `mapstructure:"key_file"`
}

// DefaultAuditDSN is the database make dev starts, as its append-only
// writer role (the worker's; the starter reads with it).
const DefaultAuditDSN = "postgres://baton_writer@localhost:5433/baton?sslmode=disable"

// setting is one key with its default, environment variables and flag.
type setting struct {
	key   string
	def   any
	env   []string
	flag  string
	usage string
}

var settings = []setting{
	{"temporal.address", "localhost:7233", []string{"TEMPORAL_ADDRESS"}, "address", "Temporal frontend host:port"},
	{"temporal.namespace", "default", []string{"TEMPORAL_NAMESPACE"}, "namespace", "Temporal namespace"},
	{"temporal.api_key", "", []string{"TEMPORAL_API_KEY"}, "api-key", "API key (implies TLS)"},
	{"temporal.tls.cert", "", []string{"TEMPORAL_TLS_CERT"}, "tls-cert", "client certificate file for mTLS"},
	{"temporal.tls.key", "", []string{"TEMPORAL_TLS_KEY"}, "tls-key", "client key file for mTLS"},
	{"temporal.tls.ca", "", []string{"TEMPORAL_TLS_CA"}, "tls-ca", "CA certificate file to verify the server"},
	{"temporal.tls.server_name", "", []string{"TEMPORAL_TLS_SERVER_NAME"}, "tls-server-name", "server name to verify"},
	{"temporal.identity", "", []string{"TEMPORAL_IDENTITY"}, "", "client identity shown in histories (default: the SDK's host@pid)"},
	{"temporal.codec.key_file", ".dev/codec.keys", []string{"BATON_CODEC_KEY_FILE"}, "codec-key-file", "payload encryption key file (make codec-key writes a development one)"},
	{"temporal.codec.keys", "", []string{"BATON_CODEC_KEYS"}, "", "payload encryption keys, comma-separated id:base64 pairs; wins over the key file"},
	{"temporal.codec.plaintext", false, []string{"BATON_CODEC_PLAINTEXT"}, "", "true: no payload encryption (benchmarks only)"},
	{"task_queue", "baton", []string{"BATON_TASK_QUEUE"}, "task-queue", "task queue of Baton's workers"},
	{"log.level", "info", []string{"BATON_LOG_LEVEL"}, "log-level", "debug, info, warn or error"},
	{"log.format", "console", []string{"BATON_LOG_FORMAT"}, "log-format", "console or json"},
	{"metrics.address", "localhost:9464", []string{"BATON_METRICS_ADDRESS"}, "metrics-address", "listen address for /metrics and /healthz (empty disables)"},
	{"metrics.figures_every", time.Minute, []string{"BATON_METRICS_FIGURES_EVERY"}, "", "how often the worker computes the report's figures (baton_insight_* gauges) from the audit store"},
	{"policy.file", "config/policy.yaml", []string{"BATON_POLICY_FILE"}, "policy", "governance policy file"},
	{"systems.url", "http://localhost:8090", []string{"BATON_SYSTEMS_URL"}, "systems-url", "base URL of the enterprise systems (the simulator locally)"},
	{"systems.timeout", 10 * time.Second, []string{"BATON_SYSTEMS_TIMEOUT"}, "", "timeout of one call to an enterprise system"},
	{"worker.stop_timeout", 30 * time.Second, []string{"BATON_WORKER_STOP_TIMEOUT"}, "stop-timeout", "time in-flight activities get to finish on shutdown"},
	{"ui.url", "http://localhost:8233", []string{"BATON_UI_URL"}, "ui-url", "Temporal Web UI base URL, for links"},
	{"inbox.listen", "localhost:8088", []string{"BATON_INBOX_LISTEN"}, "", "web inbox listen address"},
	{"inbox.public_url", "http://localhost:8088", []string{"BATON_INBOX_PUBLIC_URL"}, "", "the web inbox's address for people (https unless loopback: it makes cookies Secure)"},
	{"inbox.signing_key", "", []string{"BATON_INBOX_SIGNING_KEY"}, "", "the web inbox's Ed25519 key file (required by the inbox; inbox keygen makes one)"},
	{"inbox.signer", "inbox", []string{"BATON_INBOX_SIGNER"}, "", "the web inbox's name in the policy's signers"},
	{"inbox.oidc.issuer", "", []string{"BATON_INBOX_OIDC_ISSUER"}, "", "OpenID Connect issuer people sign in with"},
	{"inbox.oidc.client_id", "", []string{"BATON_INBOX_OIDC_CLIENT_ID"}, "", "the inbox's OpenID Connect client id"},
	{"inbox.oidc.client_secret", "", []string{"BATON_INBOX_OIDC_CLIENT_SECRET"}, "", "the inbox's OpenID Connect client secret (keep it in the environment)"},
	{"inbox.oidc.redirect_url", "", []string{"BATON_INBOX_OIDC_REDIRECT_URL"}, "", "the inbox's callback URL, on inbox.public_url"},
	{"inbox.dev_sign_in", false, []string{"BATON_INBOX_DEV_SIGN_IN"}, "", "development sign-in: pick a user, no password (make dev sets it)"},
	{"inbox.session_lifetime", 8 * time.Hour, []string{"BATON_INBOX_SESSION_LIFETIME"}, "", "a web inbox session ends after this, however active"},
	{"inbox.session_idle", 30 * time.Minute, []string{"BATON_INBOX_SESSION_IDLE"}, "", "a web inbox session unused this long ends"},
	{"audit.dsn", DefaultAuditDSN, []string{"BATON_AUDIT_DSN"}, "audit-dsn", "PostgreSQL connection string of the audit store"},
	{"audit.owner_dsn", "", []string{"BATON_AUDIT_OWNER_DSN"}, "", "the audit tables' owner role; only worker --migrate uses it (migrations and grants)"},
	{"audit.readers", "", []string{"BATON_AUDIT_READERS"}, "", "roles worker --migrate grants SELECT on the trail, comma-separated (the anchor's, auditors')"},
	{"audit.writer_key", ".dev/audit-writer.key", []string{"BATON_AUDIT_WRITER_KEY"}, "", "the worker's key file: it attests every audit entry it stores (worker --new-key makes one)"},
	{"audit.writer_public_keys", ".dev/audit-writer.key.pub", []string{"BATON_AUDIT_WRITER_PUBLIC_KEYS"}, "", "writer public keys (or files of them), comma-separated, that attestations must verify with"},
	{"audit.log_url", "http://localhost:8237", []string{"BATON_AUDIT_LOG_URL"}, "", "where the anchor serves the audit log"},
	{"audit.log_public_key", ".dev/anchor.key.pub", []string{"BATON_AUDIT_LOG_PUBLIC_KEY"}, "", "the audit log's checkpoint key (or a file of it)"},
	{"audit.witness_public_keys", ".dev/witness.key.pub", []string{"BATON_AUDIT_WITNESS_PUBLIC_KEYS"}, "", "the witnesses' keys (or files), comma-separated: every one must cosign a checkpoint"},
	{"audit.checkpoint_file", "", []string{"BATON_AUDIT_CHECKPOINT_FILE"}, "", "where a verifier keeps the last checkpoint it saw (default: one file per log key in the user's config dir, baton/checkpoints/<origin>+<key hash>)"},
	{"anchor.listen", "localhost:8237", []string{"BATON_ANCHOR_LISTEN"}, "", "the anchor's listen address (the log and its index)"},
	{"anchor.dir", ".dev/anchor", []string{"BATON_ANCHOR_DIR"}, "", "the anchor's folder: the log, its index and cursor (not writable by the database)"},
	{"anchor.key_file", ".dev/anchor.key", []string{"BATON_ANCHOR_KEY_FILE"}, "", "the anchor's checkpoint signing key file (anchor --new-key makes one)"},
	{"anchor.witness_url", "http://localhost:8238", []string{"BATON_ANCHOR_WITNESS_URL"}, "", "the witness that cosigns every checkpoint before it is published"},
	{"anchor.checkpoint_interval", time.Second, []string{"BATON_ANCHOR_CHECKPOINT_INTERVAL"}, "", "how often the anchor publishes a checkpoint"},
	{"witness.listen", "localhost:8238", []string{"BATON_WITNESS_LISTEN"}, "", "the witness's listen address"},
	{"witness.dir", ".dev/witness", []string{"BATON_WITNESS_DIR"}, "", "the witness's folder: the last checkpoint it cosigned"},
	{"witness.key_file", ".dev/witness.key", []string{"BATON_WITNESS_KEY_FILE"}, "", "the witness's cosigning key file (witness --new-key makes one)"},
	{"codec_server.listen", "localhost:8234", []string{"BATON_CODEC_SERVER_LISTEN"}, "listen", "codec server listen address"},
	{"codec_server.tokens", "", []string{"BATON_CODEC_SERVER_TOKENS"}, "", "accepted codec server tokens, comma-separated (at least 16 characters each)"},
	{"codec_server.token_file", "", []string{"BATON_CODEC_SERVER_TOKEN_FILE"}, "token-file", "file of accepted codec server tokens, one a line"},
	{"codec_server.ui_origins", "", []string{"BATON_CODEC_SERVER_UI_ORIGINS"}, "ui-origins", "Web UI origins allowed by CORS (default: the origin of ui.url)"},
	{"codec_server.oidc_issuer", "", []string{"BATON_CODEC_SERVER_OIDC_ISSUER"}, "oidc-issuer", "accept the Web UI's access tokens from this OpenID Connect issuer"},
	{"codec_server.oidc_audience", "", []string{"BATON_CODEC_SERVER_OIDC_AUDIENCE"}, "oidc-audience", "the audience those access tokens must carry"},
}

// Flag names of the Temporal connection, shared by every command.
var connectionFlags = map[string]bool{
	"address": true, "namespace": true, "api-key": true, "tls-cert": true,
	"tls-key": true, "tls-ca": true, "tls-server-name": true, "codec-key-file": true,
}

// AddFlags declares the flags for the given keys (when keys is empty: all
// keys with a flag except the codec server's, which only its own main
// declares) on fs; Load binds those that are present.
func AddFlags(fs *pflag.FlagSet, keys ...string) {
	for _, s := range settings {
		if s.flag == "" || (len(keys) > 0 && !slices.Contains(keys, s.key)) ||
			(len(keys) == 0 && strings.HasPrefix(s.key, "codec_server.")) {
			continue
		}
		if fs.Lookup(s.flag) != nil {
			continue
		}
		switch d := s.def.(type) {
		case time.Duration:
			fs.Duration(s.flag, d, s.usage)
		case bool:
			fs.Bool(s.flag, d, s.usage)
		default:
			fs.String(s.flag, fmt.Sprint(d), s.usage)
		}
	}
}

// ConnectionKeys are the keys of the Temporal connection flags.
func ConnectionKeys() []string {
	var keys []string
	for _, s := range settings {
		if connectionFlags[s.flag] {
			keys = append(keys, s.key)
		}
	}
	return keys
}

// Load builds the configuration. file may be empty (then BATON_CONFIG is
// consulted); fs may be nil. When fs declares --profile (AddProfileFlag),
// the profile it or BATON_PROFILE names is read over the defaults (else
// DefaultProfile, when the profile file has one). Load validates the result.
func Load(file string, fs *pflag.FlagSet) (*Config, error) {
	return load(file, fs, fs != nil && fs.Lookup("profile") != nil)
}

// LoadWithoutProfile is Load without the profile layer: what the defaults,
// the config file, the environment and the flags alone give.
func LoadWithoutProfile(file string, fs *pflag.FlagSet) (*Config, error) {
	return load(file, fs, false)
}

func load(file string, fs *pflag.FlagSet, profiles bool) (*Config, error) {
	v := viper.New()
	var info ProfileInfo
	if profiles {
		var err error
		if info, err = profileLayer(v, fs); err != nil {
			return nil, err
		}
	}
	fromProfile := info.Profile.values()
	for _, s := range settings {
		if _, set := fromProfile[s.key]; !set {
			v.SetDefault(s.key, s.def)
		}
		if err := v.BindEnv(append([]string{s.key}, s.env...)...); err != nil {
			return nil, err
		}
		if fs != nil && s.flag != "" {
			if f := fs.Lookup(s.flag); f != nil {
				if err := v.BindPFlag(s.key, f); err != nil {
					return nil, err
				}
			}
		}
	}
	if file == "" {
		file = os.Getenv("BATON_CONFIG")
	}
	if file != "" {
		v.SetConfigFile(file)
		if err := v.ReadInConfig(); err != nil {
			return nil, fmt.Errorf("config file %s: %w", file, err)
		}
		if err := unknownKeys(file, v.AllKeys()); err != nil {
			return nil, err
		}
	}
	for _, s := range settings {
		if _, ok := s.def.(bool); ok {
			if _, err := strconv.ParseBool(v.GetString(s.key)); err != nil {
				return nil, fmt.Errorf("%s: %q is not true or false", s.key, v.GetString(s.key))
			}
		}
	}
	var c Config
	if err := v.Unmarshal(&c); err != nil {
		return nil, fmt.Errorf("config: %w", err)
	}
	c.Profile = info
	if err := c.Validate(); err != nil {
		return nil, err
	}
	return &c, nil
}

// profileLayer sets the named profile's values as v's defaults: over the
// settings' defaults, under everything else.
func profileLayer(v *viper.Viper, fs *pflag.FlagSet) (ProfileInfo, error) {
	name, explicit := "", false
	if f := fs.Lookup("profile"); f != nil && f.Changed {
		name, explicit = f.Value.String(), true
	} else if e := os.Getenv("BATON_PROFILE"); e != "" {
		name, explicit = e, true
	}
	if !explicit {
		name = DefaultProfile
	}
	file, err := ProfileFile()
	if err != nil {
		if explicit {
			return ProfileInfo{}, err
		}
		return ProfileInfo{}, nil
	}
	p, err := findProfile(file, name, explicit)
	if err != nil || p == nil {
		return ProfileInfo{File: file}, err
	}
	for k, val := range p.values() {
		v.SetDefault(k, val)
	}
	return ProfileInfo{Name: name, File: file, Profile: *p}, nil
}

// ValidateInbox checks the inbox's keys (only the inbox needs them) and
// names the first bad one.
func (c *Config) ValidateInbox() error {
	in := c.Inbox
	if _, _, err := net.SplitHostPort(in.Listen); err != nil || in.Listen == "" {
		return fmt.Errorf("inbox.listen: %q is not host:port", in.Listen)
	}
	pub, ok := httpURL(in.PublicURL)
	if !ok || (pub.Path != "" && pub.Path != "/") {
		return fmt.Errorf("inbox.public_url: %q is not an http(s) URL without a path", in.PublicURL)
	}
	if pub.Scheme == "http" && !isLoopback(pub.Hostname()) {
		return fmt.Errorf("inbox.public_url: %s: http is allowed on localhost only (session cookies would travel in clear); use https", in.PublicURL)
	}
	if in.SigningKey == "" {
		return errors.New("inbox.signing_key: required: the inbox signs every decision (create one with: inbox keygen --out FILE)")
	}
	if _, err := os.Stat(in.SigningKey); err != nil {
		return fmt.Errorf("inbox.signing_key: cannot read %s", in.SigningKey)
	}
	if strings.TrimSpace(in.Signer) == "" {
		return errors.New("inbox.signer: must not be empty (the inbox's name in the policy's signers)")
	}
	o := in.OIDC
	oidcSet := o.Issuer != "" || o.ClientID != "" || o.ClientSecret != "" || o.RedirectURL != ""
	if !oidcSet && !in.DevSignIn {
		return errors.New("inbox.oidc.issuer: required (or enable inbox.dev_sign_in for development)")
	}
	if oidcSet {
		for _, kv := range [][2]string{{"inbox.oidc.issuer", o.Issuer}, {"inbox.oidc.redirect_url", o.RedirectURL}} {
			if _, ok := httpURL(kv[1]); !ok {
				return fmt.Errorf("%s: %q is not an http(s) URL", kv[0], kv[1])
			}
		}
		if o.ClientID == "" {
			return errors.New("inbox.oidc.client_id: required with inbox.oidc.issuer")
		}
		if o.ClientSecret == "" {
			return errors.New("inbox.oidc.client_secret: required with inbox.oidc.issuer")
		}
		if r, _ := url.Parse(o.RedirectURL); r.Scheme != pub.Scheme || r.Host != pub.Host {
			return fmt.Errorf("inbox.oidc.redirect_url: %s is not on inbox.public_url %s (the session cookie would not reach it)", o.RedirectURL, in.PublicURL)
		}
	}
	if in.SessionLifetime <= 0 {
		return fmt.Errorf("inbox.session_lifetime: %s must be positive", in.SessionLifetime)
	}
	if in.SessionIdle <= 0 || in.SessionIdle > in.SessionLifetime {
		return fmt.Errorf("inbox.session_idle: %s must be positive and at most inbox.session_lifetime", in.SessionIdle)
	}
	return nil
}

// httpURL parses s and reports whether it is an http(s) URL with a host.
func httpURL(s string) (*url.URL, bool) {
	u, err := url.Parse(s)
	return u, err == nil && (u.Scheme == "http" || u.Scheme == "https") && u.Host != ""
}

func isLoopback(host string) bool {
	if host == "localhost" {
		return true
	}
	ip := net.ParseIP(host)
	return ip != nil && ip.IsLoopback()
}

// Validate checks every key and names the first bad one.
func (c *Config) Validate() error {
	t := c.Temporal
	if _, _, err := net.SplitHostPort(t.Address); err != nil || t.Address == "" {
		return fmt.Errorf("temporal.address: %q is not host:port", t.Address)
	}
	if t.Namespace == "" {
		return errors.New("temporal.namespace: must not be empty")
	}
	if t.TLS.Cert != "" && t.TLS.Key == "" {
		return errors.New("temporal.tls.cert is set but temporal.tls.key is empty")
	}
	if t.TLS.Key != "" && t.TLS.Cert == "" {
		return errors.New("temporal.tls.key is set but temporal.tls.cert is empty")
	}
	if t.APIKey != "" && t.TLS.Cert != "" {
		return errors.New("temporal.api_key: use either an API key or an mTLS certificate, not both")
	}
	for key, path := range map[string]string{"temporal.tls.cert": t.TLS.Cert, "temporal.tls.key": t.TLS.Key, "temporal.tls.ca": t.TLS.CA} {
		if path == "" {
			continue
		}
		if _, err := os.Stat(path); err != nil {
			return fmt.Errorf("%s: cannot read %s", key, path)
		}
	}
	if strings.TrimSpace(c.TaskQueue) == "" {
		return errors.New("task_queue: must not be empty")
	}
	switch c.Log.Level {
	case "debug", "info", "warn", "error":
	default:
		return fmt.Errorf("log.level: %q is not one of debug, info, warn, error", c.Log.Level)
	}
	switch c.Log.Format {
	case "console", "json":
	default:
		return fmt.Errorf("log.format: %q is not one of console, json", c.Log.Format)
	}
	if a := c.Metrics.Address; a != "" {
		if _, _, err := net.SplitHostPort(a); err != nil {
			return fmt.Errorf("metrics.address: %q is not host:port", a)
		}
	}
	if c.Metrics.FiguresEvery < time.Second {
		return fmt.Errorf("metrics.figures_every: %s is under a second (each refresh reads a day of the audit store)", c.Metrics.FiguresEvery)
	}
	if c.Policy.File == "" {
		return errors.New("policy.file: must not be empty")
	}
	if _, ok := httpURL(c.Systems.URL); !ok {
		return fmt.Errorf("systems.url: %q is not an http(s) URL", c.Systems.URL)
	}
	if c.Systems.Timeout <= 0 {
		return fmt.Errorf("systems.timeout: %s must be positive", c.Systems.Timeout)
	}
	if strings.TrimSpace(c.Audit.DSN) == "" {
		return errors.New("audit.dsn: must be set (BATON_AUDIT_DSN): the audit store is a PostgreSQL database")
	}
	if d := c.Audit.DSN; strings.Contains(d, "://") && !strings.HasPrefix(d, "postgres://") && !strings.HasPrefix(d, "postgresql://") {
		return fmt.Errorf("audit.dsn: %q is not a postgres:// URL", RedactDSN(d))
	}
	if c.Worker.StopTimeout < 0 {
		return fmt.Errorf("worker.stop_timeout: %s must not be negative", c.Worker.StopTimeout)
	}
	if !t.Codec.Plaintext && strings.TrimSpace(t.Codec.Keys) == "" && strings.TrimSpace(t.Codec.KeyFile) == "" {
		return errors.New("temporal.codec: no key: set BATON_CODEC_KEY_FILE or BATON_CODEC_KEYS (make codec-key writes a development key)")
	}
	if _, _, err := net.SplitHostPort(c.CodecServer.Listen); err != nil {
		return fmt.Errorf("codec_server.listen: %q is not host:port", c.CodecServer.Listen)
	}
	if iss := c.CodecServer.OIDCIssuer; iss != "" {
		if _, ok := httpURL(iss); !ok {
			return fmt.Errorf("codec_server.oidc_issuer: %q is not an http(s) URL", iss)
		}
		if c.CodecServer.OIDCAudience == "" {
			return errors.New("codec_server.oidc_audience: required with codec_server.oidc_issuer (the client id or API the UI's tokens are for)")
		}
	}
	for _, o := range c.CodecServer.Origins() {
		if u, ok := httpURL(o); !ok || (u.Path != "" && u.Path != "/") || u.RawQuery != "" {
			return fmt.Errorf("codec_server.ui_origins: %q is not an origin (scheme://host[:port])", o)
		}
	}
	return nil
}

// Origins lists the configured UI origins (without a trailing slash).
func (s CodecServer) Origins() []string {
	var out []string
	for _, o := range strings.Split(s.UIOrigins, ",") {
		if o = strings.TrimSuffix(strings.TrimSpace(o), "/"); o != "" {
			out = append(out, o)
		}
	}
	return out
}

// CodecOrigins are the origins the codec server allows: codec_server.ui_origins,
// or the origin of ui.url.
func (c *Config) CodecOrigins() []string {
	if o := c.CodecServer.Origins(); len(o) > 0 {
		return o
	}
	if u, err := url.Parse(c.UI.URL); err == nil && u.Host != "" {
		return []string{u.Scheme + "://" + u.Host}
	}
	return nil
}

// unknownKeys names the first key of the config file that Baton does not
// know, with the closest known key when one is near: a misspelt key would
// otherwise be ignored and its default used in silence.
func unknownKeys(file string, keys []string) error {
	known := make(map[string]bool, len(settings))
	for _, s := range settings {
		known[s.key] = true
	}
	slices.Sort(keys)
	for _, k := range keys {
		if known[k] {
			continue
		}
		if near := closest(k); near != "" {
			return fmt.Errorf("config file %s: unknown key %q (did you mean %q?)", file, k, near)
		}
		return fmt.Errorf("config file %s: unknown key %q", file, k)
	}
	return nil
}

// closest returns the known key within edit distance 3 of k, if any.
func closest(k string) string {
	best, bestD := "", 4
	for _, s := range settings {
		if d := editDistance(k, s.key); d < bestD {
			best, bestD = s.key, d
		}
	}
	return best
}

func editDistance(a, b string) int {
	prev := make([]int, len(b)+1)
	cur := make([]int, len(b)+1)
	for j := range prev {
		prev[j] = j
	}
	for i := 1; i <= len(a); i++ {
		cur[0] = i
		for j := 1; j <= len(b); j++ {
			cost := 1
			if a[i-1] == b[j-1] {
				cost = 0
			}
			cur[j] = min(prev[j]+1, cur[j-1]+1, prev[j-1]+cost)
		}
		prev, cur = cur, prev
	}
	return prev[len(b)]
}

// RedactDSN hides the password of a PostgreSQL connection string, in URL
// or key=value form, for messages and listings.
func RedactDSN(dsn string) string {
	if !strings.Contains(dsn, "://") {
		return dsnPassword.ReplaceAllString(dsn, "${1}xxxxx")
	}
	u, err := url.Parse(dsn)
	if err != nil {
		return "(unparseable)"
	}
	return u.Redacted()
}

var dsnPassword = regexp.MustCompile(`(?i)(\bpassword\s*=\s*)('(?:[^'\\]|\\.)*'|\S+)`)
