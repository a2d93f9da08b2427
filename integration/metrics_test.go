package integration

import (
	"io"
	"net/http"
	"strings"
	"testing"
)

func scrape(t *testing.T) string {
	t.Helper()
	resp, err := http.Get(strings.Replace(env.healthURL, "/healthz", "/metrics", 1))
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return string(b)
}

// hasSample reports whether a sample of metric carries every label given.
func hasSample(exposition, metric string, labels ...string) bool {
	for _, line := range strings.Split(exposition, "\n") {
		if !strings.HasPrefix(line, metric+"{") {
			continue
		}
		ok := true
		for _, l := range labels {
			if !strings.Contains(line, l) {
				ok = false
				break
			}
		}
		if ok {
			return true
		}
	}
	return false
}

func TestWorkerMetrics(t *testing.T) {
	startWait(t, "loan", "loan-auto-approve.json", uniq("M"))
	wf := startOpen(t, "loan", "loan-manual.json", uniq("MM"))
	waitTask(t, wf)
	runBin(t, "starter", "approve", wf, "--as", "fay") // refused
	starter(t, "approve", wf, "--as", "ana")
	outcomeOf(t, wf)

	m := scrape(t)
	for _, want := range []struct {
		metric string
		labels []string
	}{
		{"baton_process_started_total", []string{`process="loan"`}},
		{"baton_process_completed_total", []string{`handling_path="automated"`, `outcome="approved"`, `process="loan"`}},
		{"baton_process_completed_total", []string{`handling_path="manual"`, `outcome="approved"`}},
		{"baton_process_duration_seconds_bucket", []string{`handling_path="manual"`, `le="3600"`}},
		{"baton_task_wait_seconds_count", []string{`task="underwriting"`}},
		{"baton_decisions_total", []string{`verdict="approve"`, `via="update"`}},
		{"baton_decision_refusals_total", []string{`reason="not-a-candidate"`, `via="update"`}},
		{"baton_tasks_closed_total", []string{`state="approved"`, `task="underwriting"`, `escalated="false"`}},
		// the SDK's own metrics, through the same exporter
		{"temporal_workflow_completed_total", []string{`workflow_type="loan"`}},
		{"temporal_activity_execution_latency_seconds_bucket", []string{`le="0.005"`}},
	} {
		if !hasSample(m, want.metric, want.labels...) {
			t.Errorf("/metrics has no %s with %v", want.metric, want.labels)
		}
	}
}
