// Command scheduler turns DR drill schedules into drill runs, runs the
// timer queue (drill ticks, auto-rollbacks of time-boxed test failovers)
// and sweeps Postgres for overdue auto-rollbacks. Several may run at once:
// a tick is started once whatever their number.
//
// FAILOVER_SCHEDULER_SYNC_INTERVAL (default 5s) is how often schedules are
// re-read from Postgres and overdue auto-rollbacks swept.
package main

import (
	"context"
	"fmt"
	"os"
	"time"

	"github.com/ossea/unifiedfailover/daemon"
	"github.com/ossea/unifiedfailover/drill"
)

func main() {
	daemon.Main("scheduler", func(ctx context.Context, d *daemon.Daemon) error {
		interval := 5 * time.Second
		if v := os.Getenv("FAILOVER_SCHEDULER_SYNC_INTERVAL"); v != "" {
			iv, err := time.ParseDuration(v)
			if err != nil || iv < 100*time.Millisecond || iv > 30*time.Second {
				return fmt.Errorf("FAILOVER_SCHEDULER_SYNC_INTERVAL: a duration between 100ms and 30s, not %q", v)
			}
			interval = iv
		}
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
		select {
		case <-ctx.Done():
			return <-errc
		case err := <-errc:
			return err
		}
	})
}
