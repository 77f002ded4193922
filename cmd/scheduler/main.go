// Command scheduler turns DR drill schedules into drill runs, runs the
// timer queue (drill ticks, auto-rollbacks of time-boxed test failovers)
// and sweeps Postgres for overdue auto-rollbacks. Several may run at once:
// a tick is started once whatever their number.
//
// FAILOVER_SCHEDULER_SYNC_INTERVAL (default 5s) is how often schedules are
// re-read from Postgres and overdue auto-rollbacks swept. Every hour it
// also prunes the logs of jobs older than FAILOVER_RETENTION (default
// 90d), keeping failovers that can still be rolled back and the whole
// decision audit.
package main

import (
	"context"
	"time"

	"github.com/ossea/unifiedfailover/daemon"
	"github.com/ossea/unifiedfailover/drill"
)

func main() {
	daemon.Main("scheduler", func(ctx context.Context, d *daemon.Daemon) error {
		interval := d.Config.SchedulerSyncInterval
		sched, err := drill.NewScheduler(drill.SchedulerConfig{Store: d.Store, Runner: d.Runner, Redis: d.RedisConfig(),
			Engine: d.Engine, Drills: d.Drills, Logger: d.Log, SyncInterval: interval})
		if err != nil {
			return err
		}
		errc := make(chan error, 1)
		if addr := d.Config.SchedulerMetricsAddr; addr != "" && addr != "off" {
			go func() { errc <- daemon.Serve(ctx, d.Log, addr, d.MetricsHandler()) }()
		}
		go func() { errc <- sched.Run(ctx) }()
		go pruneLoop(ctx, d, time.Hour)
		select {
		case <-ctx.Done():
			return <-errc
		case err := <-errc:
			return err
		}
	})
}

// pruneLoop prunes the job logs older than the retention now and then
// every period, until ctx ends. Several schedulers may prune at once: the
// deletes are idempotent.
func pruneLoop(ctx context.Context, d *daemon.Daemon, period time.Duration) {
	t := time.NewTicker(period)
	defer t.Stop()
	for {
		pctx, cancel := context.WithTimeout(ctx, 5*time.Minute)
		cutoff := time.Now().Add(-d.Config.Retention)
		n, err := d.Store.PruneJobs(pctx, cutoff)
		cancel()
		switch {
		case err != nil && ctx.Err() == nil:
			d.Log.Error("pruning old job logs", "error", err, "cutoff", cutoff)
		case n > 0:
			d.Log.Info("pruned old job logs", "jobs", n, "cutoff", cutoff, "retention", d.Config.Retention)
		}
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
	}
}
