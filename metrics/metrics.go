// Package metrics defines the product's Prometheus metrics. Label sets are
// bounded: job and step types, failover types, outcomes, error classes and
// routes, never VM names or ids.
package metrics

import (
	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"

	"github.com/ossea/unifiedfailover/store"
)

// FailoverType is the failover_type label of a job whose failover type
// (store.Job.FailoverType) is ft: test or live for a failover and for the
// rollback or commit of one (theirs is their failover's), none for jobs
// without one (drills, probes).
func FailoverType(ft string) string {
	if ft == "" {
		return FailoverTypeNone
	}
	return ft
}

// FailoverTypeNone is the failover_type of a job that is no failover and
// undoes or commits none (a drill, a probe).
const FailoverTypeNone = "none"

// DrillOutcomes are the outcomes of failover_drills_total, reported from
// the start.
var DrillOutcomes = []string{string(store.DrillPassed), string(store.DrillFailed)}

// Metrics holds the product's collectors.
type Metrics struct {
	JobsTotal          *prometheus.CounterVec
	JobDuration        *prometheus.HistogramVec
	StepDuration       *prometheus.HistogramVec
	StepFailures       *prometheus.CounterVec
	SyncBytes          prometheus.Counter
	SyncDuration       prometheus.Histogram
	APIRequests        *prometheus.CounterVec
	APIRequestDuration *prometheus.HistogramVec
	// DR drills (package drill).
	DrillsTotal     *prometheus.CounterVec
	DrillRTO        prometheus.Histogram
	DrillVMsSkipped prometheus.Counter
}

// New creates the collectors and registers them (and the Go and process
// collectors) with reg.
func New(reg prometheus.Registerer) *Metrics {
	m := &Metrics{
		JobsTotal: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "failover_jobs_total",
			Help: "Jobs that ended, by job type, failover type (test, live, none) and outcome (completed, failed, cancelled).",
		}, []string{"type", "failover_type", "outcome"}),
		JobDuration: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Name:    "failover_job_duration_seconds",
			Help:    "Wall time of jobs from creation to end, by job type and failover type (test, live, none).",
			Buckets: []float64{1, 5, 10, 30, 60, 120, 300, 600, 1200, 3600, 7200},
		}, []string{"type", "failover_type"}),
		StepDuration: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Name:    "failover_step_duration_seconds",
			Help:    "Wall time of one step attempt, by step, job type and failover type (test, live, none).",
			Buckets: []float64{0.005, 0.01, 0.05, 0.1, 0.5, 1, 5, 10, 30, 60, 300, 900, 1800},
		}, []string{"step", "type", "failover_type"}),
		StepFailures: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "failover_step_failures_total",
			Help: "Failed step attempts, by step, failover type (test, live, none) and error class (transient, permanent).",
		}, []string{"step", "failover_type", "class"}),
		SyncBytes: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "failover_sync_bytes_total",
			Help: "Bytes copied by final syncs.",
		}),
		SyncDuration: prometheus.NewHistogram(prometheus.HistogramOpts{
			Name:    "failover_sync_duration_seconds",
			Help:    "Wall time of final syncs of one VM.",
			Buckets: []float64{0.1, 0.5, 1, 5, 10, 30, 60, 300, 900, 1800, 3600},
		}),
		APIRequests: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "failover_api_requests_total",
			Help: "API requests by route pattern and status code.",
		}, []string{"route", "code"}),
		APIRequestDuration: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Name:    "failover_api_request_duration_seconds",
			Help:    "API request latency by route pattern.",
			Buckets: []float64{0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5},
		}, []string{"route"}),
		DrillsTotal: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "failover_drills_total",
			Help: "DR drill runs that ended, by outcome (passed, failed).",
		}, []string{"outcome"}),
		DrillRTO: prometheus.NewHistogram(prometheus.HistogramOpts{
			Name:    "failover_drill_rto_seconds",
			Help:    "Measured RTO of each VM of a DR drill: failover request to destination VM running.",
			Buckets: []float64{5, 10, 30, 60, 120, 300, 600, 1200, 1800, 3600},
		}),
		DrillVMsSkipped: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "failover_drill_vms_skipped_total",
			Help: "VMs a DR drill skipped because they were busy with another job or not ready.",
		}),
	}
	for _, o := range DrillOutcomes {
		m.DrillsTotal.WithLabelValues(o) // the series exist before the first drill ends
	}
	reg.MustRegister(m.DrillsTotal, m.DrillRTO, m.DrillVMsSkipped)
	reg.MustRegister(m.JobsTotal, m.JobDuration, m.StepDuration, m.StepFailures, m.SyncBytes,
		m.SyncDuration, m.APIRequests, m.APIRequestDuration,
		collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))
	return m
}
