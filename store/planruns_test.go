package store_test

import (
	"errors"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/ossea/unifiedfailover/api/apiv1"
	"github.com/ossea/unifiedfailover/errs"
	"github.com/ossea/unifiedfailover/store"
)

func newPlanRun(t *testing.T, b *bundle, plan *apiv1.RecoveryPlan, members ...store.NewPlanRunMember) (*apiv1.PlanRun, error) {
	t.Helper()
	return b.store.CreatePlanRun(b.ctx, store.NewPlanRun{Plan: plan, Spec: plan.PlanSpec, Mode: apiv1.ModeTest,
		CreatedBy: "otto", Members: members})
}

// TestPlanRunExclusivity: a plan has at most one unfinished run, a VM is
// in at most one unfinished run, and a VM with an active job cannot join
// a run; each refusal is Conflict naming the holder, and changes nothing.
func TestPlanRunExclusivity(t *testing.T) {
	t.Parallel()
	b := setup(t)
	db, web, busy := newContext(t, b, "pr-db"), newContext(t, b, "pr-web"), newContext(t, b, "pr-busy")
	spec := apiv1.PlanSpec{Name: "shop", Waves: []apiv1.Wave{{Members: []apiv1.Member{{VM: "pr-db"}}}}}
	plan, err := b.store.CreateRecoveryPlan(b.ctx, spec, "ada")
	if err != nil {
		t.Fatal(err)
	}
	other, err := b.store.CreateRecoveryPlan(b.ctx, apiv1.PlanSpec{Name: "other", Waves: spec.Waves}, "ada")
	if err != nil {
		t.Fatal(err)
	}
	mdb := store.NewPlanRunMember{ID: "db", ContextID: db.ContextID, VMName: db.VMName}
	run, err := newPlanRun(t, b, plan, mdb, store.NewPlanRunMember{ID: "web", Order: 1, ContextID: web.ContextID, VMName: "pr-web"})
	if err != nil || run.Status != apiv1.RunRunning || len(run.Members) != 2 || run.Members[0].State != apiv1.MemberPending ||
		run.PlanVersion != 1 {
		t.Fatalf("first run: %+v, %v", run, err)
	}
	_, err = newPlanRun(t, b, plan, store.NewPlanRunMember{ID: "x", ContextID: busy.ContextID})
	if !errs.Is(err, errs.Conflict) || !strings.Contains(err.Error(), run.ID) {
		t.Fatalf("a second run of the plan: %v, want Conflict naming %s", err, run.ID)
	}
	_, err = newPlanRun(t, b, other, store.NewPlanRunMember{ID: "web", ContextID: web.ContextID, VMName: "pr-web"})
	if !errs.Is(err, errs.Conflict) || !strings.Contains(err.Error(), "pr-web") || !strings.Contains(err.Error(), run.ID) {
		t.Fatalf("a VM in another unfinished run: %v", err)
	}
	job := newFailoverJob(t, b, busy, "ext-busy")
	_, err = newPlanRun(t, b, other, store.NewPlanRunMember{ID: "busy", ContextID: busy.ContextID, VMName: "pr-busy"})
	if !errs.Is(err, errs.Conflict) || !strings.Contains(err.Error(), job.ID) {
		t.Fatalf("a VM with an active job: %v", err)
	}
	// The refusals left nothing behind: the other plan can run once the
	// first run is finished.
	if err := b.store.SetPlanRunStatus(b.ctx, run.ID, apiv1.RunCompleted, ""); err != nil {
		t.Fatal(err)
	}
	got, err := b.store.GetPlanRun(b.ctx, run.ID)
	if err != nil || got.EndedAt == nil {
		t.Fatalf("completed run: %+v, %v", got, err)
	}
	// An ended run with its test TTL due is work for the sweep; a change of
	// its status cancels the timer.
	if ids, err := b.store.UnfinishedPlanRuns(b.ctx); err != nil || len(ids) != 0 {
		t.Fatalf("unfinished runs after the end: %v, %v", ids, err)
	}
	if err := b.store.SetPlanRunRollbackAt(b.ctx, run.ID, time.Now().Add(-time.Second)); err != nil {
		t.Fatal(err)
	}
	if ids, err := b.store.UnfinishedPlanRuns(b.ctx); err != nil || len(ids) != 1 || ids[0] != run.ID {
		t.Fatalf("runs due for their test TTL: %v, %v", ids, err)
	}
	if err := b.store.SetPlanRunStatus(b.ctx, run.ID, apiv1.RunFailed, "x"); err != nil {
		t.Fatal(err)
	}
	if got, _ := b.store.GetPlanRun(b.ctx, run.ID); got.RollbackAt != nil {
		t.Fatalf("a status change kept the timer: %v", got.RollbackAt)
	}
	if _, err := newPlanRun(t, b, other, store.NewPlanRunMember{ID: "web", ContextID: web.ContextID}); err != nil {
		t.Fatalf("after the first run ended: %v", err)
	}
	// Going back to an unfinished status is refused while another run of
	// the plan is unfinished.
	if _, err := newPlanRun(t, b, plan, mdb); err != nil {
		t.Fatal(err)
	}
	if err := b.store.SetPlanRunStatus(b.ctx, run.ID, apiv1.RunRollingBack, ""); !errs.Is(err, errs.Conflict) {
		t.Fatalf("rolling back beside an unfinished run: %v", err)
	}
	// The plan's unfinished run is named; deleting the plan keeps its runs
	// as history.
	second, err := b.store.PlanHasUnfinishedRun(b.ctx, plan.ID)
	if err != nil || second == "" || second == run.ID {
		t.Fatalf("unfinished run of the plan: %q, %v", second, err)
	}
	if err := b.store.SetPlanRunStatus(b.ctx, second, apiv1.RunCancelled, ""); err != nil {
		t.Fatal(err)
	}
	if id, err := b.store.PlanHasUnfinishedRun(b.ctx, plan.ID); err != nil || id != "" {
		t.Fatalf("after the cancel: %q, %v", id, err)
	}
	if err := b.store.DeleteRecoveryPlan(b.ctx, plan.ID); err != nil {
		t.Fatal(err)
	}
	if got, err := b.store.GetPlanRun(b.ctx, run.ID); err != nil || got.PlanID != "" || got.PlanName != "shop" {
		t.Fatalf("a run of a deleted plan: %+v, %v", got, err)
	}
}

// TestPlanRunMemberRecords: a member's record round-trips, events keep
// the actor, and the run lock keeps two holders apart.
func TestPlanRunMemberRecords(t *testing.T) {
	t.Parallel()
	b := setup(t)
	c := newContext(t, b, "pr-rec")
	plan, err := b.store.CreateRecoveryPlan(b.ctx, apiv1.PlanSpec{Name: "rec",
		Waves: []apiv1.Wave{{Members: []apiv1.Member{{VM: "pr-rec"}}}}}, "ada")
	if err != nil {
		t.Fatal(err)
	}
	run, err := newPlanRun(t, b, plan, store.NewPlanRunMember{ID: "m", ContextID: c.ContextID, Optional: true})
	if err != nil {
		t.Fatal(err)
	}
	now := time.Now().UTC().Truncate(time.Microsecond)
	m := run.Members[0]
	m.State, m.JobID, m.Attempts, m.StartedAt, m.ReadyAt, m.Reason = apiv1.MemberReady, "j1", 1, &now, &now, "ok"
	if err := b.store.UpdatePlanRunMember(b.ctx, run.ID, &m); err != nil {
		t.Fatal(err)
	}
	got, err := b.store.GetPlanRun(b.ctx, run.ID)
	if err != nil || got.Members[0].State != apiv1.MemberReady || got.Members[0].JobID != "j1" || !got.Members[0].Optional ||
		got.Members[0].ReadyAt == nil || !got.Members[0].ReadyAt.Equal(now) {
		t.Fatalf("member after update: %+v, %v", got.Members, err)
	}
	if owner, err := b.store.PlanRunOfJob(b.ctx, "j1"); err != nil || owner != run.ID {
		t.Fatalf("run of job: %q, %v", owner, err)
	}
	m.ID = "nobody"
	if err := b.store.UpdatePlanRunMember(b.ctx, run.ID, &m); !errs.Is(err, errs.NotFound) {
		t.Fatalf("unknown member: %v", err)
	}
	if err := b.store.AddPlanRunEvent(b.ctx, run.ID, apiv1.PlanRunEvent{Actor: "otto", Message: "retry", MemberID: "m"}); err != nil {
		t.Fatal(err)
	}
	evs, err := b.store.PlanRunEvents(b.ctx, run.ID)
	if err != nil || len(evs) != 2 || evs[0].Message != "run started" || evs[1].Actor != "otto" || evs[1].MemberID != "m" {
		t.Fatalf("events: %+v, %v", evs, err)
	}
	var inside, most atomic.Int32
	var wg sync.WaitGroup
	for range 4 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			_ = b.store.WithPlanRunLock(b.ctx, run.ID, func() error {
				n := inside.Add(1)
				if n > most.Load() {
					most.Store(n)
				}
				time.Sleep(20 * time.Millisecond)
				inside.Add(-1)
				return nil
			})
		}()
	}
	wg.Wait()
	if most.Load() != 1 {
		t.Fatalf("%d holders of the run lock at once", most.Load())
	}
	wantErr := errors.New("x")
	if err := b.store.WithPlanRunLock(b.ctx, run.ID, func() error { return wantErr }); !errors.Is(err, wantErr) {
		t.Fatalf("lock: %v", err)
	}
}
