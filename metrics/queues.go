package metrics

import (
	"fmt"
	"log/slog"
	"time"

	"github.com/hibiken/asynq"
	"github.com/prometheus/client_golang/prometheus"
)

// Queue metric descriptors. The names and meanings are those of asynq's own
// exporter (github.com/hibiken/asynq/x/metrics), except two gauges that it
// names with a _total suffix, which Prometheus reserves for counters
// (promtool check metrics flags them):
//
//	asynq_tasks_enqueued_total{queue,state} -> asynq_queue_tasks{queue,state}
//	asynq_queue_paused_total{queue}         -> asynq_queue_paused{queue}
var (
	queueTasksDesc = prometheus.NewDesc("asynq_queue_tasks",
		"Tasks in a queue by state (pending, active, scheduled, retry, archived, completed, aggregating).",
		[]string{"queue", "state"}, nil)
	queueSizeDesc = prometheus.NewDesc("asynq_queue_size",
		"Tasks in a queue: pending, active, scheduled, retry, aggregating and archived.",
		[]string{"queue"}, nil)
	queueLatencyDesc = prometheus.NewDesc("asynq_queue_latency_seconds",
		"How long the oldest pending task of a queue has been waiting.",
		[]string{"queue"}, nil)
	queueMemoryDesc = prometheus.NewDesc("asynq_queue_memory_usage_approx_bytes",
		"Redis memory used by a queue and its tasks (approximate, sampled).",
		[]string{"queue"}, nil)
	tasksProcessedDesc = prometheus.NewDesc("asynq_tasks_processed_total",
		"Tasks processed (succeeded or failed) from a queue.",
		[]string{"queue"}, nil)
	tasksFailedDesc = prometheus.NewDesc("asynq_tasks_failed_total",
		"Task attempts that failed, by queue.",
		[]string{"queue"}, nil)
	queuePausedDesc = prometheus.NewDesc("asynq_queue_paused",
		"1 while a queue is paused, else 0.",
		[]string{"queue"}, nil)
)

// Queues is a collector of asynq's queue metrics, read from Redis through
// an asynq.Inspector at scrape time. Queue names are the product's own
// (bounded). Serve it from one kind of process (the API): the figures are
// Redis', the same from everywhere.
type Queues struct {
	// Inspector reads the queues. Required.
	Inspector *asynq.Inspector
	// Timeout bounds one collection. Defaults to 5 seconds.
	Timeout time.Duration
	// Logger receives collection failures. Defaults to slog.Default().
	Logger *slog.Logger
}

// Describe implements prometheus.Collector.
func (q *Queues) Describe(ch chan<- *prometheus.Desc) {
	for _, d := range []*prometheus.Desc{queueTasksDesc, queueSizeDesc, queueLatencyDesc, queueMemoryDesc,
		tasksProcessedDesc, tasksFailedDesc, queuePausedDesc} {
		ch <- d
	}
}

// Collect implements prometheus.Collector. If Redis does not answer within
// the timeout it reports nothing (and logs why) rather than failing the
// scrape.
func (q *Queues) Collect(ch chan<- prometheus.Metric) {
	infos, err := q.collect()
	if err != nil {
		log := q.Logger
		if log == nil {
			log = slog.Default()
		}
		log.Warn("asynq queue metrics not collected", "error", err)
		return
	}
	for _, in := range infos {
		for state, n := range map[string]int{"pending": in.Pending, "active": in.Active, "scheduled": in.Scheduled,
			"retry": in.Retry, "archived": in.Archived, "completed": in.Completed, "aggregating": in.Aggregating} {
			ch <- prometheus.MustNewConstMetric(queueTasksDesc, prometheus.GaugeValue, float64(n), in.Queue, state)
		}
		paused := 0.0
		if in.Paused {
			paused = 1
		}
		ch <- prometheus.MustNewConstMetric(queueSizeDesc, prometheus.GaugeValue, float64(in.Size), in.Queue)
		ch <- prometheus.MustNewConstMetric(queueLatencyDesc, prometheus.GaugeValue, in.Latency.Seconds(), in.Queue)
		ch <- prometheus.MustNewConstMetric(queueMemoryDesc, prometheus.GaugeValue, float64(in.MemoryUsage), in.Queue)
		ch <- prometheus.MustNewConstMetric(tasksProcessedDesc, prometheus.CounterValue, float64(in.ProcessedTotal), in.Queue)
		ch <- prometheus.MustNewConstMetric(tasksFailedDesc, prometheus.CounterValue, float64(in.FailedTotal), in.Queue)
		ch <- prometheus.MustNewConstMetric(queuePausedDesc, prometheus.GaugeValue, paused, in.Queue)
	}
}

// collect reads every queue's info. The inspector takes no context, so the
// timeout is enforced by waiting on the result; a late answer is dropped.
func (q *Queues) collect() ([]*asynq.QueueInfo, error) {
	timeout := q.Timeout
	if timeout <= 0 {
		timeout = 5 * time.Second
	}
	type result struct {
		infos []*asynq.QueueInfo
		err   error
	}
	done := make(chan result, 1)
	go func() {
		names, err := q.Inspector.Queues()
		if err != nil {
			done <- result{err: fmt.Errorf("listing asynq queues: %w", err)}
			return
		}
		var infos []*asynq.QueueInfo
		for _, name := range names {
			in, err := q.Inspector.GetQueueInfo(name)
			if err != nil {
				done <- result{err: fmt.Errorf("reading asynq queue %s: %w", name, err)}
				return
			}
			infos = append(infos, in)
		}
		done <- result{infos: infos}
	}()
	select {
	case r := <-done:
		return r.infos, r.err
	case <-time.After(timeout):
		return nil, fmt.Errorf("reading asynq queues: no answer from Redis in %s", timeout)
	}
}
