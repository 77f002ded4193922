// Command worker runs step tasks from the queues. Run as many as needed, on
// as many machines as needed.
package main

import (
	"context"
	"fmt"
	"time"

	"github.com/ossea/unifiedfailover/daemon"
	"github.com/ossea/unifiedfailover/queue"
	"github.com/ossea/unifiedfailover/store"
	"github.com/ossea/unifiedfailover/tasks"
)

func main() {
	daemon.Main("worker", func(ctx context.Context, d *daemon.Daemon) error {
		// The heartbeat says this worker is live and what it can run
		// (pre-flight reads it). It beats once before the worker takes a
		// step, and stops, its row removed, first on shutdown, since the
		// worker takes no new step from then on.
		hbCtx, stopBeat := context.WithCancel(ctx)
		defer stopBeat()
		hb := &queue.Heartbeat{Store: d.Store, Interval: d.Config.WorkerHeartbeat, Log: d.Log,
			Detect: func() store.Capabilities { return tasks.DetectCapabilities(d.Config.VirtioCommand) }}
		if _, err := hb.Start(hbCtx); err != nil {
			d.Log.Warn("the worker's first heartbeat failed; retrying at the next interval", "error", err)
		}
		beating := make(chan struct{})
		go func() { defer close(beating); hb.Run(hbCtx) }()
		endBeat := func() { stopBeat(); <-beating }
		srv := queue.NewServer(d.RedisConfig(), queue.ServerConfig{
			Concurrency: d.Config.WorkerConcurrency, ShutdownTimeout: d.Config.ShutdownTimeout}, d.Runner, d.Log)
		if err := srv.Start(d.Runner.Mux()); err != nil {
			endBeat()
			return fmt.Errorf("starting the queue server: %w", err)
		}
		stop := func() {
			endBeat()
			srv.Shutdown()
		}
		// Jobs whose step task was lost (for example with Redis's data) are
		// found in Postgres and their step enqueued again.
		go d.Runner.RunSweeper(ctx, d.RedisConfig(), 30*time.Second, time.Minute)
		errc := make(chan error, 1)
		if addr := d.Config.WorkerMetricsAddr; addr != "" && addr != "off" {
			go func() { errc <- daemon.Serve(ctx, d.Log, addr, d.MetricsHandler()) }()
		}
		select {
		case <-ctx.Done():
		case err := <-errc:
			stop()
			return err
		}
		d.Log.Info("shutting down: letting running steps finish", "timeout", d.Config.ShutdownTimeout)
		stop()
		return nil
	})
}
