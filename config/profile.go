package config

import (
	"bytes"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"strings"

	"github.com/pelletier/go-toml/v2"
	"github.com/spf13/pflag"
)

// Profiles are named sets of connection settings in one TOML file in the
// user's configuration directory, in the Temporal CLI's own profile format
// (`temporal config`, go.temporal.io/sdk/contrib/envconfig): the temporal
// CLI reads the same file with --config-file and --profile. Baton's own
// settings live in each profile's [profile.NAME.baton] table, which the
// Temporal CLI ignores:
//
//	[profile.dev]
//	address = "localhost:7233"
//	namespace = "default"
//
//	[profile.dev.codec]            # for the temporal CLI: Baton encrypts locally
//	endpoint = "http://localhost:8234"
//	auth = "Bearer ..."
//
//	[profile.dev.baton]
//	codec_key_file = "/home/me/baton/.dev/codec.keys"
//	policy_file = "/home/me/baton/.dev/policy.yaml"
//	audit_dsn = "postgres://postgres@localhost:5433/baton?sslmode=disable"
//	ui_url = "http://localhost:8233"
//	temporal_cli = "/home/me/.cache/baton/temporal-v1.5.1/temporal"
//
// A program that declares --profile (AddProfileFlag) reads the profile its
// flag or BATON_PROFILE names, else DefaultProfile when the file has one,
// as a layer between the defaults and the config file.

// DefaultProfile is the profile read when none is named: the one make dev writes.
const DefaultProfile = "dev"

// ProfileFileName is the profile file's name in the baton folder of the
// user's configuration directory.
const ProfileFileName = "profiles.toml"

// Profile is one named profile.
type Profile struct {
	Address   string        `toml:"address,omitempty"`
	Namespace string        `toml:"namespace,omitempty"`
	APIKey    string        `toml:"api_key,omitempty"`
	TLS       *ProfileTLS   `toml:"tls,omitempty"`
	Codec     *ProfileCodec `toml:"codec,omitempty"`
	Baton     ProfileBaton  `toml:"baton,omitempty"`
}

// ProfileTLS is the part of the Temporal CLI's TLS table that Baton's
// configuration can express (files, not inline PEM data).
type ProfileTLS struct {
	ClientCertPath   string `toml:"client_cert_path,omitempty"`
	ClientKeyPath    string `toml:"client_key_path,omitempty"`
	ServerCACertPath string `toml:"server_ca_cert_path,omitempty"`
	ServerName       string `toml:"server_name,omitempty"`
}

// ProfileCodec is the remote codec the temporal CLI decodes through; Baton's
// programs encrypt and decrypt locally with the key file and ignore it.
type ProfileCodec struct {
	Endpoint string `toml:"endpoint,omitempty"`
	Auth     string `toml:"auth,omitempty"`
}

// ProfileBaton holds Baton's settings of a profile.
type ProfileBaton struct {
	CodecKeyFile string `toml:"codec_key_file,omitempty"`
	PolicyFile   string `toml:"policy_file,omitempty"`
	AuditDSN     string `toml:"audit_dsn,omitempty"`
	UIURL        string `toml:"ui_url,omitempty"`
	// TemporalCLI is the pinned temporal CLI (starter profile --shell).
	TemporalCLI string `toml:"temporal_cli,omitempty"`
}

// ProfileInfo says which profile a configuration was loaded with.
type ProfileInfo struct {
	// Name is empty when no profile was read.
	Name string
	// File is the profile file consulted (whether or not it exists).
	File    string
	Profile Profile
}

// values maps the profile onto configuration keys (only what it sets).
func (p Profile) values() map[string]string {
	v := map[string]string{
		"temporal.address":        p.Address,
		"temporal.namespace":      p.Namespace,
		"temporal.api_key":        p.APIKey,
		"temporal.codec.key_file": p.Baton.CodecKeyFile,
		"policy.file":             p.Baton.PolicyFile,
		"audit.dsn":               p.Baton.AuditDSN,
		"ui.url":                  p.Baton.UIURL,
	}
	if t := p.TLS; t != nil {
		v["temporal.tls.cert"] = t.ClientCertPath
		v["temporal.tls.key"] = t.ClientKeyPath
		v["temporal.tls.ca"] = t.ServerCACertPath
		v["temporal.tls.server_name"] = t.ServerName
	}
	for k, s := range v {
		if s == "" {
			delete(v, k)
		}
	}
	return v
}

// ProfileFile is the profile file: profiles.toml in the baton folder of
// the user's configuration directory (~/.config/baton on Linux, or under
// XDG_CONFIG_HOME).
func ProfileFile() (string, error) {
	dir, err := os.UserConfigDir()
	if err != nil {
		return "", fmt.Errorf("profiles: no user configuration directory: %w", err)
	}
	return filepath.Join(dir, "baton", ProfileFileName), nil
}

// AddProfileFlag declares --profile: a program that declares it reads
// profiles (Load).
func AddProfileFlag(fs *pflag.FlagSet) {
	if fs.Lookup("profile") == nil {
		fs.String("profile", "", "profile of "+filepath.Join("<user config dir>", "baton", ProfileFileName)+" to use (also BATON_PROFILE; default "+DefaultProfile+" when present)")
	}
}

// profileFile is the decoded file: the Temporal CLI's layout.
type profileFile struct {
	Profile map[string]Profile `toml:"profile"`
}

// ReadProfiles decodes every profile of file; a missing file has none.
// Keys Baton does not know (inline certificates, gRPC metadata, a misspelt
// key) are refused with their name: they would otherwise be ignored.
func ReadProfiles(file string) (map[string]Profile, error) {
	data, err := os.ReadFile(file)
	if errors.Is(err, fs.ErrNotExist) {
		return nil, nil
	}
	if err != nil {
		return nil, fmt.Errorf("profiles: %w", err)
	}
	var pf profileFile
	dec := toml.NewDecoder(bytes.NewReader(data)).DisallowUnknownFields()
	if err := dec.Decode(&pf); err != nil {
		var strict *toml.StrictMissingError
		if errors.As(err, &strict) && len(strict.Errors) > 0 {
			e := strict.Errors[0]
			row, _ := e.Position()
			return nil, fmt.Errorf("profiles %s:%d: %s is not a setting Baton reads (see docs/configuration.md, \"Profiles\")", file, row, strings.Join(e.Key(), "."))
		}
		var de *toml.DecodeError
		if errors.As(err, &de) {
			row, col := de.Position()
			return nil, fmt.Errorf("profiles %s:%d:%d: %s", file, row, col, de.Error())
		}
		return nil, fmt.Errorf("profiles %s: %w", file, err)
	}
	return pf.Profile, nil
}

// findProfile reads the profile name from file. When explicit is false a
// missing file or profile is no error (nothing is read).
func findProfile(file, name string, explicit bool) (*Profile, error) {
	all, err := ReadProfiles(file)
	if err != nil {
		return nil, err
	}
	p, ok := all[name]
	if ok {
		return &p, nil
	}
	if !explicit {
		return nil, nil
	}
	if len(all) == 0 {
		return nil, fmt.Errorf("profile %q: %s has no profiles (make dev writes the %s profile; starter profile save NAME writes one)", name, file, DefaultProfile)
	}
	names := make([]string, 0, len(all))
	for n := range all {
		names = append(names, n)
	}
	slices.Sort(names)
	return nil, fmt.Errorf("profile %q is not in %s (it has: %s)", name, file, strings.Join(names, ", "))
}

// SaveProfile writes profile name into file, replacing a profile of that
// name and keeping every other profile and table as it was. The file is
// created mode 0600 (a profile may hold an API key or a codec token).
func SaveProfile(file, name string, p Profile) error {
	if strings.TrimSpace(name) == "" || strings.ContainsAny(name, ". \t\"'[]") {
		return fmt.Errorf("profile name %q: use letters, digits, - and _", name)
	}
	doc := map[string]any{}
	data, err := os.ReadFile(file)
	switch {
	case err == nil:
		if err := toml.Unmarshal(data, &doc); err != nil {
			return fmt.Errorf("profiles %s: %w (fix or remove the file)", file, err)
		}
	case !errors.Is(err, fs.ErrNotExist):
		return fmt.Errorf("profiles: %w", err)
	}
	// Round-trip the profile through TOML so it lands in the map as tables.
	b, err := toml.Marshal(p)
	if err != nil {
		return err
	}
	var table map[string]any
	if err := toml.Unmarshal(b, &table); err != nil {
		return err
	}
	profiles, _ := doc["profile"].(map[string]any)
	if profiles == nil {
		profiles = map[string]any{}
	}
	profiles[name] = table
	doc["profile"] = profiles
	out, err := toml.Marshal(doc)
	if err != nil {
		return err
	}
	header := "# Baton and temporal CLI profiles (docs/configuration.md, \"Profiles\").\n" +
		"# make dev rewrites the " + DefaultProfile + " profile; the others are yours.\n\n"
	if err := os.MkdirAll(filepath.Dir(file), 0o700); err != nil {
		return fmt.Errorf("profiles: %w", err)
	}
	tmp, err := os.CreateTemp(filepath.Dir(file), ".profiles-*.toml")
	if err != nil {
		return fmt.Errorf("profiles: %w", err)
	}
	defer os.Remove(tmp.Name())
	if _, err := tmp.WriteString(header + string(out)); err != nil {
		tmp.Close()
		return fmt.Errorf("profiles: %w", err)
	}
	if err := tmp.Close(); err != nil {
		return fmt.Errorf("profiles: %w", err)
	}
	if err := os.Chmod(tmp.Name(), 0o600); err != nil {
		return fmt.Errorf("profiles: %w", err)
	}
	if err := os.Rename(tmp.Name(), file); err != nil {
		return fmt.Errorf("profiles: %w", err)
	}
	return nil
}
