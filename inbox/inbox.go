// Package inbox serves Baton's web inbox, as a library (cmd/inbox is its
// main): people sign in (OpenID Connect, or the development sign-in when
// explicitly enabled), see the tasks they may decide and decide them; each
// decision is signed with the inbox's key on behalf of the signed-in user.
//
//	inbox [--config FILE]                          serve (inbox.* keys, BATON_INBOX_*)
//	inbox keygen --out FILE                        create the inbox's signing key
//	inbox trust --key FILE --policy IN --out OUT   copy a policy that trusts the key
//	                 [--create-key]                (creating the key if missing)
package inbox

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/http"
	"net/url"
	"os"
	"os/signal"
	"syscall"
	"time"

	"github.com/spf13/pflag"
	"go.uber.org/zap"

	"github.com/batonhq/baton/config"
	"github.com/batonhq/baton/internal/auditstore"
	"github.com/batonhq/baton/internal/logging"
	"github.com/batonhq/baton/internal/signing"
	"github.com/batonhq/baton/internal/taskinbox"
	"github.com/batonhq/baton/internal/webinbox"
	"github.com/batonhq/baton/process"
	"github.com/batonhq/baton/tclient"
)

// Main runs the inbox with the program's arguments and exits: 1 on an
// error, printed as one line. The catalog's processes are those it lists
// and decides.
func Main(c *process.Catalog) {
	if err := Run(os.Args[1:], c); err != nil {
		fmt.Fprintln(os.Stderr, "inbox:", err)
		os.Exit(1)
	}
}

// Run serves the inbox until SIGINT or SIGTERM, or runs keygen or trust.
func Run(args []string, c *process.Catalog) error {
	if len(args) > 0 {
		switch args[0] {
		case "keygen":
			return keygen(args[1:])
		case "trust":
			return trust(args[1:], c)
		}
	}
	fs := pflag.NewFlagSet("inbox", pflag.ContinueOnError)
	cfgFile := fs.String("config", "", "config file (YAML); also BATON_CONFIG")
	config.AddFlags(fs, append(config.ConnectionKeys(), "policy.file", "log.level", "log.format", "audit.dsn")...)
	config.AddProfileFlag(fs)
	fs.Usage = func() {
		fmt.Fprintf(os.Stderr, "Usage: inbox [flags] | inbox keygen --out FILE | inbox trust --key FILE --policy IN --out OUT\n\n"+
			"Serves the web inbox; configured by the inbox.* keys (BATON_INBOX_*).\n\nFlags:\n%s", fs.FlagUsages())
	}
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, pflag.ErrHelp) {
			return nil
		}
		return err
	}
	cfg, err := config.Load(*cfgFile, fs)
	if err != nil {
		return err
	}
	if err := cfg.ValidateInbox(); err != nil {
		return err
	}
	zl, err := logging.New(cfg.Log.Level, cfg.Log.Format)
	if err != nil {
		return err
	}
	defer func() { _ = zl.Sync() }()

	pol, err := config.LoadPolicy(cfg.Policy.File, c.CheckPolicy)
	if err != nil {
		return err
	}
	key, err := signing.LoadKey(cfg.Inbox.SigningKey)
	if err != nil {
		return fmt.Errorf("inbox.signing_key: %w", err)
	}
	in := cfg.Inbox
	if s, ok := pol.Signers[in.Signer]; !ok || s.PublicKey != signing.PublicKey(key) {
		return fmt.Errorf("inbox.signing_key: the policy %s does not list this key as signers.%s.publicKey, so every decision would be refused (add it: inbox trust --key %s --policy %s --out FILE)",
			cfg.Policy.File, in.Signer, in.SigningKey, cfg.Policy.File)
	}
	if in.DevSignIn && pol.RequireSignedDecisions {
		return errors.New("inbox.dev_sign_in: refused: the policy requires signed decisions, so it governs real decisions; the development sign-in would let anyone act as anyone")
	}
	publicURL, _ := url.Parse(in.PublicURL) // validated

	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()

	var oidc *webinbox.OIDC
	if in.OIDC.Issuer != "" {
		dctx, cancel := context.WithTimeout(ctx, 15*time.Second)
		oidc, err = webinbox.NewOIDC(dctx, webinbox.OIDCConfig{Issuer: in.OIDC.Issuer, ClientID: in.OIDC.ClientID, ClientSecret: in.OIDC.ClientSecret, RedirectURL: in.OIDC.RedirectURL})
		cancel()
		if err != nil {
			return err
		}
	}
	// The payload codec encrypts memos too: the lister decodes them with it.
	dc, err := tclient.DataConverter(cfg.Temporal)
	if err != nil {
		return err
	}
	copts := tclient.Options{Logger: logging.NewSDKLogger(zl), DataConverter: dc}
	cl, err := tclient.Dial(ctx, cfg.Temporal, copts)
	if err != nil {
		return err
	}
	defer cl.Close()

	// The insight pages and the task read model read the audit store;
	// without it the insight pages say so and the list is visibility's.
	store, storeErr := openStore(ctx, cfg.Audit.DSN)
	var insightSource webinbox.Insight = webinbox.Unavailable{Err: storeErr}
	// Only Baton's own instances are listed and opened.
	source := taskinbox.Baton(c, cfg.TaskQueue, cfg.Temporal.Codec)
	var lister taskinbox.Lister = &taskinbox.Visibility{
		Client: cl, Namespace: cfg.Temporal.Namespace, Policy: pol, DataConverter: copts.DataConverter, Source: source}
	var work webinbox.Work
	if storeErr == nil {
		defer store.Close()
		insightSource = webinbox.StoreInsight{Store: store}
		ts := &taskinbox.Store{Store: store, Policy: pol}
		lister, work = ts, &webinbox.TemporalWork{Client: cl, Store: ts, TaskQueue: cfg.TaskQueue}
	} else {
		zl.Warn("insight pages, claims, comments, substitutes and the task read model's list without the audit store: the list is visibility's", zap.Error(storeErr))
	}
	h, err := webinbox.New(webinbox.Options{
		Catalog:   c,
		Insight:   insightSource,
		Work:      work,
		Backend:   &webinbox.TemporalBackend{Client: cl, Source: source, DataConverter: copts.DataConverter, Lister: lister},
		Policy:    pol,
		Key:       key,
		Signer:    in.Signer,
		PublicURL: publicURL,
		OIDC:      oidc,
		DevSignIn: in.DevSignIn,
		Logger:    zl,

		SessionLifetime: in.SessionLifetime,
		SessionIdle:     in.SessionIdle,
	})
	if err != nil {
		return err
	}
	ln, err := net.Listen("tcp", in.Listen)
	if err != nil {
		return fmt.Errorf("inbox.listen %s: %w", in.Listen, err)
	}
	srv := &http.Server{Handler: h, ReadHeaderTimeout: 10 * time.Second, ReadTimeout: 30 * time.Second, WriteTimeout: 60 * time.Second}
	errc := make(chan error, 1)
	go func() { errc <- srv.Serve(ln) }()
	fields := []zap.Field{zap.String("listen", ln.Addr().String()), zap.String("publicURL", in.PublicURL),
		zap.String("policyVersion", pol.Version), zap.Bool("oidc", oidc != nil), zap.Bool("devSignIn", in.DevSignIn)}
	zl.Info("inbox serving", fields...)
	if in.DevSignIn {
		zl.Warn("development sign-in is enabled: anyone can act as any user")
	}
	select {
	case err := <-errc:
		return err
	case <-ctx.Done():
	}
	sctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	zl.Info("inbox stopping")
	return srv.Shutdown(sctx)
}

// openStore opens the audit store for the insight pages and the task
// read model. A store that does not answer at start leaves the inbox
// serving tasks from visibility.
func openStore(ctx context.Context, dsn string) (*auditstore.Store, error) {
	octx, cancel := context.WithTimeout(ctx, 10*time.Second)
	defer cancel()
	st, err := auditstore.Open(octx, dsn)
	if err == nil {
		if err = st.CheckSchema(octx); err != nil {
			st.Close()
		}
	}
	return st, err
}

func keygen(args []string) error {
	fs := pflag.NewFlagSet("inbox keygen", pflag.ContinueOnError)
	out := fs.String("out", "", "private key file to create (mode 0600)")
	if err := fs.Parse(args); err != nil {
		return err
	}
	if *out == "" {
		return errors.New("keygen: --out: required")
	}
	pub, err := signing.WriteNewKey(*out)
	if err != nil {
		return fmt.Errorf("keygen: %w", err)
	}
	fmt.Printf("private key written to %s\nadd to the policy:\nsigners:\n  inbox:\n    publicKey: %s\n", *out, pub)
	return nil
}

func trust(args []string, c *process.Catalog) error {
	fs := pflag.NewFlagSet("inbox trust", pflag.ContinueOnError)
	keyFile := fs.String("key", "", "the inbox's key file")
	in := fs.String("policy", "config/policy.yaml", "policy file to copy")
	out := fs.String("out", "", "where to write the policy that trusts the key")
	signer := fs.String("signer", "inbox", "the signer's name in the policy")
	create := fs.Bool("create-key", false, "create --key first when it does not exist")
	if err := fs.Parse(args); err != nil {
		return err
	}
	if *keyFile == "" || *out == "" {
		return errors.New("trust: --key and --out are required")
	}
	if _, err := os.Stat(*keyFile); *create && errors.Is(err, os.ErrNotExist) {
		if _, err := signing.WriteNewKey(*keyFile); err != nil {
			return fmt.Errorf("trust: --key: %w", err)
		}
	}
	key, err := signing.LoadKey(*keyFile)
	if err != nil {
		return fmt.Errorf("trust: --key: %w", err)
	}
	src, err := config.ReadPolicyFile(*in)
	if err != nil {
		return fmt.Errorf("trust: --policy: %w", err)
	}
	doc, err := withSigner(src, *signer, signing.PublicKey(key), c.CheckPolicy)
	if err != nil {
		return fmt.Errorf("trust: %s: %w", *in, err)
	}
	return os.WriteFile(*out, doc, 0o644)
}
