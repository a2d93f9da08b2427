// Package tclient dials Temporal the one way the worker and the starter both
// use: host, namespace, mTLS or API key, identity, logger, data converter.
package tclient

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"os"
	"time"

	"go.temporal.io/api/enums/v1"
	"go.temporal.io/api/operatorservice/v1"
	"go.temporal.io/api/serviceerror"
	"go.temporal.io/sdk/client"
	"go.temporal.io/sdk/converter"
	"go.temporal.io/sdk/log"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"

	"baton/config"
	"baton/internal/codec"
)

// Options are what differs between callers of Dial.
type Options struct {
	Logger log.Logger
	// DataConverter replaces the one temporal.codec configures (tests only).
	DataConverter converter.DataConverter
	// ConnectTimeout bounds the first connection; default 5s.
	ConnectTimeout time.Duration
	// MetricsHandler receives the SDK's metrics; nil for none.
	MetricsHandler client.MetricsHandler
}

// UnreachableError is a Dial that found no server at Address.
type UnreachableError struct{ Address string }

func (e *UnreachableError) Error() string {
	return fmt.Sprintf("cannot reach Temporal at %s: is the dev server running? try: make dev", e.Address)
}

// ClientOptions turns the connection settings into SDK client options. The
// payload codec of temporal.codec encrypts every payload and failure the
// client sends and decrypts what it reads.
func ClientOptions(c config.Temporal, o Options) (client.Options, error) {
	if o.DataConverter == nil {
		ring, err := codec.FromConfig(c.Codec)
		if err != nil {
			return client.Options{}, err
		}
		if ring != nil {
			o.DataConverter = codec.DataConverter(ring)
		}
	}
	var fc converter.FailureConverter
	if o.DataConverter != nil {
		fc = codec.FailureConverter(o.DataConverter)
	}
	opts := client.Options{
		FailureConverter: fc,
		HostPort:         c.Address,
		Namespace:        c.Namespace,
		Identity:         c.Identity,
		Logger:           o.Logger,
		DataConverter:    o.DataConverter,
		MetricsHandler:   o.MetricsHandler,
	}
	if c.APIKey != "" {
		opts.Credentials = client.NewAPIKeyStaticCredentials(c.APIKey)
	}
	if c.TLSEnabled() {
		tc := &tls.Config{ServerName: c.TLS.ServerName, MinVersion: tls.VersionTLS12}
		if c.TLS.Cert != "" {
			pair, err := tls.LoadX509KeyPair(c.TLS.Cert, c.TLS.Key)
			if err != nil {
				return opts, fmt.Errorf("temporal.tls.cert/key: %w", err)
			}
			tc.Certificates = []tls.Certificate{pair}
		}
		if c.TLS.CA != "" {
			pem, err := os.ReadFile(c.TLS.CA)
			if err != nil {
				return opts, fmt.Errorf("temporal.tls.ca: %w", err)
			}
			pool := x509.NewCertPool()
			if !pool.AppendCertsFromPEM(pem) {
				return opts, fmt.Errorf("temporal.tls.ca: %s holds no PEM certificate", c.TLS.CA)
			}
			tc.RootCAs = pool
		}
		opts.ConnectionOptions.TLS = tc
	}
	return opts, nil
}

// DataConverter is the data converter a client of c uses: the codec's, or
// the SDK's default when temporal.codec.plaintext is set. Callers that decode
// payloads by hand (memos from visibility) use it.
func DataConverter(c config.Temporal) (converter.DataConverter, error) {
	ring, err := codec.FromConfig(c.Codec)
	if err != nil {
		return nil, err
	}
	if ring == nil {
		return converter.GetDefaultDataConverter(), nil
	}
	return codec.DataConverter(ring), nil
}

// Dial connects and checks the server answers. An unreachable server gives
// one line that says what to do (an *UnreachableError).
func Dial(ctx context.Context, c config.Temporal, o Options) (client.Client, error) {
	opts, err := ClientOptions(c, o)
	if err != nil {
		return nil, err
	}
	timeout := o.ConnectTimeout
	if timeout == 0 {
		timeout = 5 * time.Second
	}
	dctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	cl, err := client.DialContext(dctx, opts)
	if err != nil {
		return nil, explain(c.Address, err)
	}
	return cl, nil
}

func explain(address string, err error) error {
	code := status.Code(err)
	var unavailable *serviceerror.Unavailable
	var deadline *serviceerror.DeadlineExceeded
	if errors.As(err, &unavailable) || errors.As(err, &deadline) || errors.Is(err, context.DeadlineExceeded) ||
		code == codes.Unavailable || code == codes.DeadlineExceeded {
		return &UnreachableError{Address: address}
	}
	var denied *serviceerror.PermissionDenied
	if errors.As(err, &denied) || code == codes.Unauthenticated || code == codes.PermissionDenied {
		return fmt.Errorf("temporal at %s refused the credentials (check TEMPORAL_API_KEY or the TLS certificate): %v", address, err)
	}
	if s, ok := status.FromError(err); ok {
		return fmt.Errorf("temporal at %s: %s", address, s.Message())
	}
	return fmt.Errorf("temporal at %s: %w", address, err)
}

// EnsureSearchAttributes creates the custom search attributes that the
// namespace lacks and leaves existing ones alone. It reports which it added.
func EnsureSearchAttributes(ctx context.Context, cl client.Client, namespace string, want map[string]enums.IndexedValueType) ([]string, error) {
	op := cl.OperatorService()
	have, err := op.ListSearchAttributes(ctx, &operatorservice.ListSearchAttributesRequest{Namespace: namespace})
	if err != nil {
		return nil, fmt.Errorf("list search attributes: %w", err)
	}
	missing := map[string]enums.IndexedValueType{}
	for name, typ := range want {
		got, ok := have.GetCustomAttributes()[name]
		if !ok {
			missing[name] = typ
			continue
		}
		if got != typ {
			return nil, fmt.Errorf("search attribute %s exists as %s, Baton needs %s", name, got, typ)
		}
	}
	if len(missing) == 0 {
		return nil, nil
	}
	_, err = op.AddSearchAttributes(ctx, &operatorservice.AddSearchAttributesRequest{Namespace: namespace, SearchAttributes: missing})
	var exists *serviceerror.AlreadyExists
	if err != nil && !errors.As(err, &exists) {
		return nil, fmt.Errorf("add search attributes: %w", err)
	}
	added := make([]string, 0, len(missing))
	for name := range missing {
		added = append(added, name)
	}
	return added, nil
}
