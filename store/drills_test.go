package store_test

import (
	"sync"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/ossea/unifiedfailover/errs"
	"github.com/ossea/unifiedfailover/store"
)

// Two schedulers creating the run of the same tick at once get one run.
func TestDrillRunIsUniquePerScheduleAndTick(t *testing.T) {
	t.Parallel()
	b := setup(t)
	c := newContext(t, b, "drillrun")
	sc := &store.DrillSchedule{Name: "nightly", ContextIDs: []string{c.ContextID}, Cron: "0 2 * * *", Timezone: "UTC",
		HoldSeconds: 60, MaxParallel: 1, Enabled: true}
	if err := b.store.CreateDrillSchedule(b.ctx, sc); err != nil {
		t.Fatal(err)
	}
	dup := *sc
	dup.ID = ""
	if err := b.store.CreateDrillSchedule(b.ctx, &dup); !errs.Is(err, errs.AlreadyExists) {
		t.Fatalf("a second schedule with the same name: %v", err)
	}
	tick := time.Date(2025, 9, 9, 2, 0, 0, 0, time.UTC)
	var wg sync.WaitGroup
	var mu sync.Mutex
	ids, created := map[string]bool{}, 0
	for range 8 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			r, made, err := b.store.CreateDrillRun(b.ctx, store.NewDrillRun{Schedule: sc, Tick: tick, Trigger: "schedule"})
			if err != nil {
				t.Error(err)
				return
			}
			mu.Lock()
			defer mu.Unlock()
			ids[r.ID] = true
			if made {
				created++
			}
		}()
	}
	wg.Wait()
	if len(ids) != 1 || created != 1 {
		t.Fatalf("%d runs, %d created, want one", len(ids), created)
	}
	var runID string
	for id := range ids {
		runID = id
	}
	run, err := b.store.GetDrillRun(b.ctx, runID)
	if err != nil || len(run.VMs) != 1 || run.VMs[0].ContextID != c.ContextID || run.HoldSeconds != 60 {
		t.Fatalf("run: %v %+v", err, run)
	}
	// A run gets one job only.
	job, err := b.store.CreateJob(b.ctx, store.NewJob{Type: "drill", Queue: "low", Steps: []store.PlannedStep{{Name: "a"}}},
		func(tx pgx.Tx, j *store.Job) error { return store.SetDrillRunJob(b.ctx, tx, runID, j.ID) })
	if err != nil {
		t.Fatal(err)
	}
	if _, err := b.store.CreateJob(b.ctx, store.NewJob{Type: "drill", Queue: "low", Steps: []store.PlannedStep{{Name: "a"}}},
		func(tx pgx.Tx, j *store.Job) error { return store.SetDrillRunJob(b.ctx, tx, runID, j.ID) }); !errs.Is(err, errs.Conflict) {
		t.Fatalf("a second job for the run: %v", err)
	}
	// The hold is stored once.
	first, err := b.store.SetDrillHoldUntil(b.ctx, runID, time.Now().Add(time.Minute))
	if err != nil {
		t.Fatal(err)
	}
	again, err := b.store.SetDrillHoldUntil(b.ctx, runID, time.Now().Add(time.Hour))
	if err != nil || !again.Equal(first) {
		t.Fatalf("hold moved from %s to %s (%v)", first, again, err)
	}
	// Ended only as the run of the job it has: not as a run without one.
	if ok, err := b.store.FinishDrillRun(b.ctx, runID, "", store.DrillFailed, nil, "never started"); ok || err != nil {
		t.Fatalf("a run with a job ended as one without: %v %v", ok, err)
	}
	ok, err := b.store.FinishDrillRun(b.ctx, runID, job.ID, store.DrillPassed, nil, "")
	if err != nil || !ok {
		t.Fatalf("finishing: %v %v", ok, err)
	}
	if ok, _ := b.store.FinishDrillRun(b.ctx, runID, job.ID, store.DrillFailed, nil, "late"); ok {
		t.Fatal("a finished run ended twice")
	}
	run, _ = b.store.GetDrillRun(b.ctx, runID)
	if run.Status != store.DrillPassed || run.JobID != job.ID {
		t.Fatalf("run: %+v", run)
	}
	// A run ended without a job (its start never came) gets none later:
	// the job is not created.
	late, _, err := b.store.CreateDrillRun(b.ctx, store.NewDrillRun{Schedule: sc, Tick: tick.Add(24 * time.Hour), Trigger: "schedule"})
	if err != nil {
		t.Fatal(err)
	}
	if ok, err := b.store.FinishDrillRun(b.ctx, late.ID, "", store.DrillFailed, nil, "never started"); err != nil || !ok {
		t.Fatalf("ending a run without a job: %v %v", ok, err)
	}
	if _, err := b.store.CreateJob(b.ctx, store.NewJob{Type: "drill", ExternalID: "late-drill", Queue: "low", Steps: []store.PlannedStep{{Name: "a"}}},
		func(tx pgx.Tx, j *store.Job) error { return store.SetDrillRunJob(b.ctx, tx, late.ID, j.ID) }); !errs.Is(err, errs.Conflict) {
		t.Fatalf("a job for an ended run: %v", err)
	}
	if _, err := b.store.GetJob(b.ctx, "late-drill"); !errs.Is(err, errs.NotFound) {
		t.Fatalf("the refused job exists: %v", err)
	}
}
