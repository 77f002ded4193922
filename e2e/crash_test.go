package e2e

import (
	"encoding/json"
	"os"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/hibiken/asynq"

	"github.com/ossea/unifiedfailover/failover"
	"github.com/ossea/unifiedfailover/lab"
	cssim "github.com/ossea/unifiedfailover/sim/cloudstack"
	"github.com/ossea/unifiedfailover/store"
)

// waitStep waits until a job's step is running.
func (b *bundle) waitStep(t *testing.T, jobID, step string) {
	t.Helper()
	for deadline := time.Now().Add(2 * time.Minute); time.Now().Before(deadline); time.Sleep(50 * time.Millisecond) {
		st, err := b.api.Status(b.ctx, jobID)
		if err != nil {
			t.Fatal(err)
		}
		if s := st.Step(step); s != nil && s.Status == store.StepRunning {
			return
		}
		if !st.Status.Active() {
			t.Fatalf("job %s ended %s before reaching %s: %s", jobID, st.Status, step, st.Error)
		}
	}
	t.Fatalf("job %s never ran %s", jobID, step)
}

// workerPIDsRunning returns the pids of the worker processes that are
// running a step of each job, as asynq's own server registry says.
func (b *bundle) workerPIDsRunning(t *testing.T, jobIDs []string) map[int]bool {
	t.Helper()
	insp := asynq.NewInspector(asynq.RedisClientOpt{Addr: b.redis.Addr})
	defer insp.Close()
	want := map[string]bool{}
	for _, id := range jobIDs {
		want[id] = true
	}
	for deadline := time.Now().Add(30 * time.Second); time.Now().Before(deadline); time.Sleep(200 * time.Millisecond) {
		servers, err := insp.Servers()
		if err != nil {
			t.Fatal(err)
		}
		pids := map[int]bool{}
		seen := map[string]bool{}
		for _, s := range servers {
			for _, w := range s.ActiveWorkers {
				var p struct {
					JobID string `json:"job_id"`
				}
				if json.Unmarshal(w.TaskPayload, &p) == nil && want[p.JobID] {
					pids[s.PID] = true
					seen[p.JobID] = true
				}
			}
		}
		if len(seen) == len(want) {
			return pids
		}
	}
	t.Fatalf("asynq never showed every job's task on a worker")
	return nil
}

func TestWorkerKilledMidStepFinishesExactlyOnce(t *testing.T) {
	t.Parallel()
	b := setup(t, options{vms: 4, workers: 2})
	cs, vc := b.lab.CloudStack, b.lab.VCenter
	vms := []*lab.VM{&b.lab.VMs[0], &b.lab.VMs[1], &b.lab.VMs[2], &b.lab.VMs[3]}
	jobs := make([]string, 4)
	steps := []string{"volume-operations", "vm-creation", "source-power-off", "final-sync"}

	cs.SetLatency("attachVolume", 20*time.Second)
	jobs[0] = b.startFailover(t, vms[0], false, failover.Options{})
	b.waitStep(t, jobs[0], steps[0])
	cs.SetLatency("deployVirtualMachine", 20*time.Second)
	jobs[1] = b.startFailover(t, vms[1], false, failover.Options{})
	if err := vc.IgnoreGuestShutdown(vms[2].UUID, true); err != nil {
		t.Fatal(err)
	}
	jobs[2] = b.startFailover(t, vms[2], true, failover.Options{ShutdownTimeout: "20s"})
	// The pre-flight (the API's and the validation step's) queries the
	// changed areas too: the slow QueryChangedDiskAreas is set once the
	// job is past it, held in source-power-off by an ignored shutdown.
	if err := vc.IgnoreGuestShutdown(vms[3].UUID, true); err != nil {
		t.Fatal(err)
	}
	jobs[3] = b.startFailover(t, vms[3], true, failover.Options{ShutdownTimeout: "3s"})
	b.waitStep(t, jobs[3], "source-power-off")
	vc.SetLatency("QueryChangedDiskAreas", 20*time.Second)
	for i := 1; i < 4; i++ {
		b.waitStep(t, jobs[i], steps[i])
	}
	b.killWorkersRunning(t, jobs)
	// Every fault goes away; another worker must finish the jobs.
	cs.ClearFaults()
	vc.ClearFailures()
	if err := vc.IgnoreGuestShutdown(vms[2].UUID, false); err != nil {
		t.Fatal(err)
	}
	if _, err := b.stack.StartWorker(); err != nil {
		t.Fatal(err)
	}
	for i, id := range jobs {
		b.waitKilledJob(t, id, vms[i], steps[i])
		mappings, exact := vms[i].TestMappings, false
		if i >= 2 {
			mappings, exact = vms[i].LiveMappings, true
		}
		b.assertFailedOver(t, vms[i], vms[i].Name, exact, mappings)
		events, err := b.api.Events(b.ctx, id)
		if err != nil {
			t.Fatal(err)
		}
		created := 0
		for _, e := range events {
			if e.Message == "destination VM created" {
				created++
			}
		}
		if created > 1 {
			t.Fatalf("%s: the destination VM was created %d times", vms[i].Name, created)
		}
	}
	for i := 2; i < 4; i++ {
		for _, d := range vms[i].Disks {
			if b.checksum(t, d.Source.URI) != b.checksum(t, d.Replica.URI) {
				t.Fatalf("%s: replica differs from the source after a final sync interrupted by a crash", vms[i].Name)
			}
		}
	}
}

// killWorkersRunning SIGKILLs (no graceful shutdown) every worker that
// runs a step of one of jobs, and waits until each is gone.
func (b *bundle) killWorkersRunning(t *testing.T, jobs []string) {
	t.Helper()
	pids := b.workerPIDsRunning(t, jobs)
	for i, pid := range b.stack.Workers() {
		if pids[pid] {
			b.stack.KillWorker(i)
		}
	}
	for pid := range pids {
		for syscall.Kill(pid, 0) == nil {
			time.Sleep(100 * time.Millisecond)
		}
	}
}

// waitKilledJob waits for a job whose worker was killed in step: it must
// complete, and the step must count the killed attempt.
func (b *bundle) waitKilledJob(t *testing.T, jobID string, vm *lab.VM, step string) {
	t.Helper()
	st := b.wait(t, jobID)
	if st.Status != store.JobCompleted {
		t.Fatalf("%s (killed in %s): job ended %s: %s", vm.Name, step, st.Status, st.Error)
	}
	if s := st.Step(step); s.Attempts < 2 {
		t.Fatalf("%s: step %s shows %d attempts; the killed one must be counted", vm.Name, step, s.Attempts)
	}
}

// waitFor polls cond until it holds, for at most a minute.
func waitFor(t *testing.T, what string, cond func() bool) {
	t.Helper()
	for deadline := time.Now().Add(time.Minute); time.Now().Before(deadline); time.Sleep(20 * time.Millisecond) {
		if cond() {
			return
		}
	}
	t.Fatalf("timed out waiting for %s", what)
}

// TestWorkerKilledInEachCloudStackSubStep SIGKILLs the workers while
// four jobs are each inside one of the sub-steps the strict CloudStack
// rules brought: detaching the replicas from the appliance, waiting for
// a snapshot's backup, the VirtIO injection (the boot replica attached
// to the appliance), and deleting the template's ROOT volume. Another
// worker finishes every job: one destination VM each, one snapshot per
// replica, no template volume left, the replicas at their devices.
func TestWorkerKilledInEachCloudStackSubStep(t *testing.T) {
	t.Parallel()
	b := setup(t, options{vms: 6, workers: 2})
	cs := b.lab.CloudStack
	used := map[string]bool{}
	windows := b.pick(t, lab.OSWindows, "", used)
	// Only the third is a Windows guest: the others must not reach the
	// held VirtIO stand-in.
	vms := []*lab.VM{b.pick(t, lab.OSLinux, "", used), b.pick(t, lab.OSLinux, "", used), windows, b.pick(t, lab.OSLinux, "", used)}
	steps := []string{"detach-replicas", "snapshot", "virtio-injection", "volume-operations"}
	jobs := make([]string, 4)

	// Each hold is set for one job's request only: a latency is picked
	// when a request arrives, so it is lifted once that request is in.
	hold := func(i int, command string) {
		t.Helper()
		n := cs.Calls(command)
		cs.SetLatency(command, time.Minute)
		jobs[i] = b.startFailover(t, vms[i], false, failover.Options{})
		waitFor(t, vms[i].Name+"'s "+command, func() bool { return cs.Calls(command) > n })
		cs.SetLatency(command, 0)
		b.waitStep(t, jobs[i], steps[i])
	}
	hold(0, "detachVolume")
	// The failover's own record follows the job, with the source spec it
	// started from.
	if st, err := b.api.Status(b.ctx, jobs[0]); err != nil || st.Failover == nil || st.Failover.Status != store.FailoverRunning ||
		!strings.Contains(string(st.Failover.SourceVMSpec), `"vm_name":"`+vms[0].Name+`"`) {
		t.Fatalf("a running failover's record: %+v %v", st.Failover, err)
	}

	cs.SetSnapshotBackupRate(256 << 10) // 16 MiB replicas: a minute's backup
	jobs[1] = b.startFailover(t, vms[1], false, failover.Options{})
	b.waitStep(t, jobs[1], steps[1])
	// The backup's time is set when it starts (BackingUp): the slow rate
	// is lifted only then.
	waitFor(t, vms[1].Name+"'s snapshot backing up", func() bool {
		for _, s := range cs.Snapshots() {
			if s.VolumeID == vms[1].Disks[0].VolumeID && s.State == cssim.SnapshotBackingUp {
				return true
			}
		}
		return false
	})
	cs.SetSnapshotBackupRate(0)

	if err := os.WriteFile(b.slowFile, nil, 0o644); err != nil {
		t.Fatal(err)
	}
	jobs[2] = b.startFailover(t, vms[2], false, failover.Options{})
	waitFor(t, "the VirtIO stand-in", func() bool { _, err := os.Stat(b.startedFile); return err == nil })
	b.waitStep(t, jobs[2], steps[2])

	hold(3, "deleteVolume")

	b.killWorkersRunning(t, jobs)
	if err := os.Remove(b.slowFile); err != nil {
		t.Fatal(err)
	}
	if _, err := b.stack.StartWorker(); err != nil {
		t.Fatal(err)
	}
	for i, id := range jobs {
		b.waitKilledJob(t, id, vms[i], steps[i])
		b.assertFailedOver(t, vms[i], vms[i].Name, false, vms[i].TestMappings)
		for _, d := range vms[i].Disks {
			n := 0
			for _, s := range cs.Snapshots() {
				if s.VolumeID == d.VolumeID {
					n++
				}
			}
			if n != 1 {
				t.Fatalf("%s: replica %s has %d snapshots after the crash, want one", vms[i].Name, d.VolumeID, n)
			}
		}
	}
	b.assertNoStrayVolumes(t)
	if !strings.Contains(b.virtioCalls(t), windows.Name+" ") {
		t.Fatalf("the VirtIO injection of %s never ran to its end: %q", windows.Name, b.virtioCalls(t))
	}
}
