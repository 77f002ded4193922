package e2e

import (
	"context"
	"fmt"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/vmware/govmomi/vim25/types"

	"github.com/ossea/unifiedfailover/failover"
	"github.com/ossea/unifiedfailover/lab"
	"github.com/ossea/unifiedfailover/store"
)

// stepFault injects a permanent fault that hits one step of a failover.
type stepFault struct {
	step    string
	live    bool
	windows bool
	// paused: the fault would also hit the API's own pre-flight, so it is
	// injected while no worker runs, after the job is queued.
	paused bool
	// held: the fault would also hit the pre-flight (the API's and the
	// validation step's), so the job is held in source-power-off by a
	// guest that ignores the shutdown, and the fault is injected there.
	held   bool
	inject func(b *bundle, vm *lab.VM)
}

var stepFaults = []stepFault{
	{step: "validation", paused: true, inject: func(b *bundle, _ *lab.VM) {
		b.lab.CloudStack.FailNext("listNetworks", 1, 431, "Unable to execute API command listnetworks due to invalid value")
	}},
	{step: "source-power-off", live: true, inject: func(b *bundle, _ *lab.VM) {
		b.lab.VCenter.FailNextWith("ShutdownGuest", 1, &types.InvalidState{})
		b.lab.VCenter.FailNextWith("PowerOffVM_Task", 1, &types.InvalidState{})
	}},
	{step: "final-sync", live: true, held: true, inject: func(b *bundle, _ *lab.VM) {
		b.lab.VCenter.FailNextWith("QueryChangedDiskAreas", 1, &types.InvalidArgument{InvalidProperty: "changeId"})
	}},
	{step: "snapshot", inject: func(b *bundle, _ *lab.VM) {
		b.lab.CloudStack.FailNext("createSnapshot", 1, 530, "Failed to create snapshot due to an internal error")
	}},
	{step: "virtio-injection", windows: true, inject: func(b *bundle, _ *lab.VM) {
		if err := os.WriteFile(b.failFile, nil, 0o644); err != nil {
			panic(err)
		}
	}},
	{step: "vm-creation", inject: func(b *bundle, _ *lab.VM) {
		b.lab.CloudStack.FailNext("deployVirtualMachine", 1, 530, "Unable to create a deployment for VM")
	}},
	{step: "volume-operations", inject: func(b *bundle, _ *lab.VM) {
		b.lab.CloudStack.FailNext("attachVolume", 1, 530, "Failed to attach volume due to an internal error")
	}},
	{step: "vm-startup", inject: func(b *bundle, _ *lab.VM) {
		b.lab.CloudStack.FailNext("startVirtualMachine", 1, 530, "Unable to start VM due to an internal error")
	}},
	{step: "status-update", inject: func(b *bundle, _ *lab.VM) {
		b.exec(`INSERT INTO fault_injection VALUES ('status-update')`)
	}},
}

func (b *bundle) clearFaults() {
	b.lab.CloudStack.ClearFaults()
	b.lab.VCenter.ClearFailures()
	_ = os.Remove(b.failFile)
	b.exec(`DELETE FROM fault_injection`)
}

// exec runs SQL in the test's own schema (fault injection by wrapping the
// real database: a trigger that refuses one update while armed).
func (b *bundle) exec(sql string) {
	ctx, cancel := context.WithTimeout(b.ctx, 10*time.Second)
	defer cancel()
	conn, err := pgx.Connect(ctx, b.dbURL)
	if err != nil {
		panic(err)
	}
	defer conn.Close(ctx)
	if _, err := conn.Exec(ctx, sql); err != nil {
		panic(fmt.Sprintf("%s: %v", sql, err))
	}
}

const faultTrigger = `
CREATE TABLE fault_injection (step text);
CREATE FUNCTION refuse_failed_over() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  IF NEW.current_status IN ('failed_over_test', 'failed_over_live') AND EXISTS (SELECT 1 FROM fault_injection) THEN
    RAISE EXCEPTION 'injected fault: status update refused';
  END IF;
  RETURN NEW;
END $$;
CREATE TRIGGER refuse_failed_over BEFORE UPDATE ON vm_replication_contexts
  FOR EACH ROW EXECUTE FUNCTION refuse_failed_over();`

func (b *bundle) pauseWorkers() {
	for i := range b.stack.Workers() {
		b.stack.KillWorker(i)
	}
}

func (b *bundle) startFailover(t *testing.T, vm *lab.VM, live bool, opts failover.Options) string {
	t.Helper()
	req := failover.FailoverRequest{ContextID: b.contexts[vm.Name], FailoverType: failover.Test, Options: opts}
	if live {
		req.FailoverType, req.Confirm = failover.Live, vm.Name
	}
	started, err := b.api.Failover(b.ctx, req)
	if err != nil {
		t.Fatalf("%s: starting failover: %v", vm.Name, err)
	}
	return started.JobID
}

func (b *bundle) failWith(t *testing.T, f stepFault, vm *lab.VM) string {
	t.Helper()
	var jobID string
	switch {
	case f.held:
		if err := b.lab.VCenter.IgnoreGuestShutdown(vm.UUID, true); err != nil {
			t.Fatal(err)
		}
		jobID = b.startFailover(t, vm, f.live, failover.Options{ShutdownTimeout: "3s"})
		b.waitStep(t, jobID, "source-power-off")
		f.inject(b, vm)
		if err := b.lab.VCenter.IgnoreGuestShutdown(vm.UUID, false); err != nil {
			t.Fatal(err)
		}
	case f.paused:
		b.pauseWorkers()
		jobID = b.startFailover(t, vm, f.live, failover.Options{})
		f.inject(b, vm)
		if _, err := b.stack.StartWorker(); err != nil {
			t.Fatal(err)
		}
	default:
		f.inject(b, vm)
		jobID = b.startFailover(t, vm, f.live, failover.Options{})
	}
	st := b.wait(t, jobID)
	if st.Status != store.JobFailed || st.CurrentStep != f.step || st.Step(f.step).Status != store.StepFailed || st.Step(f.step).Error == "" {
		t.Fatalf("%s: want the job failed at %s with its error, got %s at %s: %q", f.step, f.step, st.Status, st.CurrentStep, st.Error)
	}
	if !strings.HasPrefix(st.Error, f.step+": ") {
		t.Fatalf("%s: job error should name the step: %q", f.step, st.Error)
	}
	after := false
	for _, s := range st.Steps {
		if after && s.Status != store.StepPending && s.Status != store.StepSkipped {
			t.Fatalf("%s: step %s after the failed one is %s", f.step, s.Name, s.Status)
		}
		after = after || s.Name == f.step
	}
	if got := b.contextStatus(t, vm.Name); got != store.StatusCleanupRequired {
		t.Fatalf("%s: context is %s, want cleanup_required", f.step, got)
	}
	return jobID
}

func TestPermanentFaultAtEachStep(t *testing.T) {
	t.Parallel()
	b := setup(t, options{vms: 4})
	b.exec(faultTrigger)
	linux := b.pick(t, lab.OSLinux, "", map[string]bool{})
	var windows *lab.VM
	for i := range b.lab.VMs {
		if b.lab.VMs[i].OS == "windows" {
			windows = &b.lab.VMs[i]
		}
	}
	for _, f := range stepFaults {
		vm := linux
		if f.windows {
			vm = windows
		}
		confirm := ""
		if f.live {
			confirm = vm.Name
		}
		// A permanent fault fails the job at that step; a rollback from
		// there leaves nothing behind.
		b.failWith(t, f, vm)
		b.clearFaults()
		rb := b.rollback(t, failover.RollbackRequest{ContextID: b.contexts[vm.Name], Confirm: confirm, PowerOnSource: ptr(true)})
		if rb.Status != store.JobCompleted {
			t.Fatalf("%s: rollback ended %s: %s", f.step, rb.Status, rb.Error)
		}
		b.assertRolledBack(t, vm)
		if got := b.contextStatus(t, vm.Name); got != store.StatusReadyForFailover {
			t.Fatalf("%s: context is %s after rollback", f.step, got)
		}
		// The same fault again; once cleared, retry completes the job from
		// the failed step.
		jobID := b.failWith(t, f, vm)
		b.clearFaults()
		if _, err := b.api.Retry(b.ctx, jobID); err != nil {
			t.Fatalf("%s: retry: %v", f.step, err)
		}
		st := b.wait(t, jobID)
		if st.Status != store.JobCompleted || st.RunNo != 2 {
			t.Fatalf("%s: retried job ended %s (run %d): %s", f.step, st.Status, st.RunNo, st.Error)
		}
		if s := st.Step(f.step); s.Attempts < 2 {
			t.Fatalf("%s: the failed step ran %d times", f.step, s.Attempts)
		}
		mappings := vm.TestMappings
		if f.live {
			mappings = vm.LiveMappings
		}
		b.assertFailedOver(t, vm, vm.Name, f.live, mappings)
		rb = b.rollback(t, failover.RollbackRequest{ContextID: b.contexts[vm.Name], Confirm: confirm, PowerOnSource: ptr(true)})
		if rb.Status != store.JobCompleted {
			t.Fatalf("%s: final rollback ended %s: %s", f.step, rb.Status, rb.Error)
		}
		b.assertRolledBack(t, vm)
	}
}
