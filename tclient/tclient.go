// Package tclient dials Temporal the one way the worker and the starter both
// use: host, namespace, mTLS or API key, identity, logger, data converter.
package tclient

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"maps"
	"os"
	"slices"
	"strings"
	"time"

	"go.temporal.io/api/enums/v1"
	"go.temporal.io/api/operatorservice/v1"
	"go.temporal.io/api/serviceerror"
	"go.temporal.io/api/workflowservice/v1"
	"go.temporal.io/sdk/client"
	"go.temporal.io/sdk/converter"
	"go.temporal.io/sdk/log"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"

	"github.com/batonhq/baton/codec"
	"github.com/batonhq/baton/config"
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

// OperatorRefusedError is an operator API that refused to manage search
// attributes (Temporal Cloud manages them outside it): the caller may go on
// and tell the operator what to create.
type OperatorRefusedError struct{ Err error }

func (e *OperatorRefusedError) Error() string {
	return fmt.Sprintf("the operator API refused to manage search attributes: %v", e.Err)
}

func (e *OperatorRefusedError) Unwrap() error { return e.Err }

// EnsureTimeout bounds EnsureSearchAttributes when ctx has no deadline.
const EnsureTimeout = time.Minute

// ensureRetryEvery is the pause between attempts while the namespace or
// the attributes are not yet visible to the frontend.
var ensureRetryEvery = 250 * time.Millisecond

// EnsureSearchAttributes creates the custom search attributes that the
// namespace lacks, leaves existing ones alone, and returns once a visibility
// query that names every attribute is accepted: a real server caches
// namespaces and search attributes, so a namespace created a moment ago
// reads as not found, and new attributes are refused by starts until its
// cache refreshes (up to a few seconds). Both are retried until ctx ends
// (EnsureTimeout when ctx has no deadline). It reports the attributes this
// call added; ones another client had added are not reported, except that
// the server does not say when two clients' adds of the same attribute
// cross (then both report it). An
// operator API that refuses the request (permission denied, unimplemented)
// is an *OperatorRefusedError.
func EnsureSearchAttributes(ctx context.Context, cl client.Client, namespace string, want map[string]enums.IndexedValueType) ([]string, error) {
	if _, ok := ctx.Deadline(); !ok {
		var cancel context.CancelFunc
		ctx, cancel = context.WithTimeout(ctx, EnsureTimeout)
		defer cancel()
	}
	var added []string
	for {
		done, created, err := ensureOnce(ctx, cl, namespace, want)
		added = append(added, created...)
		if err != nil && !retryable(err) {
			return added, err
		}
		if done {
			break
		}
		if werr := pause(ctx); werr != nil {
			if err == nil {
				err = errors.New("attributes not yet listed")
			}
			return added, fmt.Errorf("search attributes of namespace %s: gave up after retrying: %w", namespace, err)
		}
	}
	query := usabilityQuery(want)
	for {
		_, err := cl.WorkflowService().CountWorkflowExecutions(ctx, &workflowservice.CountWorkflowExecutionsRequest{Namespace: namespace, Query: query})
		if err == nil {
			slices.Sort(added)
			return added, nil
		}
		var invalid *serviceerror.InvalidArgument
		if !errors.As(err, &invalid) && !retryable(err) {
			return added, fmt.Errorf("search attributes of namespace %s: check %q: %w", namespace, query, err)
		}
		if werr := pause(ctx); werr != nil {
			return added, fmt.Errorf("search attributes of namespace %s: not usable by queries after retrying: %w", namespace, err)
		}
	}
}

// ensureOnce lists the attributes and adds the missing ones. done is true
// once every wanted attribute is listed with its type.
func ensureOnce(ctx context.Context, cl client.Client, namespace string, want map[string]enums.IndexedValueType) (done bool, added []string, err error) {
	op := cl.OperatorService()
	have, err := op.ListSearchAttributes(ctx, &operatorservice.ListSearchAttributesRequest{Namespace: namespace})
	if err != nil {
		return false, nil, classify("list search attributes", err)
	}
	missing := map[string]enums.IndexedValueType{}
	for name, typ := range want {
		got, ok := have.GetCustomAttributes()[name]
		if !ok {
			missing[name] = typ
			continue
		}
		if got != typ {
			return false, nil, fmt.Errorf("search attribute %s exists as %s, Baton needs %s", name, got, typ)
		}
	}
	if len(missing) == 0 {
		return true, nil, nil
	}
	_, err = op.AddSearchAttributes(ctx, &operatorservice.AddSearchAttributesRequest{Namespace: namespace, SearchAttributes: missing})
	var exists *serviceerror.AlreadyExists
	if errors.As(err, &exists) || (err != nil && strings.Contains(err.Error(), "already allocated")) {
		// Another client added them first (a real server that still caches
		// the old mapping says its field is "already allocated"): list again.
		return false, nil, nil
	}
	if err != nil {
		return false, nil, classify("add search attributes", err)
	}
	for name := range missing {
		added = append(added, name)
	}
	// Listed again on the next round, which also confirms the types.
	return false, added, nil
}

// classify marks what the operator API refuses, and leaves the rest as is.
func classify(what string, err error) error {
	var denied *serviceerror.PermissionDenied
	var unimplemented *serviceerror.Unimplemented
	code := status.Code(err)
	if errors.As(err, &denied) || errors.As(err, &unimplemented) ||
		code == codes.PermissionDenied || code == codes.Unimplemented || code == codes.Unauthenticated {
		return &OperatorRefusedError{Err: fmt.Errorf("%s: %w", what, err)}
	}
	return fmt.Errorf("%s: %w", what, err)
}

// retryable is what a real server says while its caches catch up: the
// namespace is not found yet, or its information is unavailable.
func retryable(err error) bool {
	var nsNotFound *serviceerror.NamespaceNotFound
	var notFound *serviceerror.NotFound
	var unavailable *serviceerror.Unavailable
	return errors.As(err, &nsNotFound) || errors.As(err, &notFound) || errors.As(err, &unavailable)
}

func pause(ctx context.Context) error {
	select {
	case <-ctx.Done():
		return ctx.Err()
	case <-time.After(ensureRetryEvery):
		return nil
	}
}

// usabilityQuery names every attribute with a value of its type, so the
// server maps each one as a start that sets them would.
func usabilityQuery(want map[string]enums.IndexedValueType) string {
	var terms []string
	for _, name := range slices.Sorted(maps.Keys(want)) {
		var v string
		switch want[name] {
		case enums.INDEXED_VALUE_TYPE_INT, enums.INDEXED_VALUE_TYPE_DOUBLE:
			v = "0"
		case enums.INDEXED_VALUE_TYPE_BOOL:
			v = "false"
		case enums.INDEXED_VALUE_TYPE_DATETIME:
			v = "'1970-01-01T00:00:00Z'"
		default:
			v = "''"
		}
		terms = append(terms, name+" = "+v)
	}
	return strings.Join(terms, " OR ")
}
