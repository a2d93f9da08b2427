package starter

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"text/tabwriter"

	"github.com/spf13/cobra"

	"github.com/batonhq/baton/config"
	"github.com/batonhq/baton/textsafe"
)

// profileView is what starter profile shows: the profile read, and the
// settings in use that a profile can give.
type profileView struct {
	Profile     string            `json:"profile"`
	File        string            `json:"file"`
	Settings    map[string]string `json:"settings"`
	TemporalCLI string            `json:"temporalCLI,omitempty"`
	CodecURL    string            `json:"codecEndpoint,omitempty"`
}

func (a *app) profileCommand() *cobra.Command {
	var shell bool
	cmd := &cobra.Command{
		Use:   "profile [--shell] | save NAME",
		Short: "Show the profile in use, or define `temporal` from it",
		Long: `Profiles keep the connection and Baton's settings (Temporal address and
namespace, the payload key file, the policy, the audit store, the Web UI, the
pinned temporal CLI) in one file of your configuration directory, so the
starter works from any directory. make dev writes the dev profile, which is
read when no other is named (--profile, BATON_PROFILE). The file is in the
temporal CLI's own profile format: --shell prints a shell function that runs
the pinned CLI with it (address, namespace and the codec server for decoding).

Precedence: defaults < profile < --config file < environment < flags.`,
		Example: "  starter profile\n  eval \"$(starter profile --shell)\"; temporal workflow list\n  starter --profile staging tasks --user ana",
		Args:    cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			cfg, err := a.config()
			if err != nil {
				return err
			}
			info := cfg.Profile
			if shell {
				return a.printShell(info)
			}
			v := profileView{Profile: info.Name, File: info.File, Settings: map[string]string{
				"temporal.address":        cfg.Temporal.Address,
				"temporal.namespace":      cfg.Temporal.Namespace,
				"temporal.codec.key_file": cfg.Temporal.Codec.KeyFile,
				"policy.file":             cfg.Policy.File,
				"audit.dsn":               config.RedactDSN(cfg.Audit.DSN),
				"ui.url":                  cfg.UI.URL,
				"audit.log_url":           cfg.Audit.LogURL,
			}, TemporalCLI: info.Profile.Baton.TemporalCLI}
			if c := info.Profile.Codec; c != nil {
				v.CodecURL = c.Endpoint
			}
			if a.jsonOutput() {
				return a.printJSON(v)
			}
			if info.Name == "" {
				fmt.Fprintf(a.out, "no profile: none named (--profile, BATON_PROFILE) and %s has no %q profile (make dev writes it)\n", textsafe.Clean(info.File), config.DefaultProfile)
			} else {
				fmt.Fprintf(a.out, "profile %s, from %s\n", textsafe.Clean(info.Name), textsafe.Clean(info.File))
			}
			fmt.Fprintln(a.out, "settings in use (defaults < profile < --config < environment < flags):")
			w := tabwriter.NewWriter(a.out, 0, 0, 2, ' ', 0)
			for _, k := range []string{"temporal.address", "temporal.namespace", "temporal.codec.key_file", "policy.file", "audit.dsn", "audit.log_url", "ui.url"} {
				fmt.Fprintf(w, "  %s\t%s\n", k, textsafe.Clean(v.Settings[k]))
			}
			if v.TemporalCLI != "" {
				fmt.Fprintf(w, "  temporal CLI\t%s\n", textsafe.Clean(v.TemporalCLI))
			}
			if v.CodecURL != "" {
				fmt.Fprintf(w, "  codec server (temporal CLI)\t%s\n", textsafe.Clean(v.CodecURL))
			}
			return w.Flush()
		},
	}
	cmd.Flags().BoolVar(&shell, "shell", false, "print a shell function `temporal` that runs the profile's pinned temporal CLI with this profile")
	cmd.AddCommand(a.profileSaveCommand())
	return cmd
}

// printShell prints a bash/zsh function that runs the profile's temporal
// CLI with the profile file and name.
func (a *app) printShell(info config.ProfileInfo) error {
	if info.Name == "" {
		return usageErr("--shell: no profile in use: none named (--profile, BATON_PROFILE) and %s has no %q profile (run make dev, which writes it)", info.File, config.DefaultProfile)
	}
	cli := info.Profile.Baton.TemporalCLI
	if cli == "" {
		return usageErr("--shell: profile %s has no baton.temporal_cli (make dev writes it; or starter profile save %s --temporal-cli PATH)", info.Name, info.Name)
	}
	_, err := fmt.Fprintf(a.out, "temporal() { %s --config-file %s --profile %s \"$@\"; }\n", shellQuote(cli), shellQuote(info.File), shellQuote(info.Name))
	return err
}

// shellQuote quotes s for a POSIX shell.
func shellQuote(s string) string {
	return "'" + strings.ReplaceAll(s, "'", `'\''`) + "'"
}

func (a *app) profileSaveCommand() *cobra.Command {
	var cli, codecEndpoint, codecAuthFile string
	cmd := &cobra.Command{
		Use:   "save NAME [--temporal-cli PATH] [--codec-endpoint URL --codec-auth-file FILE]",
		Short: "Write the settings this command line and environment give as profile NAME",
		Long: `Write a profile from the configuration the flags, the environment and the
--config file give (any profile left out): Temporal address, namespace, API
key and TLS files, the payload key file, the policy file, the audit store and
the Web UI, with every path made absolute. --temporal-cli names the temporal
CLI that starter profile --shell runs; --codec-endpoint and --codec-auth-file
(its first line is the token) let that CLI decode payloads through the codec
server. Other profiles in the file are kept; one of the same name is replaced.
The file is mode 0600.`,
		Example: "  starter profile save dev --policy .dev/policy.yaml --temporal-cli ~/.cache/baton/temporal-v1.5.1/temporal\n" +
			"  starter profile save staging --address staging.example.com:7233 --namespace staging --codec-key-file /etc/baton/codec.keys",
		Args: cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			cfg, err := config.LoadWithoutProfile(a.cfgFile, cmd.Flags())
			if err != nil {
				return &codedError{exitUsage, err}
			}
			p := config.Profile{Address: cfg.Temporal.Address, Namespace: cfg.Temporal.Namespace, APIKey: cfg.Temporal.APIKey,
				Baton: config.ProfileBaton{AuditDSN: cfg.Audit.DSN, UIURL: cfg.UI.URL}}
			if p.Baton.PolicyFile, err = existingFile("policy.file", cfg.Policy.File); err != nil {
				return err
			}
			if c := cfg.Temporal.Codec; !c.Plaintext && strings.TrimSpace(c.Keys) == "" {
				if p.Baton.CodecKeyFile, err = existingFile("temporal.codec.key_file", c.KeyFile); err != nil {
					return err
				}
			}
			if t := cfg.Temporal.TLS; t != (config.TLS{}) {
				p.TLS = &config.ProfileTLS{ServerName: t.ServerName}
				for _, f := range []struct {
					key, path string
					dst       *string
				}{{"temporal.tls.cert", t.Cert, &p.TLS.ClientCertPath}, {"temporal.tls.key", t.Key, &p.TLS.ClientKeyPath}, {"temporal.tls.ca", t.CA, &p.TLS.ServerCACertPath}} {
					if f.path == "" {
						continue
					}
					if *f.dst, err = existingFile(f.key, f.path); err != nil {
						return err
					}
				}
			}
			// The audit log's settings: key files made absolute (a key
			// given inline stays as it is); a default file that does not
			// exist is left out.
			for _, k := range []struct {
				value string
				dst   *string
			}{{cfg.Audit.LogPublicKey, &p.Baton.AuditLogPublicKey}, {cfg.Audit.WitnessPublicKeys, &p.Baton.AuditWitnessPublicKeys}, {cfg.Audit.WriterPublicKeys, &p.Baton.AuditWriterPublicKeys}} {
				if _, err := os.Stat(k.value); err == nil {
					*k.dst, _ = filepath.Abs(k.value)
				} else if strings.Count(k.value, "+") == 2 {
					*k.dst = k.value
				}
			}
			if p.Baton.AuditLogPublicKey != "" {
				p.Baton.AuditLogURL = cfg.Audit.LogURL
			}
			if cli != "" {
				if p.Baton.TemporalCLI, err = existingFile("--temporal-cli", cli); err != nil {
					return err
				}
			}
			if codecEndpoint != "" {
				p.Codec = &config.ProfileCodec{Endpoint: codecEndpoint}
				if codecAuthFile != "" {
					data, err := os.ReadFile(codecAuthFile)
					if err != nil {
						return usageErr("--codec-auth-file: %v", err)
					}
					token, _, _ := strings.Cut(strings.TrimSpace(string(data)), "\n")
					if token = strings.TrimSpace(token); token == "" {
						return usageErr("--codec-auth-file: %s holds no token", codecAuthFile)
					}
					p.Codec.Auth = "Bearer " + token
				}
			} else if codecAuthFile != "" {
				return usageErr("--codec-auth-file needs --codec-endpoint")
			}
			file, err := config.ProfileFile()
			if err != nil {
				return err
			}
			if err := config.SaveProfile(file, args[0], p); err != nil {
				return err
			}
			_, err = fmt.Fprintf(a.out, "wrote profile %s to %s\n", textsafe.Clean(args[0]), textsafe.Clean(file))
			return err
		},
	}
	f := cmd.Flags()
	f.StringVar(&cli, "temporal-cli", "", "the temporal CLI to run with this profile (starter profile --shell)")
	f.StringVar(&codecEndpoint, "codec-endpoint", "", "codec server the temporal CLI decodes payloads through")
	f.StringVar(&codecAuthFile, "codec-auth-file", "", "file whose first line is the codec server's token")
	config.AddFlags(f, "audit.dsn")
	return cmd
}

// existingFile is path made absolute, or an error naming the setting when
// no such file exists: a profile pointing at nothing would fail later, far
// from here.
func existingFile(setting, path string) (string, error) {
	abs, err := filepath.Abs(path)
	if err != nil {
		return "", usageErr("%s: %v", setting, err)
	}
	if _, err := os.Stat(abs); err != nil {
		if errors.Is(err, os.ErrNotExist) {
			return "", usageErr("%s: %s does not exist", setting, abs)
		}
		return "", usageErr("%s: %v", setting, err)
	}
	return abs, nil
}
