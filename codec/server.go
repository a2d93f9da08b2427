package codec

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/base64"
	"errors"
	"fmt"
	"net/http"
	"os"
	"slices"
	"strings"

	"github.com/coreos/go-oidc/v3/oidc"
	"go.temporal.io/sdk/converter"

	"github.com/batonhq/baton/config"
)

// ServerOptions guard the codec server.
type ServerOptions struct {
	// Tokens are the accepted credentials. A request carries one as
	// "Authorization: Bearer <token>" (the temporal CLI's --codec-auth, the
	// Web UI's passed access token), or as the first path segment after
	// /t/ (an endpoint such as http://host:8234/t/<token> for a Web UI that
	// has no sign-in to pass a token from, like the dev server's).
	Tokens []string
	// Origins are the Web UI origins allowed to call from a browser (CORS),
	// e.g. http://localhost:8233. Other origins get no CORS headers.
	Origins []string
	// Verify, when set, also accepts a bearer token it verifies: the Web UI's
	// OpenID Connect access token, passed with the UI's passAccessToken.
	Verify func(ctx context.Context, token string) error
}

// MaxRequestBytes bounds an /encode or /decode request: twice the 4 MB a
// Temporal gRPC message may carry, so any payloads a history holds fit, and
// a larger body is refused before it is read whole.
const MaxRequestBytes = 8 << 20

// Handler serves the Temporal codec server protocol (POST /encode and
// /decode with proto-JSON payloads) for the keyring, behind authentication.
// An unauthenticated request gets 401 and a plain-text line, never payloads.
func Handler(ring *Keyring, o ServerOptions) http.Handler {
	inner := converter.NewPayloadCodecHTTPHandler(New(ring))
	sums := make([][32]byte, len(o.Tokens))
	for i, t := range o.Tokens {
		sums[i] = sha256.Sum256([]byte(t))
	}
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if origin := r.Header.Get("Origin"); origin != "" && slices.Contains(o.Origins, origin) {
			h := w.Header()
			h.Set("Access-Control-Allow-Origin", origin)
			h.Set("Access-Control-Allow-Credentials", "true")
			h.Set("Access-Control-Allow-Methods", "POST, OPTIONS")
			h.Set("Access-Control-Allow-Headers", "Content-Type, X-Namespace, Authorization")
			h.Set("Access-Control-Max-Age", "600")
		}
		w.Header().Add("Vary", "Origin")
		w.Header().Set("Cache-Control", "no-store")
		if r.Method == http.MethodOptions {
			w.WriteHeader(http.StatusNoContent)
			return
		}
		if r.Method == http.MethodGet && r.URL.Path == "/healthz" {
			_, _ = w.Write([]byte("ok\n"))
			return
		}
		token, path := credential(r)
		ok := accepted(sums, token)
		if !ok && o.Verify != nil && token != "" && !strings.HasPrefix(r.URL.Path, "/t/") {
			ok = o.Verify(r.Context(), token) == nil
		}
		if !ok {
			w.Header().Set("WWW-Authenticate", `Bearer realm="baton-codec"`)
			http.Error(w, "unauthorized: send Authorization: Bearer <codec token>", http.StatusUnauthorized)
			return
		}
		r2 := r.Clone(r.Context())
		r2.URL.Path = path
		r2.Body = http.MaxBytesReader(w, r.Body, MaxRequestBytes)
		inner.ServeHTTP(w, r2)
	})
}

// Route names a request's path for logs as a pattern: "/encode",
// "/t/{token}/decode", "/healthz", or "{other}" for anything else. It never
// returns a path segment, since one may be a secret: /t/<token> carries the
// token in the path.
func Route(path string) string {
	prefix := ""
	if rest, ok := strings.CutPrefix(path, "/t/"); ok {
		prefix = "/t/{token}"
		_, tail, _ := strings.Cut(rest, "/")
		path = "/" + tail
	}
	switch path {
	case "/encode", "/decode", "/healthz":
		return prefix + path
	case "/":
		if prefix != "" {
			return prefix
		}
	}
	return prefix + "{other}"
}

// credential returns the token a request carries and its path without a
// /t/<token> prefix.
func credential(r *http.Request) (token, path string) {
	path = r.URL.Path
	if rest, ok := strings.CutPrefix(path, "/t/"); ok {
		tok, tail, _ := strings.Cut(rest, "/")
		return tok, "/" + tail
	}
	if h, ok := strings.CutPrefix(r.Header.Get("Authorization"), "Bearer "); ok {
		return strings.TrimSpace(h), path
	}
	return "", path
}

func accepted(sums [][32]byte, token string) bool {
	if token == "" {
		return false
	}
	got := sha256.Sum256([]byte(token))
	ok := 0
	for _, s := range sums {
		ok |= subtle.ConstantTimeCompare(got[:], s[:])
	}
	return ok == 1
}

// MinTokenLength is the shortest token the codec server accepts.
const MinTokenLength = 16

// TokensFromConfig reads the codec server's tokens: codec_server.tokens
// (comma-separated) and the lines of codec_server.token_file (# comments).
// None is an error unless OpenID Connect access tokens are accepted.
func TokensFromConfig(c config.CodecServer) ([]string, error) {
	var tokens []string
	add := func(source, t string) error {
		t = strings.TrimSpace(t)
		if t == "" || strings.HasPrefix(t, "#") {
			return nil
		}
		if len(t) < MinTokenLength {
			return fmt.Errorf("%s: a token is shorter than %d characters", source, MinTokenLength)
		}
		tokens = append(tokens, t)
		return nil
	}
	for _, t := range strings.Split(c.Tokens, ",") {
		if err := add("codec_server.tokens (BATON_CODEC_SERVER_TOKENS)", t); err != nil {
			return nil, err
		}
	}
	if c.TokenFile != "" {
		data, err := os.ReadFile(c.TokenFile)
		if err != nil {
			return nil, fmt.Errorf("codec_server.token_file: cannot read %s", c.TokenFile)
		}
		for _, t := range strings.Split(string(data), "\n") {
			if err := add("codec_server.token_file "+c.TokenFile, t); err != nil {
				return nil, err
			}
		}
	}
	if len(tokens) == 0 && c.OIDCIssuer == "" {
		return nil, errors.New("codec_server: no token: set BATON_CODEC_SERVER_TOKENS, BATON_CODEC_SERVER_TOKEN_FILE or BATON_CODEC_SERVER_OIDC_ISSUER (the codec server never runs open)")
	}
	return tokens, nil
}

// NewToken returns a random token (32 bytes, URL-safe base64).
func NewToken() (string, error) {
	raw := make([]byte, 32)
	if _, err := rand.Read(raw); err != nil {
		return "", err
	}
	return base64.RawURLEncoding.EncodeToString(raw), nil
}

// OIDCVerifier verifies the Web UI's access tokens: JWTs signed by the
// issuer's published keys, for audience, not expired. It discovers the
// issuer's keys once, at start.
func OIDCVerifier(ctx context.Context, issuer, audience string) (func(context.Context, string) error, error) {
	provider, err := oidc.NewProvider(ctx, issuer)
	if err != nil {
		return nil, fmt.Errorf("codec_server.oidc_issuer %s: %v", issuer, err)
	}
	v := provider.Verifier(&oidc.Config{ClientID: audience})
	return func(ctx context.Context, token string) error {
		_, err := v.Verify(ctx, token)
		return err
	}, nil
}
