// Package oidctest runs a real OpenID Connect provider on loopback for
// tests: zitadel's op package with its in-memory example storage, one web
// client and the users given, and its username/password login page.
package oidctest

import (
	"io"
	"log/slog"
	"net"
	"net/http"
	"strings"

	"github.com/zitadel/oidc/v3/example/server/exampleop"
	"github.com/zitadel/oidc/v3/example/server/storage"
	"golang.org/x/text/language"
)

// User is an account at the provider.
type User struct {
	Subject       string // the "sub" claim
	Username      string
	Password      string
	Email         string
	EmailVerified bool
}

// Provider is a running OpenID provider.
type Provider struct {
	Issuer string
	srv    *http.Server
}

// Start serves a provider on a free loopback port with one confidential web
// client (clientID, secret, redirectURL) and the users given.
func Start(clientID, secret, redirectURL string, users ...User) (*Provider, error) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return nil, err
	}
	issuer := "http://" + ln.Addr().String()
	st := userStore{}
	for _, u := range users {
		st[u.Subject] = &storage.User{
			ID: u.Subject, Username: u.Username, Password: u.Password,
			FirstName: u.Username, LastName: "Test",
			Email: u.Email, EmailVerified: u.EmailVerified, PreferredLanguage: language.English,
		}
	}
	clients := map[string]*storage.Client{clientID: storage.WebClient(clientID, secret, redirectURL)}
	// The example server logs every request through slog's default logger;
	// tests have no use for those lines.
	slog.SetDefault(slog.New(slog.NewTextHandler(io.Discard, nil)))
	router := exampleop.SetupServer(issuer, storage.NewStorageWithClients(st, clients), nil, false)
	p := &Provider{Issuer: issuer, srv: &http.Server{Handler: router}}
	go func() { _ = p.srv.Serve(ln) }()
	return p, nil
}

// Close stops the provider.
func (p *Provider) Close() error { return p.srv.Close() }

type userStore map[string]*storage.User

func (s userStore) GetUserByID(id string) *storage.User { return s[id] }

func (s userStore) GetUserByUsername(name string) *storage.User {
	for _, u := range s {
		if strings.EqualFold(u.Username, name) {
			return u
		}
	}
	return nil
}

func (userStore) ExampleClientID() string { return storage.ServiceUserID }
