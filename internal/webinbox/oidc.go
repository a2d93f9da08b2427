package webinbox

import (
	"context"
	"crypto/rand"
	"crypto/subtle"
	"encoding/base64"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"strings"

	"github.com/coreos/go-oidc/v3/oidc"
	"golang.org/x/oauth2"
)

// OIDCConfig is the inbox's OpenID Connect client.
type OIDCConfig struct {
	Issuer, ClientID, ClientSecret, RedirectURL string
}

// OIDC signs people in at an OpenID provider (authorization code flow with
// PKCE, state and nonce).
type OIDC struct {
	issuer   string
	provider *oidc.Provider
	verifier *oidc.IDTokenVerifier
	oauth    oauth2.Config
	callback string // the redirect URL's path
}

// NewOIDC discovers the provider (its /.well-known/openid-configuration).
func NewOIDC(ctx context.Context, c OIDCConfig) (*OIDC, error) {
	ru, err := url.Parse(c.RedirectURL)
	if err != nil {
		return nil, fmt.Errorf("inbox.oidc.redirect_url: %w", err)
	}
	if p := ru.EscapedPath(); p == "" || p == "/" || p == "/login" || p == "/login/oidc" || p == "/logout" ||
		p == "/healthz" || strings.HasPrefix(p, "/tasks/") || strings.HasPrefix(p, "/static/") || strings.HasPrefix(p, "/dev/") {
		return nil, fmt.Errorf("inbox.oidc.redirect_url: %s needs a path of its own, e.g. /auth/callback", c.RedirectURL)
	}
	p, err := oidc.NewProvider(ctx, c.Issuer)
	if err != nil {
		return nil, fmt.Errorf("inbox.oidc.issuer: discovery at %s: %w", c.Issuer, err)
	}
	return &OIDC{
		issuer:   c.Issuer,
		provider: p,
		verifier: p.Verifier(&oidc.Config{ClientID: c.ClientID}),
		oauth: oauth2.Config{
			ClientID: c.ClientID, ClientSecret: c.ClientSecret, RedirectURL: c.RedirectURL,
			Endpoint: p.Endpoint(), Scopes: []string{oidc.ScopeOpenID, "email"},
		},
		callback: ru.EscapedPath(),
	}, nil
}

// Method is how the audit trail names this sign-in.
func (o *OIDC) Method() string { return "oidc " + o.issuer }

// Session keys of a sign-in in flight.
const (
	keyState    = "oidc.state"
	keyNonce    = "oidc.nonce"
	keyVerifier = "oidc.verifier"
)

// start sends the browser to the provider.
func (s *server) oidcStart(w http.ResponseWriter, r *http.Request) {
	state, nonce, verifier := randomToken(), randomToken(), oauth2.GenerateVerifier()
	ctx := r.Context()
	s.sessions.Put(ctx, keyState, state)
	s.sessions.Put(ctx, keyNonce, nonce)
	s.sessions.Put(ctx, keyVerifier, verifier)
	http.Redirect(w, r, s.OIDC.oauth.AuthCodeURL(state, oidc.Nonce(nonce), oauth2.S256ChallengeOption(verifier)), http.StatusFound)
}

// identity is what the provider vouched for.
type identity struct {
	Subject       string `json:"sub"`
	Email         string `json:"email"`
	EmailVerified bool   `json:"email_verified"`
	Nonce         string `json:"nonce"`
}

// oidcCallback completes the sign-in and maps the identity to a directory
// user. Identities are never logged.
func (s *server) oidcCallback(w http.ResponseWriter, r *http.Request) {
	ctx := r.Context()
	state := s.sessions.PopString(ctx, keyState)
	nonce := s.sessions.PopString(ctx, keyNonce)
	verifier := s.sessions.PopString(ctx, keyVerifier)
	q := r.URL.Query()
	if e := q.Get("error"); e != "" {
		s.signInFailed(w, r, "the identity provider answered: "+e)
		return
	}
	if state == "" || subtle.ConstantTimeCompare([]byte(state), []byte(q.Get("state"))) != 1 {
		s.signInFailed(w, r, "the sign-in expired or was started elsewhere; please sign in again")
		return
	}
	tok, err := s.OIDC.oauth.Exchange(ctx, q.Get("code"), oauth2.VerifierOption(verifier))
	if err != nil {
		s.log.Warnw("sign-in: code exchange failed", "error", err)
		s.signInFailed(w, r, "the identity provider did not confirm the sign-in")
		return
	}
	raw, _ := tok.Extra("id_token").(string)
	idt, err := s.OIDC.verifier.Verify(ctx, raw)
	if err != nil {
		s.log.Warnw("sign-in: ID token refused", "error", err)
		s.signInFailed(w, r, "the identity provider's token did not verify")
		return
	}
	var id identity
	if err := idt.Claims(&id); err != nil || subtle.ConstantTimeCompare([]byte(id.Nonce), []byte(nonce)) != 1 {
		s.signInFailed(w, r, "the identity provider's token did not match this sign-in")
		return
	}
	if _, ok := s.Policy.UserByIdentity(id.Subject, "", false); !ok && id.Email == "" {
		// The email may come from the userinfo endpoint only.
		if ui, err := s.OIDC.provider.UserInfo(ctx, oauth2.StaticTokenSource(tok)); err == nil {
			id.Email, id.EmailVerified = ui.Email, ui.EmailVerified
		}
	}
	user, ok := s.Policy.UserByIdentity(id.Subject, id.Email, id.EmailVerified)
	if !ok {
		s.log.Info("sign-in refused: the identity is not in the directory")
		s.signInFailed(w, r, "your account is not in Baton's directory: ask an administrator to add your subject or verified email to the policy")
		return
	}
	if err := s.signIn(r, user, s.OIDC.Method()); err != nil {
		s.fail(w, r, err)
		return
	}
	http.Redirect(w, r, "/", http.StatusSeeOther)
}

func randomToken() string {
	b := make([]byte, 32)
	if _, err := rand.Read(b); err != nil {
		panic(err) // crypto/rand never fails on supported platforms
	}
	return base64.RawURLEncoding.EncodeToString(b)
}

var errNoSignIn = errors.New("no sign-in method is configured")
