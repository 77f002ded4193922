package tasks

import (
	"log/slog"

	"github.com/ossea/unifiedfailover/config"
	"github.com/ossea/unifiedfailover/metrics"
	"github.com/ossea/unifiedfailover/queue"
	"github.com/ossea/unifiedfailover/store"
)

// Deps is what the step handlers need.
type Deps struct {
	Config  config.Config
	Log     *slog.Logger
	Store   *store.Store
	Metrics *metrics.Metrics
}

// Register adds every chain of the product to the runner.
func Register(r *queue.Runner, d Deps) error {
	r.Register(Probe())
	return nil
}
