package e2e

import (
	"net/http"
	"sync"
	"testing"
	"time"

	"github.com/ossea/unifiedfailover/client"
	"github.com/ossea/unifiedfailover/failover"
	"github.com/ossea/unifiedfailover/lab"
	"github.com/ossea/unifiedfailover/store"
)

func TestTwentyVMsFailOverAndRollBackConcurrently(t *testing.T) {
	t.Parallel()
	b := setup(t, options{vms: 20, workers: 2})
	run := func(start func(i int) (*client.StartedJob, error)) []*client.FailoverStatus {
		var wg sync.WaitGroup
		out := make([]*client.FailoverStatus, len(b.lab.VMs))
		errc := make(chan error, len(b.lab.VMs))
		for i := range b.lab.VMs {
			wg.Add(1)
			go func() {
				defer wg.Done()
				started, err := start(i)
				if err != nil {
					errc <- err
					return
				}
				if _, err := b.api.WaitJob(b.ctx, started.JobID, 100*time.Millisecond, nil); err != nil {
					errc <- err
					return
				}
				out[i], err = b.api.Status(b.ctx, started.JobID)
				if err != nil {
					errc <- err
				}
			}()
		}
		wg.Wait()
		close(errc)
		for err := range errc {
			t.Fatal(err)
		}
		return out
	}
	fos := run(func(i int) (*client.StartedJob, error) {
		return b.api.Failover(b.ctx, failover.FailoverRequest{ContextID: b.contexts[b.lab.VMs[i].Name], FailoverType: failover.Test})
	})
	for i, st := range fos {
		vm := &b.lab.VMs[i]
		if st.Status != store.JobCompleted {
			t.Fatalf("%s: failover ended %s: %s", vm.Name, st.Status, st.Error)
		}
		// Its own replicas on its own VM, on its own networks: no cross-talk.
		d := b.assertFailedOver(t, vm, "", false, vm.TestMappings)
		if st.Failover.DestinationVMID != d.ID {
			t.Fatalf("%s: job recorded destination %s, CloudStack has %s", vm.Name, st.Failover.DestinationVMID, d.ID)
		}
	}
	// Every replica sits on the one appliance; the snapshots are taken
	// detached, so none contends for the instance ("There is other active
	// snapshot tasks on the instance…"), whatever kvm.snapshot.enabled says.
	if rs := b.lab.CloudStack.Refusals("createSnapshot"); len(rs) != 0 {
		t.Fatalf("createSnapshot was refused %d times: %+v", len(rs), rs)
	}
	if n, want := b.lab.CloudStack.Calls("createSnapshot"), diskCount(b.lab.VMs); n != want {
		t.Fatalf("createSnapshot was called %d times for %d replicas", n, want)
	}
	rbs := run(func(i int) (*client.StartedJob, error) {
		return b.api.Rollback(b.ctx, failover.RollbackRequest{ContextID: b.contexts[b.lab.VMs[i].Name]})
	})
	for i, st := range rbs {
		if st.Status != store.JobCompleted {
			t.Fatalf("%s: rollback ended %s: %s", b.lab.VMs[i].Name, st.Status, st.Error)
		}
		b.assertRolledBack(t, &b.lab.VMs[i])
	}
}

func TestSecondRequestForABusyVMIsAConflict(t *testing.T) {
	t.Parallel()
	b := setup(t, options{vms: 2})
	vm := &b.lab.VMs[0]
	ctxID := b.contexts[vm.Name]
	// Registering a VM twice names the context it already has.
	_, err := b.api.Register(b.ctx, b.lab.Manifest().VMs[0].Register)
	if ae, _ := err.(*client.APIError); ae == nil || ae.Status != http.StatusConflict || ae.Details["context_id"] != ctxID {
		t.Fatalf("second registration: %v, want 409 naming %s", err, ctxID)
	}
	b.lab.CloudStack.SetLatency("deployVirtualMachine", 3*time.Second)
	first := b.startFailover(t, vm, false, failover.Options{})
	for _, try := range []func() error{
		func() error {
			_, err := b.api.Failover(b.ctx, failover.FailoverRequest{ContextID: ctxID, FailoverType: failover.Test})
			return err
		},
		func() error {
			_, err := b.api.Rollback(b.ctx, failover.RollbackRequest{ContextID: ctxID})
			return err
		},
	} {
		err := try()
		ae, _ := err.(*client.APIError)
		if ae == nil || ae.Status != http.StatusConflict || ae.Details["active_job_id"] != first {
			t.Fatalf("request during an active job: %v, want 409 naming %s", err, first)
		}
	}
	b.lab.CloudStack.ClearFaults()
	if st := b.wait(t, first); st.Status != store.JobCompleted {
		t.Fatalf("first failover ended %s: %s", st.Status, st.Error)
	}
	_, err = b.api.Failover(b.ctx, failover.FailoverRequest{ContextID: ctxID, FailoverType: failover.Test})
	ae, _ := err.(*client.APIError)
	if ae == nil || ae.Status != http.StatusConflict || ae.Code != "failed_precondition" {
		t.Fatalf("test failover of a failed-over VM: %v, want 409 failed_precondition", err)
	}
	pre, _ := ae.Details["preflight"].(map[string]any)
	checks, _ := pre["checks"].([]any)
	found := false
	for _, c := range checks {
		c := c.(map[string]any)
		if c["name"] == "context-status" && c["status"] == "fail" {
			found = true
		}
	}
	if !found {
		t.Fatalf("the refusal should carry the failed pre-flight check: %v", ae.Details)
	}
}

// diskCount is the number of disks (replicas) of vms.
func diskCount(vms []lab.VM) int {
	n := 0
	for _, vm := range vms {
		n += len(vm.Disks)
	}
	return n
}
