package api_test

import (
	"encoding/json"
	"fmt"
	"math"
	"net"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/ossea/unifiedfailover/api/apiv1"
	"github.com/ossea/unifiedfailover/recovery"
	"github.com/ossea/unifiedfailover/store"
)

// startPlanRun stores a plan, starts a test run of it through the API and
// returns the run's id.
func (f *full) startPlanRun(spec apiv1.PlanSpec) string {
	f.t.Helper()
	plan, err := f.store.CreateRecoveryPlan(f.ctx, spec, "ada")
	if err != nil {
		f.t.Fatal(err)
	}
	code, body := f.call(operatorToken, "POST", "/api/v1/plans/"+plan.ID+"/runs", `{"mode":"test"}`)
	if code != http.StatusAccepted {
		f.t.Fatalf("starting a run of %s: %d %v", spec.Name, code, body)
	}
	return body["id"].(string)
}

// planRunGet reads a run through the API.
func (f *full) planRunGet(id, query string) apiv1.PlanRun {
	f.t.Helper()
	code, raw := f.raw(viewerToken, "GET", "/api/v1/plan-runs/"+id+query, "", nil)
	if code != http.StatusOK {
		f.t.Fatalf("GET plan run %s: %d %s", id, code, raw)
	}
	var run apiv1.PlanRun
	if err := json.Unmarshal(raw, &run); err != nil {
		f.t.Fatal(err)
	}
	return run
}

// waitPlanRun waits until the run is in one of the statuses.
func (f *full) waitPlanRun(id string, statuses ...string) apiv1.PlanRun {
	f.t.Helper()
	deadline := time.Now().Add(3 * time.Minute)
	for {
		run := f.planRunGet(id, "?wait=20s")
		for _, s := range statuses {
			if run.Status == s {
				return run
			}
		}
		if time.Now().After(deadline) {
			f.t.Fatalf("run %s is %s (%s), not %v: %+v", id, run.Status, run.Reason, statuses, run.Members)
		}
		time.Sleep(100 * time.Millisecond)
	}
}

func (f *full) planRunPost(id, action, body string, want int) map[string]any {
	f.t.Helper()
	code, out := f.call(operatorToken, "POST", "/api/v1/plan-runs/"+id+"/"+action, body)
	if code != want {
		f.t.Fatalf("POST %s of run %s: %d %v, want %d", action, id, code, out, want)
	}
	return out
}

func memberOf(run apiv1.PlanRun, id string) apiv1.PlanRunMember {
	for _, m := range run.Members {
		if m.ID == id {
			return m
		}
	}
	panic("no member " + id)
}

// assertAdvanceChangesNothing runs the advance twice more: neither
// changes the run, its members or its log.
func (f *full) assertAdvanceChangesNothing(id string) {
	f.t.Helper()
	before, _ := f.store.GetPlanRun(f.ctx, id)
	evBefore, _ := f.store.PlanRunEvents(f.ctx, id)
	for range 2 {
		if _, err := f.runs.Advance(f.ctx, id, -1); err != nil {
			f.t.Fatal(err)
		}
	}
	after, _ := f.store.GetPlanRun(f.ctx, id)
	evAfter, _ := f.store.PlanRunEvents(f.ctx, id)
	b1, _ := json.Marshal(before)
	b2, _ := json.Marshal(after)
	if string(b1) != string(b2) || len(evBefore) != len(evAfter) {
		f.t.Fatalf("advancing a settled run changed it:\n%s\n%s\n%d → %d events", b1, b2, len(evBefore), len(evAfter))
	}
}

// TestPlanRunWavesDependenciesAndRollback: a 2-wave test plan over the
// lab's 3 VMs, a hard dependency inside wave 1 and max_parallel_vms 2:
// the recorded times show the dependency and the barrier respected and
// never more than 2 members in flight; the run completes; the report's
// RTOs are the recorded times; the run's rollback, in reverse order,
// leaves every VM ready_for_failover.
func TestPlanRunWavesDependenciesAndRollback(t *testing.T) {
	f := setupFull(t)
	vms := f.lab.Manifest().VMs
	id := f.startPlanRun(apiv1.PlanSpec{Name: "shop", MaxParallelVMs: 2, TargetRTOSeconds: 3600, Waves: []apiv1.Wave{
		{Name: "data", Members: []apiv1.Member{{ID: "db", VM: vms[0].Name},
			{ID: "app", VM: vms[1].Name, DependsOn: []apiv1.Dependency{{Member: "db"}}}}},
		{Name: "web", Members: []apiv1.Member{{ID: "web", VM: vms[2].Name}}},
	}})
	run := f.waitPlanRun(id, apiv1.RunCompleted, apiv1.RunFailed, apiv1.RunHalted)
	if run.Status != apiv1.RunCompleted || run.EndedAt == nil {
		t.Fatalf("run: %s %s %+v", run.Status, run.Reason, run.Members)
	}
	db, app, web := memberOf(run, "db"), memberOf(run, "app"), memberOf(run, "web")
	for _, m := range run.Members {
		if m.State != apiv1.MemberReady || m.StartedAt == nil || m.ReadyAt == nil || m.JobID == "" || m.Attempts != 1 {
			t.Fatalf("member %s: %+v", m.ID, m)
		}
	}
	if app.StartedAt.Before(*db.ReadyAt) {
		t.Errorf("app started at %v, before its hard dependency db was READY at %v", app.StartedAt, db.ReadyAt)
	}
	if web.StartedAt.Before(*db.ReadyAt) || web.StartedAt.Before(*app.ReadyAt) {
		t.Errorf("web (wave 2) started at %v, before wave 1 was done (db %v, app %v)", web.StartedAt, db.ReadyAt, app.ReadyAt)
	}
	for _, at := range []time.Time{*db.StartedAt, *app.StartedAt, *web.StartedAt} {
		n := 0
		for _, m := range run.Members {
			if !m.StartedAt.After(at) && m.ReadyAt.After(at) {
				n++
			}
		}
		if n > 2 {
			t.Errorf("%d members in flight at %v, max_parallel_vms is 2", n, at)
		}
	}
	code, raw := f.raw(viewerToken, "GET", "/api/v1/plan-runs/"+id+"/report", "", nil)
	var rep apiv1.PlanRunReport
	if code != http.StatusOK || json.Unmarshal(raw, &rep) != nil {
		t.Fatalf("report: %d %s", code, raw)
	}
	last := 0.0
	for _, mr := range rep.Members {
		m := memberOf(run, mr.ID)
		want := m.ReadyAt.Sub(run.StartedAt).Seconds()
		if mr.RTOSeconds == nil || math.Abs(*mr.RTOSeconds-want) > 1e-6 || len(mr.Steps) == 0 {
			t.Errorf("member %s in the report: %+v, want RTO %v", mr.ID, mr, want)
		}
		for _, st := range mr.Steps {
			if st.Status == "completed" && st.Seconds == nil {
				t.Errorf("member %s: step %s completed without a duration", mr.ID, st.Name)
			}
		}
		last = max(last, want)
	}
	if rep.PlanRTOSeconds == nil || math.Abs(*rep.PlanRTOSeconds-last) > 1e-6 || rep.Passed == nil || !*rep.Passed {
		t.Errorf("plan RTO %v passed %v, want %v within 3600 s", rep.PlanRTOSeconds, rep.Passed, last)
	}
	f.assertAdvanceChangesNothing(id)

	// A second run of the plan while its copies are up is refused? No:
	// the run is finished; its VMs are failed over, so a rollback first.
	f.planRunPost(id, "rollback", "", http.StatusAccepted)
	run = f.waitPlanRun(id, apiv1.RunRolledBack, apiv1.RunFailed)
	if run.Status != apiv1.RunRolledBack {
		t.Fatalf("after the rollback: %s %s %+v", run.Status, run.Reason, run.Members)
	}
	db, app, web = memberOf(run, "db"), memberOf(run, "app"), memberOf(run, "web")
	if db.RollbackStartedAt.Before(*app.EndedAt) || app.RollbackStartedAt.Before(*web.EndedAt) {
		t.Errorf("rollback not in reverse order: web ended %v, app began %v ended %v, db began %v",
			web.EndedAt, app.RollbackStartedAt, app.EndedAt, db.RollbackStartedAt)
	}
	for _, vm := range vms {
		_, c := f.call(viewerToken, "GET", "/api/v1/contexts/"+f.contexts[vm.Name], "")
		if c["current_status"] != "ready_for_failover" {
			t.Errorf("%s after the run's rollback: %v", vm.Name, c["current_status"])
		}
	}
	// Rolling back again is safe: nothing to do, the run stays rolled back.
	f.planRunPost(id, "rollback", "", http.StatusAccepted)
	if run = f.waitPlanRun(id, apiv1.RunRolledBack, apiv1.RunFailed); run.Status != apiv1.RunRolledBack {
		t.Fatalf("a second rollback: %s %s", run.Status, run.Reason)
	}
	for _, m := range run.Members {
		if m.State != apiv1.MemberRolledBack {
			t.Errorf("member %s after a second rollback: %s", m.ID, m.State)
		}
	}
	_, ev := f.call(viewerToken, "GET", "/api/v1/plan-runs/"+id+"/events", "")
	choices := 0
	for _, e := range ev["events"].([]any) {
		if e.(map[string]any)["actor"] == "otto" {
			choices++
		}
	}
	if choices != 3 { // the start and two rollbacks
		t.Errorf("%d operator choices in the run's log, want 3: %v", choices, ev)
	}
}

// TestPlanRunFailures: a critical member's failure halts its run (its
// hard dependent skipped, nothing more started, the advance idempotent),
// and retry of it once the fault is gone completes the run; then, in a
// continue wave, an optional member's failure only warns, its hard
// dependent is skipped and its soft dependent proceeds.
func TestPlanRunFailures(t *testing.T) {
	f := setupFull(t)
	vms := f.lab.Manifest().VMs
	members := func(optional bool) []apiv1.Member {
		return []apiv1.Member{{ID: "db", VM: vms[0].Name, Optional: optional},
			{ID: "app", VM: vms[1].Name, DependsOn: []apiv1.Dependency{{Member: "db"}}},
			{ID: "cache", VM: vms[2].Name, DependsOn: []apiv1.Dependency{{Member: "db", Soft: true}}}}
	}
	f.lab.CloudStack.FailNext("deployVirtualMachine", 1, 530, "Unable to create a deployment for VM")
	id := f.startPlanRun(apiv1.PlanSpec{Name: "halting", MaxParallelVMs: 1, Waves: []apiv1.Wave{{Members: members(false)}}})
	run := f.waitPlanRun(id, apiv1.RunHalted, apiv1.RunCompleted, apiv1.RunFailed)
	for run.Status == apiv1.RunHalted && memberOf(run, "db").State != apiv1.MemberFailed {
		run = f.waitPlanRun(id, apiv1.RunHalted)
	}
	db, app, cache := memberOf(run, "db"), memberOf(run, "app"), memberOf(run, "cache")
	if run.Status != apiv1.RunHalted || db.State != apiv1.MemberFailed || db.JobID == "" ||
		app.State != apiv1.MemberSkipped || app.Reason != apiv1.ReasonDependencyFailed+": db" ||
		cache.State != apiv1.MemberPending || cache.JobID != "" {
		t.Fatalf("after db's failure: %s %s %+v", run.Status, run.Reason, run.Members)
	}
	f.assertAdvanceChangesNothing(id)
	// A VM of the unfinished run gets no failover from outside the run.
	code, out := f.call(operatorToken, "POST", "/api/v1/failover/unified", `{"vm_name":"`+vms[1].Name+`","failover_type":"test"}`)
	if code != http.StatusConflict || !strings.Contains(fmt.Sprint(out["error"]), id) {
		t.Fatalf("a failover of the skipped member's VM: %d %v", code, out)
	}
	// Continue and skip are refused on an unknown member; nothing changes.
	f.planRunPost(id, "skip", `{"members":["nobody"]}`, http.StatusBadRequest)
	f.planRunPost(id, "retry", `{"members":["cache"]}`, http.StatusConflict)
	f.planRunPost(id, "retry", `{"members":["db"]}`, http.StatusAccepted)
	run = f.waitPlanRun(id, apiv1.RunCompleted, apiv1.RunFailed, apiv1.RunHalted)
	db = memberOf(run, "db")
	if run.Status != apiv1.RunCompleted || db.Attempts != 2 || db.State != apiv1.MemberReady {
		t.Fatalf("after the retry: %s %s %+v", run.Status, run.Reason, run.Members)
	}
	for _, m := range run.Members {
		if m.State != apiv1.MemberReady {
			t.Errorf("member %s after the retry: %s %s", m.ID, m.State, m.Reason)
		}
	}
	f.planRunPost(id, "rollback", "", http.StatusAccepted)
	if run = f.waitPlanRun(id, apiv1.RunRolledBack, apiv1.RunFailed); run.Status != apiv1.RunRolledBack {
		t.Fatalf("rollback: %s %s %+v", run.Status, run.Reason, run.Members)
	}

	f.lab.CloudStack.FailNext("deployVirtualMachine", 1, 530, "Unable to create a deployment for VM")
	id = f.startPlanRun(apiv1.PlanSpec{Name: "warning", MaxParallelVMs: 1,
		Waves: []apiv1.Wave{{OnFailure: apiv1.WaveContinue, Members: members(true)}}})
	run = f.waitPlanRun(id, apiv1.RunCompleted, apiv1.RunFailed, apiv1.RunHalted)
	db, app, cache = memberOf(run, "db"), memberOf(run, "app"), memberOf(run, "cache")
	if run.Status != apiv1.RunCompleted || db.State != apiv1.MemberFailed || db.Warning == "" ||
		app.State != apiv1.MemberSkipped || cache.State != apiv1.MemberReady || cache.Warning == "" {
		t.Fatalf("optional db failing: %s %s %+v", run.Status, run.Reason, run.Members)
	}
	code, raw := f.raw(viewerToken, "GET", "/api/v1/plan-runs/"+id+"/report", "", nil)
	var rep apiv1.PlanRunReport
	if code != http.StatusOK || json.Unmarshal(raw, &rep) != nil || len(rep.Warnings) < 3 || rep.PlanRTOSeconds != nil {
		// warnings: db failed (optional), app skipped, cache's soft dependency
		t.Fatalf("report: %d %s", code, raw)
	}
	f.planRunPost(id, "rollback", "", http.StatusAccepted)
	if run = f.waitPlanRun(id, apiv1.RunRolledBack, apiv1.RunFailed); run.Status != apiv1.RunRolledBack {
		t.Fatalf("rollback with a failed failover: %s %s %+v", run.Status, run.Reason, run.Members)
	}
	if memberOf(run, "app").RollbackJobID != "" {
		t.Errorf("the rollback touched app, which the run never failed over")
	}
}

// TestPlanRunResumesWithoutASecondJob: a tick that died after the engine
// started a member's failover but before recording it is followed by one
// that adopts that job rather than start a second; a run whose tick Redis
// lost (here: never enqueued) is restored by the sweep and completes.
func TestPlanRunResumesWithoutASecondJob(t *testing.T) {
	f := setupFull(t)
	vm := f.lab.Manifest().VMs[0]
	plan, err := f.store.CreateRecoveryPlan(f.ctx, apiv1.PlanSpec{Name: "resume",
		Waves: []apiv1.Wave{{Members: []apiv1.Member{{ID: "m", VM: vm.Name}}}}}, "ada")
	if err != nil {
		t.Fatal(err)
	}
	spec := recovery.WithDefaults(plan.PlanSpec)
	// The run's row only, as if the API died before enqueueing its tick.
	run, err := f.store.CreatePlanRun(f.ctx, store.NewPlanRun{Plan: plan, Spec: spec, Mode: apiv1.ModeTest, CreatedBy: "otto",
		Members: []store.NewPlanRunMember{{ID: "m", ContextID: f.contexts[vm.Name], VMName: vm.Name}}})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := f.runs.Advance(f.ctx, run.ID, -1); err != nil {
		t.Fatal(err)
	}
	got, _ := f.store.GetPlanRun(f.ctx, run.ID)
	m := got.Members[0]
	if m.State != apiv1.MemberFailingOver || m.JobID == "" {
		t.Fatalf("after the first tick: %+v", m)
	}
	first := m.JobID
	// The crash: the job's id never reached the member's record.
	m.State, m.JobID = apiv1.MemberStarting, ""
	if err := f.store.UpdatePlanRunMember(f.ctx, run.ID, &m); err != nil {
		t.Fatal(err)
	}
	if _, err := f.runs.Advance(f.ctx, run.ID, -1); err != nil {
		t.Fatal(err)
	}
	got, _ = f.store.GetPlanRun(f.ctx, run.ID)
	if got.Members[0].JobID != first {
		t.Fatalf("the resumed tick recorded job %q, want the one started before, %s", got.Members[0].JobID, first)
	}
	jobs, err := f.store.ListJobs(f.ctx, store.JobFilter{ContextID: f.contexts[vm.Name], Type: "failover"})
	if err != nil || len(jobs) != 1 {
		t.Fatalf("%d failover jobs of the VM, want 1: %v", len(jobs), err)
	}
	// No tick is queued for the run: the sweep restores it.
	time.Sleep(500 * time.Millisecond)
	if got, _ = f.store.GetPlanRun(f.ctx, run.ID); got.Status != apiv1.RunRunning {
		t.Fatalf("the run moved without a tick: %s", got.Status)
	}
	if _, err := f.runs.Sweep(f.ctx); err != nil {
		t.Fatal(err)
	}
	if end := f.waitPlanRun(run.ID, apiv1.RunCompleted, apiv1.RunFailed, apiv1.RunHalted); end.Status != apiv1.RunCompleted {
		t.Fatalf("after the sweep: %s %s %+v", end.Status, end.Reason, end.Members)
	}
}

// TestPlanRunReadiness: a tcp check READYs its member once the address
// accepts, after its post_ready_delay; one that never accepts fails its
// member with readiness_timeout (optional here: the run completes with a
// warning).
func TestPlanRunReadiness(t *testing.T) {
	f := setupFull(t)
	vms := f.lab.Manifest().VMs
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = ln.Close() })
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			_ = c.Close()
		}
	}()
	closed, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	dead := closed.Addr().String()
	_ = closed.Close()
	id := f.startPlanRun(apiv1.PlanSpec{Name: "ready", Waves: []apiv1.Wave{{OnFailure: apiv1.WaveContinue, Members: []apiv1.Member{
		{ID: "up", VM: vms[0].Name, Readiness: &apiv1.ReadinessCheck{Type: apiv1.ReadyTCP, Address: ln.Addr().String(),
			PostReadyDelay: "500ms"}},
		{ID: "down", VM: vms[1].Name, Optional: true, Readiness: &apiv1.ReadinessCheck{Type: apiv1.ReadyTCP, Address: dead,
			Timeout: "1s"}}}}}})
	run := f.waitPlanRun(id, apiv1.RunCompleted, apiv1.RunFailed, apiv1.RunHalted)
	up, down := memberOf(run, "up"), memberOf(run, "down")
	if run.Status != apiv1.RunCompleted || up.State != apiv1.MemberReady || up.CheckedAt == nil ||
		up.ReadyAt.Sub(*up.CheckedAt) < 500*time.Millisecond {
		t.Fatalf("up: %s %+v", run.Status, up)
	}
	if down.State != apiv1.MemberFailed || down.Reason != apiv1.ReasonReadinessTimeout || down.Warning == "" ||
		down.EndedAt.Sub(*down.JobDoneAt) < time.Second {
		t.Fatalf("down: %+v", down)
	}
}

// TestPlanRunRollbackAdoptsAnUnrecordedFailover: a run rolled back after
// a tick died between starting a member's failover and recording it rolls
// that failover back too (it is the run's: its actor), and the VM is
// ready_for_failover again.
func TestPlanRunRollbackAdoptsAnUnrecordedFailover(t *testing.T) {
	f := setupFull(t)
	vm := f.lab.Manifest().VMs[0]
	plan, err := f.store.CreateRecoveryPlan(f.ctx, apiv1.PlanSpec{Name: "adopt",
		Waves: []apiv1.Wave{{Members: []apiv1.Member{{ID: "m", VM: vm.Name}}}}}, "ada")
	if err != nil {
		t.Fatal(err)
	}
	run, err := f.store.CreatePlanRun(f.ctx, store.NewPlanRun{Plan: plan, Spec: recovery.WithDefaults(plan.PlanSpec),
		Mode: apiv1.ModeTest, CreatedBy: "otto", Members: []store.NewPlanRunMember{{ID: "m", ContextID: f.contexts[vm.Name]}}})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := f.runs.Advance(f.ctx, run.ID, -1); err != nil {
		t.Fatal(err)
	}
	got, _ := f.store.GetPlanRun(f.ctx, run.ID)
	m := got.Members[0]
	started := m.JobID
	m.State, m.JobID = apiv1.MemberStarting, ""
	if err := f.store.UpdatePlanRunMember(f.ctx, run.ID, &m); err != nil {
		t.Fatal(err)
	}
	f.planRunPost(run.ID, "rollback", "", http.StatusAccepted)
	end := f.waitPlanRun(run.ID, apiv1.RunRolledBack, apiv1.RunFailed)
	m = end.Members[0]
	if end.Status != apiv1.RunRolledBack || m.State != apiv1.MemberRolledBack || m.JobID != started || m.RollbackJobID == "" {
		t.Fatalf("after the rollback: %s %s %+v (started %s)", end.Status, end.Reason, m, started)
	}
	_, c := f.call(viewerToken, "GET", "/api/v1/contexts/"+f.contexts[vm.Name], "")
	if c["current_status"] != "ready_for_failover" {
		t.Fatalf("the VM after the run's rollback: %v", c["current_status"])
	}
}

// TestPlanRunTestTTL: a test run of a plan with test_ttl is rolled back
// by itself once the TTL after its end is up (a timer stored on the run),
// and the rollback is in the run's choices as the TTL's.
func TestPlanRunTestTTL(t *testing.T) {
	f := setupFull(t)
	vm := f.lab.Manifest().VMs[0]
	id := f.startPlanRun(apiv1.PlanSpec{Name: "ttl", TestTTL: "2s", Waves: []apiv1.Wave{{Members: []apiv1.Member{{ID: "m", VM: vm.Name}}}}})
	run := f.waitPlanRun(id, apiv1.RunCompleted, apiv1.RunFailed, apiv1.RunHalted, apiv1.RunRollingBack, apiv1.RunRolledBack)
	if run.Status != apiv1.RunCompleted || run.RollbackAt == nil || run.RollbackAt.Sub(*run.EndedAt) < 1900*time.Millisecond {
		t.Fatalf("completed run: %s %+v, rollback at %v", run.Status, run.EndedAt, run.RollbackAt)
	}
	at := *run.RollbackAt
	run = f.waitPlanRun(id, apiv1.RunRolledBack, apiv1.RunFailed)
	m := run.Members[0]
	if run.Status != apiv1.RunRolledBack || m.State != apiv1.MemberRolledBack || m.RollbackStartedAt.Before(at) || run.RollbackAt != nil {
		t.Fatalf("after the TTL: %s %s %+v (rollback at %v)", run.Status, run.Reason, m, at)
	}
	evs, _ := f.store.PlanRunEvents(f.ctx, id)
	found := false
	for _, e := range evs {
		found = found || e.Actor == "test-ttl" && e.Message == "plan-run-rollback"
	}
	if !found {
		t.Fatalf("no rollback choice by the TTL in %+v", evs)
	}
}
