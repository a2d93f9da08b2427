package codec

import (
	"context"
	"crypto/rand"
	"crypto/rsa"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"testing"
	"time"

	"github.com/go-jose/go-jose/v4"
	"github.com/go-jose/go-jose/v4/jwt"
)

// issuer is a minimal OpenID Connect provider: discovery and its keys.
type issuer struct {
	srv *httptest.Server
	key *rsa.PrivateKey
}

func newIssuer(t *testing.T) *issuer {
	t.Helper()
	key, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		t.Fatal(err)
	}
	is := &issuer{key: key}
	mux := http.NewServeMux()
	mux.HandleFunc("/.well-known/openid-configuration", func(w http.ResponseWriter, _ *http.Request) {
		_ = json.NewEncoder(w).Encode(map[string]any{"issuer": is.srv.URL, "jwks_uri": is.srv.URL + "/keys",
			"authorization_endpoint": is.srv.URL + "/auth", "token_endpoint": is.srv.URL + "/token",
			"id_token_signing_alg_values_supported": []string{"RS256"}})
	})
	mux.HandleFunc("/keys", func(w http.ResponseWriter, _ *http.Request) {
		_ = json.NewEncoder(w).Encode(jose.JSONWebKeySet{Keys: []jose.JSONWebKey{{Key: &key.PublicKey, KeyID: "k1", Algorithm: "RS256", Use: "sig"}}})
	})
	is.srv = httptest.NewServer(mux)
	t.Cleanup(is.srv.Close)
	return is
}

func (is *issuer) token(t *testing.T, key *rsa.PrivateKey, iss, aud string, exp time.Time) string {
	t.Helper()
	signer, err := jose.NewSigner(jose.SigningKey{Algorithm: jose.RS256, Key: jose.JSONWebKey{Key: key, KeyID: "k1"}}, nil)
	if err != nil {
		t.Fatal(err)
	}
	tok, err := jwt.Signed(signer).Claims(jwt.Claims{Issuer: iss, Subject: "ana", Audience: jwt.Audience{aud},
		IssuedAt: jwt.NewNumericDate(time.Now().Add(-time.Minute)), Expiry: jwt.NewNumericDate(exp)}).Serialize()
	if err != nil {
		t.Fatal(err)
	}
	return tok
}

// The Web UI's passed access token is checked: signed by the configured
// issuer's keys, for the configured audience, not expired.
func TestCodecServerAcceptsTheUIsAccessToken(t *testing.T) {
	is := newIssuer(t)
	verify, err := OIDCVerifier(context.Background(), is.srv.URL, "temporal-ui")
	if err != nil {
		t.Fatal(err)
	}
	r := ring(t, entry("k1", 1))
	srv := httptest.NewServer(Handler(r, ServerOptions{Verify: verify}))
	defer srv.Close()
	_, encrypted := codecServer(t)
	other, _ := rsa.GenerateKey(rand.Reader, 2048)
	hour := time.Now().Add(time.Hour)
	for name, tc := range map[string]struct {
		token  string
		status int
	}{
		"valid access token": {is.token(t, is.key, is.srv.URL, "temporal-ui", hour), http.StatusOK},
		"other audience":     {is.token(t, is.key, is.srv.URL, "another-app", hour), http.StatusUnauthorized},
		"expired":            {is.token(t, is.key, is.srv.URL, "temporal-ui", time.Now().Add(-time.Minute)), http.StatusUnauthorized},
		"forged signature":   {is.token(t, other, is.srv.URL, "temporal-ui", hour), http.StatusUnauthorized},
		"other issuer":       {is.token(t, is.key, "https://evil.example", "temporal-ui", hour), http.StatusUnauthorized},
		"not a JWT":          {"just-some-long-string-of-characters", http.StatusUnauthorized},
	} {
		resp, body := post(t, srv.URL+"/decode", encrypted, map[string]string{"Authorization": "Bearer " + tc.token})
		if resp.StatusCode != tc.status {
			t.Errorf("%s: status %d, want %d (%s)", name, resp.StatusCode, tc.status, body)
		}
	}
	if _, err := OIDCVerifier(context.Background(), "http://127.0.0.1:1", "x"); err == nil {
		t.Error("an unreachable issuer was accepted")
	}
}
