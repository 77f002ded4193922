// Package deploy holds the deployment files (Dockerfile, docker-compose,
// Kubernetes manifests, systemd units, Prometheus configuration and alert
// rules, Grafana dashboard) and, in Go, the list of metrics they may use.
package deploy

// Exported is every metric family the product's processes export, with its
// labels (scrape-time job and instance excluded). Histograms are listed by
// family name (see Histograms); their _bucket, _sum and _count series are
// derived. The dashboard and the alert rules may only use these (checked by
// this package's test), and the end-to-end test checks that each is really
// exported by a running api, worker and scheduler.
var Exported = map[string][]string{
	// metrics/metrics.go and metrics/active.go, every process.
	// failover_type is test or live for a failover and for the rollback or
	// commit of one (its failover's type), none for drills and probes.
	"failover_jobs_total":                   {"type", "failover_type", "outcome"},
	"failover_job_duration_seconds":         {"type", "failover_type"}, // histogram
	"failover_step_duration_seconds":        {"step", "type", "failover_type"},
	"failover_step_failures_total":          {"step", "failover_type", "class"},
	"failover_active_jobs":                  {"type", "failover_type"}, // same from every process: max by (...)
	"failover_sync_bytes_total":             {},
	"failover_sync_duration_seconds":        {}, // histogram
	"failover_drills_total":                 {"outcome"},
	"failover_drill_rto_seconds":            {}, // histogram
	"failover_drill_vms_skipped_total":      {},
	"failover_api_requests_total":           {"route", "code"},
	"failover_api_request_duration_seconds": {"route"}, // histogram
	// metrics/active.go, API process only (Postgres' figures, the same
	// from every replica: max by (...)).
	"failover_oldest_active_job_age_seconds":    {"type", "failover_type"},
	"failover_active_job_last_step_age_seconds": {"type", "failover_type"},
	// cmd/api.
	"failover_api_tokens_reload_errors_total": {},
	// metrics/queues.go, API process only: asynq's queue metrics with the
	// names of asynq's exporter (github.com/hibiken/asynq/x/metrics), except
	// its two gauges named *_total (asynq_tasks_enqueued_total,
	// asynq_queue_paused_total), which are asynq_queue_tasks and
	// asynq_queue_paused here. asynq_queue_tasks is a gauge per queue and
	// state (pending, active, scheduled, retry, archived, completed,
	// aggregating); asynq_queue_size has no state label.
	"asynq_queue_tasks":                     {"queue", "state"},
	"asynq_queue_size":                      {"queue"},
	"asynq_queue_latency_seconds":           {"queue"},
	"asynq_queue_memory_usage_approx_bytes": {"queue"},
	"asynq_tasks_processed_total":           {"queue"},
	"asynq_tasks_failed_total":              {"queue"},
	"asynq_queue_paused":                    {"queue"},
	// metrics/rpo.go, API process only: each VM's RPO (no series while a
	// disk never reported a sync) and its target.
	"failover_vm_rpo_seconds":        {"context_id", "vm_name"},
	"failover_vm_rpo_target_seconds": {"context_id", "vm_name"},
	// Prometheus' own per-target series.
	"up": {},
}

// Histograms are the families of Exported that are histograms.
var Histograms = []string{"failover_job_duration_seconds", "failover_step_duration_seconds",
	"failover_sync_duration_seconds", "failover_drill_rto_seconds", "failover_api_request_duration_seconds"}

// Synthetic are the families of Exported that Prometheus adds itself.
var Synthetic = []string{"up"}
