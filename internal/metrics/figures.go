package metrics

import (
	"context"
	"sync"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/batonhq/baton/internal/insight"
)

// FiguresWindow is the window the figures gauges cover: instances started
// in the last day, as `starter report` covers by default.
const FiguresWindow = 24 * time.Hour

// figures exposes insight's figures (insight.Measure, the same code and
// definitions as starter report) per process and handling path as gauges:
// cycle time p50/p90 and its spread, queue time, throughput, failure,
// error and automation rates, escalated and expired shares. They are
// computed in the background from the durable audit store, never during a
// scrape.
type figures struct {
	mu   sync.Mutex
	last []insight.ProcessFigures
	at   time.Time
}

var (
	labels = []string{"process", "path"}
	descs  = struct {
		cycle, spread, queue, throughput, failure, errRate, automation, escalated, expired, completed, updated *prometheus.Desc
	}{
		cycle:      prometheus.NewDesc("baton_insight_cycle_seconds", "Cycle time (workflow start to close) of the instances started in the last 24 h that completed, by quantile.", append(labels, "quantile"), nil),
		spread:     prometheus.NewDesc("baton_insight_cycle_stddev_seconds", "Standard deviation of that cycle time.", labels, nil),
		queue:      prometheus.NewDesc("baton_insight_queue_seconds", "Queue time (workflow start to the first step) of those instances, by quantile.", append(labels, "quantile"), nil),
		throughput: prometheus.NewDesc("baton_insight_throughput_per_hour", "Instances completed per hour over the window.", labels, nil),
		failure:    prometheus.NewDesc("baton_insight_failure_ratio", "Share of ended instances that did not complete.", labels, nil),
		errRate:    prometheus.NewDesc("baton_insight_error_ratio", "Share of ended instances with a failed step.", labels, nil),
		automation: prometheus.NewDesc("baton_insight_automation_ratio", "Share of completed instances handled without a human task.", labels, nil),
		escalated:  prometheus.NewDesc("baton_insight_escalated_ratio", "Share of human tasks that escalated.", labels, nil),
		expired:    prometheus.NewDesc("baton_insight_expired_ratio", "Share of human tasks that expired.", labels, nil),
		completed:  prometheus.NewDesc("baton_insight_completed", "Instances started in the window that completed.", labels, nil),
		updated:    prometheus.NewDesc("baton_insight_updated_timestamp_seconds", "When the figures were last computed.", nil, nil),
	}
)

func (f *figures) Describe(ch chan<- *prometheus.Desc) {
	for _, d := range []*prometheus.Desc{descs.cycle, descs.spread, descs.queue, descs.throughput, descs.failure, descs.errRate, descs.automation, descs.escalated, descs.expired, descs.completed, descs.updated} {
		ch <- d
	}
}

func (f *figures) Collect(ch chan<- prometheus.Metric) {
	f.mu.Lock()
	last, at := f.last, f.at
	f.mu.Unlock()
	if at.IsZero() {
		return
	}
	ch <- prometheus.MustNewConstMetric(descs.updated, prometheus.GaugeValue, float64(at.Unix()))
	for _, p := range last {
		emit(ch, p.Process, "all", p.Figures)
		for path, fig := range p.ByPath {
			emit(ch, p.Process, path, fig)
		}
	}
}

func emit(ch chan<- prometheus.Metric, process, path string, f insight.Figures) {
	g := func(d *prometheus.Desc, v float64, extra ...string) {
		ch <- prometheus.MustNewConstMetric(d, prometheus.GaugeValue, v, append([]string{process, path}, extra...)...)
	}
	g(descs.completed, float64(f.Completed))
	g(descs.throughput, f.ThroughputPerHour)
	if f.Completed+f.Failed > 0 {
		g(descs.failure, f.FailureRate)
		g(descs.errRate, f.ErrorRate)
	}
	if f.CycleTime.Count > 0 {
		g(descs.cycle, f.CycleTime.P50, "0.5")
		g(descs.cycle, f.CycleTime.P90, "0.9")
		g(descs.spread, f.CycleTime.StdDev)
		g(descs.automation, f.AutomationRate)
	}
	if f.QueueTime.Count > 0 {
		g(descs.queue, f.QueueTime.P50, "0.5")
		g(descs.queue, f.QueueTime.P90, "0.9")
	}
	if f.Tasks > 0 {
		g(descs.escalated, f.EscalatedShare)
		g(descs.expired, f.ExpiredShare)
	}
}

// ServeFigures registers the figures gauges and computes them with read
// (the last FiguresWindow's figures) now and every every, until ctx ends.
// A read that fails keeps the last figures (their timestamp says how old)
// and is reported to onError.
func (m *Metrics) ServeFigures(ctx context.Context, every time.Duration, read func(ctx context.Context) ([]insight.ProcessFigures, error), onError func(error)) error {
	f := &figures{}
	if err := m.reg.Register(f); err != nil {
		return err
	}
	refresh := func() {
		rctx, cancel := context.WithTimeout(ctx, every)
		defer cancel()
		last, err := read(rctx)
		if err != nil {
			onError(err)
			return
		}
		f.mu.Lock()
		f.last, f.at = last, time.Now()
		f.mu.Unlock()
	}
	go func() {
		refresh()
		t := time.NewTicker(every)
		defer t.Stop()
		for {
			select {
			case <-ctx.Done():
				return
			case <-t.C:
				refresh()
			}
		}
	}()
	return nil
}
