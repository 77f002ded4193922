// Command api serves the product's REST API.
package main

import (
	"context"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/ossea/unifiedfailover/api"
	"github.com/ossea/unifiedfailover/auth"
	"github.com/ossea/unifiedfailover/daemon"
)

func main() {
	daemon.Main("api", func(ctx context.Context, d *daemon.Daemon) error {
		authn, err := auth.NewAuthenticator(d.Config.APITokensFile, d.Log)
		if err != nil {
			return err
		}
		d.Registry.MustRegister(prometheus.NewCounterFunc(prometheus.CounterOpts{
			Name: "failover_api_tokens_reload_errors_total",
			Help: "Reads of the API tokens file that refused a line or failed (the valid lines apply; a removed token is gone).",
		}, authn.ReloadErrors))
		if d.Config.APITokensFile == "" {
			d.Log.Warn("FAILOVER_API_TOKENS_FILE is not set: every API request will be refused (401)")
		}
		srv, err := api.New(api.Config{Auth: authn, Store: d.Store, Runner: d.Runner, Engine: d.Engine, Redis: d.Redis, Logger: d.Log,
			Metrics: d.Metrics, Gatherer: d.Registry, MaxBodyBytes: d.Config.MaxBodyBytes, RPOTarget: d.Config.RPOTarget})
		if err != nil {
			return err
		}
		// HTTPS when FAILOVER_API_TLS_CERT and _KEY are set, else plain HTTP.
		tlsFiles := daemon.TLSFiles{CertFile: d.Config.APITLSCert, KeyFile: d.Config.APITLSKey}
		return daemon.ServeTLS(ctx, d.Log, d.Config.APIAddr, tlsFiles, srv.Handler(), srv.Drain)
	})
}
