package e2e

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"strings"
	"testing"
	"time"

	"github.com/hibiken/asynq"

	"github.com/ossea/unifiedfailover/api/apiv1"
	"github.com/ossea/unifiedfailover/testsvc"

	"github.com/ossea/unifiedfailover/drill"
	"github.com/ossea/unifiedfailover/failover"
	"github.com/ossea/unifiedfailover/lab"
	"github.com/ossea/unifiedfailover/store"
)

// A schedule every minute over three VMs, with two scheduler processes
// running: a run starts within about a minute, exactly once for its tick;
// the report shows every VM's steps and RTO; afterwards every context is
// ready_for_failover and CloudStack holds no leftover VM or snapshot.
func TestDrillScheduledRunTwoSchedulers(t *testing.T) {
	t.Parallel()
	b := setup(t, options{vms: 3, workers: 2})
	s1 := b.startScheduler(t, "scheduler-1")
	s2 := b.startScheduler(t, "scheduler-2")
	var ids []string
	for _, vm := range b.lab.VMs {
		ids = append(ids, b.contexts[vm.Name])
	}
	sp := drill.Spec{Name: "every-minute", ContextIDs: ids, Cron: "* * * * *", Timezone: "Europe/Berlin", Hold: "5s", MaxParallel: 2}
	if _, err := b.api.CreateDrill(b.ctx, drill.Spec{Name: "bad", ContextIDs: ids, Cron: "* * *"}); apiStatus(err) != 400 ||
		!strings.Contains(err.Error(), "cron") {
		t.Fatalf("a bad cron: %v", err)
	}
	d, err := b.api.CreateDrill(b.ctx, sp)
	if err != nil {
		t.Fatal(err)
	}
	if d.ID == "" || d.NextRunAt == nil || d.Hold != "5s" {
		t.Fatalf("created schedule: %+v", d)
	}
	created := time.Now()

	// The first run comes with the next minute.
	var runID string
	for runID == "" {
		if time.Since(created) > 150*time.Second {
			t.Fatal("no drill run within 150s of creating an every-minute schedule")
		}
		runs, err := b.api.DrillRuns(b.ctx, d.ID)
		if err != nil {
			t.Fatal(err)
		}
		if len(runs) > 0 {
			runID = runs[len(runs)-1].ID
		}
		time.Sleep(time.Second)
	}
	ctx, cancel := context.WithTimeout(b.ctx, 5*time.Minute)
	defer cancel()
	run, err := b.api.WaitDrillRun(ctx, runID, 500*time.Millisecond)
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("first run %s (tick %s) ended %s after %s", run.ID, run.Tick, run.Status, time.Since(created).Round(time.Second))
	// Stop the schedule, then let whatever run started meanwhile end.
	off := false
	sp.Enabled = &off
	if _, err := b.api.UpdateDrill(b.ctx, d.ID, sp); err != nil {
		t.Fatal(err)
	}
	time.Sleep(5 * time.Second)
	runs, err := b.api.DrillRuns(b.ctx, d.ID)
	if err != nil {
		t.Fatal(err)
	}
	for _, r := range runs {
		if _, err := b.api.WaitDrillRun(ctx, r.ID, 500*time.Millisecond); err != nil {
			t.Fatal(err)
		}
	}

	if run.Status != store.DrillPassed || run.Report == nil || run.Report.Totals.Passed != 3 {
		t.Fatalf("run %s: %s %+v", run.ID, run.Status, run.Report)
	}
	if len(run.VMs) != 3 {
		t.Fatalf("run has %d VMs", len(run.VMs))
	}
	for _, v := range run.VMs {
		if v.RTOSeconds == nil || *v.RTOSeconds <= 0 || v.Outcome != "passed" || v.State != store.DrillVMRolledBack {
			t.Fatalf("VM %s: %+v", v.VMName, v)
		}
	}
	for _, v := range run.Report.VMs {
		names := map[string]bool{}
		for _, s := range v.Steps {
			names[s.Job+"/"+s.Name] = true
			if s.Status == "completed" && (s.StartedAt == nil || s.EndedAt == nil) {
				t.Fatalf("%s: step %s/%s has no times", v.VMName, s.Job, s.Name)
			}
		}
		for _, want := range []string{"failover/snapshot", "failover/vm-startup", "drill/hold", "rollback/revert-snapshots", "rollback/status-update"} {
			if !names[want] {
				t.Fatalf("%s: report lacks step %s: %v", v.VMName, want, names)
			}
		}
	}

	// failoverctl lists the schedule with its last run, and the schedule's runs.
	ctl := failoverctl(t)
	for _, args := range [][]string{{"drills"}, {"drills", d.ID}} {
		cmd := exec.CommandContext(b.ctx, ctl, args...)
		cmd.Env = append(os.Environ(), "FAILOVER_API_URL="+b.stack.APIURL, "FAILOVER_API_TOKEN="+b.token)
		out, err := cmd.CombinedOutput()
		if err != nil || !strings.Contains(string(out), "passed") || !strings.Contains(string(out), run.ID[:8]) && len(args) == 2 ||
			len(args) == 1 && !strings.Contains(string(out), "every-minute") {
			t.Fatalf("failoverctl %v: %v\n%s", args, err, out)
		}
	}

	// The printable report, rendered by Chromium, has each VM's timeline.
	html, err := b.api.DrillReportHTML(b.ctx, run.ID)
	if err != nil {
		t.Fatal(err)
	}
	dom := testsvc.RenderDOM(t, "make drill-tools", html)
	for _, vm := range b.lab.VMs {
		if !strings.Contains(dom, fmt.Sprintf(`data-timeline="%s"`, vm.Name)) {
			t.Errorf("rendered report has no timeline for %s", vm.Name)
		}
	}
	if strings.Count(dom, `data-step="failover/vm-startup"`) < 3 {
		t.Errorf("rendered report lacks the vm-startup bars")
	}

	// Two schedulers, one run per tick: one drill job per run, one
	// failover and one rollback per VM and run, and the second
	// scheduler's enqueue of the tick refused by its task id.
	st := b.openStore(t)
	all, err := st.ListDrillRuns(b.ctx, d.ID, 100)
	if err != nil {
		t.Fatal(err)
	}
	ticks := map[time.Time]bool{}
	for _, r := range all {
		if ticks[r.Tick] {
			t.Fatalf("two runs for tick %s", r.Tick)
		}
		ticks[r.Tick] = true
		if r.Status != store.DrillPassed {
			t.Fatalf("run %s ended %s: %s", r.ID, r.Status, r.Error)
		}
	}
	drillJobs, err := st.ListJobs(b.ctx, store.JobFilter{Type: drill.JobType, Limit: 100})
	if err != nil {
		t.Fatal(err)
	}
	if len(drillJobs) != len(all) {
		t.Fatalf("%d drill jobs for %d runs", len(drillJobs), len(all))
	}
	for _, typ := range []string{failover.JobFailover, failover.JobRollback} {
		jobs, err := st.ListJobs(b.ctx, store.JobFilter{Type: typ, Limit: 100})
		if err != nil {
			t.Fatal(err)
		}
		if len(jobs) != 3*len(all) {
			t.Fatalf("%d %s jobs for %d runs of 3 VMs", len(jobs), typ, len(all))
		}
		for _, j := range jobs {
			if j.Actor != "drill:every-minute" || j.Status != store.JobCompleted {
				t.Fatalf("%s job %s: actor %q status %s", typ, j.ExternalID, j.Actor, j.Status)
			}
		}
	}
	logs := s1.logText(t) + s2.logText(t)
	tickID := drill.TickTaskID(d.ID, run.Tick)
	if n := countLines(logs, `"task_id":"`+tickID+`"`); n != 1 {
		t.Errorf("the first tick was enqueued %d times, want once", n)
	}
	if countLines(logs, "drill tick already enqueued by another scheduler") == 0 {
		t.Errorf("no scheduler saw its enqueue of a tick refused: both did not fire, the proof is void")
	}

	for _, vm := range b.lab.VMs {
		if got := b.contextStatus(t, vm.Name); got != store.StatusReadyForFailover {
			t.Fatalf("%s: context is %s after the drill", vm.Name, got)
		}
		b.assertRolledBack(t, &vm)
	}
	if snaps := b.lab.CloudStack.Snapshots(); len(snaps) != 0 {
		t.Fatalf("snapshots left after the drill: %+v", snaps)
	}
	ds, err := b.api.Drills(b.ctx)
	if err != nil || len(ds) != 1 || ds[0].LastRun == nil || ds[0].Enabled {
		t.Fatalf("listing drills: %v %+v", err, ds)
	}
}

// A drill over a VM with an active failover skips it, reports why, and
// leaves that failover alone; the other VM is drilled.
func TestDrillSkipsBusyVM(t *testing.T) {
	t.Parallel()
	b := setup(t, options{vms: 2, workers: 2})
	busy, free := &b.lab.VMs[0], &b.lab.VMs[1]
	// The operator's failover of the busy VM spends a while starting its
	// destination VM.
	b.lab.CloudStack.SetLatency("startVirtualMachine", 8*time.Second)
	started, err := b.api.Failover(b.ctx, failover.FailoverRequest{ContextID: b.contexts[busy.Name], FailoverType: failover.Test})
	if err != nil {
		t.Fatal(err)
	}
	d, err := b.api.CreateDrill(b.ctx, drill.Spec{Name: "busy", ContextIDs: []string{b.contexts[busy.Name], b.contexts[free.Name]},
		Cron: "0 4 1 1 *", Hold: "1s", MaxParallel: 2})
	if err != nil {
		t.Fatal(err)
	}
	run, err := b.api.RunDrill(b.ctx, d.ID)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := b.api.RunDrill(b.ctx, d.ID); apiStatus(err) != 409 {
		t.Fatalf("a second run while one runs: %v", err)
	}
	ctx, cancel := context.WithTimeout(b.ctx, 5*time.Minute)
	defer cancel()
	got, err := b.api.WaitDrillRun(ctx, run.ID, 500*time.Millisecond)
	if err != nil {
		t.Fatal(err)
	}
	b.lab.CloudStack.SetLatency("startVirtualMachine", 0)
	byName := map[string]apiv1.DrillRunVM{}
	for _, v := range got.VMs {
		byName[v.VMName] = v
	}
	sk := byName[busy.Name]
	if sk.Outcome != "skipped" || sk.State != store.DrillVMSkipped || !strings.Contains(sk.SkipReason, started.ExternalJobID) ||
		sk.FailoverJobID != "" {
		t.Fatalf("busy VM: %+v", sk)
	}
	if ok := byName[free.Name]; ok.Outcome != "passed" || ok.RTOSeconds == nil {
		t.Fatalf("free VM: %+v", ok)
	}
	if got.Status != store.DrillPassed || got.Report.Totals.Skipped != 1 {
		t.Fatalf("run: %s %+v", got.Status, got.Report.Totals)
	}
	// The operator's failover went on untouched.
	fo := b.wait(t, started.JobID)
	if fo.Status != store.JobCompleted || fo.Actor != "e2e-admin" {
		t.Fatalf("the operator's failover: %s by %s: %s", fo.Status, fo.Actor, fo.Error)
	}
	if s := b.contextStatus(t, busy.Name); s != store.StatusFailedOverTest {
		t.Fatalf("busy VM context is %s", s)
	}
	st := b.openStore(t)
	jobs, err := st.ListJobs(b.ctx, store.JobFilter{ContextID: b.contexts[busy.Name]})
	if err != nil || len(jobs) != 1 {
		t.Fatalf("jobs on the busy VM: %v %d", err, len(jobs))
	}
	b.assertRolledBack(t, free)
}

// A test failover with test_duration 30s rolls itself back, also when the
// worker and the scheduler were killed and restarted in between, and also
// when its timer task was lost from Redis (the scheduler's sweep).
func TestDrillTimeBoxedTestFailoverRollsBack(t *testing.T) {
	t.Parallel()
	b := setup(t, options{vms: 2, workers: 1})
	s := b.startScheduler(t, "scheduler-a")
	a, lost := &b.lab.VMs[0], &b.lab.VMs[1]
	if _, err := b.api.Failover(b.ctx, failover.FailoverRequest{ContextID: b.contexts[a.Name], FailoverType: failover.Live,
		TestDuration: "30s"}); apiStatus(err) != 400 || !strings.Contains(err.Error(), "test_duration") {
		t.Fatalf("test_duration on a live failover: %v", err)
	}
	var foIDs []string
	for _, vm := range []*lab.VM{a, lost} {
		fo := b.failover(t, failover.FailoverRequest{ContextID: b.contexts[vm.Name], FailoverType: failover.Test, TestDuration: "30s"})
		if fo.Status != store.JobCompleted {
			t.Fatalf("%s: failover %s: %s", vm.Name, fo.Status, fo.Error)
		}
		foIDs = append(foIDs, fo.ID)
	}
	armed := time.Now()
	// Kill every worker and the scheduler; lose the second failover's
	// timer task; start them again.
	b.stack.KillWorker(0)
	s.stop(9)
	insp := asynq.NewInspector(asynq.RedisClientOpt{Addr: b.redis.Addr})
	defer insp.Close()
	if err := insp.DeleteTask(failover.TimerQueue, "auto-rollback:"+foIDs[1]); err != nil {
		t.Fatalf("deleting the timer task: %v", err)
	}
	time.Sleep(3 * time.Second)
	if _, err := b.stack.StartWorker(); err != nil {
		t.Fatal(err)
	}
	b.startScheduler(t, "scheduler-b")
	for _, vm := range []*lab.VM{a, lost} {
		if got := b.contextStatus(t, vm.Name); got != store.StatusFailedOverTest {
			t.Fatalf("%s rolled back before its time: %s", vm.Name, got)
		}
	}
	for _, vm := range []*lab.VM{a, lost} {
		b.waitContextStatus(t, vm.Name, store.StatusReadyForFailover, 2*time.Minute)
		b.assertRolledBack(t, vm)
	}
	if took := time.Since(armed); took < 25*time.Second {
		t.Fatalf("rolled back after %s, before the 30s were up", took)
	}
	st := b.openStore(t)
	for i, vm := range []*lab.VM{a, lost} {
		jobs, err := st.ListJobs(b.ctx, store.JobFilter{ContextID: b.contexts[vm.Name], Type: failover.JobRollback})
		if err != nil || len(jobs) != 1 {
			t.Fatalf("%s: rollbacks %v %d", vm.Name, err, len(jobs))
		}
		if jobs[0].Actor != failover.AutoRollbackActor || jobs[0].ParentID != foIDs[i] || jobs[0].Status != store.JobCompleted {
			t.Fatalf("%s: rollback %+v", vm.Name, jobs[0])
		}
	}
}
