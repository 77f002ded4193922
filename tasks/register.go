// Package tasks holds what the workers run: every chain of the product
// (failover, rollback and commit in chain.go, drill in drill.go, probe in
// probe.go) and their step handlers, one concept per file. Register
// registers them all; package taskstest runs one step of them without a
// queue. The domain they act on (the configuration resolver,
// pre-flight, plans and requests) is in package failover and package
// drill; the engine plans a job's steps with PlanSteps.
package tasks

import (
	"log/slog"

	"github.com/ossea/unifiedfailover/config"
	"github.com/ossea/unifiedfailover/drill"
	"github.com/ossea/unifiedfailover/failover"
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
	// Engine runs the failover, rollback and commit chains' steps; nil
	// when the engine is off (CloudStack not configured): those chains are
	// not registered.
	Engine *failover.Engine
	// Drills runs the drill chain's steps; nil: the drill chain is not
	// registered.
	Drills *drill.Drills
}

// Chains returns every chain the deps can run: the probe always; the
// failover, rollback and commit chains with an Engine; the drill chain
// with Drills.
func Chains(d Deps) []*queue.Chain {
	out := []*queue.Chain{Probe()}
	if d.Engine != nil {
		out = append(out, Engine(d.Engine)...)
	}
	if d.Drills != nil {
		out = append(out, Drill(d.Drills))
	}
	return out
}

// Register adds every chain of the product the deps can run to the runner
// (Chains) and, with an Engine, the recovery plan runner's ticks
// (PlanRuns). Every process calls it once.
func Register(r *queue.Runner, d Deps) error {
	for _, c := range Chains(d) {
		r.Register(c)
	}
	if d.Engine != nil {
		PlanRuns(r, d.Store, d.Engine, d.Log)
	}
	return nil
}
