// Command api serves the product's REST API.
package main

import (
	"context"

	"github.com/ossea/unifiedfailover/api"
	"github.com/ossea/unifiedfailover/daemon"
)

func main() {
	daemon.Main("api", func(ctx context.Context, d *daemon.Daemon) error {
		srv, err := api.New(api.Config{Store: d.Store, Runner: d.Runner, Engine: d.Engine, Redis: d.Redis, Logger: d.Log,
			Metrics: d.Metrics, Gatherer: d.Registry, MaxBodyBytes: d.Config.MaxBodyBytes})
		if err != nil {
			return err
		}
		return daemon.Serve(ctx, d.Log, d.Config.APIAddr, srv.Handler())
	})
}
