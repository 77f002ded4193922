package tasks

import (
	"context"
	"log/slog"
	"os"

	"github.com/ossea/unifiedfailover/queue"
)

// ProbeChain is the job type of the probe: three no-op steps pushed through
// api → Redis → worker → Postgres, to check the pipeline end to end.
const ProbeChain = "probe"

// Probe returns the probe chain. Each step records which worker process ran
// it.
func Probe() *queue.Chain {
	step := func(ctx context.Context, run *queue.StepRun) error {
		host, _ := os.Hostname()
		run.Event(ctx, slog.LevelInfo, "probe step ran", map[string]any{"host": host, "pid": os.Getpid()})
		return nil
	}
	return &queue.Chain{
		Type: ProbeChain,
		Steps: []queue.Step{
			{Name: "accept", Run: step},
			{Name: "process", Run: step},
			{Name: "finish", Run: step},
		},
	}
}
