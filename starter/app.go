package starter

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/spf13/cobra"
	"go.temporal.io/sdk/client"
	"go.temporal.io/sdk/converter"
	"go.temporal.io/sdk/log"

	"github.com/batonhq/baton/config"
	"github.com/batonhq/baton/process"
	"github.com/batonhq/baton/tclient"
)

// Exit codes, a contract for scripts.
const (
	exitFailure  = 1
	exitUsage    = 2
	exitRefused  = 3
	exitNotFound = 4
)

// outputSVG is -o svg, for the commands whose Annotations name it.
const outputSVG = "svg"

// codedError carries an exit code with its message.
type codedError struct {
	code int
	err  error
}

func (e *codedError) Error() string { return e.err.Error() }
func (e *codedError) Unwrap() error { return e.err }

func usageErr(format string, args ...any) error {
	return &codedError{exitUsage, fmt.Errorf(format, args...)}
}

func exitCode(err error) int {
	var ce *codedError
	if errors.As(err, &ce) {
		return ce.code
	}
	// cobra's own argument and command errors are usage errors.
	msg := err.Error()
	for _, p := range []string{"unknown command", "unknown flag", "unknown shorthand", "accepts ", "requires ", "required flag", "invalid argument"} {
		if strings.HasPrefix(msg, p) {
			return exitUsage
		}
	}
	return exitFailure
}

// app holds what every command shares: output, configuration and the client.
type app struct {
	catalog     *process.Catalog
	out, errOut io.Writer
	cfgFile     string
	output      string
	cmd         *cobra.Command
	cfg         *config.Config
	missing     []string // relative files of cfg missing here (withHint)
	// queryTimeout bounds a query to an instance (status --timeout).
	queryTimeout time.Duration
	client       client.Client
	dc           converter.DataConverter
}

func newApp(c *process.Catalog, out, errOut io.Writer) *app {
	return &app{catalog: c, out: out, errOut: errOut}
}

func (a *app) rootCommand() *cobra.Command {
	root := &cobra.Command{
		Use:   "starter",
		Short: "Start and steer Baton's governed business processes",
		Long: `starter starts governed business processes (` + strings.Join(a.catalog.Names(), ", ") + `),
lists the human tasks waiting for people, records their decisions under the
policy, and shows status, audit trails and reports.

It reads the dev profile that make dev writes (or the one --profile or
BATON_PROFILE names: starter profile shows it), so it works from any
directory. The Temporal connection honours TEMPORAL_ADDRESS,
TEMPORAL_NAMESPACE, TEMPORAL_API_KEY and TEMPORAL_TLS_*; Baton's own settings
use BATON_*. Precedence: defaults < profile < --config < environment < flags.`,
		SilenceUsage:  true,
		SilenceErrors: true,
		PersistentPreRunE: func(cmd *cobra.Command, _ []string) error {
			a.cmd = cmd
			switch {
			case a.output == "table", a.output == "json":
				return nil
			case a.output == outputSVG && cmd.Annotations[outputSVG] != "":
				return nil
			case cmd.Annotations[outputSVG] != "":
				return usageErr("--output: %q is not one of table, json, svg", a.output)
			default:
				return usageErr("--output: %q is not one of table, json", a.output)
			}
		},
	}
	root.SetOut(a.out)
	root.SetErr(a.errOut)
	root.SetFlagErrorFunc(func(_ *cobra.Command, err error) error { return &codedError{exitUsage, err} })
	pf := root.PersistentFlags()
	pf.StringVar(&a.cfgFile, "config", "", "config file (YAML); also BATON_CONFIG")
	pf.StringVarP(&a.output, "output", "o", "table", "output format: table or json (discover: also svg)")
	config.AddFlags(pf, append(config.ConnectionKeys(), "task_queue", "ui.url", "policy.file")...)
	config.AddProfileFlag(pf)

	root.AddCommand(a.startCommand(), a.tasksCommand())
	root.AddCommand(a.decisionCommands()...)
	root.AddCommand(a.workCommands()...)
	root.AddCommand(a.bulkCommand(), a.substituteCommand())
	root.AddCommand(a.statusCommand(), a.auditCommand(), a.verifyEvidenceCommand(), a.listCommand(), a.reportCommand(), a.whatifCommand())
	root.AddCommand(a.discoverCommand(), a.conformanceCommand())
	root.AddCommand(a.signalCommands()...)
	root.AddCommand(a.demoCommand(), a.keygenCommand(), a.pingCommand(), a.versionCommand(), a.profileCommand(), a.newCommand())
	return root
}

// config loads the configuration once, with the command's flags on top.
func (a *app) config() (*config.Config, error) {
	if a.cfg != nil {
		return a.cfg, nil
	}
	cfg, err := config.Load(a.cfgFile, a.cmd.Flags())
	if err != nil {
		return nil, &codedError{exitUsage, err}
	}
	a.cfg = cfg
	a.missing = missingDefaults(cfg)
	return cfg, nil
}

// missingDefaults lists the files the configuration names by a relative
// path that does not exist here: the repository's defaults, read outside it
// without a profile.
func missingDefaults(cfg *config.Config) []string {
	var out []string
	for _, path := range []string{cfg.Policy.File, cfg.Temporal.Codec.KeyFile} {
		if path == "" || filepath.IsAbs(path) {
			continue
		}
		if _, err := os.Stat(path); errors.Is(err, os.ErrNotExist) {
			out = append(out, path)
		}
	}
	return out
}

// withHint adds what to do to an error about a relative file missing from
// the working directory when no profile was read.
func (a *app) withHint(err error) error {
	if a.cfg == nil || a.cfg.Profile.Name != "" {
		return err
	}
	for _, path := range a.missing {
		if strings.Contains(err.Error(), path) {
			wd, _ := os.Getwd()
			return &codedError{exitCode(err), fmt.Errorf("%w (no %s in %s, and no profile: run make dev, which writes the dev profile the starter reads from any directory, or see starter profile --help)", err, path, wd)}
		}
	}
	return err
}

// connect dials Temporal once.
func (a *app) connect() (client.Client, error) {
	if a.client != nil {
		return a.client, nil
	}
	cfg, err := a.config()
	if err != nil {
		return nil, err
	}
	cl, err := tclient.Dial(a.cmd.Context(), cfg.Temporal, tclient.Options{Logger: quietLogger{}})
	if err != nil {
		return nil, err
	}
	a.client = cl
	return cl, nil
}

// dataConverter is the data converter the client uses (the payload
// codec's, its keys read once): payloads read by hand (memos, failures,
// history events) decode with it.
func (a *app) dataConverter() (converter.DataConverter, error) {
	if a.dc != nil {
		return a.dc, nil
	}
	cfg, err := a.config()
	if err != nil {
		return nil, err
	}
	dc, err := tclient.DataConverter(cfg.Temporal)
	if err != nil {
		return nil, err
	}
	a.dc = dc
	return dc, nil
}

// printJSON writes v as one indented JSON document.
func (a *app) printJSON(v any) error {
	enc := json.NewEncoder(a.out)
	enc.SetIndent("", "  ")
	return enc.Encode(v)
}

func (a *app) jsonOutput() bool { return a.output == "json" }

// quietLogger drops the SDK's own chatter: the CLI speaks for itself.
type quietLogger struct{}

var _ log.Logger = quietLogger{}

func (quietLogger) Debug(string, ...any) {}
func (quietLogger) Info(string, ...any)  {}
func (quietLogger) Warn(string, ...any)  {}
func (quietLogger) Error(string, ...any) {}

// workflowURL links an instance in the Temporal Web UI.
func (a *app) workflowURL(id string) string {
	return fmt.Sprintf("%s/namespaces/%s/workflows/%s", strings.TrimRight(a.cfg.UI.URL, "/"), a.cfg.Temporal.Namespace, id)
}
