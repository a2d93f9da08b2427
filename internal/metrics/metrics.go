// Package metrics exposes the Temporal SDK's metrics and Baton's business
// metrics (emitted through the workflow metrics handler) in Prometheus
// format, through OpenTelemetry.
package metrics

import (
	"fmt"
	"net/http"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/prometheus/client_golang/prometheus/promhttp"
	otelprom "go.opentelemetry.io/otel/exporters/prometheus"
	sdkmetric "go.opentelemetry.io/otel/sdk/metric"
	"go.temporal.io/sdk/client"
	temporalotel "go.temporal.io/sdk/contrib/opentelemetry"
)

// Metrics is the SDK handler and the /metrics endpoint over one registry.
type Metrics struct {
	Handler client.MetricsHandler
	HTTP    http.Handler
	reg     *prometheus.Registry
}

// New builds a registry with Go runtime metrics and an OpenTelemetry meter
// provider exporting to it.
func New() (*Metrics, error) {
	reg := prometheus.NewRegistry()
	reg.MustRegister(collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))
	exp, err := otelprom.New(otelprom.WithRegisterer(reg), otelprom.WithoutScopeInfo())
	if err != nil {
		return nil, fmt.Errorf("metrics: %w", err)
	}
	provider := sdkmetric.NewMeterProvider(sdkmetric.WithReader(exp),
		buckets("baton_process_duration", 1, 10, 60, 300, 1800, 3600, 4*3600, 12*3600, 86400, 3*86400, 7*86400),
		buckets("baton_process_queue", 0.1, 0.5, 1, 5, 15, 60, 300, 1800, 3600),
		buckets("baton_task_wait", 60, 300, 900, 3600, 4*3600, 8*3600, 86400, 2*86400, 3*86400, 7*86400),
		// The SDK's latencies are milliseconds to seconds.
		buckets("temporal_*latency", 0.001, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60),
	)
	h := temporalotel.NewMetricsHandler(temporalotel.MetricsHandlerOptions{
		Meter:                provider.Meter("baton"),
		UseMonotonicCounters: true,
		OnError:              func(error) {}, // a metric must never take the worker down
	})
	return &Metrics{Handler: h, HTTP: promhttp.HandlerFor(reg, promhttp.HandlerOpts{}), reg: reg}, nil
}

// buckets sets histogram boundaries (seconds) for instruments named like name.
func buckets(name string, bounds ...float64) sdkmetric.Option {
	return sdkmetric.WithView(sdkmetric.NewView(
		sdkmetric.Instrument{Name: name},
		sdkmetric.Stream{Aggregation: sdkmetric.AggregationExplicitBucketHistogram{Boundaries: bounds}},
	))
}
