package tasks_test

import (
	"context"
	"io"
	"log/slog"
	"slices"
	"testing"
	"time"

	"github.com/ossea/unifiedfailover/cloudstack"
	"github.com/ossea/unifiedfailover/drill"
	"github.com/ossea/unifiedfailover/failover"
	"github.com/ossea/unifiedfailover/queue"
	"github.com/ossea/unifiedfailover/store/storetest"
	"github.com/ossea/unifiedfailover/tasks"
)

// TestRegisterRegistersEveryChain: one Register registers the probe, and
// with the engine and the drill runner the failover, rollback, commit and
// drill chains; the steps the engine plans are the registered chains'.
func TestRegisterRegistersEveryChain(t *testing.T) {
	t.Parallel()
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	st := storetest.Open(t, ctx)
	log := slog.New(slog.NewTextHandler(io.Discard, nil))
	engineTypes := []string{failover.JobFailover, failover.JobRollback, failover.JobCommit}

	off := queue.NewRunner(st, nil, log, nil)
	if err := tasks.Register(off, tasks.Deps{Store: st, Log: log}); err != nil {
		t.Fatal(err)
	}
	if off.Chain(tasks.ProbeChain) == nil {
		t.Error("without the engine, the probe is not registered")
	}
	for _, typ := range append(slices.Clone(engineTypes), drill.JobType) {
		if off.Chain(typ) != nil {
			t.Errorf("without the engine, the %s chain is registered", typ)
		}
	}

	on := queue.NewRunner(st, nil, log, nil)
	cs, err := cloudstack.New(cloudstack.Config{URL: "http://127.0.0.1:9/client/api", APIKey: "k", SecretKey: "s"})
	if err != nil {
		t.Fatal(err)
	}
	eng, err := failover.New(failover.EngineConfig{Store: st, Runner: on, CloudStack: cs, ZoneID: "z", TemplateID: "t",
		ApplianceVMID: "a", Logger: log, Planner: tasks.PlanSteps})
	if err != nil {
		t.Fatal(err)
	}
	drills, err := drill.New(drill.Config{Store: st, Engine: eng, Logger: log})
	if err != nil {
		t.Fatal(err)
	}
	if err := tasks.Register(on, tasks.Deps{Store: st, Log: log, Engine: eng, Drills: drills}); err != nil {
		t.Fatal(err)
	}
	for _, typ := range append(slices.Clone(engineTypes), drill.JobType, tasks.ProbeChain) {
		if on.Chain(typ) == nil {
			t.Errorf("the %s chain is not registered", typ)
		}
	}
	for _, typ := range engineTypes {
		var planned, registered []string
		for _, s := range tasks.PlanSteps(typ, failover.PlanInput{Config: &failover.Config{}}) {
			planned = append(planned, s.Name)
		}
		for _, s := range on.Chain(typ).Steps {
			registered = append(registered, s.Name)
		}
		if !slices.Equal(planned, registered) || len(planned) == 0 {
			t.Errorf("%s: planned steps %v, registered %v", typ, planned, registered)
		}
	}
}
