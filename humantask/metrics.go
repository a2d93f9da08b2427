package humantask

// Task metric names (Prometheus adds _total to counters and _seconds to
// timers). Dashboards rely on them; the record declares the process metrics.
const (
	MetricTaskWait    = "baton_task_wait"
	MetricDecisions   = "baton_decisions"
	MetricRefusals    = "baton_decision_refusals"
	MetricEscalations = "baton_escalations"
	MetricTasksClosed = "baton_tasks_closed"
)
