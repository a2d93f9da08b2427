// Command simulator serves the simulated enterprise systems on one address.
// See internal/simulator for the systems, seed data and fault injection.
package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net"
	"net/http"
	"os"
	"os/signal"
	"syscall"
	"time"

	"github.com/spf13/pflag"

	"github.com/batonhq/baton/internal/simulator"
)

func main() {
	if err := run(os.Args[1:]); err != nil {
		fmt.Fprintln(os.Stderr, "simulator:", err)
		os.Exit(1)
	}
}

func run(args []string) error {
	fs := pflag.NewFlagSet("simulator", pflag.ContinueOnError)
	listen := fs.String("listen", envOr("BATON_SIM_LISTEN", "localhost:8090"), "listen address (BATON_SIM_LISTEN)")
	seed := fs.Uint64("seed", 1, "seed of the fault-injection randomness")
	errorRate := fs.Float64("error-rate", 0, "share of calls to every system answered 503")
	failAfter := fs.Float64("fail-after-apply-rate", 0, "share of mutating calls that apply, then answer 500")
	latency := fs.Duration("latency", 0, "latency added to every call")
	faults := fs.String("faults", envOr("BATON_SIM_FAULTS", ""), `per-system faults as JSON, e.g. '{"payments":{"errorRate":0.3,"latency":"200ms"}}' (BATON_SIM_FAULTS)`)
	probe := fs.String("probe", "", "GET this URL, exit 0 on 200 (a health check for images without curl)")
	fs.Usage = func() {
		fmt.Fprintf(os.Stderr, "Usage: simulator [flags]\n\nServes the simulated enterprise systems (credit, kyc, loans, fraud, inventory,\npayments, shipping, hr, it, equipment, payroll, facilities, mail) and /ledger.\n\nFlags:\n%s", fs.FlagUsages())
	}
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, pflag.ErrHelp) {
			return nil
		}
		return err
	}
	if *probe != "" {
		return probeURL(*probe)
	}
	cfg := simulator.Config{Seed: *seed, Faults: map[string]simulator.Faults{}}
	if *errorRate > 0 || *failAfter > 0 || *latency > 0 {
		cfg.Faults["*"] = simulator.Faults{ErrorRate: *errorRate, FailAfterApplyRate: *failAfter, Latency: simulator.Duration(*latency)}
	}
	if *faults != "" {
		if err := json.Unmarshal([]byte(*faults), &cfg.Faults); err != nil {
			return fmt.Errorf("--faults: %w", err)
		}
	}
	for name, f := range cfg.Faults {
		if f.ErrorRate < 0 || f.ErrorRate > 1 || f.FailAfterApplyRate < 0 || f.FailAfterApplyRate > 1 {
			return fmt.Errorf("--faults: %s: rates must be between 0 and 1", name)
		}
	}
	ln, err := net.Listen("tcp", *listen)
	if err != nil {
		return fmt.Errorf("--listen %s: %w", *listen, err)
	}
	srv := &http.Server{Handler: simulator.New(cfg), ReadHeaderTimeout: 5 * time.Second}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	go func() {
		<-ctx.Done()
		sctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		_ = srv.Shutdown(sctx)
	}()
	fmt.Fprintf(os.Stderr, "simulator: serving the enterprise systems on http://%s (seed %d, faults %v)\n", ln.Addr(), *seed, cfg.Faults)
	if err := srv.Serve(ln); err != nil && !errors.Is(err, http.ErrServerClosed) {
		return err
	}
	return nil
}

func probeURL(url string) error {
	c := http.Client{Timeout: 3 * time.Second}
	resp, err := c.Get(url)
	if err != nil {
		return err
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return fmt.Errorf("%s answered %d", url, resp.StatusCode)
	}
	return nil
}

func envOr(key, def string) string {
	if v := os.Getenv(key); v != "" {
		return v
	}
	return def
}
