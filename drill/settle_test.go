package drill

import (
	"context"
	"encoding/json"
	"io"
	"log/slog"
	"strings"
	"testing"
	"time"

	"github.com/hibiken/asynq"

	"github.com/ossea/unifiedfailover/cloudstack"
	"github.com/ossea/unifiedfailover/errs"
	"github.com/ossea/unifiedfailover/failover"
	"github.com/ossea/unifiedfailover/queue"
	"github.com/ossea/unifiedfailover/store"
	"github.com/ossea/unifiedfailover/store/storetest"
	"github.com/ossea/unifiedfailover/testsvc"
)

type settleBundle struct {
	ctx    context.Context
	store  *store.Store
	runner *queue.Runner
	drills *Drills
	sc     *store.DrillSchedule
	now    time.Time
}

// setupSettle builds the real store, runner and drill runner, with no
// worker: drill jobs stay pending. The drills' clock is b.now.
func setupSettle(t *testing.T) *settleBundle {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	t.Cleanup(cancel)
	st := storetest.Open(t, ctx)
	rd := testsvc.StartRedis(t, testsvc.RedisOptions{})
	client := asynq.NewClient(queue.RedisConfig{Addr: rd.Addr}.ConnOpt())
	t.Cleanup(func() { client.Close() })
	log := slog.New(slog.NewTextHandler(io.Discard, nil))
	b := &settleBundle{ctx: ctx, store: st, runner: queue.NewRunner(st, client, log, nil), now: time.Now()}
	// The engine is never called here (no VM of these runs was failed
	// over); CloudStack's address leads nowhere.
	cs, err := cloudstack.New(cloudstack.Config{URL: "http://127.0.0.1:9/client/api", APIKey: "k", SecretKey: "s"})
	if err != nil {
		t.Fatal(err)
	}
	eng, err := failover.New(failover.EngineConfig{Store: st, Runner: b.runner, CloudStack: cs, ZoneID: "z",
		TemplateID: "t", ApplianceVMID: "a", Logger: log,
		Planner: func(string, failover.PlanInput) []store.PlannedStep { panic("no failover is planned here") }})
	if err != nil {
		t.Fatal(err)
	}
	b.drills, err = New(Config{Store: st, Engine: eng, Logger: log, Now: func() time.Time { return b.now }})
	if err != nil {
		t.Fatal(err)
	}
	// The drill chain (package tasks, which imports this one) stands in by
	// its job type: no worker runs here, its steps never do.
	b.runner.Register(&queue.Chain{Type: JobType, Steps: []queue.Step{{Name: "test-failovers"}, {Name: "hold"},
		{Name: "rollbacks"}, {Name: "report"}}})
	vm := &store.VMContext{ContextID: "ctx-settle", VMName: "settle", VMwareVMID: "uuid-settle", OSType: "linux",
		Firmware: "bios", CurrentStatus: store.StatusReadyForFailover}
	if err := st.CreateContext(ctx, vm); err != nil {
		t.Fatal(err)
	}
	if b.sc, err = Validate(ctx, st, Spec{Name: "nightly", ContextIDs: []string{vm.ContextID}, Cron: "0 2 * * *"}); err != nil {
		t.Fatal(err)
	}
	if err := st.CreateDrillSchedule(ctx, b.sc); err != nil {
		t.Fatal(err)
	}
	return b
}

// joblessRun creates the run of a tick as a start that failed leaves it:
// pending, with no drill job.
func (b *settleBundle) joblessRun(t *testing.T, tick time.Time) *store.DrillRun {
	t.Helper()
	run, _, err := b.store.CreateDrillRun(b.ctx, store.NewDrillRun{Schedule: b.sc, Tick: tick, Trigger: TriggerSchedule, Actor: "scheduler"})
	if err != nil {
		t.Fatal(err)
	}
	return run
}

// TestSettleEndsARunWhoseJobNeverStarted: a run whose drill job could not
// be started (here: never asked for) blocks its schedule until it is
// ended; a later tick may end it after a minute, the sweep after
// NeverStartedAfter, and no job is started for it afterwards.
func TestSettleEndsARunWhoseJobNeverStarted(t *testing.T) {
	t.Parallel()
	b := setupSettle(t)
	tick := time.Date(2026, 11, 26, 2, 0, 0, 0, time.UTC)
	run := b.joblessRun(t, tick)
	settle := func(superseded bool) bool {
		t.Helper()
		ok, err := b.drills.Settle(b.ctx, run, superseded)
		if err != nil {
			t.Fatal(err)
		}
		return ok
	}
	if settle(true) || settle(false) {
		t.Fatal("a run created a moment ago was ended: its start may still be under way")
	}
	b.now = run.CreatedAt.Add(2 * time.Minute)
	if settle(false) {
		t.Fatal("the sweep ended a run two minutes old: its tick's task may still be retrying")
	}
	if !settle(true) {
		t.Fatal("a later tick could not end a job-less run two minutes old")
	}
	got, err := b.store.GetDrillRun(b.ctx, run.ID)
	if err != nil || got.Status != store.DrillFailed || !strings.Contains(got.Error, "never started") || got.EndedAt == nil {
		t.Fatalf("run after settling: %+v (%v)", got, err)
	}
	if _, err := b.store.ActiveDrillRun(b.ctx, b.sc.ID); !errs.Is(err, errs.NotFound) {
		t.Fatalf("the schedule still has an active run: %v", err)
	}
	// The tick's task, retrying late, finds the run ended and starts nothing.
	again, started, err := StartRun(b.ctx, b.store, b.runner, b.sc, tick, TriggerSchedule, "scheduler")
	if err != nil || started || again.ID != run.ID || again.JobID != "" {
		t.Fatalf("late start of the ended run: started %v, %+v, %v", started, again, err)
	}

	// The sweep's own limit.
	other := b.joblessRun(t, tick.Add(24*time.Hour))
	b.now = other.CreatedAt.Add(NeverStartedAfter + time.Second)
	if ok, err := b.drills.Settle(b.ctx, other, false); err != nil || !ok {
		t.Fatalf("the sweep did not end a run whose job never started in %s: %v %v", NeverStartedAfter, ok, err)
	}
}

// TestSettleEndsARunWhoseJobEnded: a run whose drill job ended without
// ending it (cancelled, or failed before its first step) is ended failed
// with the job's outcome; a run whose job is active is left alone.
func TestSettleEndsARunWhoseJobEnded(t *testing.T) {
	t.Parallel()
	b := setupSettle(t)
	run, started, err := StartRun(b.ctx, b.store, b.runner, b.sc, time.Date(2026, 11, 26, 2, 0, 0, 0, time.UTC),
		TriggerSchedule, "scheduler")
	if err != nil || !started || run.JobID == "" {
		t.Fatalf("starting a run: %v %+v %v", started, run, err)
	}
	b.now = run.CreatedAt.Add(time.Hour)
	if ok, err := b.drills.Settle(b.ctx, run, true); ok || err != nil {
		t.Fatalf("a run whose job is pending was ended: %v %v", ok, err)
	}
	if ended, err := b.store.EndJob(b.ctx, run.JobID, store.JobCancelled, "cancelled by an operator"); err != nil || !ended {
		t.Fatalf("cancelling the drill job: %v %v", ended, err)
	}
	if ok, err := b.drills.Settle(b.ctx, run, false); err != nil || !ok {
		t.Fatalf("a run whose job was cancelled was not ended: %v %v", ok, err)
	}
	got, err := b.store.GetDrillRun(b.ctx, run.ID)
	if err != nil || got.Status != store.DrillFailed || !strings.Contains(got.Error, "cancelled") || len(got.Report) == 0 {
		t.Fatalf("run after settling: %+v (%v)", got, err)
	}
	if ok, err := b.drills.Settle(b.ctx, got, false); ok || err != nil {
		t.Fatalf("an ended run was ended again: %v %v", ok, err)
	}
}

// TestTickEndsAStuckRunOfItsSchedule: a tick that finds an earlier run of
// its schedule stuck without a job ends it and starts its own run; before
// Settle, every later tick was skipped as overlapping it, for ever.
func TestTickEndsAStuckRunOfItsSchedule(t *testing.T) {
	t.Parallel()
	b := setupSettle(t)
	first := time.Date(2026, 11, 25, 2, 0, 0, 0, time.UTC)
	stuck := b.joblessRun(t, first)
	b.now = stuck.CreatedAt.Add(2 * time.Minute)
	tick := func(s *Scheduler, at time.Time) {
		t.Helper()
		payload, _ := json.Marshal(tickPayload{ScheduleID: b.sc.ID, Tick: at})
		if err := s.processTick(b.ctx, asynq.NewTask(TaskTick, payload)); err != nil {
			t.Fatalf("tick %s: %v", at, err)
		}
	}
	next := first.Add(24 * time.Hour)
	// Without Drills the stuck run is left be, and the tick skipped.
	without, err := NewScheduler(SchedulerConfig{Store: b.store, Runner: b.runner})
	if err != nil {
		t.Fatal(err)
	}
	tick(without, next)
	if runs, _ := b.store.ListDrillRuns(b.ctx, b.sc.ID, 10); len(runs) != 1 {
		t.Fatalf("%d runs after a tick with no Drills, want the stuck one only", len(runs))
	}
	with, err := NewScheduler(SchedulerConfig{Store: b.store, Runner: b.runner, Drills: b.drills})
	if err != nil {
		t.Fatal(err)
	}
	tick(with, next)
	got, err := b.store.GetDrillRun(b.ctx, stuck.ID)
	if err != nil || got.Status != store.DrillFailed || !strings.Contains(got.Error, "superseded") {
		t.Fatalf("the stuck run after the next tick: %+v (%v)", got, err)
	}
	active, err := b.store.ActiveDrillRun(b.ctx, b.sc.ID)
	if err != nil || !active.Tick.Equal(next) || active.JobID == "" {
		t.Fatalf("the next tick's run: %+v (%v)", active, err)
	}
}
