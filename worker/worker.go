// Package worker is the worker as a library: it loads the configuration and
// the governance policy, dials Temporal, ensures the search attributes,
// registers every workflow and activity and polls until SIGINT or SIGTERM.
// cmd/worker is its main.
package worker

import (
	"context"
	"errors"
	"fmt"
	"maps"
	"net"
	"net/http"
	"os"
	"os/signal"
	"slices"
	"strings"
	"sync/atomic"
	"syscall"
	"time"

	"github.com/spf13/pflag"
	"go.temporal.io/sdk/activity"
	"go.temporal.io/sdk/interceptor"
	"go.temporal.io/sdk/worker"
	"go.uber.org/zap"

	"github.com/batonhq/baton/config"
	"github.com/batonhq/baton/internal/auditlog"
	"github.com/batonhq/baton/internal/frameact"
	"github.com/batonhq/baton/internal/insight"
	"github.com/batonhq/baton/internal/logging"
	"github.com/batonhq/baton/internal/metrics"
	"github.com/batonhq/baton/process"
	"github.com/batonhq/baton/record"
	"github.com/batonhq/baton/tclient"
)

// ActivityRegistry is what the SDK worker offers for activities.
type ActivityRegistry interface {
	RegisterActivityWithOptions(a any, options activity.RegisterOptions)
}

// Option configures what the worker hosts beside the catalog's processes.
type Option func(*options)

type options struct {
	activities []func(r ActivityRegistry, cfg *config.Config) error
}

// Activities registers the team's own activities (its systems), built from
// the configuration once the worker has it. The frame's own activities
// (policy, directory, audit store) are the worker's.
func Activities(register func(r ActivityRegistry, cfg *config.Config) error) Option {
	return func(o *options) { o.activities = append(o.activities, register) }
}

// Main runs the worker for the catalog's processes with the program's
// arguments and exits: 1 on an error, printed as one line.
func Main(c *process.Catalog, opts ...Option) {
	if err := Run(os.Args[1:], c, opts...); err != nil {
		fmt.Fprintln(os.Stderr, "worker:", err)
		os.Exit(1)
	}
}

// Run hosts the catalog's processes until SIGINT or SIGTERM.
func Run(args []string, c *process.Catalog, opts ...Option) error {
	var o options
	for _, set := range opts {
		set(&o)
	}
	fs := pflag.NewFlagSet("worker", pflag.ContinueOnError)
	cfgFile := fs.String("config", "", "config file (YAML); also BATON_CONFIG")
	printSA := fs.Bool("print-search-attributes", false, "print the dev server's flags for Baton (--search-attribute, and --dynamic-config-value for its limits) and exit")
	migrate := fs.Bool("migrate", false, "apply the audit store's migrations as its owner (audit.owner_dsn), grant the writer (audit.dsn's role) and readers their rights, and exit")
	rebuild := fs.Bool("rebuild-inbox", false, "make the task read model (open tasks, substitutions) again from the whole audit trail, as the writer (audit.dsn), and exit")
	newKey := auditlog.AddNewKeyFlags(fs, "audit writer key")
	config.AddFlags(fs)
	fs.Usage = func() {
		fmt.Fprintf(os.Stderr, "Usage: worker [flags]\n\nHosts the processes (%s) on a Temporal task queue.\n\nFlags:\n%s", strings.Join(c.Names(), ", "), fs.FlagUsages())
	}
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, pflag.ErrHelp) {
			return nil
		}
		return err
	}
	if *printSA {
		args := record.DevServerArgs()
		for i := 0; i+1 < len(args); i += 2 {
			fmt.Printf("%s %s\n", args[i], args[i+1])
		}
		return nil
	}
	if done, err := newKey.Write(auditlog.WriterKeyName, os.Stdout); done || err != nil {
		return err
	}
	cfg, err := config.Load(*cfgFile, fs)
	if err != nil {
		return err
	}
	zl, err := logging.New(cfg.Log.Level, cfg.Log.Format)
	if err != nil {
		return err
	}
	defer func() { _ = zl.Sync() }()
	if *migrate {
		return migrateAudit(context.Background(), cfg.Audit, zl)
	}
	if *rebuild {
		return rebuildInbox(context.Background(), cfg.Audit, zl)
	}

	pol, err := config.LoadPolicy(cfg.Policy.File, c.CheckPolicy)
	if err != nil {
		return err
	}
	zl.Info("policy loaded", zap.String("file", cfg.Policy.File), zap.String("policyVersion", pol.Version), zap.Int("users", len(pol.Users)))

	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()

	store, err := openAudit(ctx, cfg.Audit, zl)
	if err != nil {
		return err
	}
	defer store.Close()
	if err := storePolicy(ctx, store, cfg.Policy.File, pol); err != nil {
		return err
	}

	met, err := metrics.New()
	if err != nil {
		return err
	}
	cl, err := tclient.Dial(ctx, cfg.Temporal, tclient.Options{Logger: logging.NewSDKLogger(zl), MetricsHandler: met.Handler})
	if err != nil {
		return err
	}
	defer cl.Close()

	// Before polling: a start that sets an attribute the server cannot map
	// yet is refused, so the worker waits until they are usable.
	added, err := tclient.EnsureSearchAttributes(ctx, cl, cfg.Temporal.Namespace, record.SearchAttributes())
	var refused *tclient.OperatorRefusedError
	switch {
	case errors.As(err, &refused):
		// Temporal Cloud manages search attributes outside the operator API:
		// the worker still runs, and says what to create.
		zl.Warn("search attributes not ensured; create them for the namespace", zap.Error(err),
			zap.Strings("names", slices.Sorted(maps.Keys(record.SearchAttributes()))))
	case err != nil:
		return err
	}
	if len(added) > 0 {
		zl.Info("search attributes created", zap.Strings("names", added))
	}

	frame := frameact.NewFrame(pol, store)
	// The update validator judges trust with the directory the handler
	// reads: the worker's current one. Both are fixed for the worker's
	// life: workflow code reads them.
	settings := record.Settings{Directory: frame.Directory}
	switch os.Getenv("BATON_AUDIT_WRITES") {
	case "activity":
		settings.Audit = record.AuditActivity
		zl.Warn("BATON_AUDIT_WRITES=activity: audit writes through a regular activity (benchmark only)")
	case "off":
		// make bench's "without audit writes" half only: instances started
		// by this worker write no trail to the store.
		settings.Audit = record.AuditOff
		zl.Warn("BATON_AUDIT_WRITES=off: instances do not write their audit trail to the store (benchmark only)")
	}
	refusals := newRefusalRecorder(store, zl, met.Handler)
	w := worker.New(cl, cfg.TaskQueue, worker.Options{WorkerStopTimeout: cfg.Worker.StopTimeout,
		Interceptors: []interceptor.WorkerInterceptor{refusals}})
	c.Register(w, settings)
	frame.Register(w)
	for _, register := range o.activities {
		if err := register(w, cfg); err != nil {
			return err
		}
	}
	rctx, rcancel := context.WithCancel(ctx)
	refusalsDone := make(chan struct{})
	go func() { refusals.run(rctx); close(refusalsDone) }()
	defer func() { rcancel(); <-refusalsDone }()

	var ready atomic.Bool
	if cfg.Metrics.Address != "" {
		// The figures starter report prints, per process and path, as
		// gauges: computed from the audit store every metrics.figures_every.
		err := met.ServeFigures(rctx, cfg.Metrics.FiguresEvery, func(ctx context.Context) ([]insight.ProcessFigures, error) {
			until := time.Now().UTC()
			trails, err := insight.ReadTrails(ctx, store, insight.Window{Since: until.Add(-metrics.FiguresWindow), Until: until, Started: true, Need: insight.NeedEnd})
			if err != nil {
				return nil, err
			}
			runs := make([]insight.Run, len(trails))
			for i, t := range trails {
				runs[i] = t.Run()
			}
			return insight.Measure(runs, metrics.FiguresWindow.Hours(), c.Names()), nil
		}, func(err error) { zl.Warn("insight figures not refreshed", zap.Error(err)) })
		if err != nil {
			return err
		}
		srv, err := serveOps(cfg.Metrics.Address, &ready, met.HTTP)
		if err != nil {
			return err
		}
		defer func() {
			sctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
			defer cancel()
			_ = srv.Shutdown(sctx)
		}()
	}

	if err := w.Start(); err != nil {
		return fmt.Errorf("start worker: %w", err)
	}
	ready.Store(true)
	zl.Info("worker polling", zap.String("taskQueue", cfg.TaskQueue), zap.String("namespace", cfg.Temporal.Namespace), zap.String("address", cfg.Temporal.Address))
	<-ctx.Done()
	zl.Info("stopping worker: in-flight activities may finish", zap.Duration("stopTimeout", cfg.Worker.StopTimeout))
	ready.Store(false)
	w.Stop()
	zl.Info("worker stopped")
	return nil
}

// serveOps serves /metrics and /healthz (ready once the worker polls).
func serveOps(addr string, ready *atomic.Bool, metricsHandler http.Handler) (*http.Server, error) {
	mux := http.NewServeMux()
	mux.Handle("GET /metrics", metricsHandler)
	mux.HandleFunc("GET /healthz", func(w http.ResponseWriter, _ *http.Request) {
		if !ready.Load() {
			http.Error(w, "starting", http.StatusServiceUnavailable)
			return
		}
		_, _ = w.Write([]byte("ok\n"))
	})
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		return nil, fmt.Errorf("metrics.address %s: %w", addr, err)
	}
	srv := &http.Server{Handler: mux, ReadHeaderTimeout: 5 * time.Second}
	go func() { _ = srv.Serve(ln) }()
	return srv, nil
}
