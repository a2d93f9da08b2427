package main

import (
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"go.uber.org/zap"
	"go.uber.org/zap/zaptest/observer"

	"github.com/batonhq/baton/codec"
)

// The request log names a route pattern: a token in the path (/t/<token>,
// with or without anything after it, or misplaced) never reaches it.
func TestRequestLogNeverHoldsAPathToken(t *testing.T) {
	const token = "s3cret-token-0123456789abcdef"
	ring, err := codec.ParseKeys("k1:"+strings.Repeat("A", 43)+"=", "test")
	if err != nil {
		t.Fatal(err)
	}
	core, logs := observer.New(zap.InfoLevel)
	h := logRequests(zap.New(core), codec.Handler(ring, codec.ServerOptions{Tokens: []string{token}}))
	cases := map[string]string{
		"/t/" + token:                 "/t/{token}",
		"/t/" + token + "/":           "/t/{token}",
		"/t/" + token + "/decode":     "/t/{token}/decode",
		"/t/" + token + "/encode":     "/t/{token}/encode",
		"/t/" + token + "/x/" + token: "/t/{token}{other}",
		"/" + token:                   "{other}",
		"/decode/" + token:            "{other}",
		"/t/" + token + "decode":      "/t/{token}",
		"/encode":                     "/encode",
		"/healthz":                    "/healthz",
	}
	for path, want := range cases {
		method := http.MethodPost
		if path == "/healthz" {
			method = http.MethodGet
		}
		h.ServeHTTP(httptest.NewRecorder(), httptest.NewRequest(method, path, strings.NewReader(`{"payloads":[]}`)))
		entries := logs.TakeAll()
		if len(entries) != 1 {
			t.Fatalf("%s: %d log entries", path, len(entries))
		}
		fields := entries[0].ContextMap()
		if fields["route"] != want {
			t.Errorf("%s: route %q, want %q", path, fields["route"], want)
		}
		for k, v := range fields {
			if s, ok := v.(string); ok && strings.Contains(s, "s3cret") {
				t.Errorf("%s: the log's %s holds the token: %q", path, k, s)
			}
		}
		if strings.Contains(entries[0].Message, "s3cret") {
			t.Errorf("%s: the log message holds the token", path)
		}
	}
}
