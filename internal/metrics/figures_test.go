package metrics

import (
	"context"
	"io"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/batonhq/baton/internal/insight"
)

// The figures starter report prints reach /metrics as gauges, per process
// and path, computed in the background.
func TestFiguresAreGaugesOnMetrics(t *testing.T) {
	m, err := New()
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	fig := insight.Figures{Completed: 4, Failed: 1, ThroughputPerHour: 0.1667, CycleTime: insight.Dist{Count: 4, P50: 85.2, P90: 7200, StdDev: 3000},
		QueueTime: insight.Dist{Count: 4, P50: 84.75, P90: 90}, FailureRate: 0.2, ErrorRate: 0.2, AutomationRate: 0.75, Tasks: 2, EscalatedShare: 0.5, ExpiredShare: 0}
	read := make(chan struct{}, 1)
	err = m.ServeFigures(ctx, time.Hour, func(context.Context) ([]insight.ProcessFigures, error) {
		defer func() { read <- struct{}{} }()
		return []insight.ProcessFigures{{Process: "loan", Figures: fig, ByPath: map[string]insight.Figures{"manual": fig}}}, nil
	}, func(err error) { t.Error(err) })
	if err != nil {
		t.Fatal(err)
	}
	<-read
	var out string
	for range 50 {
		rec := httptest.NewRecorder()
		m.HTTP.ServeHTTP(rec, httptest.NewRequest("GET", "/metrics", nil))
		b, _ := io.ReadAll(rec.Body)
		if out = string(b); strings.Contains(out, "baton_insight_updated") {
			break
		}
		time.Sleep(10 * time.Millisecond)
	}
	for _, want := range []string{
		`baton_insight_cycle_seconds{path="all",process="loan",quantile="0.5"} 85.2`,
		`baton_insight_cycle_seconds{path="manual",process="loan",quantile="0.9"} 7200`,
		`baton_insight_cycle_stddev_seconds{path="all",process="loan"} 3000`,
		`baton_insight_queue_seconds{path="all",process="loan",quantile="0.5"} 84.75`,
		`baton_insight_automation_ratio{path="all",process="loan"} 0.75`,
		`baton_insight_failure_ratio{path="all",process="loan"} 0.2`,
		`baton_insight_error_ratio{path="all",process="loan"} 0.2`,
		`baton_insight_escalated_ratio{path="all",process="loan"} 0.5`,
		`baton_insight_expired_ratio{path="all",process="loan"} 0`,
		`baton_insight_throughput_per_hour{path="all",process="loan"} 0.1667`,
	} {
		if !strings.Contains(out, want) {
			t.Errorf("/metrics lacks %s", want)
		}
	}
}
