package metrics

import (
	"context"
	"log/slog"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/ossea/unifiedfailover/store"
)

// rpoDesc and rpoTargetDesc describe failover_vm_rpo_seconds and
// failover_vm_rpo_target_seconds.
var (
	rpoDesc = prometheus.NewDesc("failover_vm_rpo_seconds",
		"Age of each protected VM's replica: now minus its oldest disk's last sync, read from Postgres at scrape time. "+
			"No series while a disk of the VM never reported a sync (its RPO is unknown).",
		[]string{"context_id", "vm_name"}, nil)
	rpoTargetDesc = prometheus.NewDesc("failover_vm_rpo_target_seconds",
		"The RPO each protected VM should stay within: its own target, or FAILOVER_RPO_TARGET.",
		[]string{"context_id", "vm_name"}, nil)
)

// RPO is a collector of failover_vm_rpo_seconds{context_id, vm_name} and
// failover_vm_rpo_target_seconds{context_id, vm_name}, computed at scrape
// time from the contexts in Postgres (store.ReplicationOf, as the API and
// pre-flight compute it). One process exports it (the API), so the series
// are not repeated by every process.
type RPO struct {
	// Store is the product's database. Required.
	Store *store.Store
	// Target is the RPO target of a VM without its own
	// (FAILOVER_RPO_TARGET). Defaults to store.DefaultRPOTarget.
	Target time.Duration
	// Timeout bounds the query. Defaults to 2 seconds.
	Timeout time.Duration
	// Logger receives query failures. Defaults to slog.Default().
	Logger *slog.Logger
	// Now defaults to time.Now.
	Now func() time.Time
}

// Describe implements prometheus.Collector.
func (r *RPO) Describe(ch chan<- *prometheus.Desc) {
	ch <- rpoDesc
	ch <- rpoTargetDesc
}

// Collect implements prometheus.Collector. When Postgres does not answer
// in time it reports nothing (and logs why), as ActiveJobs does.
func (r *RPO) Collect(ch chan<- prometheus.Metric) {
	timeout, target, now := r.Timeout, r.Target, r.Now
	if timeout <= 0 {
		timeout = 2 * time.Second
	}
	if target <= 0 {
		target = store.DefaultRPOTarget
	}
	if now == nil {
		now = time.Now
	}
	ctx, cancel := context.WithTimeout(context.Background(), timeout)
	defer cancel()
	cs, err := r.Store.ListContexts(ctx)
	if err != nil {
		log := r.Logger
		if log == nil {
			log = slog.Default()
		}
		log.Warn("failover_vm_rpo_seconds not collected", "error", err)
		return
	}
	at := now()
	for _, c := range cs {
		rep := c.Replication(at, target)
		ch <- prometheus.MustNewConstMetric(rpoTargetDesc, prometheus.GaugeValue, rep.Target.Seconds(), c.ContextID, c.VMName)
		if rep.RPO != nil {
			ch <- prometheus.MustNewConstMetric(rpoDesc, prometheus.GaugeValue, rep.RPO.Seconds(), c.ContextID, c.VMName)
		}
	}
}
