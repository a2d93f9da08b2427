package tclient

import (
	"context"
	"errors"
	"net"
	"strings"
	"testing"
	"time"

	"baton/config"
)

func TestDialUnreachableSaysWhatToDo(t *testing.T) {
	// A port that was free a moment ago: nothing listens there.
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := ln.Addr().String()
	ln.Close()
	_, err = Dial(context.Background(), config.Temporal{Address: addr, Namespace: "default"}, Options{ConnectTimeout: 2 * time.Second})
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
	o, err := ClientOptions(config.Temporal{Address: "x:7233", Namespace: "ns", APIKey: "k"}, Options{})
	if err != nil {
		t.Fatal(err)
	}
	if o.ConnectionOptions.TLS == nil || o.Credentials == nil {
		t.Errorf("API key: TLS=%v credentials=%v, want both set", o.ConnectionOptions.TLS, o.Credentials)
	}
	o, _ = ClientOptions(config.Temporal{Address: "x:7233", Namespace: "ns"}, Options{})
	if o.ConnectionOptions.TLS != nil {
		t.Error("plain connection must not use TLS")
	}
}

func TestClientOptionsBadCertNamesKey(t *testing.T) {
	_, err := ClientOptions(config.Temporal{Address: "x:7233", TLS: config.TLS{Cert: "/no/cert", Key: "/no/key"}}, Options{})
	if err == nil || !strings.HasPrefix(err.Error(), "temporal.tls.cert/key:") {
		t.Fatalf("err = %v", err)
	}
}
