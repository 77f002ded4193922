package e2e

import (
	"net/http"
	"regexp"
	"strings"
	"testing"

	"github.com/ossea/unifiedfailover/api/apiv1"
	"github.com/ossea/unifiedfailover/client"
	"github.com/ossea/unifiedfailover/failover"
	"github.com/ossea/unifiedfailover/store"
)

// preflightCheck returns the named check of a VM's pre-flight for a
// failover type, as the API reports it.
func (b *bundle) preflightCheck(t *testing.T, typ, vm, name string) failover.Check {
	t.Helper()
	pc, err := b.api.PreflightConfig(b.ctx, typ, vm)
	if err != nil {
		t.Fatalf("%s: pre-flight config: %v", vm, err)
	}
	for _, c := range pc.Preflight.Checks {
		if c.Name == name {
			return c
		}
	}
	t.Fatalf("%s: the %s pre-flight has no %s check: %+v", vm, typ, name, pc.Preflight.Checks)
	return failover.Check{}
}

var hostLabel = regexp.MustCompile(`^[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?$`)

// TestOddlyNamedVMsFailOverAndRollBack fails over VMs whose names are not
// host names (upper case, "_", ".", spaces; 60 characters, so a test
// failover's suffix makes it longer than a label may be): CloudStack's
// name is the derived host name, the real name is the display name.
func TestOddlyNamedVMsFailOverAndRollBack(t *testing.T) {
	t.Parallel()
	names := []string{"Web_Server.prod 01", "Finance Reporting_Warehouse.Primary-DB node 0001 of the EMEA"}
	b := setup(t, options{vms: 2, names: names})
	for _, name := range names {
		vm, err := b.lab.VMByName(name)
		if err != nil {
			t.Fatal(err)
		}
		host := failover.HostName(name)
		if !hostLabel.MatchString(host) {
			t.Fatalf("HostName(%q) = %q, not a host name label", name, host)
		}
		if c := b.preflightCheck(t, "live", name, "destination-name"); c.Status != failover.Pass || !strings.Contains(c.Message, host) {
			t.Fatalf("%s: the pre-flight should show the derived name %s: %+v", name, host, c)
		}
		for _, live := range []bool{false, true} {
			req := failover.FailoverRequest{ContextID: b.contexts[name], FailoverType: failover.Test}
			rbReq := failover.RollbackRequest{ContextID: b.contexts[name]}
			if live {
				req.FailoverType, req.Confirm = failover.Live, name
				rbReq.Confirm, rbReq.PowerOnSource = name, ptr(true)
			}
			st := b.failover(t, req)
			if st.Status != store.JobCompleted {
				t.Fatalf("%s (live=%v): failover ended %s: %s", name, live, st.Status, st.Error)
			}
			mappings := vm.TestMappings
			if live {
				mappings = vm.LiveMappings
			}
			d := b.assertFailedOver(t, vm, name, live, mappings)
			if !hostLabel.MatchString(d.Name) || d.InstanceName == "" {
				t.Fatalf("%s: destination VM name %q is not a host name label", name, d.Name)
			}
			rb := b.rollback(t, rbReq)
			if rb.Status != store.JobCompleted {
				t.Fatalf("%s (live=%v): rollback ended %s: %s", name, live, rb.Status, rb.Error)
			}
			b.assertRolledBack(t, vm)
		}
	}
}

// TestThreeNICsComeUpInOrder fails over a VM with three NICs, each mapped
// to its own destination network: the destination has three NICs with
// the source's MACs, in order. Mapping two of them to one network is
// refused by the pre-flight, before anything is made: CloudStack gives a
// VM one NIC per network (deployVirtualMachine's network map merges them,
// addNicToVirtualMachine refuses the second: "A NIC already exists for VM").
func TestThreeNICsComeUpInOrder(t *testing.T) {
	t.Parallel()
	b := setup(t, options{vms: 1, nics: 3})
	vm := &b.lab.VMs[0]
	if len(vm.NICs) != 3 {
		t.Fatalf("the lab VM has %d NICs, want 3", len(vm.NICs))
	}
	ctxID := b.contexts[vm.Name]

	// Two NICs on one destination network: refused, nothing made.
	second := vm.TestMappings[1]
	if _, err := b.api.SetMapping(b.ctx, ctxID, clientMapping(second.SourceNetworkName, vm.TestMappings[0].DestinationNetworkID, "test")); err != nil {
		t.Fatal(err)
	}
	if c := b.preflightCheck(t, "test", vm.Name, "nic-layout"); c.Status != failover.Fail || !strings.Contains(c.Message, "one NIC per network") {
		t.Fatalf("a shared destination network should fail the nic-layout check: %+v", c)
	}
	_, err := b.api.Failover(b.ctx, failover.FailoverRequest{ContextID: ctxID, FailoverType: failover.Test})
	if apiStatus(err) != http.StatusConflict || !strings.Contains(err.Error(), "nic-layout") {
		t.Fatalf("a failover with two NICs on one network: %v, want 409 naming nic-layout", err)
	}
	if jobs, _ := b.api.Context(b.ctx, ctxID); len(jobs.Jobs) != 0 {
		t.Fatalf("a refused failover created jobs: %+v", jobs.Jobs)
	}
	if left := b.destinationVMs(vm.Name); len(left) != 0 {
		t.Fatalf("a refused failover made VMs: %+v", left)
	}

	if _, err := b.api.SetMapping(b.ctx, ctxID, clientMapping(second.SourceNetworkName, second.DestinationNetworkID, "test")); err != nil {
		t.Fatal(err)
	}
	st := b.failover(t, failover.FailoverRequest{ContextID: ctxID, FailoverType: failover.Test})
	if st.Status != store.JobCompleted {
		t.Fatalf("failover ended %s: %s", st.Status, st.Error)
	}
	b.assertFailedOver(t, vm, "", false, vm.TestMappings) // three NICs, networks and MACs in order
	if rb := b.rollback(t, failover.RollbackRequest{ContextID: ctxID}); rb.Status != store.JobCompleted {
		t.Fatalf("rollback ended %s: %s", rb.Status, rb.Error)
	}
	b.assertRolledBack(t, vm)
}

// TestLiveFailoverRefusedWhenCBTWasReset: a stored change id vCenter no
// longer accepts (CBT reset, e.g. by a storage vMotion) refuses a live
// failover in the pre-flight and in the validation step, while the source
// still runs: the final sync would otherwise fail with the source off.
func TestLiveFailoverRefusedWhenCBTWasReset(t *testing.T) {
	t.Parallel()
	b := setup(t, options{vms: 2})
	live := func(vm string) failover.FailoverRequest {
		return failover.FailoverRequest{ContextID: b.contexts[vm], FailoverType: failover.Live, Confirm: vm}
	}

	// Reset before the request: the API's own pre-flight refuses it.
	refused := &b.lab.VMs[0]
	if err := b.lab.VCenter.ResetCBT(refused.UUID, refused.Disks[0].Key); err != nil {
		t.Fatal(err)
	}
	if c := b.preflightCheck(t, "live", refused.Name, "change-ids"); c.Status != failover.Fail || !strings.Contains(c.Message, "full sync") {
		t.Fatalf("change-ids check: %+v", c)
	}
	_, err := b.api.Failover(b.ctx, live(refused.Name))
	if apiStatus(err) != http.StatusConflict || !strings.Contains(err.Error(), "change-ids") {
		t.Fatalf("live failover after a CBT reset: %v, want 409 naming change-ids", err)
	}
	if jobs, _ := b.api.Context(b.ctx, b.contexts[refused.Name]); len(jobs.Jobs) != 0 {
		t.Fatalf("a refused live failover created jobs: %+v", jobs.Jobs)
	}
	if got := b.powerState(t, refused); got != "poweredOn" {
		t.Fatalf("%s: the source is %s after a refused live failover", refused.Name, got)
	}
	// A test failover does no final sync: the reset does not concern it.
	if pc, err := b.api.PreflightConfig(b.ctx, "test", refused.Name); err != nil || !pc.Preflight.Passed {
		t.Fatalf("a test failover's pre-flight after a CBT reset: %+v %v", pc, err)
	}

	// Reset after the job is queued: the validation step refuses it.
	late := &b.lab.VMs[1]
	b.pauseWorkers()
	started, err := b.api.Failover(b.ctx, live(late.Name))
	if err != nil {
		t.Fatal(err)
	}
	if err := b.lab.VCenter.ResetCBT(late.UUID, late.Disks[len(late.Disks)-1].Key); err != nil {
		t.Fatal(err)
	}
	if _, err := b.stack.StartWorker(); err != nil {
		t.Fatal(err)
	}
	st := b.wait(t, started.JobID)
	if st.Status != store.JobFailed || st.CurrentStep != "validation" || !strings.Contains(st.Error, "no longer valid") {
		t.Fatalf("want the job failed in validation on the change id, got %s at %s: %s", st.Status, st.CurrentStep, st.Error)
	}
	if s := st.Step("source-power-off"); s.Status != store.StepPending {
		t.Fatalf("source-power-off is %s after validation failed", s.Status)
	}
	if got := b.powerState(t, late); got != "poweredOn" {
		t.Fatalf("%s: the source is %s after a refused live failover", late.Name, got)
	}
}

// clientMapping is a network mapping of one source network.
func clientMapping(source, destinationID, typ string) client.MappingInput {
	return client.MappingInput{SourceNetworkName: source, DestinationNetworkID: destinationID, MappingType: apiv1.MappingType(typ)}
}
