// Command witness cosigns the audit log's checkpoints (c2sp.org/tlog-witness):
// only a checkpoint that a consistency proof shows extends the last one it
// cosigned, which it keeps in witness.dir. Run it where neither the
// database nor the anchor's operator can change its state or key.
package main

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/http"
	"os"
	"os/signal"
	"syscall"
	"time"

	"github.com/spf13/pflag"
	"go.uber.org/zap"

	"github.com/batonhq/baton/config"
	"github.com/batonhq/baton/internal/auditlog"
	"github.com/batonhq/baton/internal/logging"
	"github.com/batonhq/baton/internal/witness"
)

func main() {
	if err := run(os.Args[1:]); err != nil {
		fmt.Fprintln(os.Stderr, "witness:", err)
		os.Exit(1)
	}
}

func run(args []string) error {
	fs := pflag.NewFlagSet("witness", pflag.ContinueOnError)
	cfgFile := fs.String("config", "", "config file (YAML); also BATON_CONFIG")
	newKey := auditlog.AddNewKeyFlags(fs, "cosigning key")
	fs.Usage = func() {
		fmt.Fprintf(os.Stderr, "Usage: witness [flags]\n\nCosigns the audit log's consistent checkpoints (settings: witness.*, audit.log_public_key).\n\nFlags:\n%s", fs.FlagUsages())
	}
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, pflag.ErrHelp) {
			return nil
		}
		return err
	}
	if done, err := newKey.Write(auditlog.WitnessKeyName, os.Stdout); done || err != nil {
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
	signer, err := auditlog.LoadCosigner("witness.key_file", cfg.Witness.KeyFile)
	if err != nil {
		return fmt.Errorf("%w: create one with: witness --new-key FILE", err)
	}
	logKeys, err := auditlog.Keys("audit.log_public_key", cfg.Audit.LogPublicKey)
	if err != nil {
		return err
	}
	vs, err := auditlog.Verifiers("audit.log_public_key", logKeys)
	if err != nil {
		return err
	}
	if len(vs) != 1 {
		return fmt.Errorf("audit.log_public_key: want the log's one key, got %d", len(vs))
	}
	w, err := witness.New(cfg.Witness.Dir, signer, vs[0])
	if err != nil {
		return err
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	ln, err := net.Listen("tcp", cfg.Witness.Listen)
	if err != nil {
		return fmt.Errorf("witness.listen %s: %w", cfg.Witness.Listen, err)
	}
	srv := &http.Server{Handler: w.Handler(), ReadHeaderTimeout: 5 * time.Second}
	go func() { _ = srv.Serve(ln) }()
	zl.Info("witness running", zap.String("listen", ln.Addr().String()), zap.String("log", vs[0].Name()), zap.Uint64("lastCosignedSize", w.Size()))
	<-ctx.Done()
	sctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
	defer cancel()
	return srv.Shutdown(sctx)
}
