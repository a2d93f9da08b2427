package humantask

import (
	"time"

	"go.temporal.io/sdk/workflow"
)

// Business metric names (Prometheus adds _total to counters and _seconds to
// timers). Dashboards rely on them.
const (
	MetricProcessStarted   = "baton_process_started"
	MetricProcessCompleted = "baton_process_completed"
	MetricProcessDuration  = "baton_process_duration"
	MetricTaskWait         = "baton_task_wait"
	MetricDecisions        = "baton_decisions"
	MetricRefusals         = "baton_decision_refusals"
	MetricEscalations      = "baton_escalations"
	MetricTasksClosed      = "baton_tasks_closed"
	MetricCompensations    = "baton_compensations"
)

// Count adds one to a business counter. The workflow metrics handler is
// silent on replay, so a replayed history does not count twice.
func (m *Manager) Count(ctx workflow.Context, name string, tags map[string]string) {
	workflow.GetMetricsHandler(ctx).WithTags(m.tags(tags)).Counter(name).Inc(1)
}

func (m *Manager) observe(ctx workflow.Context, name string, d time.Duration, tags map[string]string) {
	workflow.GetMetricsHandler(ctx).WithTags(m.tags(tags)).Timer(name).Record(d)
}

func (m *Manager) tags(extra map[string]string) map[string]string {
	all := map[string]string{"process": m.opts.Process}
	for k, v := range extra {
		all[k] = v
	}
	return all
}
