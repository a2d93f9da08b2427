// Package webinbox is Baton's web inbox: people sign in (OpenID Connect, or
// a development sign-in when explicitly enabled), see the open tasks they may
// decide, open one to see the instance's facts, stage, deadline, earlier
// votes and audit trail, and approve, reject or delegate it. Every decision
// goes through the decide update, signed with the inbox's own key on behalf
// of the signed-in user; the actor is always the session's user.
//
// Sessions are alexedwards/scs, CSRF protection gorilla/csrf; pages are
// server-rendered html/template. No personal data goes into URLs or logs.
package webinbox

import (
	"crypto/ed25519"
	"crypto/rand"
	"errors"
	"net/http"
	"net/url"
	"time"

	"github.com/alexedwards/scs/v2"
	"github.com/gorilla/csrf"
	"go.uber.org/zap"

	"github.com/batonhq/baton/policy"
	"github.com/batonhq/baton/process"
)

// Options configure the inbox.
type Options struct {
	Backend Backend
	// Policy is the directory: who exists, their roles, how OpenID
	// identities map to them.
	Policy *policy.Policy
	// Key signs every decision as Signer (the policy's signers entry).
	Key    ed25519.PrivateKey
	Signer string
	// PublicURL is where people reach the inbox; https makes cookies Secure.
	PublicURL *url.URL
	// OIDC signs people in; nil when not configured.
	OIDC *OIDC
	// DevSignIn lets anyone pick a user without a password, with a banner
	// on every page. Off unless set.
	DevSignIn bool
	// Catalog is the processes the inbox serves (the insight pages list
	// them; a proposed policy's sections are checked with them).
	Catalog *process.Catalog
	// Insight serves the insight pages (process maps, charts, what-if) to
	// holders of a role the policy's insight entry names; nil: the pages
	// say the audit store is not configured.
	Insight Insight
	// Work is the task read model's list (filters, counts), claims,
	// comments, priority, follow-up, bulk decisions and substitutes; nil:
	// visibility's plain list, and the pages say the audit store is needed.
	Work Work
	// SessionLifetime and SessionIdle end sessions (absolute, inactivity).
	SessionLifetime, SessionIdle time.Duration
	Logger                       *zap.Logger
}

// server holds what the handlers share.
type server struct {
	Options
	log      *zap.SugaredLogger
	sessions *scs.SessionManager
	pages    *pages
	secure   bool
	// trailCache keeps recent windows' trails for the insight pages.
	trailCache trailCache
}

// Session keys.
const (
	keyUser   = "user"
	keyAuthn  = "authn"
	keyFlash  = "flash"
	keyFlashE = "flash.error"
)

// New builds the inbox's HTTP handler.
func New(o Options) (http.Handler, error) {
	switch {
	case o.Backend == nil || o.Policy == nil || o.PublicURL == nil:
		return nil, errors.New("webinbox: Backend, Policy and PublicURL are required")
	case len(o.Key) != ed25519.PrivateKeySize || o.Signer == "":
		return nil, errors.New("webinbox: a signing key and the signer's name are required")
	case o.OIDC == nil && !o.DevSignIn:
		return nil, errNoSignIn
	case o.Catalog == nil || len(o.Catalog.Names()) == 0:
		return nil, errors.New("webinbox: a catalog of processes is required")
	}
	if o.SessionLifetime <= 0 {
		o.SessionLifetime = 8 * time.Hour
	}
	if o.SessionIdle <= 0 || o.SessionIdle > o.SessionLifetime {
		o.SessionIdle = min(30*time.Minute, o.SessionLifetime)
	}
	if o.Logger == nil {
		o.Logger = zap.NewNop()
	}
	s := &server{Options: o, log: o.Logger.Sugar(), secure: o.PublicURL.Scheme == "https"}
	p, err := newPages()
	if err != nil {
		return nil, err
	}
	s.pages = p

	s.sessions = scs.New() // in memory: one replica; a shared store (e.g. scs/postgresstore) for more
	s.sessions.Lifetime = o.SessionLifetime
	s.sessions.IdleTimeout = o.SessionIdle
	s.sessions.Cookie.Name = "baton_session"
	s.sessions.Cookie.HttpOnly = true
	s.sessions.Cookie.SameSite = http.SameSiteLaxMode // the provider's redirect back is a top-level GET
	s.sessions.Cookie.Secure = s.secure
	s.sessions.Cookie.Persist = false
	s.sessions.ErrorFunc = func(w http.ResponseWriter, r *http.Request, err error) {
		// No session in the context here: a plain answer.
		s.log.Errorw("session store", "path", r.URL.Path, "error", err)
		http.Error(w, "The inbox could not answer. Try again in a moment.", http.StatusInternalServerError)
	}

	mux := http.NewServeMux()
	mux.HandleFunc("GET /healthz", func(w http.ResponseWriter, _ *http.Request) { _, _ = w.Write([]byte("ok\n")) })
	mux.HandleFunc("GET /static/style.css", serveCSS)
	mux.HandleFunc("GET /login", s.loginPage)
	if o.OIDC != nil {
		mux.HandleFunc("GET /login/oidc", s.oidcStart)
		mux.HandleFunc("GET "+o.OIDC.callback, s.oidcCallback)
	}
	if o.DevSignIn {
		mux.HandleFunc("POST /dev/sign-in", s.devSignIn)
	}
	mux.HandleFunc("POST /logout", s.logout)
	mux.Handle("GET /{$}", s.requireUser(s.myTasks))
	mux.Handle("GET /tasks/{workflow}/{task}", s.requireUser(s.taskPage))
	mux.Handle("POST /tasks/{workflow}/{task}/decide", s.requireUser(s.decide))
	mux.Handle("POST /tasks/{workflow}/{task}/act", s.requireUser(s.act))
	mux.Handle("POST /bulk", s.requireUser(s.bulk))
	mux.Handle("GET /away", s.requireUser(s.awayPage))
	mux.Handle("POST /away", s.requireUser(s.setAway))
	mux.Handle("POST /away/{id}/end", s.requireUser(s.setAway))
	mux.Handle("GET /insight", s.requireInsight(s.insightPage))
	mux.Handle("GET /insight/map.svg", s.requireInsight(s.insightMap))
	mux.Handle("GET /insight/weekly.svg", s.requireInsight(s.insightWeekly))
	mux.Handle("GET /insight/backlog.svg", s.requireInsight(s.insightBacklog))
	mux.Handle("POST /insight/whatif", s.requireInsight(s.insightWhatIf))
	mux.Handle("GET /insight/whatif.svg", s.requireInsight(s.insightWhatIfPicture))

	csrfKey := make([]byte, 32)
	if _, err := rand.Read(csrfKey); err != nil {
		return nil, err
	}
	protect := csrf.Protect(csrfKey,
		csrf.Secure(s.secure), csrf.Path("/"), csrf.HttpOnly(true),
		csrf.SameSite(csrf.SameSiteLaxMode), csrf.CookieName("baton_csrf"), csrf.FieldName("csrf_token"),
		csrf.TrustedOrigins([]string{o.PublicURL.Host}),
		csrf.ErrorHandler(http.HandlerFunc(s.csrfFailed)))
	// csrf reads the form too: limit the body first.
	var h http.Handler = limitBody(protect(mux))
	// http on loopback (validated): tell csrf not to demand an https Referer.
	if !s.secure {
		inner := h
		h = http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { inner.ServeHTTP(w, csrf.PlaintextHTTPRequest(r)) })
	}
	return s.logRequests(securityHeaders(s.sessions.LoadAndSave(h))), nil
}

// requireUser sends visitors without a session to the sign-in page.
func (s *server) requireUser(next func(http.ResponseWriter, *http.Request, string)) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		user := s.sessions.GetString(r.Context(), keyUser)
		if _, known := s.Policy.Users[user]; user == "" || !known {
			http.Redirect(w, r, "/login", http.StatusSeeOther)
			return
		}
		next(w, r, user)
	})
}

// signIn starts a fresh session (a new token: no fixation) for user.
func (s *server) signIn(r *http.Request, user, method string) error {
	ctx := r.Context()
	if err := s.sessions.RenewToken(ctx); err != nil {
		return err
	}
	s.sessions.Put(ctx, keyUser, user)
	s.sessions.Put(ctx, keyAuthn, method)
	return nil
}

func (s *server) logout(w http.ResponseWriter, r *http.Request) {
	if err := s.sessions.Destroy(r.Context()); err != nil {
		s.fail(w, r, err)
		return
	}
	http.Redirect(w, r, "/login", http.StatusSeeOther)
}

// devSignIn signs in as any directory user, no password: registered only
// when the development sign-in is enabled.
func (s *server) devSignIn(w http.ResponseWriter, r *http.Request) {
	user := r.PostFormValue("user")
	if _, ok := s.Policy.Users[user]; !ok {
		s.render(w, r, http.StatusBadRequest, "login", loginData{Error: "pick a user from the directory"})
		return
	}
	if err := s.signIn(r, user, "dev sign-in"); err != nil {
		s.fail(w, r, err)
		return
	}
	http.Redirect(w, r, "/", http.StatusSeeOther)
}

func (s *server) csrfFailed(w http.ResponseWriter, r *http.Request) {
	s.log.Infow("request refused: CSRF check failed", "path", r.URL.Path, "reason", csrf.FailureReason(r))
	s.render(w, r, http.StatusForbidden, "error", errorData{
		Title: "Form refused", Message: "This form expired or did not come from the inbox. Go back, reload the page and try again.",
	})
}

func (s *server) signInFailed(w http.ResponseWriter, r *http.Request, why string) {
	s.render(w, r, http.StatusForbidden, "login", loginData{Error: "Sign-in failed: " + why})
}

// fail answers an unexpected error without revealing it.
func (s *server) fail(w http.ResponseWriter, r *http.Request, err error) {
	s.log.Errorw("request failed", "path", r.URL.Path, "error", err)
	s.render(w, r, http.StatusInternalServerError, "error", errorData{Title: "Something went wrong", Message: "The inbox could not answer. Try again in a moment."})
}

// limitBody caps what a form may send (a comment, a choice): 64 KiB.
func limitBody(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		r.Body = http.MaxBytesReader(w, r.Body, 64<<10)
		next.ServeHTTP(w, r)
	})
}

// securityHeaders: no framing, no inline script or style, no caching of
// pages that show business data.
func securityHeaders(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		h := w.Header()
		h.Set("Content-Security-Policy", "default-src 'none'; style-src 'self'; img-src 'self'; form-action 'self'; frame-ancestors 'none'; base-uri 'none'")
		h.Set("X-Content-Type-Options", "nosniff")
		h.Set("Referrer-Policy", "same-origin")
		h.Set("Cache-Control", "no-store")
		next.ServeHTTP(w, r)
	})
}

// logRequests logs method, path, status and duration: never the user, the
// query string (the provider's code and state) or form values. Paths hold
// only workflow and task ids, which are business keys, not personal data.
func (s *server) logRequests(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		start := time.Now()
		rec := &statusRecorder{ResponseWriter: w, status: http.StatusOK}
		next.ServeHTTP(rec, r)
		s.log.Debugw("http", "method", r.Method, "path", r.URL.Path, "status", rec.status, "duration", time.Since(start).Round(time.Microsecond))
	})
}

type statusRecorder struct {
	http.ResponseWriter
	status int
}

func (r *statusRecorder) WriteHeader(code int) {
	r.status = code
	r.ResponseWriter.WriteHeader(code)
}
