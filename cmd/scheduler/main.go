// Command scheduler turns DR drill schedules into drill runs.
package main

import (
	"context"

	"github.com/ossea/unifiedfailover/daemon"
)

func main() {
	daemon.Main("scheduler", func(ctx context.Context, d *daemon.Daemon) error {
		addr := d.Config.SchedulerMetricsAddr
		if addr == "" || addr == "off" {
			<-ctx.Done()
			return nil
		}
		return daemon.Serve(ctx, d.Log, addr, d.MetricsHandler())
	})
}
