// Command worker runs step tasks from the queues. Run as many as needed, on
// as many machines as needed.
package main

import (
	"context"
	"fmt"
	"time"

	"github.com/ossea/unifiedfailover/daemon"
	"github.com/ossea/unifiedfailover/queue"
)

func main() {
	daemon.Main("worker", func(ctx context.Context, d *daemon.Daemon) error {
		srv := queue.NewServer(d.RedisConfig(), queue.ServerConfig{
			Concurrency: d.Config.WorkerConcurrency, ShutdownTimeout: d.Config.ShutdownTimeout}, d.Runner, d.Log)
		if err := srv.Start(d.Runner.Mux()); err != nil {
			return fmt.Errorf("starting the queue server: %w", err)
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
			srv.Shutdown()
			return err
		}
		d.Log.Info("shutting down: letting running steps finish", "timeout", d.Config.ShutdownTimeout)
		srv.Shutdown()
		return nil
	})
}
