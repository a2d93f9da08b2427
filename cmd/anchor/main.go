// Command anchor keeps Baton's audit trail anchored outside its database:
// it reads the entries the workers stored, in commit order, checks each
// one's hash and writer attestation, appends a leaf per entry to a Merkle
// tree log (Tessera, tlog-tiles in anchor.dir), publishes checkpoints
// signed with its own key and cosigned by the witness, and serves the log
// and an index of each instance's leaves over HTTP (anchor.listen).
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
	"github.com/batonhq/baton/internal/auditstore"
	"github.com/batonhq/baton/internal/logging"
)

func main() {
	if err := run(os.Args[1:]); err != nil {
		fmt.Fprintln(os.Stderr, "anchor:", err)
		os.Exit(1)
	}
}

func run(args []string) error {
	fs := pflag.NewFlagSet("anchor", pflag.ContinueOnError)
	cfgFile := fs.String("config", "", "config file (YAML); also BATON_CONFIG")
	newKey := auditlog.AddNewKeyFlags(fs, "checkpoint signing key")
	config.AddFlags(fs, "audit.dsn")
	fs.Usage = func() {
		fmt.Fprintf(os.Stderr, "Usage: anchor [flags]\n\nAnchors the audit store in a verifiable log (settings: anchor.*, audit.dsn, audit.writer_public_keys, audit.witness_public_keys).\n\nFlags:\n%s", fs.FlagUsages())
	}
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, pflag.ErrHelp) {
			return nil
		}
		return err
	}
	if done, err := newKey.Write(auditlog.LogOrigin, os.Stdout); done || err != nil {
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

	signer, err := auditlog.LoadSigner("anchor.key_file", cfg.Anchor.KeyFile)
	if err != nil {
		return fmt.Errorf("%w: create one with: anchor --new-key FILE", err)
	}
	writerKeys, err := auditlog.Keys("audit.writer_public_keys", cfg.Audit.WriterPublicKeys)
	if err != nil {
		return err
	}
	writers, err := auditlog.Verifiers("audit.writer_public_keys", writerKeys)
	if err != nil {
		return err
	}
	if len(writers) == 0 {
		return errors.New("audit.writer_public_keys: no key: the anchor integrates only entries a writer key attested")
	}
	var witnessKey string
	if cfg.Anchor.WitnessURL != "" {
		keys, err := auditlog.Keys("audit.witness_public_keys", cfg.Audit.WitnessPublicKeys)
		if err != nil {
			return err
		}
		if len(keys) != 1 {
			return fmt.Errorf("audit.witness_public_keys: the anchor needs exactly one witness key with anchor.witness_url, got %d", len(keys))
		}
		witnessKey = keys[0]
	}

	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	octx, cancel := context.WithTimeout(ctx, 10*time.Second)
	st, err := auditstore.Open(octx, cfg.Audit.DSN)
	if err == nil {
		err = st.CheckSchema(octx)
	}
	cancel()
	if err != nil {
		return err
	}
	defer st.Close()

	a, err := auditlog.NewAnchor(ctx, auditlog.AnchorConfig{
		Store: st, Dir: cfg.Anchor.Dir, Signer: signer, Writers: writers,
		WitnessURL: cfg.Anchor.WitnessURL, WitnessKey: witnessKey,
		CheckpointInterval: cfg.Anchor.CheckpointInterval, Log: zl,
	})
	if err != nil {
		return err
	}
	ln, err := net.Listen("tcp", cfg.Anchor.Listen)
	if err != nil {
		return fmt.Errorf("anchor.listen %s: %w", cfg.Anchor.Listen, err)
	}
	srv := &http.Server{Handler: a.Handler(), ReadHeaderTimeout: 5 * time.Second}
	go func() { _ = srv.Serve(ln) }()
	defer func() {
		sctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
		defer cancel()
		_ = srv.Shutdown(sctx)
	}()
	zl.Info("anchor running", zap.String("log", "http://"+ln.Addr().String()+"/checkpoint"), zap.String("dir", cfg.Anchor.Dir),
		zap.String("origin", signer.Name()), zap.String("witness", cfg.Anchor.WitnessURL))
	return a.Run(ctx)
}
