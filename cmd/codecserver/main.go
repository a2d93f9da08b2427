// Command codecserver serves Baton's payload codec to the Temporal Web UI and
// the temporal CLI: POST /encode and /decode (the codec server protocol),
// behind a bearer token, with CORS for the configured UI origin only. It
// also writes development keys and tokens (--new-key, --new-token).
package main

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/http"
	"os"
	"os/signal"
	"path/filepath"
	"strings"
	"syscall"
	"time"

	"github.com/spf13/pflag"
	"go.uber.org/zap"

	"github.com/batonhq/baton/codec"
	"github.com/batonhq/baton/config"
	"github.com/batonhq/baton/internal/logging"
)

func main() {
	if err := run(os.Args[1:]); err != nil {
		fmt.Fprintln(os.Stderr, "codecserver:", err)
		os.Exit(1)
	}
}

func run(args []string) error {
	fs := pflag.NewFlagSet("codecserver", pflag.ContinueOnError)
	cfgFile := fs.String("config", "", "config file (YAML); also BATON_CONFIG")
	newKey := fs.String("new-key", "", "append a fresh key to this key file and exit: it encrypts in a new file (created mode 0600), else it is added pending (decrypt-only) until --activate-keys")
	activate := fs.String("activate-keys", "", "make this key file's pending keys encrypt (once every program reading it was restarted with them) and exit")
	newToken := fs.String("new-token", "", "write a fresh access token to this file (mode 0600) unless it holds one, and exit")
	config.AddFlags(fs, "temporal.codec.key_file", "codec_server.listen", "codec_server.token_file", "codec_server.ui_origins",
		"codec_server.oidc_issuer", "codec_server.oidc_audience", "ui.url", "log.level", "log.format")
	fs.Usage = func() {
		fmt.Fprintf(os.Stderr, "Usage: codecserver [flags]\n\nServes /encode and /decode for the Temporal Web UI (--ui-codec-endpoint) and the\ntemporal CLI (--codec-endpoint, --codec-auth 'Bearer <token>').\n\nFlags:\n%s", fs.FlagUsages())
	}
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, pflag.ErrHelp) {
			return nil
		}
		return err
	}
	switch {
	case *newKey != "":
		id, active, err := codec.AppendNewKey(*newKey, "baton-")
		if err != nil {
			return err
		}
		if active {
			fmt.Printf("key %s added to %s: it encrypts from now on\n", id, *newKey)
		} else {
			fmt.Printf("key %s added to %s as pending: it decrypts, the current key still encrypts. Restart every program that reads %s, then: codecserver --activate-keys %s (make dev does it when it starts)\n", id, *newKey, *newKey, *newKey)
		}
		return nil
	case *activate != "":
		ids, err := codec.ActivateKeys(*activate)
		if err != nil {
			return err
		}
		if len(ids) > 0 {
			fmt.Printf("activated %s in %s: programs started from now on encrypt with %s\n", strings.Join(ids, ", "), *activate, ids[len(ids)-1])
		}
		return nil
	case *newToken != "":
		return writeToken(*newToken)
	}

	cfg, err := config.Load(*cfgFile, fs)
	if err != nil {
		return err
	}
	if cfg.Temporal.Codec.Plaintext {
		return errors.New("temporal.codec.plaintext is true: there is nothing to decode")
	}
	ring, err := codec.FromConfig(cfg.Temporal.Codec)
	if err != nil {
		return err
	}
	tokens, err := codec.TokensFromConfig(cfg.CodecServer)
	if err != nil {
		return err
	}
	zl, err := logging.New(cfg.Log.Level, cfg.Log.Format)
	if err != nil {
		return err
	}
	defer func() { _ = zl.Sync() }()

	origins := cfg.CodecOrigins()
	opts := codec.ServerOptions{Tokens: tokens, Origins: origins}
	if iss := cfg.CodecServer.OIDCIssuer; iss != "" {
		dctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		opts.Verify, err = codec.OIDCVerifier(dctx, iss, cfg.CodecServer.OIDCAudience)
		cancel()
		if err != nil {
			return err
		}
	}
	h := codec.Handler(ring, opts)
	ln, err := net.Listen("tcp", cfg.CodecServer.Listen)
	if err != nil {
		return fmt.Errorf("codec_server.listen %s: %w", cfg.CodecServer.Listen, err)
	}
	srv := &http.Server{Handler: logRequests(zl, h), ReadHeaderTimeout: 5 * time.Second, MaxHeaderBytes: 16 << 10}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	go func() {
		<-ctx.Done()
		sctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		_ = srv.Shutdown(sctx)
	}()
	zl.Info("codec server listening", zap.String("address", "http://"+ln.Addr().String()),
		zap.Strings("keyIds", ring.IDs()), zap.String("encryptsWith", ring.NewestID()), zap.Strings("pendingKeyIds", ring.PendingIDs()),
		zap.Strings("uiOrigins", origins), zap.Int("tokens", len(tokens)), zap.String("oidcIssuer", cfg.CodecServer.OIDCIssuer))
	if err := srv.Serve(ln); err != nil && !errors.Is(err, http.ErrServerClosed) {
		return err
	}
	return nil
}

// logRequests logs each request's route, namespace, status and duration;
// never a token, a path token or a payload.
func logRequests(zl *zap.Logger, h http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		start := time.Now()
		rec := &status{ResponseWriter: w, code: http.StatusOK}
		h.ServeHTTP(rec, r)
		// A pattern, never the path: /t/<token> carries a secret.
		zl.Info("codec request", zap.String("method", r.Method), zap.String("route", codec.Route(r.URL.Path)),
			zap.String("namespace", r.Header.Get("X-Namespace")), zap.Int("status", rec.code),
			zap.Duration("took", time.Since(start)))
	})
}

type status struct {
	http.ResponseWriter
	code int
}

func (s *status) WriteHeader(code int) { s.code = code; s.ResponseWriter.WriteHeader(code) }

func writeToken(path string) error {
	if data, err := os.ReadFile(path); err == nil && strings.TrimSpace(string(data)) != "" {
		fmt.Printf("%s already holds a token\n", path)
		return nil
	}
	tok, err := codec.NewToken()
	if err != nil {
		return err
	}
	if err := os.MkdirAll(filepath.Dir(path), 0o700); err != nil {
		return err
	}
	if err := os.WriteFile(path, []byte(tok+"\n"), 0o600); err != nil {
		return fmt.Errorf("--new-token %s: %w", path, err)
	}
	fmt.Printf("token written to %s\n", path)
	return nil
}
