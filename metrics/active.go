package metrics

import (
	"context"
	"fmt"
	"log/slog"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/ossea/unifiedfailover/store"
)

// Descriptors of the active-job gauges, read from Postgres at scrape time.
var (
	activeJobsDesc = prometheus.NewDesc("failover_active_jobs",
		"Jobs in state pending or running, by job type and failover type, read from Postgres at scrape time. "+
			"Every process reports the same count: aggregate with max, not sum.",
		[]string{"type", "failover_type"}, nil)
	oldestActiveJobAgeDesc = prometheus.NewDesc("failover_oldest_active_job_age_seconds",
		"Age (now minus creation) of the oldest pending or running job, by job type and failover type; 0 when none is active. "+
			"Read from Postgres at scrape time by the API process.",
		[]string{"type", "failover_type"}, nil)
	activeJobLastStepAgeDesc = prometheus.NewDesc("failover_active_job_last_step_age_seconds",
		"Time since the last step activity (a step planned, begun, retried, reporting progress or ended) of the pending "+
			"or running job that has been quiet longest, by job type and failover type; 0 when none is active. "+
			"Read from Postgres at scrape time by the API process.",
		[]string{"type", "failover_type"}, nil)
)

// JobKind is a job type and the failover_type label of its jobs.
type JobKind struct {
	Type         string
	FailoverType string
}

// ActiveJobs is a collector of the active (pending or running) jobs, read
// from Postgres when scraped: failover_active_jobs{type,failover_type}
// always, and with Ages failover_oldest_active_job_age_seconds and
// failover_active_job_last_step_age_seconds (is a job stuck?) with the same
// labels. The figures are the database's, not the process's: every process
// may export the count (a dashboard takes the max over processes), and the
// ages are exported by one kind of process (the API), so that they have no
// duplicate series but one per API replica. The kinds listed in Kinds are
// reported with 0 when they have no active job, so the series exist before
// the first job of that kind.
type ActiveJobs struct {
	// Store is the product's database. Required.
	Store *store.Store
	// Kinds are the job kinds always reported.
	Kinds []JobKind
	// Ages adds the two age gauges.
	Ages bool
	// Timeout bounds the query. Defaults to 2 seconds.
	Timeout time.Duration
	// Logger receives query failures. Defaults to slog.Default().
	Logger *slog.Logger
}

// Describe implements prometheus.Collector.
func (a *ActiveJobs) Describe(ch chan<- *prometheus.Desc) {
	ch <- activeJobsDesc
	if a.Ages {
		ch <- oldestActiveJobAgeDesc
		ch <- activeJobLastStepAgeDesc
	}
}

// Collect implements prometheus.Collector. When Postgres does not answer in
// time, it reports nothing (and logs why) rather than failing the whole
// scrape: the process's other metrics, and its up series, stay intact.
func (a *ActiveJobs) Collect(ch chan<- prometheus.Metric) {
	groups, err := a.Read(context.Background())
	if err != nil {
		log := a.Logger
		if log == nil {
			log = slog.Default()
		}
		log.Warn("active-job metrics (failover_active_jobs and the ages) not collected", "error", err)
		return
	}
	for k, g := range groups {
		ch <- prometheus.MustNewConstMetric(activeJobsDesc, prometheus.GaugeValue, float64(g.Count), k.Type, k.FailoverType)
		if a.Ages {
			ch <- prometheus.MustNewConstMetric(oldestActiveJobAgeDesc, prometheus.GaugeValue, g.OldestAgeSeconds,
				k.Type, k.FailoverType)
			ch <- prometheus.MustNewConstMetric(activeJobLastStepAgeDesc, prometheus.GaugeValue, g.LastStepAgeSeconds,
				k.Type, k.FailoverType)
		}
	}
}

// Read returns the active jobs by kind (failover_type as labelled), with
// every kind of a.Kinds present.
func (a *ActiveJobs) Read(ctx context.Context) (map[JobKind]store.ActiveJobGroup, error) {
	timeout := a.Timeout
	if timeout <= 0 {
		timeout = 2 * time.Second
	}
	ctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	groups, err := a.Store.ActiveJobGroups(ctx)
	if err != nil {
		return nil, fmt.Errorf("counting active jobs: %w", err)
	}
	out := make(map[JobKind]store.ActiveJobGroup, len(a.Kinds)+len(groups))
	for _, k := range a.Kinds {
		out[k] = store.ActiveJobGroup{Type: k.Type, FailoverType: k.FailoverType}
	}
	for _, g := range groups {
		out[JobKind{Type: g.Type, FailoverType: FailoverType(g.FailoverType)}] = g
	}
	return out, nil
}
