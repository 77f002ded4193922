package tasks

import (
	"log/slog"

	"github.com/ossea/unifiedfailover/failover"
	"github.com/ossea/unifiedfailover/queue"
	"github.com/ossea/unifiedfailover/recovery"
	"github.com/ossea/unifiedfailover/store"
)

// PlanRuns registers the recovery plan runner with the runner: its
// plan-advance ticks (recovery.TaskAdvance) in the worker's Mux, and its
// sweep, which enqueues the latest tick of every unfinished run again, in
// the sweeper. A plan run is no chain: its members' failovers and
// rollbacks are the engine's jobs, and the run itself is a row each tick
// reads and advances.
func PlanRuns(r *queue.Runner, st *store.Store, eng *failover.Engine, log *slog.Logger) *recovery.Runs {
	runs := recovery.NewRuns(recovery.RunsConfig{Store: st, Engine: eng, Runner: r, Log: log})
	r.Handle(recovery.TaskAdvance, runs)
	r.OnSweep(runs.Sweep)
	return runs
}
