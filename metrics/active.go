package metrics

import (
	"context"
	"fmt"
	"log/slog"
	"time"

	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/prometheus/client_golang/prometheus"
)

// activeJobsDesc describes failover_active_jobs.
var activeJobsDesc = prometheus.NewDesc("failover_active_jobs",
	"Jobs in state pending or running, by job type, read from Postgres at scrape time. "+
		"Every process reports the same count: aggregate with max, not sum.",
	[]string{"type"}, nil)

// ActiveJobs is a collector of failover_active_jobs{type}: the active
// (pending or running) jobs by job type, counted in Postgres when scraped.
// The count is the database's, not the process's, so every process can
// export it and a dashboard takes the max over processes. Types listed in
// Types are reported with 0 when they have no active job, so the series
// exist before the first job of that type.
type ActiveJobs struct {
	// Pool is the product's database. Required.
	Pool *pgxpool.Pool
	// Types are the job types always reported.
	Types []string
	// Timeout bounds the query. Defaults to 2 seconds.
	Timeout time.Duration
	// Logger receives query failures. Defaults to slog.Default().
	Logger *slog.Logger
}

// Describe implements prometheus.Collector.
func (a *ActiveJobs) Describe(ch chan<- *prometheus.Desc) { ch <- activeJobsDesc }

// Collect implements prometheus.Collector. When Postgres does not answer in
// time, it reports nothing (and logs why) rather than failing the whole
// scrape: the process's other metrics, and its up series, stay intact.
func (a *ActiveJobs) Collect(ch chan<- prometheus.Metric) {
	counts, err := a.Count(context.Background())
	if err != nil {
		log := a.Logger
		if log == nil {
			log = slog.Default()
		}
		log.Warn("failover_active_jobs not collected", "error", err)
		return
	}
	for typ, n := range counts {
		ch <- prometheus.MustNewConstMetric(activeJobsDesc, prometheus.GaugeValue, float64(n), typ)
	}
}

// Count returns the active jobs by type, with every type of a.Types present.
func (a *ActiveJobs) Count(ctx context.Context) (map[string]int, error) {
	timeout := a.Timeout
	if timeout <= 0 {
		timeout = 2 * time.Second
	}
	ctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	counts := make(map[string]int, len(a.Types))
	for _, t := range a.Types {
		counts[t] = 0
	}
	rows, err := a.Pool.Query(ctx, `SELECT job_type, count(*) FROM job_tracking
		WHERE status IN ('pending', 'running') GROUP BY job_type`)
	if err != nil {
		return nil, fmt.Errorf("counting active jobs: %w", err)
	}
	defer rows.Close()
	for rows.Next() {
		var typ string
		var n int
		if err := rows.Scan(&typ, &n); err != nil {
			return nil, fmt.Errorf("counting active jobs: %w", err)
		}
		counts[typ] = n
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("counting active jobs: %w", err)
	}
	return counts, nil
}
