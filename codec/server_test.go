package codec

import (
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	commonpb "go.temporal.io/api/common/v1"
	"google.golang.org/protobuf/encoding/protojson"
)

func codecServer(t *testing.T) (*httptest.Server, string) {
	t.Helper()
	r := ring(t, entry("k1", 1))
	enc, err := New(r).Encode([]*commonpb.Payload{payload(t, map[string]string{"cardNumber": sentinelCard})})
	if err != nil {
		t.Fatal(err)
	}
	body, _ := protojson.Marshal(&commonpb.Payloads{Payloads: enc})
	srv := httptest.NewServer(Handler(r, ServerOptions{Tokens: []string{"s3cret"}, Origins: []string{"http://ui.example:8233"}}))
	t.Cleanup(srv.Close)
	return srv, string(body)
}

func post(t *testing.T, url, body string, header map[string]string) (*http.Response, string) {
	t.Helper()
	req, _ := http.NewRequest(http.MethodPost, url, strings.NewReader(body))
	req.Header.Set("Content-Type", "application/json")
	for k, v := range header {
		req.Header.Set(k, v)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp, string(b)
}

func TestCodecServerDecodesOnlyForTheToken(t *testing.T) {
	srv, encrypted := codecServer(t)
	for name, tc := range map[string]struct {
		url    string
		header map[string]string
		status int
	}{
		"no credentials":     {srv.URL + "/decode", nil, http.StatusUnauthorized},
		"wrong bearer":       {srv.URL + "/decode", map[string]string{"Authorization": "Bearer nope"}, http.StatusUnauthorized},
		"basic, not bearer":  {srv.URL + "/decode", map[string]string{"Authorization": "Basic s3cret"}, http.StatusUnauthorized},
		"wrong path token":   {srv.URL + "/t/nope/decode", nil, http.StatusUnauthorized},
		"empty path token":   {srv.URL + "/t//decode", nil, http.StatusUnauthorized},
		"bearer token":       {srv.URL + "/decode", map[string]string{"Authorization": "Bearer s3cret"}, http.StatusOK},
		"path token":         {srv.URL + "/t/s3cret/decode", nil, http.StatusOK},
		"namespace + bearer": {srv.URL + "/decode", map[string]string{"Authorization": "Bearer s3cret", "X-Namespace": "default"}, http.StatusOK},
	} {
		resp, body := post(t, tc.url, encrypted, tc.header)
		if resp.StatusCode != tc.status {
			t.Errorf("%s: status %d, want %d (%s)", name, resp.StatusCode, tc.status, body)
		}
		if tc.status == http.StatusOK {
			var out commonpb.Payloads
			if err := protojson.Unmarshal([]byte(body), &out); err != nil || len(out.Payloads) != 1 || !strings.Contains(string(out.Payloads[0].Data), sentinelCard) {
				t.Errorf("%s: the answer is not the decoded payload: %v %s", name, err, body)
			}
			continue
		}
		if strings.Contains(body, "payloads") || strings.Contains(body, "metadata") || !strings.HasPrefix(body, "unauthorized") {
			t.Errorf("%s: a refused request got payloads: %s", name, body)
		}
	}
}

func TestCodecServerEncodesForTheCLI(t *testing.T) {
	srv, _ := codecServer(t)
	plain, _ := protojson.Marshal(&commonpb.Payloads{Payloads: []*commonpb.Payload{payload(t, "Ada Lovelace")}})
	resp, body := post(t, srv.URL+"/encode", string(plain), map[string]string{"Authorization": "Bearer s3cret"})
	if resp.StatusCode != http.StatusOK || strings.Contains(body, "Lovelace") || !strings.Contains(body, "encryption-key-id") {
		t.Errorf("encode: %d %s", resp.StatusCode, body)
	}
	resp, _ = post(t, srv.URL+"/encode", string(plain), nil)
	if resp.StatusCode != http.StatusUnauthorized {
		t.Errorf("unauthenticated encode: %d", resp.StatusCode)
	}
}

func TestCodecServerCORSOnlyForTheUIOrigin(t *testing.T) {
	srv, _ := codecServer(t)
	preflight := func(origin string) *http.Response {
		req, _ := http.NewRequest(http.MethodOptions, srv.URL+"/decode", nil)
		req.Header.Set("Origin", origin)
		req.Header.Set("Access-Control-Request-Method", "POST")
		req.Header.Set("Access-Control-Request-Headers", "content-type,x-namespace,authorization")
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		return resp
	}
	ok := preflight("http://ui.example:8233")
	if ok.Header.Get("Access-Control-Allow-Origin") != "http://ui.example:8233" || !strings.Contains(ok.Header.Get("Access-Control-Allow-Headers"), "Authorization") {
		t.Errorf("the UI origin is not allowed: %v", ok.Header)
	}
	for _, origin := range []string{"http://evil.example", "http://ui.example:8234", "null"} {
		if got := preflight(origin).Header.Get("Access-Control-Allow-Origin"); got != "" {
			t.Errorf("origin %s allowed (%q)", origin, got)
		}
	}
}

// A body over MaxRequestBytes is refused, even with the token, and nothing
// is decoded.
func TestCodecServerRefusesOversizeBodies(t *testing.T) {
	srv, body := codecServer(t)
	big := strings.Replace(body, `{"payloads":[`, `{"payloads":[`+strings.Repeat(`{"data":"QUFB"},`, MaxRequestBytes/15), 1)
	resp, out := post(t, srv.URL+"/decode", big, map[string]string{"Authorization": "Bearer s3cret"})
	if resp.StatusCode == http.StatusOK || strings.Contains(out, "data") {
		t.Errorf("oversize decode: %d, %d bytes answered", resp.StatusCode, len(out))
	}
	if resp, out := post(t, srv.URL+"/decode", body, map[string]string{"Authorization": "Bearer s3cret"}); resp.StatusCode != http.StatusOK || !strings.Contains(out, `"data"`) {
		t.Errorf("a normal decode: %d %s", resp.StatusCode, out)
	}
}
