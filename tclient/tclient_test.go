package tclient

import (
	"context"
	"encoding/base64"
	"errors"
	"net"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/batonhq/baton/config"
)

var plain = config.Codec{Plaintext: true}

func TestDialUnreachableSaysWhatToDo(t *testing.T) {
	// A port that was free a moment ago: nothing listens there.
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := ln.Addr().String()
	ln.Close()
	_, err = Dial(context.Background(), config.Temporal{Address: addr, Namespace: "default", Codec: plain}, Options{ConnectTimeout: 2 * time.Second})
	var ue *UnreachableError
	if !errors.As(err, &ue) {
		t.Fatalf("err = %v, want *UnreachableError", err)
	}
	want := "cannot reach Temporal at " + addr + ": is the dev server running? try: make dev"
	if err.Error() != want {
		t.Errorf("message = %q, want %q", err, want)
	}
}

func TestClientOptionsAPIKeyImpliesTLS(t *testing.T) {
	o, err := ClientOptions(config.Temporal{Address: "x:7233", Namespace: "ns", APIKey: "k", Codec: plain}, Options{})
	if err != nil {
		t.Fatal(err)
	}
	if o.ConnectionOptions.TLS == nil || o.Credentials == nil {
		t.Errorf("API key: TLS=%v credentials=%v, want both set", o.ConnectionOptions.TLS, o.Credentials)
	}
	o, _ = ClientOptions(config.Temporal{Address: "x:7233", Namespace: "ns", Codec: plain}, Options{})
	if o.ConnectionOptions.TLS != nil {
		t.Error("plain connection must not use TLS")
	}
}

func TestClientOptionsBadCertNamesKey(t *testing.T) {
	_, err := ClientOptions(config.Temporal{Address: "x:7233", Codec: plain, TLS: config.TLS{Cert: "/no/cert", Key: "/no/key"}}, Options{})
	if err == nil || !strings.HasPrefix(err.Error(), "temporal.tls.cert/key:") {
		t.Fatalf("err = %v", err)
	}
}

func TestClientOptionsEncryptPayloadsAndFailures(t *testing.T) {
	keys := "k1:" + base64.StdEncoding.EncodeToString(make([]byte, 32))
	o, err := ClientOptions(config.Temporal{Address: "x:7233", Namespace: "ns", Codec: config.Codec{Keys: keys}}, Options{})
	if err != nil {
		t.Fatal(err)
	}
	p, err := o.DataConverter.ToPayload("Ada Lovelace")
	if err != nil || strings.Contains(string(p.GetData()), "Lovelace") || string(p.GetMetadata()["encryption-key-id"]) != "k1" {
		t.Errorf("payload not encrypted with k1: %v %v", p, err)
	}
	f := o.FailureConverter.ErrorToFailure(errors.New("card 4111111111111111 declined"))
	if strings.Contains(f.String(), "4111111111111111") {
		t.Errorf("failure message in clear: %v", f)
	}
}

func TestClientOptionsMissingKeyIsOneLine(t *testing.T) {
	missing := filepath.Join(t.TempDir(), "codec.keys")
	_, err := ClientOptions(config.Temporal{Address: "x:7233", Codec: config.Codec{KeyFile: missing}}, Options{})
	want := "temporal.codec.key_file: key file " + missing + " does not exist: generate a development key with `make codec-key`, or point BATON_CODEC_KEY_FILE at yours"
	if err == nil || err.Error() != want {
		t.Errorf("err = %v\nwant %s", err, want)
	}
	_, err = ClientOptions(config.Temporal{Address: "x:7233", Codec: config.Codec{Keys: "k1:short"}}, Options{})
	if err == nil || err.Error() != `temporal.codec.keys (BATON_CODEC_KEYS) line 1: key "k1" is not base64` {
		t.Errorf("bad key: %v", err)
	}
}
