package tasks_test

import (
	"encoding/json"
	"log/slog"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/ossea/unifiedfailover/errs"
	"github.com/ossea/unifiedfailover/failover"
	"github.com/ossea/unifiedfailover/lab"
	"github.com/ossea/unifiedfailover/queue"
	"github.com/ossea/unifiedfailover/store"
	"github.com/ossea/unifiedfailover/tasks"
	"github.com/ossea/unifiedfailover/tasks/taskstest"

	cssim "github.com/ossea/unifiedfailover/sim/cloudstack"
)

// startTestFailover starts a test failover of the lab's first VM; its
// first step's task waits in a Redis no worker serves.
func startTestFailover(t *testing.T, env *taskstest.Env) (*store.Job, *lab.VM) {
	t.Helper()
	vm := &env.Lab.VMs[0]
	st, err := env.Engine.StartFailover(env.Ctx, failover.FailoverRequest{ContextID: env.Contexts[vm.Name],
		FailoverType: failover.Test}, failover.System("taskstest"))
	if err != nil {
		t.Fatalf("starting a test failover: %v", err)
	}
	return st.Job, vm
}

// TestDetachAndSnapshotStepsRunTwiceChangeNothingTheSecondTime: a worker
// that dies after detach-replicas or snapshot did their work runs them
// again (asynq redelivers the task); the second run finds the work done
// and changes nothing in CloudStack: no detach, no second snapshot.
func TestDetachAndSnapshotStepsRunTwiceChangeNothingTheSecondTime(t *testing.T) {
	if testing.Short() {
		t.Skip("needs the lab (Postgres, Redis, nbdkit)")
	}
	t.Parallel()
	env := taskstest.Start(t, lab.Config{VMs: 1, DiskSize: 16 << 20, JobDuration: 5 * time.Millisecond})
	sim := env.Lab.CloudStack
	job, vm := startTestFailover(t, env)
	if s := env.Job(t, job.ID).Step("snapshot"); s == nil || s.Status != store.StepPending {
		t.Fatalf("the test failover's snapshot step: %+v, want pending", s)
	}
	if err := env.Worker.Work(env.Ctx, job.ID, "validation"); err != nil {
		t.Fatalf("validation: %v", err)
	}
	attachedTo := func() map[string]string {
		out := map[string]string{}
		for _, d := range vm.Disks {
			v, ok := sim.Volume(d.VolumeID)
			if !ok {
				t.Fatalf("replica %s is gone", d.VolumeID)
			}
			out[d.VolumeID] = v.VMID
		}
		return out
	}
	for id, on := range attachedTo() {
		if on != env.Lab.ApplianceVMID {
			t.Fatalf("before detach-replicas, replica %s is on %q, not the appliance", id, on)
		}
	}

	if err := env.Worker.WorkUnrecorded(env.Ctx, job.ID, "detach-replicas"); err != nil {
		t.Fatalf("detach-replicas: %v", err)
	}
	detaches := sim.Calls("detachVolume")
	if detaches != len(vm.Disks) {
		t.Fatalf("the first detach-replicas made %d detach calls, want %d", detaches, len(vm.Disks))
	}
	if err := env.Worker.Work(env.Ctx, job.ID, "detach-replicas"); err != nil {
		t.Fatalf("detach-replicas, again: %v", err)
	}
	if n := sim.Calls("detachVolume"); n != detaches {
		t.Errorf("the second detach-replicas made %d more detach calls", n-detaches)
	}
	for id, on := range attachedTo() {
		if on != "" {
			t.Errorf("after detach-replicas, replica %s is on %q", id, on)
		}
	}

	if err := env.Worker.WorkUnrecorded(env.Ctx, job.ID, "snapshot"); err != nil {
		t.Fatalf("snapshot: %v", err)
	}
	first := sim.Snapshots()
	creates := sim.Calls("createSnapshot")
	if len(first) != len(vm.Disks) || creates != len(vm.Disks) {
		t.Fatalf("the first snapshot run: %d snapshots, %d create calls, want %d of each", len(first), creates, len(vm.Disks))
	}
	if err := env.Worker.Work(env.Ctx, job.ID, "snapshot"); err != nil {
		t.Fatalf("snapshot, again: %v", err)
	}
	second := sim.Snapshots()
	if n := sim.Calls("createSnapshot"); n != creates {
		t.Errorf("the second snapshot run made %d more create calls", n-creates)
	}
	if !slices.EqualFunc(first, second, func(a, b cssim.Snapshot) bool { return a.ID == b.ID && a.VolumeID == b.VolumeID }) {
		t.Errorf("snapshots after the first run %+v, after the second %+v", first, second)
	}
	fo, err := env.Store.GetFailoverJob(env.Ctx, job.ID)
	if err != nil {
		t.Fatal(err)
	}
	for _, s := range second {
		if fo.SnapshotIDs[s.VolumeID] != s.ID {
			t.Errorf("the failover records snapshot %q of volume %s, CloudStack has %s", fo.SnapshotIDs[s.VolumeID], s.VolumeID, s.ID)
		}
	}
	j := env.Job(t, job.ID)
	for _, name := range []string{"detach-replicas", "snapshot"} {
		if s := j.Step(name); s.Status != store.StepCompleted || s.Attempts != 2 {
			t.Errorf("step %s: %s after %d attempts, want completed after 2", name, s.Status, s.Attempts)
		}
	}
	if j.Status != store.JobRunning || j.Step("vm-creation").Status != store.StepPending {
		t.Errorf("the job went on by itself: %s, vm-creation %s", j.Status, j.Step("vm-creation").Status)
	}
}

// TestValidationRefusesADestinationNameTakenMeanwhile: a CloudStack VM
// made by someone else with the destination's name after the failover was
// requested fails validation (the pre-flight's hard destination-name
// check, run again at the start of the job); the job fails, the VM context
// is cleanup_required, and CloudStack is left as it was.
func TestValidationRefusesADestinationNameTakenMeanwhile(t *testing.T) {
	if testing.Short() {
		t.Skip("needs the lab (Postgres, Redis, nbdkit)")
	}
	t.Parallel()
	env := taskstest.Start(t, lab.Config{VMs: 1, DiskSize: 16 << 20, JobDuration: 5 * time.Millisecond})
	sim := env.Lab.CloudStack
	job, vm := startTestFailover(t, env)
	fo, err := env.Store.GetFailoverJob(env.Ctx, job.ID)
	if err != nil {
		t.Fatal(err)
	}
	var cfg failover.Config
	if err := json.Unmarshal(fo.Config, &cfg); err != nil {
		t.Fatal(err)
	}
	sim.AddVM(cssim.VM{Name: cfg.HostName(), DisplayName: "someone else's VM", ZoneID: env.Lab.ZoneID})
	vms, deploys := len(sim.VMs()), sim.Calls("deployVirtualMachine")

	err = env.Worker.Work(env.Ctx, job.ID, "validation")
	if !errs.Is(err, errs.FailedPrecondition) || !strings.Contains(err.Error(), "destination-name") {
		t.Fatalf("validation with the destination name taken: %v, want a failed destination-name check", err)
	}
	j := env.Job(t, job.ID)
	if j.Status != store.JobFailed || j.CurrentStep != "validation" || j.Step("validation").Status != store.StepFailed {
		t.Fatalf("the job after validation refused: %s at %s, validation %s", j.Status, j.CurrentStep, j.Step("validation").Status)
	}
	c, err := env.Store.GetContext(env.Ctx, env.Contexts[vm.Name])
	if err != nil || c.CurrentStatus != store.StatusCleanupRequired {
		t.Fatalf("the VM context after validation refused: %+v (%v), want cleanup_required", c, err)
	}
	if fo, err := env.Store.GetFailoverJob(env.Ctx, job.ID); err != nil || fo.Status != store.FailoverFailed {
		t.Fatalf("the failover after validation refused: %+v (%v)", fo, err)
	}
	if len(sim.VMs()) != vms || sim.Calls("deployVirtualMachine") != deploys || sim.Calls("detachVolume") != 0 {
		t.Errorf("validation changed CloudStack: %d VMs (was %d), %d deploys (was %d), %d detaches",
			len(sim.VMs()), vms, sim.Calls("deployVirtualMachine"), deploys, sim.Calls("detachVolume"))
	}
}

// TestValidationRefusesWhenTheLiveWorkersCannotInject: a Windows VM's
// test failover started while no worker was live (the pre-flight only
// warns: the job waits for one) fails its validation step once the live
// workers report that they cannot run the VirtIO command; the injection
// step never starts.
func TestValidationRefusesWhenTheLiveWorkersCannotInject(t *testing.T) {
	if testing.Short() {
		t.Skip("needs the lab (Postgres, Redis, nbdkit)")
	}
	t.Parallel()
	env := taskstest.Start(t, lab.Config{VMs: 3, DiskSize: 16 << 20, JobDuration: 5 * time.Millisecond})
	var win *lab.VM
	for i := range env.Lab.VMs {
		if env.Lab.VMs[i].OS == lab.OSWindows {
			win = &env.Lab.VMs[i]
		}
	}
	if win == nil {
		t.Fatal("the lab has no Windows VM")
	}
	st, err := env.Engine.StartFailover(env.Ctx, failover.FailoverRequest{ContextID: env.Contexts[win.Name],
		FailoverType: failover.Test}, failover.System("taskstest"))
	if err != nil {
		t.Fatalf("starting a test failover with no live worker: %v", err)
	}
	hb := &queue.Heartbeat{Store: env.Store, Interval: time.Minute, Log: slog.New(slog.DiscardHandler),
		Detect: func() store.Capabilities {
			return tasks.DetectCapabilities(filepath.Join(t.TempDir(), "virt-v2v-in-place"))
		}}
	if _, err := hb.Start(env.Ctx); err != nil {
		t.Fatal(err)
	}
	err = env.Worker.Work(env.Ctx, st.Job.ID, "validation")
	if !errs.Is(err, errs.FailedPrecondition) || !strings.Contains(err.Error(), "worker-capabilities") || !strings.Contains(err.Error(), "skip_virtio") {
		t.Fatalf("validation with incapable workers: %v, want a failed worker-capabilities check", err)
	}
	j := env.Job(t, st.Job.ID)
	if j.Status != store.JobFailed || j.CurrentStep != "validation" || j.Step(failover.StepVirtio).Status != store.StepPending {
		t.Fatalf("the job after validation refused: %s at %s, virtio-injection %s", j.Status, j.CurrentStep, j.Step(failover.StepVirtio).Status)
	}
}

// TestFinalSyncStoresEachDiskSyncTime: the final sync stores, with each
// disk's new change id, when the replica was brought up to date, so the
// VM's RPO reads near zero; run again (a worker that died after it), it
// copies nothing, keeps the change ids and stores a later sync time.
func TestFinalSyncStoresEachDiskSyncTime(t *testing.T) {
	if testing.Short() {
		t.Skip("needs the lab (Postgres, Redis, nbdkit)")
	}
	t.Parallel()
	env := taskstest.Start(t, lab.Config{VMs: 1, DiskSize: 16 << 20, JobDuration: 5 * time.Millisecond})
	vm := &env.Lab.VMs[0]
	ctxID := env.Contexts[vm.Name]
	// The replicas' last sync is old: the live failover accepts it.
	c, err := env.Store.GetContext(env.Ctx, ctxID)
	if err != nil {
		t.Fatal(err)
	}
	old := time.Now().Add(-3 * time.Hour)
	for i := range c.Disks {
		c.Disks[i].LastSyncedAt = &old
	}
	if err := env.Store.ReplaceRecord(env.Ctx, c, "ageing it", store.Decision{Decision: "update-context", Actor: "t", ContextID: ctxID}); err != nil {
		t.Fatal(err)
	}
	if _, err := env.Engine.StartFailover(env.Ctx, failover.FailoverRequest{ContextID: ctxID, FailoverType: failover.Live,
		Confirm: vm.Name}, failover.Actor{Name: "t", Role: "admin"}); !errs.Is(err, errs.FailedPrecondition) || !strings.Contains(err.Error(), "accept_rpo") {
		t.Fatalf("a live failover 3h behind, not accepted: %v, want FailedPrecondition naming accept_rpo", err)
	}
	st, err := env.Engine.StartFailover(env.Ctx, failover.FailoverRequest{ContextID: ctxID, FailoverType: failover.Live,
		Confirm: vm.Name, Options: failover.Options{AcceptRPO: true}}, failover.Actor{Name: "t", Role: "admin"})
	if err != nil {
		t.Fatal(err)
	}
	before := time.Now()
	for _, step := range []string{"validation", "source-power-off"} {
		if err := env.Worker.Work(env.Ctx, st.Job.ID, step); err != nil {
			t.Fatalf("%s: %v", step, err)
		}
	}
	synced := func() *store.VMContext {
		t.Helper()
		c, err := env.Store.GetContext(env.Ctx, ctxID)
		if err != nil {
			t.Fatal(err)
		}
		return c
	}
	if err := env.Worker.WorkUnrecorded(env.Ctx, st.Job.ID, "final-sync"); err != nil {
		t.Fatalf("final-sync: %v", err)
	}
	first := synced()
	for _, d := range first.Disks {
		if d.LastSyncedAt == nil || d.LastSyncedAt.Before(before) || d.ChangeID == "" {
			t.Fatalf("disk %d after the final sync: synced %v, change id %q", d.DiskKey, d.LastSyncedAt, d.ChangeID)
		}
	}
	if r := env.Engine.Replication(first); r.State != "in_sync" || r.RPO == nil || *r.RPO > time.Minute {
		t.Fatalf("replication after the final sync: %+v (RPO %v)", r, r.RPO)
	}
	if err := env.Worker.Work(env.Ctx, st.Job.ID, "final-sync"); err != nil {
		t.Fatalf("final-sync, again: %v", err)
	}
	for i, d := range synced().Disks {
		if d.ChangeID != first.Disks[i].ChangeID || d.LastSyncedAt.Before(*first.Disks[i].LastSyncedAt) {
			t.Errorf("disk %d after the second final sync: change id %q (was %q), synced %v (was %v)", d.DiskKey, d.ChangeID,
				first.Disks[i].ChangeID, d.LastSyncedAt, first.Disks[i].LastSyncedAt)
		}
	}
}
